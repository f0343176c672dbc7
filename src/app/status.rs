//! The node's own status, for operators: liveness with the log size, readiness (the database
//! answers, the log writer runs), and the Prometheus metrics with the per-type event counts of
//! the `event_types` read model.

use std::sync::Arc;

use crate::log::{Log, StorageError};
use crate::metrics::Metrics;
use crate::projections::ReadModels;
use crate::projections::event_types::EventTypes;

/// What a readiness probe found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Readiness {
    /// Why the database did not answer; `None` when it did.
    pub database: Option<String>,
    pub log_writer: bool,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.database.is_none() && self.log_writer
    }
}

#[derive(Clone)]
pub struct Status {
    log: Log,
    models: ReadModels,
    metrics: Arc<Metrics>,
}

impl Status {
    pub fn new(log: Log, models: ReadModels, metrics: Arc<Metrics>) -> Status {
        Status {
            log,
            models,
            metrics,
        }
    }

    /// The number of events this node knows of: cheap, for liveness probes.
    pub fn log_size(&self) -> u64 {
        self.log.size()
    }

    /// Whether this node can serve: the database answers (the log head is read now) and the
    /// log writer takes appends.
    pub async fn readiness(&self) -> Readiness {
        Readiness {
            database: self.log.probe().await.err().map(|e| e.to_string()),
            log_writer: self.log.writer_running(),
        }
    }

    /// The Prometheus text exposition of every metric.
    pub async fn metrics(&self) -> Result<String, StorageError> {
        let event_types = self
            .models
            .current(&EventTypes)
            .await?
            .event_type_counts()
            .await?;
        Ok(self.metrics.render(self.log.size(), &event_types))
    }

    /// Empties every read model on disk and rebuilds it from the whole log
    /// (`marktrace projections rebuild`).
    pub async fn rebuild_read_models(&self) -> Result<Vec<(&'static str, u64)>, StorageError> {
        self.models.rebuild_all().await
    }
}
