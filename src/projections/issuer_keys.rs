//! The `issuer_keys` read model: every issuer key with its endorsement and current status, for
//! `GET /api/v1/keys` (what offline verifiers download) and for choosing a batch's signing key.

use super::model::{Projection, ProjectionWrite};
use crate::domain::key::{ISSUER_KEY_ADDED, IssuerKeyChanged, KeyStatus};
use crate::log::event::StoredEvent;

pub const NAME: &str = "issuer_keys";

pub struct IssuerKeys;

impl Projection for IssuerKeys {
    fn name(&self) -> &'static str {
        NAME
    }

    fn project(&self, events: &[StoredEvent]) -> Vec<ProjectionWrite> {
        events
            .iter()
            .filter(|event| event.stream.starts_with("issuerkeys-"))
            .filter_map(|event| {
                if event.event_type == ISSUER_KEY_ADDED {
                    return Some(ProjectionWrite::PutIssuerKey {
                        added: serde_json::from_str(&event.data).ok()?,
                        added_at: event.recorded_at.clone(),
                    });
                }
                let changed: IssuerKeyChanged = serde_json::from_str(&event.data).ok()?;
                Some(ProjectionWrite::SetIssuerKeyStatus {
                    key_id: changed.key_id,
                    status: KeyStatus::Added.after(&event.event_type),
                    updated_at: event.recorded_at.clone(),
                })
            })
            .collect()
    }
}
