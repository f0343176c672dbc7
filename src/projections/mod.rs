//! Read models built from the log. A projection consumes events in index order and turns each
//! page into [`ProjectionWrite`]s; storage applies them and moves the projection's position in
//! one transaction, and only if no other runner moved it first. So a projection is always
//! exactly the fold of the log up to its position, on one node or many, and can be rebuilt from
//! the log at any time (`marktrace projections rebuild`).
//!
//! Projections do not write the log and do not decide anything: they answer queries. Models
//! small enough to rebuild at every start are folded in memory instead ([`memory`]): the mark
//! index ([`marks`]), cases ([`cases`]) and credit records ([`credit`]). Each declares the
//! storage it needs ([`store`]); services query through [`ReadModels`].

pub mod brands;
pub mod cases;
pub mod certificates;
pub mod credit;
pub mod enterprises;
pub mod event_types;
pub mod issuer_keys;
pub mod issuers;
pub mod marks;
pub mod memory;
pub mod model;
pub mod status;
pub mod store;
pub mod tokens;

use std::sync::Arc;
use std::time::Duration;

use crate::log::event::StoredEvent;
use crate::log::{Log, StorageError};
use model::Projection;
use store::ProjectionStore;

/// Events read and applied per transaction while catching up.
const PAGE: u32 = 1000;

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

/// The read models on disk and the log they fold: what a service holds to query them. A query
/// first catches its projection up with every event this node knows of, so a write is visible
/// to the request after it, whichever node made it.
#[derive(Clone)]
pub struct ReadModels {
    log: Log,
    store: Arc<dyn ProjectionStore>,
}

impl ReadModels {
    pub fn new(log: Log, store: Arc<dyn ProjectionStore>) -> ReadModels {
        ReadModels { log, store }
    }

    /// The read models' store, once `projection` has caught up with the log.
    pub async fn current(
        &self,
        projection: &dyn Projection,
    ) -> Result<&dyn ProjectionStore, StorageError> {
        self.catch_up(projection).await?;
        Ok(self.store.as_ref())
    }

    /// Applies every event the projection has not seen, up to the current end of the log.
    /// Returns the projection's position afterwards.
    pub async fn catch_up(&self, projection: &dyn Projection) -> Result<u64, StorageError> {
        let name = projection.name();
        let mut position = self.store.projection_position(name).await?;
        loop {
            let events: Vec<StoredEvent> = self.log.read(position, PAGE).await?;
            let Some(last) = events.last() else {
                return Ok(position);
            };
            let to = last.index + 1;
            let writes = projection.project(&events);
            if self
                .store
                .commit_projection(name, position, to, &writes)
                .await?
            {
                position = to;
            } else {
                // Another runner (a rebuild, another node) moved the position: start from its.
                position = self.store.projection_position(name).await?;
            }
        }
    }

    /// Keeps a projection current for as long as the service runs.
    pub async fn follow(self, projection: Arc<dyn Projection>) {
        let models = self.clone();
        keep_up(&self.log, projection.name(), || {
            models.catch_up(projection.as_ref())
        })
        .await
    }

    /// Empties every projection and rebuilds it from the whole log.
    pub async fn rebuild_all(&self) -> Result<Vec<(&'static str, u64)>, StorageError> {
        let mut rebuilt = Vec::new();
        for projection in all() {
            self.store.reset_projection(projection.name()).await?;
            let position = self.catch_up(projection.as_ref()).await?;
            rebuilt.push((projection.name(), position));
        }
        Ok(rebuilt)
    }
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
