//! The read models on disk, as storage sees them: the [`Projection`] trait, the record each
//! read model keeps, and the row-level writes a projection asks storage to make. The
//! projections themselves (one module each) turn events into these writes.

use serde::Serialize;
use time::Date;

use crate::domain::access::Grant;
use crate::domain::certificate::{Applied, CertificateState, Issued};
use crate::domain::enterprise::EnterpriseRegistered;
use crate::domain::issuer::{IssuerRegistered, IssuerStatus};
use crate::domain::key::{IssuerKeyAdded, KeyId, KeyStatus};
use crate::log::event::StoredEvent;

/// A row-level change a projection asks storage to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectionWrite {
    /// Adds `count` to the number of events of `event_type`.
    CountEvents { event_type: String, count: u64 },
    /// Records a new access token.
    PutToken(TokenRecord),
    /// Marks a token revoked (the first revocation's time stays).
    RevokeToken {
        token_id: String,
        revoked_at: String,
    },
    /// Records a newly registered issuer.
    PutIssuer(IssuerRecord),
    /// Records a newly registered enterprise.
    PutEnterprise(EnterpriseRecord),
    /// Records a new application for a certificate.
    PutCertificate(CertificateRecord),
    /// Sets a certificate's stored state.
    SetCertificateState {
        certificate_id: String,
        state: CertificateState,
        updated_at: String,
    },
    /// Records a certificate's issuing: its code and validity.
    IssueCertificate {
        certificate_id: String,
        issued: Issued,
        updated_at: String,
    },
    /// Records a newly added issuer key.
    PutIssuerKey {
        added: IssuerKeyAdded,
        added_at: String,
    },
    /// Sets an issuer key's status.
    SetIssuerKeyStatus {
        key_id: KeyId,
        status: KeyStatus,
        updated_at: String,
    },
    /// Sets an issuer's status.
    SetIssuerStatus {
        issuer_id: String,
        status: IssuerStatus,
        updated_at: String,
    },
}

/// A read model: a pure function from a page of events to row changes.
pub trait Projection: Send + Sync + 'static {
    /// Stable name, the key of the projection's position.
    fn name(&self) -> &'static str;

    /// The writes that applying `events` (consecutive, in index order) implies.
    fn project(&self, events: &[StoredEvent]) -> Vec<ProjectionWrite>;
}

/// An issuer as the projection keeps it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Issuer)]
pub struct IssuerRecord {
    #[serde(flatten)]
    pub registered: IssuerRegistered,
    pub status: IssuerStatus,
    pub registered_at: String,
    pub updated_at: String,
}

/// An issuer key as the projection keeps it, with its issuer's brand.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = IssuerKey)]
pub struct IssuerKeyRecord {
    #[serde(flatten)]
    pub added: IssuerKeyAdded,
    pub brand: String,
    pub status: KeyStatus,
    pub added_at: String,
    pub updated_at: String,
}

/// An enterprise as the projection keeps it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Enterprise)]
pub struct EnterpriseRecord {
    #[serde(flatten)]
    pub registered: EnterpriseRegistered,
    pub registered_at: String,
}

/// A certificate as the projection keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = Certificate)]
pub struct CertificateRecord {
    #[serde(flatten)]
    pub applied: Applied,
    pub state: CertificateState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
    pub applied_at: String,
    pub updated_at: String,
}

impl CertificateRecord {
    /// The record as seen on `today`: an issued certificate past its validity is expired.
    pub fn on(mut self, today: Date) -> CertificateRecord {
        self.state = self.state.on(today, self.valid_until);
        self
    }
}

/// A token as the `tokens` projection keeps it: everything but the token itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = Token)]
pub struct TokenRecord {
    pub token_id: String,
    #[serde(flatten)]
    pub grant: Grant,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    #[serde(skip)]
    pub token_sha256: String,
}
