//! The status snapshot's read model: every status that can change a verdict, folded from the
//! log into the numbered tables of `domain::snapshot`, each row with the log index of its last
//! change, so that the snapshot as of now and the delta since any earlier size are both read
//! straight off it. Rows are numbered by first appearance in the log, which every node folds
//! in the same order, so any node serves the same numbers.

use std::collections::HashMap;
use std::hash::Hash;

use crate::domain::batch::{
    BATCHES_STREAM, BatchIssued, MARK_BATCH_ISSUED, MARK_RANGE_REPORTED, RangeReported,
};
use crate::domain::brand::{
    SUB_BRAND_REGISTERED, SUB_BRAND_REINSTATED, SUB_BRAND_SUSPENDED, SubBrandChanged,
    SubBrandRegistered, suspended_after,
};
use crate::domain::certificate::{
    Applied, CERTIFICATE_APPLIED, CERTIFICATE_ISSUED, CertificateState, Issued,
};
use crate::domain::gtin::Gtin;
use crate::domain::issuer::{
    ISSUER_REGISTERED, ISSUER_REINSTATED, ISSUER_SUSPENDED, IssuerRegistered, IssuerReinstated,
    IssuerStatus, IssuerSuspended,
};
use crate::domain::key::{ISSUER_KEY_ADDED, IssuerKeyAdded, IssuerKeyChanged, KeyId, KeyStatus};
use crate::domain::snapshot::{
    BatchRecord, CertificateRecord, IssuerRecord, KeyRecord, ReportRecord, Row, Snapshot,
    SubBrandRecord,
};
use crate::log::event::StoredEvent;
use crate::projections::memory::{Fold, Folded};

/// A numbered table: rows by first appearance, each with the log index of its last change.
struct Table<K, T> {
    numbers: HashMap<K, u32>,
    rows: Vec<(T, u64)>,
}

impl<K, T> Default for Table<K, T> {
    fn default() -> Self {
        Table {
            numbers: HashMap::new(),
            rows: Vec::new(),
        }
    }
}

impl<K: Eq + Hash, T: Clone> Table<K, T> {
    /// The row of `key`, made with `new` at `index` if it is not there yet.
    fn number(&mut self, key: K, index: u64, new: impl FnOnce() -> T) -> u32 {
        *self.numbers.entry(key).or_insert_with(|| {
            self.rows.push((new(), index));
            (self.rows.len() - 1) as u32
        })
    }

    fn insert(&mut self, key: K, index: u64, row: T) -> u32 {
        let number = self.number(key, index, || row.clone());
        self.rows[number as usize] = (row, index);
        number
    }

    fn change(&mut self, key: &K, index: u64, change: impl FnOnce(&mut T)) {
        if let Some(&number) = self.numbers.get(key) {
            let (row, changed) = &mut self.rows[number as usize];
            change(row);
            *changed = index;
        }
    }

    fn get(&self, key: &K) -> Option<u32> {
        self.numbers.get(key).copied()
    }

    /// The rows changed at or after log index `since`.
    fn since(&self, since: u64) -> Vec<Row<T>> {
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, (_, changed))| *changed >= since)
            .map(|(number, (row, _))| (number as u32, row.clone()))
            .collect()
    }
}

/// The folded statuses.
#[derive(Default)]
pub struct Statuses {
    keys: Table<KeyId, KeyRecord>,
    sub_brands: Table<String, SubBrandRecord>,
    issuers: Table<String, IssuerRecord>,
    /// By certificate id.
    certificates: Table<String, CertificateRecord>,
    enterprises: Table<String, String>,
    gtins: Table<u64, Gtin>,
    /// With the log index of each.
    batches: Vec<(BatchRecord, u64)>,
    reports: Vec<(ReportRecord, u64)>,
}

