//! Writes a client can retry: the rule behind the `Idempotency-Key` header
//! (draft-ietf-httpapi-idempotency-key-header), whichever node a retry reaches.
//!
//! A request carrying a key first claims it, in the database every node shares. Then:
//! - the same key with the same request (its fingerprint: method, path, media type and body)
//!   that already has an outcome gets that outcome again, status and body, and nothing runs;
//! - the same key with another request is refused, whatever became of the first;
//! - the same key while its first request still runs is refused as in progress (retry later);
//! - a claim whose request ended without an outcome worth keeping (5xx, or a 429) is released,
//!   so the retry runs afresh; one left by a node that died mid-request lapses after [`LEASE`]
//!   and the retry takes it over.
//!
//! A request that runs under a claim makes its events inside [`repeatable`] with a seed drawn
//! from the scope, key and fingerprint, so a retry that runs again (its first run's node died
//! after the log took the events but before the outcome was kept) makes the same event ids,
//! and the log appends nothing twice: it answers the original positions, or refuses events
//! whose content came out different. Keys are kept [`KEEP`] from their first claim.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::clock;
pub use crate::idempotency::{KeyStore, Outcome, StoredKey};
use crate::log::{StorageError, repeatable};

/// How long a key and its outcome are kept after its first claim.
pub const KEEP: Duration = Duration::from_secs(24 * 3600);

/// How long a claim without an outcome holds its key against retries: longer than any request
/// runs while its node lives (a database call waits at most a second for a connection).
pub const LEASE: Duration = Duration::from_secs(10);

/// What a request with a key may do.
#[derive(Debug)]
pub enum Begun {
    /// Run it, under this claim.
    Run(Claim),
    /// Answer this, the outcome of the same request before.
    Replay(Outcome),
    /// The key belongs to a different request.
    OtherRequest,
    /// The key's request is still running.
    Running,
}

/// A key claimed for one run of a request.
#[derive(Debug)]
pub struct Claim {
    scope: String,
    key: String,
    claimed_at: String,
    seed: [u8; 32],
}

impl Claim {
    /// Runs the request's work so that its events have the ids this claim derives.
    pub async fn run<F: Future>(&self, work: F) -> F::Output {
        repeatable(self.seed, work).await
    }
}

/// The idempotency keys of every caller.
#[derive(Clone)]
pub struct Idempotency {
    store: Arc<dyn KeyStore>,
}

impl Idempotency {
    pub fn new(store: Arc<dyn KeyStore>) -> Idempotency {
        Idempotency { store }
    }

    /// Claims `key` for the request `fingerprint` by the caller `scope`, or says why not.
    pub async fn begin(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Begun, StorageError> {
        let now = clock::now_micros();
        let claim = |claimed_at: String| {
            let seed = Sha256::new()
                .chain_update(scope.as_bytes())
                .chain_update([0])
                .chain_update(key.as_bytes())
                .chain_update([0])
                .chain_update(fingerprint.as_bytes())
                .finalize()
                .into();
            Begun::Run(Claim {
                scope: scope.to_owned(),
                key: key.to_owned(),
                claimed_at,
                seed,
            })
        };
        let Some(stored) = self.store.claim_key(scope, key, fingerprint, &now).await? else {
            return Ok(claim(now));
        };
        if stored.fingerprint != fingerprint {
            return Ok(Begun::OtherRequest);
        }
        if let Some(outcome) = stored.outcome {
            return Ok(Begun::Replay(outcome));
        }
        let lapsed = clock::format_micros(time::OffsetDateTime::now_utc() - LEASE);
        if stored.claimed_at < lapsed
            && self
                .store
                .take_over_key(scope, key, &stored.claimed_at, &now)
                .await?
        {
            return Ok(claim(now));
        }
        Ok(Begun::Running)
    }

    /// Ends a run: keeps its outcome for the retries, or, given none, releases the key so a
    /// retry runs afresh.
    pub async fn finish(
        &self,
        claim: Claim,
        outcome: Option<&Outcome>,
    ) -> Result<(), StorageError> {
        let Claim {
            scope,
            key,
            claimed_at,
            ..
        } = claim;
        match outcome {
            Some(outcome) => {
                self.store
                    .record_outcome(&scope, &key, &claimed_at, outcome)
                    .await
            }
            None => self.store.release_key(&scope, &key, &claimed_at).await,
        }
    }

    /// Forgets the keys older than [`KEEP`]; returns how many.
    pub async fn purge(&self) -> Result<u64, StorageError> {
        let before = clock::format_micros(time::OffsetDateTime::now_utc() - KEEP);
        self.store.purge_keys(&before).await
    }
}
