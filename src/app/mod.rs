//! Application services: one per capability, each a type holding what it needs, called alike
//! by the HTTP handlers, the CLI and the tests. A service applies the domain's rules to the
//! log and reads the read models; it knows neither HTTP nor SQL. [`services::Services`] holds
//! one of each, as the wiring builds them.
//!
//! The types of the layers below that appear in the services' answers and errors are
//! re-exported here, so the edges name them through the services they call.

pub mod access;
pub mod cases;
pub mod credit;
pub mod detection;
pub mod enforcement;
pub mod epcis;
pub mod idempotency;
pub mod marks;
pub mod registry;
pub mod resolver;
pub mod services;
pub mod setup;
pub mod snapshot;
pub mod status;
pub mod transparency;
pub mod verification;
pub mod witness;

pub use crate::log::audit::{AuditError, AuditReport};
pub use crate::log::note::NoteVerifier;
pub use crate::log::proofs::ProofError;
pub use crate::log::{AppendError, StorageError};
pub use crate::mark::export::CsvExport;
pub use crate::mark::qr::{Label, MAX_MODULE_PX};
pub use crate::projections::brands::{PartnerEntry, SubBrandEntry};
pub use crate::projections::cases::{Case, CaseStatus, ReportEntry};
pub use crate::projections::credit::RecordEntry;
pub use crate::projections::marks::{BatchEntry, FlagEntry};
pub use crate::projections::model::{
    CertificateRecord, EnterpriseRecord, IssuerKeyRecord, IssuerRecord, TokenRecord,
};
pub use crate::projections::store::{CertificateFilter, EnterpriseFilter, IssuerFilter, KeyFilter};
