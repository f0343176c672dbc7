//! The `certificates` read model: each certificate's application, stored state and, once
//! issued, its code and validity. `expired` is derived when a certificate is read, from
//! `valid_until` and the reader's clock.

use super::model::{CertificateRecord, Projection, ProjectionWrite};
use crate::domain::certificate::{
    Applied, CERTIFICATE_APPLIED, CERTIFICATE_EVALUATED, CERTIFICATE_ISSUED,
    CERTIFICATE_REINSTATED, CERTIFICATE_REVOKED, CERTIFICATE_SUSPENDED, CertificateState, Issued,
};
use crate::log::event::StoredEvent;

pub const NAME: &str = "certificates";

pub struct Certificates;

impl Projection for Certificates {
    fn name(&self) -> &'static str {
        NAME
    }

    fn project(&self, events: &[StoredEvent]) -> Vec<ProjectionWrite> {
        events
            .iter()
            .filter_map(|event| {
                let id = event.stream.strip_prefix("certificate-")?.to_owned();
                let updated_at = event.recorded_at.clone();
                match event.event_type.as_str() {
                    CERTIFICATE_APPLIED => {
                        let applied: Applied = serde_json::from_str(&event.data).ok()?;
                        Some(ProjectionWrite::PutCertificate(CertificateRecord {
                            applied,
                            state: CertificateState::Applied,
                            code: None,
                            valid_from: None,
                            valid_until: None,
                            applied_at: updated_at.clone(),
                            updated_at,
                        }))
                    }
                    CERTIFICATE_ISSUED => {
                        let issued: Issued = serde_json::from_str(&event.data).ok()?;
                        Some(ProjectionWrite::IssueCertificate {
                            certificate_id: id,
                            issued,
                            updated_at,
                        })
                    }
                    CERTIFICATE_EVALUATED
                    | CERTIFICATE_SUSPENDED
                    | CERTIFICATE_REINSTATED
                    | CERTIFICATE_REVOKED => Some(ProjectionWrite::SetCertificateState {
                        certificate_id: id,
                        state: CertificateState::Applied.after(&event.event_type, &event.data),
                        updated_at,
                    }),
                    _ => None,
                }
            })
            .collect()
    }
}
