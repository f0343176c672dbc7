//! The in-memory index of marks: every batch by its first serial, with the reports that changed
//! the status of its ranges, and the registry facts a verification reads beside them (issuer
//! keys and their status, certificates, enterprises, issuers). It answers "which batch holds
//! serial S, what is S's status, and what is registered about it" in O(log batches) plus a scan
//! of that batch's reports, with no row per mark anywhere, and gives the next free serial and
//! the versions that appends to `batches` and `batch-<id>` must match. It is a read model like
//! the projections, folded from the log and kept current by following it, so every node has
//! its own; it holds no private data and decides nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ed25519_dalek::VerifyingKey;

use crate::domain::batch::{
    BATCHES_STREAM, BatchIssued, MARK_BATCH_ISSUED, MARK_RANGE_REPORTED, MarkStatus, RangeReported,
    status_of,
};
use crate::domain::brand::PartnerBrandRegistered;
use crate::domain::certificate::{
    Applied, CERTIFICATE_APPLIED, CERTIFICATE_ISSUED, CertificateState, Issued,
};
use crate::domain::detection::{FLAG_RAISED, FlagRaised};
use crate::domain::enterprise::{ENTERPRISE_REGISTERED, EnterpriseRegistered};
use crate::domain::gtin::Gtin;
use crate::domain::issuer::{ISSUER_REGISTERED, IssuerRegistered};
use crate::domain::key::{ISSUER_KEY_ADDED, IssuerKeyAdded, IssuerKeyChanged, KeyId, KeyStatus};
use crate::domain::verdict::Flag;
use crate::log::Log;
use crate::log::StorageError;
use crate::log::event::StoredEvent;
use crate::mark::batch::BatchKey;
use crate::projections::brands::{Brands, PartnerEntry, PartnerKeyEntry, SubBrandEntry};
use crate::projections::memory::{Fold, Folded, ReadGuard};

/// A batch as the index holds it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Batch)]
pub struct BatchEntry {
    #[serde(flatten)]
    #[schema(value_type = BatchIssued)]
    pub issued: Arc<BatchIssued>,
    /// Reports on its ranges, in log order.
    pub reports: Vec<RangeReported>,
    pub issued_at: String,
    /// The version of the batch's own stream (`batch-<id>`), 0 before its first report.
    #[serde(skip)]
    pub version: u64,
}

/// One serial's batch and status (`None`: good standing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkView {
    pub batch: Arc<BatchIssued>,
    pub status: Option<MarkStatus>,
}

/// An issuer key as verification needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEntry {
    pub public: VerifyingKey,
    /// The key as batch verification needs it, worked out once.
    pub batch: Arc<BatchKey>,
    pub status: KeyStatus,
}

/// A certificate's application, state and (once issued) code and validity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateEntry {
    pub applied: Applied,
    pub state: CertificateState,
    pub issued: Option<Issued>,
}

/// Everything registered about a serial: its batch and status and the facts around it.
#[derive(Clone, Debug)]
pub struct Registered {
    pub serial: u64,
    pub mark: MarkView,
    pub certificate: Option<Arc<CertificateEntry>>,
    pub enterprise: Option<Arc<EnterpriseRegistered>>,
    pub issuer: Option<Arc<IssuerRegistered>>,
    /// The sub-brand the issuer certifies for, if any.
    pub sub_brand: Option<SubBrandEntry>,
    /// The flags raised for the serial so far.
    pub flags: Vec<Flag>,
}

#[derive(Default)]
struct State {
    /// Batches by first serial.
    batches: BTreeMap<u64, BatchEntry>,
    by_id: HashMap<String, u64>,
    /// The version of the `batches` stream.
    batches_version: u64,
    keys: HashMap<KeyId, KeyEntry>,
    certificates: HashMap<String, Arc<CertificateEntry>>,
    /// Licensees by (issuer, USCC): a mark names its issuer's licensee.
    enterprises: HashMap<(String, String), Arc<EnterpriseRegistered>>,
    issuers: HashMap<String, Arc<IssuerRegistered>>,
    /// Flags raised per serial, and every flag with its log index and time, in log order.
    flags_by_serial: HashMap<u64, Vec<Flag>>,
    flags: Vec<FlagEntry>,
    brands: Brands,
}

/// A raised flag as the index keeps it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = FlagRaised)]
pub struct FlagEntry {
    pub index: u64,
    pub raised_at: String,
    #[serde(flatten)]
    pub raised: FlagRaised,
}

