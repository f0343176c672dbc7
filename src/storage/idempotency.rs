//! The idempotency key table's SQL, for the [`KeyStore`](crate::idempotency::KeyStore)
//! port. A claim is one `INSERT … ON CONFLICT DO NOTHING`, so of two nodes claiming one key at
//! once exactly one wins; taking over, recording and releasing compare the claim's time, so a
//! claim that was taken over is no longer its first holder's to end.

use sqlx::Pool;

use crate::idempotency::{Outcome, StoredKey};
use crate::log::StorageError;

#[derive(sqlx::FromRow)]
pub struct KeyRow {
    fingerprint: String,
    claimed_at: String,
    status: Option<i32>,
    content_type: Option<String>,
    location: Option<String>,
    body: Option<Vec<u8>>,
}

impl TryFrom<KeyRow> for StoredKey {
    type Error = StorageError;

    fn try_from(r: KeyRow) -> Result<StoredKey, StorageError> {
        let outcome = match r.status {
            None => None,
            Some(status) => Some(Outcome {
                status: u16::try_from(status).map_err(|_| {
                    StorageError::Corrupt(format!("idempotency key status {status}"))
                })?,
                content_type: r.content_type,
                location: r.location,
                body: r.body.unwrap_or_default(),
            }),
        };
        Ok(StoredKey {
            fingerprint: r.fingerprint,
            claimed_at: r.claimed_at,
            outcome,
        })
    }
}

super::sql::per_engine! {
    pub async fn claim_key(
        pool: &Pool<DB>,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: &str,
    ) -> Result<Option<StoredKey>, StorageError> {
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (scope, key, fingerprint, created_at, claimed_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (scope, key) DO NOTHING",
        )
        .bind(scope)
        .bind(key)
        .bind(fingerprint)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected();
        if claimed == 1 {
            return Ok(None);
        }
        let row: Option<KeyRow> = sqlx::query_as(
            "SELECT fingerprint, claimed_at, status, content_type, location, body \
             FROM idempotency_keys WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(pool)
        .await?;
        match row {
            Some(row) => StoredKey::try_from(row).map(Some),
            // Purged between the two statements: as good as claimed by someone else just now.
            None => Ok(Some(StoredKey {
                fingerprint: fingerprint.to_owned(),
                claimed_at: now.to_owned(),
                outcome: None,
            })),
        }
    }

    pub async fn take_over_key(
        pool: &Pool<DB>,
        scope: &str,
        key: &str,
        claimed_at: &str,
        now: &str,
    ) -> Result<bool, StorageError> {
        let done = sqlx::query(
            "UPDATE idempotency_keys SET claimed_at = $4 \
             WHERE scope = $1 AND key = $2 AND claimed_at = $3 AND status IS NULL",
        )
        .bind(scope)
        .bind(key)
        .bind(claimed_at)
        .bind(now)
        .execute(pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn record_outcome(
        pool: &Pool<DB>,
        scope: &str,
        key: &str,
        claimed_at: &str,
        outcome: &Outcome,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $4, content_type = $5, location = $6, body = $7 \
             WHERE scope = $1 AND key = $2 AND claimed_at = $3 AND status IS NULL",
        )
        .bind(scope)
        .bind(key)
        .bind(claimed_at)
        .bind(i32::from(outcome.status))
        .bind(outcome.content_type.as_deref())
        .bind(outcome.location.as_deref())
        .bind(outcome.body.as_slice())
        .execute(pool)
        .await?;
        Ok(())
    }

    pub async fn release_key(
        pool: &Pool<DB>,
        scope: &str,
        key: &str,
        claimed_at: &str,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "DELETE FROM idempotency_keys \
             WHERE scope = $1 AND key = $2 AND claimed_at = $3 AND status IS NULL",
        )
        .bind(scope)
        .bind(key)
        .bind(claimed_at)
        .execute(pool)
        .await?;
        Ok(())
    }

    pub async fn purge_keys(pool: &Pool<DB>, before: &str) -> Result<u64, StorageError> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(pool)
            .await?;
        Ok(done.rows_affected())
    }
}
