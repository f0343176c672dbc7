//! Idempotency keys as stored, and the storage they need ([`KeyStore`]): what
//! [`app::idempotency`](crate::app::idempotency) decides with, kept in the database every node
//! shares so a retry finds its key whichever node it reaches.

use async_trait::async_trait;

use crate::log::StorageError;

/// What a request answered, as kept for its retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// A key as stored: the request that claimed it, when, and its outcome once it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    /// Lowercase hex SHA-256 of the request (see the module doc).
    pub fingerprint: String,
    /// When the current claim was made, in the log's timestamp format; it also names the
    /// claim, so only its holder records or releases it.
    pub claimed_at: String,
    pub outcome: Option<Outcome>,
}

/// The idempotency keys' storage, shared by every node.
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Claims `key` in `scope` for a request at `now`, unless the key is there already:
    /// `None` when claimed now, else the key as stored.
    async fn claim_key(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: &str,
    ) -> Result<Option<StoredKey>, StorageError>;

    /// Moves a claim made at `claimed_at` to `now` if it is still that claim and has no
    /// outcome; whether it did.
    async fn take_over_key(
        &self,
        scope: &str,
        key: &str,
        claimed_at: &str,
        now: &str,
    ) -> Result<bool, StorageError>;

    /// Keeps the outcome of the claim made at `claimed_at`, if it is still that claim.
    async fn record_outcome(
        &self,
        scope: &str,
        key: &str,
        claimed_at: &str,
        outcome: &Outcome,
    ) -> Result<(), StorageError>;

    /// Forgets the claim made at `claimed_at`, if it is still that claim and has no outcome.
    async fn release_key(
        &self,
        scope: &str,
        key: &str,
        claimed_at: &str,
    ) -> Result<(), StorageError>;

    /// Forgets every key first claimed before `before`; returns how many.
    async fn purge_keys(&self, before: &str) -> Result<u64, StorageError>;
}
