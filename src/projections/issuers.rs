//! The `issuers` read model: every certification body with its brand, region and current
//! status, for the registry API and, later, for checking that an issuer may issue.

use super::model::{IssuerRecord, Projection, ProjectionWrite};
use crate::domain::issuer::{
    ISSUER_REGISTERED, ISSUER_REINSTATED, ISSUER_SUSPENDED, IssuerRegistered, IssuerStatus,
};
use crate::log::event::StoredEvent;

pub const NAME: &str = "issuers";

pub struct Issuers;

impl Projection for Issuers {
    fn name(&self) -> &'static str {
        NAME
    }

    fn project(&self, events: &[StoredEvent]) -> Vec<ProjectionWrite> {
        events
            .iter()
            .filter_map(|event| match event.event_type.as_str() {
                ISSUER_REGISTERED => {
                    let registered: IssuerRegistered = serde_json::from_str(&event.data).ok()?;
                    Some(ProjectionWrite::PutIssuer(IssuerRecord {
                        registered,
                        status: IssuerStatus::Active,
                        registered_at: event.recorded_at.clone(),
                        updated_at: event.recorded_at.clone(),
                    }))
                }
                ISSUER_SUSPENDED | ISSUER_REINSTATED => {
                    let id = event.stream.strip_prefix("issuer-")?.to_owned();
                    Some(ProjectionWrite::SetIssuerStatus {
                        issuer_id: id,
                        status: IssuerStatus::Active.after(&event.event_type),
                        updated_at: event.recorded_at.clone(),
                    })
                }
                _ => None,
            })
            .collect()
    }
}
