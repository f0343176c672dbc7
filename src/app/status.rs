//! The node's own status, for operators: liveness with the log size, and the Prometheus
//! metrics with the per-type event counts of the `event_types` read model.

use std::sync::Arc;

use crate::log::{Log, StorageError};
use crate::metrics::Metrics;
use crate::projections::ReadModels;
use crate::projections::event_types::EventTypes;

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