impl Fold for State {
    fn apply(&mut self, event: &StoredEvent) {
        if self.brands.apply(event) {
            return;
        }
        match event.event_type.as_str() {
            MARK_BATCH_ISSUED if event.stream == BATCHES_STREAM => {
                self.batches_version = event.version;
                if let Ok(issued) = serde_json::from_str::<BatchIssued>(&event.data) {
                    self.by_id
                        .insert(issued.batch_id.clone(), issued.first_serial);
                    self.batches.insert(
                        issued.first_serial,
                        BatchEntry {
                            issued: Arc::new(issued),
                            reports: Vec::new(),
                            issued_at: event.recorded_at.clone(),
                            version: 0,
                        },
                    );
                }
            }
            MARK_RANGE_REPORTED => {
                let Ok(report) = serde_json::from_str::<RangeReported>(&event.data) else {
                    return;
                };
                let first = self.by_id.get(&report.batch_id).copied();
                if let Some(entry) = first.and_then(|f| self.batches.get_mut(&f)) {
                    entry.version = event.version;
                    entry.reports.push(report);
                }
            }
            FLAG_RAISED => {
                if let Ok(raised) = serde_json::from_str::<FlagRaised>(&event.data) {
                    self.flags_by_serial
                        .entry(raised.serial)
                        .or_default()
                        .push(raised.flag);
                    self.flags.push(FlagEntry {
                        index: event.index,
                        raised_at: event.recorded_at.clone(),
                        raised,
                    });
                }
            }
            ISSUER_KEY_ADDED => {
                if let Ok(added) = serde_json::from_str::<IssuerKeyAdded>(&event.data) {
                    let entry = KeyEntry {
                        public: added.public_key,
                        batch: Arc::new(BatchKey::new(added.public_key)),
                        status: KeyStatus::Added,
                    };
                    self.keys.insert(added.key_id, entry);
                }
            }
            other if event.stream.starts_with("issuerkeys-") => {
                let changed = serde_json::from_str::<IssuerKeyChanged>(&event.data);
                if let Some(key) = changed.ok().and_then(|c| self.keys.get_mut(&c.key_id)) {
                    key.status = key.status.after(other);
                }
            }
            ISSUER_REGISTERED => {
                if let Ok(issuer) = serde_json::from_str::<IssuerRegistered>(&event.data) {
                    let id = issuer.issuer_id.as_str().to_owned();
                    self.issuers.insert(id, Arc::new(issuer));
                }
            }
            ENTERPRISE_REGISTERED => {
                if let Ok(enterprise) = serde_json::from_str::<EnterpriseRegistered>(&event.data) {
                    let key = (
                        enterprise.registered_by.as_str().to_owned(),
                        enterprise.uscc.clone(),
                    );
                    self.enterprises.insert(key, Arc::new(enterprise));
                }
            }
            CERTIFICATE_APPLIED => {
                if let Ok(applied) = serde_json::from_str::<Applied>(&event.data) {
                    let entry = CertificateEntry {
                        applied,
                        state: CertificateState::Applied,
                        issued: None,
                    };
                    let id = entry.applied.certificate_id.clone();
                    self.certificates.insert(id, Arc::new(entry));
                }
            }
            other if event.stream.starts_with("certificate-") => {
                let id = &event.stream["certificate-".len()..];
                if let Some(entry) = self.certificates.get_mut(id) {
                    let entry = Arc::make_mut(entry);
                    entry.state = entry.state.after(other, &event.data);
                    if other == CERTIFICATE_ISSUED {
                        entry.issued = serde_json::from_str(&event.data).ok();
                    }
                }
            }
            _ => {}
        }
    }
}

impl State {
    fn entry_of(&self, serial: u64) -> Option<&BatchEntry> {
        let (_, entry) = self.batches.range(..=serial).next_back()?;
        entry.issued.contains(serial).then_some(entry)
    }
}

/// The index, shared by a service's handlers and its follower task.
#[derive(Default)]
pub struct MarkIndex {
    folded: Folded<State>,
}

impl MarkIndex {
    /// Applies every event not yet seen, up to the current end of the log; returns the
    /// position afterwards.
    pub async fn catch_up(&self, log: &Log) -> Result<u64, StorageError> {
        self.folded.catch_up(log).await
    }

