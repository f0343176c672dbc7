//! The console session table's SQL, for the [`SessionStore`](crate::sessions::SessionStore)
//! port.

use sqlx::Pool;

use crate::log::StorageError;
use crate::sessions::StoredSession;

#[derive(sqlx::FromRow)]
pub struct SessionRow {
    session_sha256: String,
    token_id: String,
    created_at: String,
    expires_at: String,
}

impl From<SessionRow> for StoredSession {
    fn from(r: SessionRow) -> StoredSession {
        StoredSession {
            session_sha256: r.session_sha256,
            token_id: r.token_id,
            created_at: r.created_at,
            expires_at: r.expires_at,
        }
    }
}

super::sql::per_engine! {
    pub async fn insert_session(
        pool: &Pool<DB>,
        session: &StoredSession,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO console_sessions (session_sha256, token_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(session.session_sha256.as_str())
        .bind(session.token_id.as_str())
        .bind(session.created_at.as_str())
        .bind(session.expires_at.as_str())
        .execute(pool)
        .await?;
        Ok(())
    }

    pub async fn session(
        pool: &Pool<DB>,
        session_sha256: &str,
        now: &str,
    ) -> Result<Option<StoredSession>, StorageError> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT session_sha256, token_id, created_at, expires_at FROM console_sessions \
             WHERE session_sha256 = $1 AND expires_at > $2",
        )
        .bind(session_sha256)
        .bind(now)
        .fetch_optional(pool)
        .await?;
        Ok(row.map(StoredSession::from))
    }

    pub async fn delete_session(pool: &Pool<DB>, session_sha256: &str) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM console_sessions WHERE session_sha256 = $1")
            .bind(session_sha256)
            .execute(pool)
            .await?;
        Ok(())
    }

    pub async fn purge_sessions(pool: &Pool<DB>, now: &str) -> Result<u64, StorageError> {
        let done = sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
            .bind(now)
            .execute(pool)
            .await?;
        Ok(done.rows_affected())
    }
}
