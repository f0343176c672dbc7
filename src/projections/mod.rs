//! Read models built from the log. A projection consumes events in index order and turns each
//! page into [`ProjectionWrite`]s; storage applies them and moves the projection's position in
//! one transaction, and only if no other runner moved it first. So a projection is always
//! exactly the fold of the log up to its position, on one node or many, and can be rebuilt from
//! the log at any time (`marktrace projections rebuild`).
//!
//! Projections do not write the log and do not decide anything: they answer queries. Models
//! small enough to rebuild at every start are folded in memory instead ([`memory`]).

pub mod certificates;
pub mod enterprises;
pub mod event_types;
pub mod issuer_keys;
pub mod issuers;
pub mod memory;
pub mod tokens;

use std::sync::Arc;
use std::time::Duration;

use crate::access::TokenRecord;
use crate::domain::certificate::{CertificateState, Issued};
use crate::domain::issuer::IssuerStatus;
use crate::domain::key::{IssuerKeyAdded, KeyId, KeyStatus};
use crate::log::Log;
use crate::log::event::StoredEvent;
use crate::storage::StorageError;
use certificates::CertificateRecord;
use enterprises::EnterpriseRecord;
use issuers::IssuerRecord;

/// Events read and applied per transaction while catching up.
const PAGE: u32 = 1000;

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

/// Every projection the service keeps.
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(event_types::EventTypes),
        Arc::new(tokens::Tokens),
        Arc::new(issuers::Issuers),
        Arc::new(issuer_keys::IssuerKeys),
        Arc::new(enterprises::Enterprises),
        Arc::new(certificates::Certificates),
    ]
}

/// Applies every event the projection has not seen, up to the current end of the log.
/// Returns the projection's position afterwards.
pub async fn catch_up(log: &Log, projection: &dyn Projection) -> Result<u64, StorageError> {
    let store = log.store();
    let name = projection.name();
    let mut position = store.projection_position(name).await?;
    loop {
        let events = store.read_log(position, PAGE).await?;
        let Some(last) = events.last() else {
            return Ok(position);
        };
        let to = last.index + 1;
        let writes = projection.project(&events);
        if store.commit_projection(name, position, to, &writes).await? {
            position = to;
        } else {
            // Another runner (a rebuild, another node) moved the position: start from its.
            position = store.projection_position(name).await?;
        }
    }
}

/// Keeps a projection current for as long as the service runs.
pub async fn follow(log: Log, projection: Arc<dyn Projection>) {
    keep_up(&log, projection.name(), || {
        catch_up(&log, projection.as_ref())
    })
    .await
}

/// Runs `catch_up` whenever the log grows, for as long as the service runs: the loop behind
/// every read model, on disk or in memory. Errors are logged and retried, since a read model
/// may lag but must not stop.
pub async fn keep_up<F, Fut>(log: &Log, name: &str, mut catch_up: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, StorageError>>,
{
    let mut head = log.watch_head();
    loop {
        // Mark the head seen first, so an append during the catch-up still wakes the wait.
        head.borrow_and_update();
        if let Err(error) = catch_up().await {
            tracing::error!(read_model = name, %error, "catch-up failed");
        }
        // Woken by appends in this process or announced by other nodes; the timeout covers
        // writers that cannot announce (another process on the same SQLite file).
        let _ = tokio::time::timeout(Duration::from_secs(1), head.changed()).await;
    }
}

/// Empties every projection and rebuilds it from the whole log.
pub async fn rebuild_all(log: &Log) -> Result<Vec<(&'static str, u64)>, StorageError> {
    let mut rebuilt = Vec::new();
    for projection in all() {
        log.store().reset_projection(projection.name()).await?;
        let position = catch_up(log, projection.as_ref()).await?;
        rebuilt.push((projection.name(), position));
    }
    Ok(rebuilt)
}
