//! Console sign-in sessions as stored, and the storage they need ([`SessionStore`]).
//!
//! A session stands for an access token in a browser: the cookie holds a random session id,
//! the database only its SHA-256, so a copy of the database (or of its backups) signs nobody
//! in. A session names its token by id and never holds the token's secret; every request
//! through a session checks the token anew, so revoking the token ends all its sessions on
//! every node at once.

use async_trait::async_trait;

use crate::log::StorageError;

/// One session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSession {
    /// Lowercase hex SHA-256 of the session id the cookie carries.
    pub session_sha256: String,
    /// The access token the session acts for.
    pub token_id: String,
    /// When it was opened and when it ends, in the log's timestamp format
    /// (`crate::clock::now_micros()`), so text order is time order.
    pub created_at: String,
    pub expires_at: String,
}

/// The session table's storage.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    async fn insert_session(&self, session: &StoredSession) -> Result<(), StorageError>;

    /// The session with this hash if it has not ended by `now`.
    async fn session(
        &self,
        session_sha256: &str,
        now: &str,
    ) -> Result<Option<StoredSession>, StorageError>;

    /// Ends a session (sign-out); ending one that is gone already is no error.
    async fn delete_session(&self, session_sha256: &str) -> Result<(), StorageError>;

    /// Forgets every session that ended before `now`; returns how many.
    async fn purge_sessions(&self, now: &str) -> Result<u64, StorageError>;
}
