//! The `enterprises` read model: licensees by Unified Social Credit Code, for the registry
//! API and, later, for certificates and verification.

use super::model::{EnterpriseRecord, Projection, ProjectionWrite};
use crate::domain::enterprise::ENTERPRISE_REGISTERED;
use crate::log::event::StoredEvent;

pub const NAME: &str = "enterprises";

pub struct Enterprises;

impl Projection for Enterprises {
    fn name(&self) -> &'static str {
        NAME
    }

    fn project(&self, events: &[StoredEvent]) -> Vec<ProjectionWrite> {
        events
            .iter()
            .filter(|e| e.event_type == ENTERPRISE_REGISTERED)
            .filter_map(|event| {
                let registered = serde_json::from_str(&event.data).ok()?;
                Some(ProjectionWrite::PutEnterprise(EnterpriseRecord {
                    registered,
                    registered_at: event.recorded_at.clone(),
                }))
            })
            .collect()
    }
}
