//! How many events of each type the log holds: the `marktrace_log_events` gauge in `/metrics`,
//! which lets operators watch the registry grow (batches issued, flags raised) per event type.

use std::collections::BTreeMap;

use super::model::{Projection, ProjectionWrite};
use crate::log::event::StoredEvent;

pub const NAME: &str = "event_types";

pub struct EventTypes;

impl Projection for EventTypes {
    fn name(&self) -> &'static str {
        NAME
    }

    fn project(&self, events: &[StoredEvent]) -> Vec<ProjectionWrite> {
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        for event in events {
            *counts.entry(event.event_type.as_str()).or_default() += 1;
        }
        counts
            .into_iter()
            .map(|(event_type, count)| ProjectionWrite::CountEvents {
                event_type: event_type.to_owned(),
                count,
            })
            .collect()
    }
}
