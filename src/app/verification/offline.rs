//! Verification without the service (`marktrace verify --offline SNAPSHOT`): the verdict from
//! a status snapshot alone, by the same rules as the server (`check::decide`, `check::rules`),
//! reading the snapshot where the server reads its mark index. What it cannot know are the
//! flags behaviour raises (scans: `cloned`, `excessive_scans`, `diverted`; earlier `traded`
//! findings) and a partner brand's marks, whose keys the snapshot does not carry; and it is
//! only as fresh as the snapshot: the answer says as of which log size.

use std::collections::{BTreeMap, HashMap};

use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use time::Date;

use super::check::{Presented, Signature, Standing, decide, rebuilt, rules};
use crate::domain::batch::{RangeReported, status_of};
use crate::domain::key::{KeyId, KeyStatus};
use crate::domain::snapshot::{BatchRecord, Snapshot};
use crate::domain::verdict::{Answer, CertificateStatus, Flag, Reason, Verdict};
use crate::mark::label::{LabelHosts, LabelUrl, parse_label_url};
use crate::mark::token::{Token, TokenError};

/// An offline answer, and how fresh the snapshot behind it is.
#[derive(Clone, Debug, Serialize)]
pub struct OfflineAnswer {
    #[serde(flatten)]
    pub answer: Answer,
    pub as_of: AsOf,
}

/// Staleness: the answer is the server's as of this log size. Any revocation, report or
/// suspension appended after it is not in the answer; fetch a delta (`?since=size`) to catch
/// up.
#[derive(Clone, Debug, Serialize)]
pub struct AsOf {
    /// Log events the snapshot covers: it is as of log index `size - 1`.
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error("a delta alone cannot decide: apply it to the snapshot it extends")]
    Delta,
    #[error("the snapshot is inconsistent: {0}")]
    Inconsistent(&'static str),
}

/// A full snapshot, indexed for lookups.
pub struct Offline {
    snapshot: Snapshot,
    keys: HashMap<KeyId, (u32, VerifyingKey)>,
    /// Batch numbers by first serial.
    batches: BTreeMap<u64, usize>,
    /// Each batch's reports, in log order.
    reports: HashMap<usize, Vec<RangeReported>>,
    label_hosts: LabelHosts,
}

impl Offline {
    /// Indexes a full snapshot (opened with `snapshot::open`), checking every row it refers to.
    pub fn new(snapshot: Snapshot) -> Result<Offline, OfflineError> {
        if snapshot.since.is_some() {
            return Err(OfflineError::Delta);
        }
        let bad = OfflineError::Inconsistent;
        let mut keys = HashMap::new();
        for (number, key) in &snapshot.keys {
            let public = VerifyingKey::from_bytes(&key.public_key)
                .map_err(|_| bad("a key is not an Ed25519 point"))?;
            keys.insert(key.key_id, (*number, public));
        }
        let fits = |row: u32, len: usize| (row as usize) < len;
        let mut batches = BTreeMap::new();
        for (number, b) in snapshot.batches.iter().enumerate() {
            let refs = fits(b.key, snapshot.keys.len())
                && fits(b.certificate, snapshot.certificates.len())
                && fits(b.enterprise, snapshot.enterprises.len())
                && fits(b.issuer, snapshot.issuers.len())
                && b.gtin.is_none_or(|g| fits(g, snapshot.gtins.len()));
            if !refs {
                return Err(bad("a batch refers to a row the snapshot lacks"));
            }
            batches.insert(b.first_serial, number);
        }
        let issuer_refs = snapshot.issuers.iter().all(|(_, i)| {
            i.sub_brand
                .is_none_or(|b| fits(b, snapshot.sub_brands.len()))
        });
        if !issuer_refs {
            return Err(bad("an issuer refers to a sub-brand the snapshot lacks"));
        }
        let label_hosts = LabelHosts::of(&snapshot.label_hosts)
            .map_err(|_| bad("a label host does not parse"))?;
        let mut offline = Offline {
            snapshot,
            keys,
            batches,
            reports: HashMap::new(),
            label_hosts,
        };
        for report in &offline.snapshot.reports {
            if let Some((number, _)) = offline.batch_of(report.first) {
                offline
                    .reports
                    .entry(number)
                    .or_default()
                    .push(RangeReported {
                        batch_id: String::new(),
                        first: report.first,
                        last: report.last,
                        status: report.status,
                        reason: None,
                    });
            }
        }
        Ok(offline)
    }

    pub fn as_of(&self) -> AsOf {
        AsOf {
            size: self.snapshot.size,
        }
    }

