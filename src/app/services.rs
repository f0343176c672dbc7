//! One of each application service, as the wiring builds them for a node: what the HTTP edge
//! holds in its state and the CLI's commands are given. Cheap to clone: handles only.

use super::access::Access;
use super::cases::Enforcement;
use super::credit::CreditRecords;
use super::epcis::Traceability;
use super::idempotency::Idempotency;
use super::marks::Marks;
use super::registry::Registry;
use super::resolver::Resolver;
use super::snapshot::Snapshots;
use super::status::Status;
use super::transparency::Transparency;
use super::verification::Verifier;
use super::witness::Witness;

#[derive(Clone)]
pub struct Services {
    /// Access tokens: authentication of every request.
    pub access: Access,
    /// Issuers, licensees, certificates and keys.
    pub registry: Registry,
    /// Batches and marks.
    pub marks: Marks,
    /// Verification of marks and the scan record.
    pub verifier: Verifier,
    /// Cases and flag queues.
    pub enforcement: Enforcement,
    /// Credit records.
    pub credit: CreditRecords,
    /// The log's public read side.
    pub transparency: Transparency,
    /// Idempotency keys: writes a client can retry.
    pub idempotency: Idempotency,
    /// Liveness and metrics.
    pub status: Status,
    /// This deployment as a witness of its partner brands' logs.
    pub witness: Witness,
    /// Signed status snapshots for offline verifiers.
    pub snapshots: Snapshots,
    /// EPCIS 2.0 documents for traceability partners.
    pub traceability: Traceability,
    /// The GS1 Digital Link resolver and certificates' public pages.
    pub resolver: Resolver,
}