impl Fold for Statuses {
    fn apply(&mut self, event: &StoredEvent) {
        let index = event.index;
        let data = event.data.as_str();
        match event.event_type.as_str() {
            ISSUER_KEY_ADDED => {
                if let Ok(added) = serde_json::from_str::<IssuerKeyAdded>(data) {
                    let row = KeyRecord {
                        key_id: added.key_id,
                        public_key: added.public_key.to_bytes(),
                        status: KeyStatus::Added,
                    };
                    self.keys.insert(added.key_id, index, row);
                }
            }
            kind if event.stream.starts_with("issuerkeys-") => {
                if let Ok(changed) = serde_json::from_str::<IssuerKeyChanged>(data) {
                    self.keys
                        .change(&changed.key_id, index, |k| k.status = k.status.after(kind));
                }
            }
            SUB_BRAND_REGISTERED => {
                if let Ok(registered) = serde_json::from_str::<SubBrandRegistered>(data) {
                    let id = registered.sub_brand_id.as_str().to_owned();
                    let row = SubBrandRecord {
                        sub_brand_id: id.clone(),
                        suspended: false,
                    };
                    self.sub_brands.insert(id, index, row);
                }
            }
            kind @ (SUB_BRAND_SUSPENDED | SUB_BRAND_REINSTATED) => {
                if let Ok(changed) = serde_json::from_str::<SubBrandChanged>(data) {
                    let id = changed.sub_brand_id.as_str().to_owned();
                    self.sub_brands.change(&id, index, |b| {
                        b.suspended = suspended_after(b.suspended, kind);
                    });
                }
            }
            ISSUER_REGISTERED => {
                if let Ok(issuer) = serde_json::from_str::<IssuerRegistered>(data) {
                    let id = issuer.issuer_id.as_str().to_owned();
                    let sub_brand = issuer
                        .sub_brand
                        .as_ref()
                        .and_then(|b| self.sub_brands.get(&b.as_str().to_owned()));
                    let row = IssuerRecord {
                        issuer_id: id.clone(),
                        status: IssuerStatus::Active,
                        sub_brand,
                    };
                    self.issuers.insert(id, index, row);
                }
            }
            kind @ (ISSUER_SUSPENDED | ISSUER_REINSTATED) => {
                let id = match kind {
                    ISSUER_SUSPENDED => serde_json::from_str::<IssuerSuspended>(data)
                        .map(|s| s.issuer_id.as_str().to_owned()),
                    _ => serde_json::from_str::<IssuerReinstated>(data)
                        .map(|s| s.issuer_id.as_str().to_owned()),
                };
                if let Ok(id) = id {
                    self.issuers
                        .change(&id, index, |i| i.status = i.status.after(kind));
                }
            }
            CERTIFICATE_APPLIED => {
                if let Ok(applied) = serde_json::from_str::<Applied>(data) {
                    let row = CertificateRecord {
                        code: String::new(),
                        state: CertificateState::Applied,
                        valid_until: None,
                    };
                    self.certificates.insert(applied.certificate_id, index, row);
                }
            }
            kind if event.stream.starts_with("certificate-") => {
                let id = event.stream["certificate-".len()..].to_owned();
                let issued = (kind == CERTIFICATE_ISSUED)
                    .then(|| serde_json::from_str::<Issued>(data).ok())
                    .flatten();
                self.certificates.change(&id, index, |c| {
                    c.state = c.state.after(kind, data);
                    if let Some(issued) = issued {
                        c.code = issued.code;
                        c.valid_until = Some(issued.valid_until);
                    }
                });
            }
            MARK_BATCH_ISSUED if event.stream == BATCHES_STREAM => {
                if let Ok(batch) = serde_json::from_str::<BatchIssued>(data) {
                    self.batch(&batch, index);
                }
            }
            MARK_RANGE_REPORTED => {
                if let Ok(report) = serde_json::from_str::<RangeReported>(data) {
                    let row = ReportRecord {
                        first: report.first,
                        last: report.last,
                        status: report.status,
                    };
                    self.reports.push((row, index));
                }
            }
            _ => {}
        }
    }
}

impl Statuses {
    /// Records a batch with its rows; one whose key, certificate or issuer the log never
    /// registered (which the registry does not issue) is left out.
    fn batch(&mut self, batch: &BatchIssued, index: u64) {
        let (Some(key), Some(certificate), Some(issuer)) = (
            self.keys.get(&batch.key_id),
            self.certificates.get(&batch.certificate_id),
            self.issuers.get(&batch.issuer_id.as_str().to_owned()),
        ) else {
            return;
        };
        let uscc = batch.enterprise_uscc.clone();
        let enterprise = self.enterprises.number(uscc.clone(), index, || uscc);
        let gtin = batch
            .gtin
            .map(|g| self.gtins.number(g.as_u64(), index, || g));
        let row = BatchRecord {
            first_serial: batch.first_serial,
            count: batch.count,
            key,
            certificate,
            enterprise,
            issuer,
            gtin,
        };
        self.batches.push((row, index));
    }

    /// The snapshot of the events before `size` (the fold's position) since the snapshot of
    /// `since` events (a delta), or whole; unsigned and without its checkpoint.
    pub fn snapshot(&self, size: u64, since: Option<u64>, label_hosts: Vec<String>) -> Snapshot {
        let from = since.unwrap_or(0);
        let first_batch = self.batches.partition_point(|(_, at)| *at < from);
        let mut batches: Vec<BatchRecord> = self.batches[first_batch..]
            .iter()
            .map(|(b, _)| *b)
            .collect();
        // Serials are allocated in order, but two nodes' batches may commit out of it.
        batches.sort_by_key(|b| b.first_serial);
        Snapshot {
            size,
            since,
            label_hosts,
            keys: self.keys.since(from),
            sub_brands: self.sub_brands.since(from),
            issuers: self.issuers.since(from),
            certificates: self.certificates.since(from),
            enterprises: self.enterprises.since(from),
            gtins: self.gtins.since(from),
            first_batch: first_batch as u32,
            batches,
            reports: self
                .reports
                .iter()
                .filter(|(_, at)| *at >= from)
                .map(|(r, _)| *r)
                .collect(),
            checkpoint: String::new(),
        }
    }
}

/// The statuses, shared by the snapshot service and its follower.
pub type StatusIndex = Folded<Statuses>;