    fn read(&self) -> ReadGuard<'_, State> {
        self.folded.read()
    }

    /// The batch holding `serial` and the serial's status.
    pub fn lookup(&self, serial: u64) -> Option<MarkView> {
        let state = self.read();
        let entry = state.entry_of(serial)?;
        Some(MarkView {
            batch: entry.issued.clone(),
            status: status_of(&entry.reports, serial),
        })
    }

    /// An issuer key by id.
    pub fn key(&self, key_id: KeyId) -> Option<KeyEntry> {
        self.read().keys.get(&key_id).cloned()
    }

    /// What is registered about `serial`, if a batch holds it.
    pub fn registered(&self, serial: u64) -> Option<Registered> {
        let state = self.read();
        let entry = state.entry_of(serial)?;
        let batch = &entry.issued;
        let issuer = state.issuers.get(batch.issuer_id.as_str());
        Some(Registered {
            serial,
            mark: MarkView {
                batch: batch.clone(),
                status: status_of(&entry.reports, serial),
            },
            certificate: state.certificates.get(&batch.certificate_id).cloned(),
            enterprise: state
                .enterprises
                .get(&(
                    batch.issuer_id.as_str().to_owned(),
                    batch.enterprise_uscc.clone(),
                ))
                .cloned(),
            issuer: issuer.cloned(),
            sub_brand: issuer
                .as_ref()
                .and_then(|i| i.sub_brand.as_ref())
                .and_then(|id| state.brands.sub_brand(id.as_str()))
                .cloned(),
            flags: state
                .flags_by_serial
                .get(&serial)
                .cloned()
                .unwrap_or_default(),
        })
    }

    /// A partner brand's key by id.
    pub fn partner_key(&self, key_id: KeyId) -> Option<PartnerKeyEntry> {
        self.read().brands.partner_key(key_id).cloned()
    }

    pub fn sub_brand(&self, id: &str) -> Option<SubBrandEntry> {
        self.read().brands.sub_brand(id).cloned()
    }

    /// Every sub-brand, by id.
    pub fn sub_brands(&self) -> Vec<SubBrandEntry> {
        self.read().brands.sub_brands()
    }

    pub fn partner(&self, id: &str) -> Option<PartnerEntry> {
        self.read().brands.partner(id).cloned()
    }

    /// Every partner brand, by id.
    pub fn partners(&self) -> Vec<PartnerEntry> {
        self.read().brands.partners()
    }

    /// The partner whose log has this origin.
    pub fn partner_by_origin(&self, origin: &str) -> Option<Arc<PartnerBrandRegistered>> {
        self.read().brands.partner_by_origin(origin)
    }

    /// The flags raised for a serial.
    pub fn flags_of(&self, serial: u64) -> Vec<Flag> {
        self.read()
            .flags_by_serial
            .get(&serial)
            .cloned()
            .unwrap_or_default()
    }

    /// Up to `limit` flags after log index `after` that `keep` accepts, in log order.
    pub fn flags(
        &self,
        after: Option<u64>,
        limit: usize,
        keep: impl Fn(&FlagEntry) -> bool,
    ) -> Vec<FlagEntry> {
        let state = self.read();
        let start = after.map_or(0, |a| state.flags.partition_point(|f| f.index <= a));
        state.flags[start..]
            .iter()
            .filter(|f| keep(f))
            .take(limit)
            .cloned()
            .collect()
    }

    /// The next log index this index will apply.
    pub fn position(&self) -> u64 {
        self.read().next()
    }

    pub fn batch(&self, batch_id: &str) -> Option<BatchEntry> {
        let state = self.read();
        let first = state.by_id.get(batch_id)?;
        state.batches.get(first).cloned()
    }

    /// Up to `limit` batches in serial order after the batch `after`, optionally of one issuer.
    pub fn batches(
        &self,
        issuer: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Vec<BatchEntry> {
        let state = self.read();
        let from = match after {
            Some(id) => match state.by_id.get(id) {
                Some(first) => first + 1,
                None => return Vec::new(),
            },
            None => 0,
        };
        state
            .batches
            .range(from..)
            .map(|(_, entry)| entry)
            .filter(|entry| issuer.is_none_or(|i| entry.issued.issuer_id.as_str() == i))
            .take(limit)
            .cloned()
            .collect()
    }

    /// The codes of the certificates batches carrying `gtin` were issued under, each once, in
    /// the order of the batches' serials.
    pub fn certificate_codes_of(&self, gtin: Gtin) -> Vec<String> {
        let mut codes: Vec<String> = Vec::new();
        for entry in self.read().batches.values() {
            let batch = &entry.issued;
            if batch.gtin == Some(gtin) && !codes.contains(&batch.certificate_code) {
                codes.push(batch.certificate_code.clone());
            }
        }
        codes
    }

    /// The first serial a new batch gets and the `batches` stream version its append must
    /// find. Serials start at 1.
    pub fn next_serial(&self) -> (u64, u64) {
        let state = self.read();
        let next = state
            .batches
            .last_key_value()
            .map_or(1, |(_, entry)| entry.issued.last_serial() + 1);
        (next, state.batches_version)
    }
}
