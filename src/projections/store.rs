//! What the read models on disk ask of a database: the port [`ProjectionStore`]. Each
//! projection's rows and its position move together in one transaction; the queries are the
//! read models' answers. `storage` implements it; the filters here are the read models'
//! vocabulary, not SQL.

use async_trait::async_trait;

use super::model::{
    CertificateRecord, EnterpriseRecord, IssuerKeyRecord, IssuerRecord, ProjectionWrite,
    TokenRecord,
};
use crate::domain::issuer::IssuerStatus;
use crate::domain::key::{KeyId, KeyStatus};
use crate::domain::region::RegionCode;
use crate::log::StorageError;

/// Which issuers to list: all conditions given must hold; `after` is the last id of the
/// previous page.
#[derive(Clone, Debug, Default)]
pub struct IssuerFilter {
    pub id: Option<String>,
    pub status: Option<IssuerStatus>,
    pub region: Option<RegionCode>,
    pub after: Option<String>,
    pub limit: u32,
}

/// Which issuer keys to list; `after` is the last key id of the previous page.
#[derive(Clone, Debug, Default)]
pub struct KeyFilter {
    pub key_id: Option<KeyId>,
    pub issuer: Option<String>,
    pub status: Option<KeyStatus>,
    pub after: Option<String>,
    pub limit: u32,
}

/// Which certificates to list; `after` is the last id of the previous page.
#[derive(Clone, Debug, Default)]
pub struct CertificateFilter {
    pub id: Option<String>,
    pub issuer: Option<String>,
    pub after: Option<String>,
    pub limit: u32,
}

/// Which licensees to list, by USCC then issuer; `after` is the last USCC of the previous
/// page, or `uscc:issuer` to resume within one code's licences.
#[derive(Clone, Debug, Default)]
pub struct EnterpriseFilter {
    pub uscc: Option<String>,
    pub registered_by: Option<String>,
    pub region: Option<RegionCode>,
    pub after: Option<String>,
    pub limit: u32,
}

/// The read models' storage.
#[async_trait]
pub trait ProjectionStore: Send + Sync + 'static {
    /// The next log index a projection will apply (0 before its first batch).
    async fn projection_position(&self, name: &str) -> Result<u64, StorageError>;

    /// Applies a projection's writes for log indexes `from..to` and moves its position to `to`,
    /// in one transaction, but only if its position is still `from`; false means another
    /// runner got there first and nothing was written.
    async fn commit_projection(
        &self,
        name: &str,
        from: u64,
        to: u64,
        writes: &[ProjectionWrite],
    ) -> Result<bool, StorageError>;

    /// Empties a projection's rows and sets its position to 0, in one transaction.
    async fn reset_projection(&self, name: &str) -> Result<(), StorageError>;

    /// Event counts per type, from the `event_types` projection.
    async fn event_type_counts(&self) -> Result<Vec<(String, u64)>, StorageError>;

    /// One access token by id, from the `tokens` projection.
    async fn token(&self, token_id: &str) -> Result<Option<TokenRecord>, StorageError>;

    /// Every access token, oldest first.
    async fn tokens(&self) -> Result<Vec<TokenRecord>, StorageError>;

    /// Issuers matching a filter, ordered by id, one page, from the `issuers` projection.
    async fn issuers(&self, filter: &IssuerFilter) -> Result<Vec<IssuerRecord>, StorageError>;

    /// Issuer keys matching a filter with their issuers' brands, ordered by key id, one page.
    /// Catch up `issuers` after `issuer_keys` so every key's issuer is there.
    async fn issuer_keys(&self, filter: &KeyFilter) -> Result<Vec<IssuerKeyRecord>, StorageError>;

    /// Certificates matching a filter, ordered by id, one page.
    async fn certificates(
        &self,
        filter: &CertificateFilter,
    ) -> Result<Vec<CertificateRecord>, StorageError>;

    /// Licensees matching a filter, ordered by USCC then issuer, one page.
    async fn enterprises(
        &self,
        filter: &EnterpriseFilter,
    ) -> Result<Vec<EnterpriseRecord>, StorageError>;
}