    /// A label URL taken apart against the label hosts the snapshot names.
    pub fn label_url<'a>(&self, url: &'a str) -> Option<LabelUrl<'a>> {
        parse_label_url(url, &self.label_hosts)
    }

    fn batch_of(&self, serial: u64) -> Option<(usize, &BatchRecord)> {
        let (_, &number) = self.batches.range(..=serial).next_back()?;
        let batch = &self.snapshot.batches[number];
        batch.contains(serial).then_some((number, batch))
    }

    /// The verdict for what was presented, as of `today`: SPEC.md "Verdicts" from the
    /// snapshot.
    pub fn verify(&self, presented: &Presented, today: Date) -> OfflineAnswer {
        OfflineAnswer {
            answer: self.decide(presented, today),
            as_of: self.as_of(),
        }
    }

    fn decide(&self, presented: &Presented, today: Date) -> Answer {
        let token = match Token::decode(presented.token) {
            Ok(token) => token,
            Err(TokenError::UnsupportedVersion(_)) => return forged(Reason::UnsupportedVersion),
            Err(TokenError::Malformed(_)) => return forged(Reason::Malformed),
        };
        let body = token.body();
        let serial = body.serial();
        let Some(&(key_number, public)) = self.keys.get(&body.key_id()) else {
            return forged(Reason::UnknownKey);
        };
        let batch = self.batch_of(serial).filter(|(_, b)| b.key == key_number);
        let rows = &self.snapshot;
        let code = |b: &BatchRecord| rows.certificates[b.certificate as usize].1.code.as_str();
        let gtin = |b: &BatchRecord| b.gtin.map(|g| rows.gtins[g as usize].1);
        let issued = batch.and_then(|(_, b)| rebuilt(&token, body.key_id(), code(b), gtin(b)));
        let mut flags = Vec::new();
        if rows.keys[key_number as usize].1.status == KeyStatus::Compromised {
            flags.push(Flag::KeyCompromised);
        }
        let (number, batch) = match (decide(&token, &public, issued, None), batch) {
            (Signature::Genuine, Some(found)) => found,
            (Signature::Altered, Some(_)) => {
                return answer(Verdict::Altered, Reason::BodyMismatch, flags);
            }
            (Signature::Unregistered, _) => return forged(Reason::UnregisteredSignedMark),
            _ => return forged(Reason::BadSignature),
        };
        let certificate = &rows.certificates[batch.certificate as usize].1;
        let issuer = &rows.issuers[batch.issuer as usize].1;
        let reports = self.reports.get(&number).map_or(&[][..], Vec::as_slice);
        let standing = Standing {
            certificate_code: &certificate.code,
            gtin: gtin(batch),
            enterprise_uscc: &rows.enterprises[batch.enterprise as usize].1,
            mark: status_of(reports, serial),
            certificate: Some(CertificateStatus::of(
                certificate.state,
                certificate.valid_until,
                today,
            )),
            brand_suspended: issuer
                .sub_brand
                .is_some_and(|b| rows.sub_brands[b as usize].1.suspended),
        };
        let (verdict, reason, raised) = rules(&standing, serial, presented);
        flags.extend(raised);
        answer(verdict, reason, flags)
    }
}

fn forged(reason: Reason) -> Answer {
    answer(Verdict::Forged, reason, Vec::new())
}

fn answer(verdict: Verdict, reason: Reason, mut flags: Vec<Flag>) -> Answer {
    flags.sort();
    flags.dedup();
    Answer {
        verdict,
        reason,
        facts: None,
        flags,
        recognised: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::snapshot::{BatchRecord, KeyRecord};

    fn snapshot() -> Snapshot {
        Snapshot {
            size: 3,
            label_hosts: vec!["marks.example.cn".into()],
            keys: vec![(
                0,
                KeyRecord {
                    key_id: KeyId([1; 8]),
                    public_key: VerifyingKey::from(&ed25519_dalek::SigningKey::from_bytes(
                        &[2; 32],
                    ))
                    .to_bytes(),
                    status: KeyStatus::Active,
                },
            )],
            ..Snapshot::default()
        }
    }

    #[test]
    fn a_delta_alone_or_a_batch_pointing_at_missing_rows_is_refused() {
        assert!(Offline::new(snapshot()).is_ok());
        let delta = Snapshot {
            since: Some(2),
            ..snapshot()
        };
        assert!(matches!(Offline::new(delta), Err(OfflineError::Delta)));
        let mut dangling = snapshot();
        dangling.batches.push(BatchRecord {
            first_serial: 1,
            count: 10,
            key: 0,
            certificate: 0,
            enterprise: 0,
            issuer: 0,
            gtin: None,
        });
        assert!(matches!(
            Offline::new(dangling),
            Err(OfflineError::Inconsistent(_))
        ));
    }
}
