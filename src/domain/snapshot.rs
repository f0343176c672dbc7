//! The signed status snapshot (`GET /api/v1/status/snapshot`): every status that can change a
//! verdict, as of a log size, in a compact binary document that an offline verifier decodes
//! with nothing but the log's public key. Its byte layout is `docs/status-snapshot.md`; this
//! module is that layout, both ways, and applying a delta to the snapshot it extends. Signing
//! and checking the signature belong to the log key's holder (`app`), not here.
//!
//! Tables (keys, issuers, sub-brands, certificates, enterprises, GTINs) are numbered by first
//! appearance in the log, so a row's number never changes and a delta names rows by number:
//! an existing number replaces that row, the next number appends one. Batches and range
//! reports only ever append.

use time::Date;

use super::batch::MarkStatus;
use super::certificate::CertificateState;
use super::gtin::Gtin;
use super::issuer::IssuerStatus;
use super::key::{KeyId, KeyStatus};

/// The first bytes of every snapshot.
pub const MAGIC: &[u8; 4] = b"MTSS";
pub const VERSION: u8 = 1;
/// What the log key signs: this context, then the document's bytes before the signature.
pub const SIGNATURE_CONTEXT: &[u8] = b"marktrace/status-snapshot/v1\0";
pub const SIGNATURE_BYTES: usize = 64;
/// The largest document a reader accepts, so a hostile one costs bounded memory.
pub const MAX_BYTES: usize = 64 << 20;

/// A row of a numbered table: its number and its content.
pub type Row<T> = (u32, T);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    pub key_id: KeyId,
    pub public_key: [u8; 32],
    pub status: KeyStatus,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerRecord {
    pub issuer_id: String,
    pub status: IssuerStatus,
    /// The row number of its sub-brand.
    pub sub_brand: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubBrandRecord {
    pub sub_brand_id: String,
    pub suspended: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRecord {
    /// Empty until the certificate is issued.
    pub code: String,
    pub state: CertificateState,
    pub valid_until: Option<Date>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchRecord {
    pub first_serial: u64,
    pub count: u64,
    /// Row numbers in the key, certificate, enterprise, issuer and GTIN tables.
    pub key: u32,
    pub certificate: u32,
    pub enterprise: u32,
    pub issuer: u32,
    pub gtin: Option<u32>,
}

impl BatchRecord {
    pub fn contains(&self, serial: u64) -> bool {
        serial >= self.first_serial && serial - self.first_serial < self.count
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportRecord {
    pub first: u64,
    pub last: u64,
    pub status: MarkStatus,
}

/// A full snapshot (`since` none) or a delta from the snapshot of size `since`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The log events it covers: indexes `0..size`, so it is as of index `size - 1`.
    pub size: u64,
    pub since: Option<u64>,
    /// The hosts the brand prints label URLs for (`host` or `host:port`).
    pub label_hosts: Vec<String>,
    pub keys: Vec<Row<KeyRecord>>,
    pub sub_brands: Vec<Row<SubBrandRecord>>,
    pub issuers: Vec<Row<IssuerRecord>>,
    pub certificates: Vec<Row<CertificateRecord>>,
    /// USCCs.
    pub enterprises: Vec<Row<String>>,
    pub gtins: Vec<Row<Gtin>>,
    /// The number of the first batch listed: 0 in a full snapshot.
    pub first_batch: u32,
    /// Batches in serial order.
    pub batches: Vec<BatchRecord>,
    /// Range reports in log order.
    pub reports: Vec<ReportRecord>,
    /// The signed checkpoint note (of a tree of at least `size` entries) that covers it.
    pub checkpoint: String,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a status snapshot: {0}")]
    Malformed(&'static str),
    #[error("snapshot version {0} is not supported, only 1")]
    Version(u8),
    #[error("the delta extends the snapshot of size {since}, not this one of size {size}")]
    NotItsBase { since: u64, size: u64 },
    #[error("a delta cannot be applied: {0}")]
    Delta(&'static str),
}

impl Snapshot {
    /// The document's bytes before its signature; the signature (over
    /// [`SIGNATURE_CONTEXT`] and these bytes) follows them.
    pub fn encode_body(&self) -> Vec<u8> {
        let mut out = Writer(Vec::with_capacity(1024));
        out.bytes(MAGIC);
        out.byte(VERSION);
        out.byte(u8::from(self.since.is_some()));
        out.varint(self.size);
        if let Some(since) = self.since {
            out.varint(since);
        }
        out.varint(self.label_hosts.len() as u64);
        for host in &self.label_hosts {
            out.string(host);
        }
        out.rows(&self.keys, |out, k| {
            out.bytes(&k.key_id.0);
            out.bytes(&k.public_key);
            out.byte(key_status_code(k.status));
        });
        out.rows(&self.sub_brands, |out, b| {
            out.string(&b.sub_brand_id);
            out.byte(u8::from(b.suspended));
        });
        out.rows(&self.issuers, |out, i| {
            out.string(&i.issuer_id);
            out.byte(u8::from(i.status == IssuerStatus::Suspended));
            out.varint(i.sub_brand.map_or(0, |b| u64::from(b) + 1));
        });
        out.rows(&self.certificates, |out, c| {
            out.string(&c.code);
            out.byte(certificate_state_code(c.state));
            out.varint(c.valid_until.map_or(0, |d| days(d) + 1));
        });
        out.rows(&self.enterprises, |out, uscc| out.string(uscc));
        out.rows(&self.gtins, |out, gtin| out.varint(gtin.as_u64()));
        out.varint(u64::from(self.first_batch));
        out.varint(self.batches.len() as u64);
        let mut end = 0;
        for b in &self.batches {
            // Serials are allocated in order, so the gap from the previous batch is small.
            out.varint(b.first_serial.wrapping_sub(end));
            out.varint(b.count);
            out.varint(u64::from(b.key));
            out.varint(u64::from(b.certificate));
            out.varint(u64::from(b.enterprise));
            out.varint(u64::from(b.issuer));
            out.varint(b.gtin.map_or(0, |g| u64::from(g) + 1));
            end = b.first_serial + b.count;
        }
        out.varint(self.reports.len() as u64);
        for r in &self.reports {
            out.varint(r.first);
            out.varint(r.last - r.first);
            out.byte(mark_status_code(r.status));
        }
        out.string(&self.checkpoint);
        out.0
    }

    /// Splits a document into its decoded body, the bytes the signature covers and the
    /// signature.
    pub fn decode(document: &[u8]) -> Result<(Snapshot, &[u8], [u8; 64]), SnapshotError> {
        if document.len() > MAX_BYTES {
            return Err(SnapshotError::Malformed("larger than 64 MiB"));
        }
        let split = document
            .len()
            .checked_sub(SIGNATURE_BYTES)
            .ok_or(SnapshotError::Malformed("shorter than a signature"))?;
        let (body, signature) = document.split_at(split);
        let mut r = Reader(body);
        if r.take(4)? != MAGIC {
            return Err(SnapshotError::Malformed("no MTSS magic"));
        }
        let version = r.byte()?;
        if version != VERSION {
            return Err(SnapshotError::Version(version));
        }
        let delta = match r.byte()? {
            0 => false,
            1 => true,
            _ => return Err(SnapshotError::Malformed("kind is neither 0 nor 1")),
        };
        let size = r.varint()?;
        let since = if delta { Some(r.varint()?) } else { None };
        let label_hosts = r.list(|r| r.string())?;
        let keys = r.rows(|r| {
            Ok(KeyRecord {
                key_id: KeyId(r.take(8)?.try_into().expect("8 bytes")),
                public_key: r.take(32)?.try_into().expect("32 bytes"),
                status: key_status(r.byte()?)?,
            })
        })?;
        let sub_brands = r.rows(|r| {
            Ok(SubBrandRecord {
                sub_brand_id: r.string()?,
                suspended: r.flag()?,
            })
        })?;
        let issuers = r.rows(|r| {
            Ok(IssuerRecord {
                issuer_id: r.string()?,
                status: if r.flag()? {
                    IssuerStatus::Suspended
                } else {
                    IssuerStatus::Active
                },
                sub_brand: r.optional_row()?,
            })
        })?;
        let certificates = r.rows(|r| {
            Ok(CertificateRecord {
                code: r.string()?,
                state: certificate_state(r.byte()?)?,
                valid_until: match r.varint()? {
                    0 => None,
                    n => Some(date(n - 1)?),
                },
            })
        })?;
        let enterprises = r.rows(|r| r.string())?;
        let gtins = r.rows(|r| {
            Gtin::from_u64(r.varint()?).ok_or(SnapshotError::Malformed("an invalid GTIN"))
        })?;
        let first_batch = r.row()?;
        let mut end = 0u64;
        let batches = r.list(|r| {
            let first_serial = end
                .checked_add(r.varint()?)
                .ok_or(SnapshotError::Malformed("a serial beyond 64 bits"))?;
            let count = r.varint()?;
            end = first_serial
                .checked_add(count)
                .filter(|_| count > 0)
                .ok_or(SnapshotError::Malformed(
                    "a batch of no marks or beyond 64 bits",
                ))?;
            Ok(BatchRecord {
                first_serial,
                count,
                key: r.row()?,
                certificate: r.row()?,
                enterprise: r.row()?,
                issuer: r.row()?,
                gtin: r.optional_row()?,
            })
        })?;
        let reports = r.list(|r| {
            let first = r.varint()?;
            let last = first
                .checked_add(r.varint()?)
                .ok_or(SnapshotError::Malformed("a range beyond 64 bits"))?;
            Ok(ReportRecord {
                first,
                last,
                status: mark_status(r.byte()?)?,
            })
        })?;
        let checkpoint = r.string()?;
        if !r.0.is_empty() {
            return Err(SnapshotError::Malformed("bytes after the checkpoint"));
        }
        let snapshot = Snapshot {
            size,
            since,
            label_hosts,
            keys,
            sub_brands,
            issuers,
            certificates,
            enterprises,
            gtins,
            first_batch,
            batches,
            reports,
            checkpoint,
        };
        Ok((snapshot, body, signature.try_into().expect("64 bytes")))
    }

    /// Applies a delta that extends this (full) snapshot, making it the snapshot as of the
    /// delta's size. Nothing changes if the delta does not fit.
    pub fn apply(&mut self, delta: Snapshot) -> Result<(), SnapshotError> {
        if delta.since != Some(self.size) {
            return Err(SnapshotError::NotItsBase {
                since: delta.since.unwrap_or(0),
                size: self.size,
            });
        }
        if self.since.is_some() {
            return Err(SnapshotError::Delta("the base is itself a delta"));
        }
        if delta.first_batch as usize != self.batches.len() {
            return Err(SnapshotError::Delta("its batches do not follow the base's"));
        }
        let mut next = self.clone();
        upsert(&mut next.keys, delta.keys)?;
        upsert(&mut next.sub_brands, delta.sub_brands)?;
        upsert(&mut next.issuers, delta.issuers)?;
        upsert(&mut next.certificates, delta.certificates)?;
        upsert(&mut next.enterprises, delta.enterprises)?;
        upsert(&mut next.gtins, delta.gtins)?;
        next.batches.extend(delta.batches);
        next.reports.extend(delta.reports);
        next.size = delta.size;
        next.label_hosts = delta.label_hosts;
        next.checkpoint = delta.checkpoint;
        *self = next;
        Ok(())
    }
}

/// Replaces rows by number, or appends the next number.
fn upsert<T>(table: &mut Vec<Row<T>>, rows: Vec<Row<T>>) -> Result<(), SnapshotError> {
    for (number, row) in rows {
        match (number as usize).cmp(&table.len()) {
            std::cmp::Ordering::Less => table[number as usize].1 = row,
            std::cmp::Ordering::Equal => table.push((number, row)),
            std::cmp::Ordering::Greater => {
                return Err(SnapshotError::Delta("a row number skips ahead"));
            }
        }
    }
    Ok(())
}

fn days(date: Date) -> u64 {
    (date - Date::from_ordinal_date(1970, 1).expect("a date"))
        .whole_days()
        .max(0) as u64
}

fn date(days: u64) -> Result<Date, SnapshotError> {
    let epoch = Date::from_ordinal_date(1970, 1).expect("a date");
    i64::try_from(days)
        .ok()
        .and_then(|d| epoch.checked_add(time::Duration::days(d)))
        .ok_or(SnapshotError::Malformed("a date out of range"))
}

macro_rules! codes {
    ($encode:ident, $decode:ident, $ty:ty, $what:literal, { $($variant:path => $code:literal),+ $(,)? }) => {
        fn $encode(value: $ty) -> u8 {
            match value { $($variant => $code),+ }
        }

        fn $decode(code: u8) -> Result<$ty, SnapshotError> {
            match code {
                $($code => Ok($variant),)+
                _ => Err(SnapshotError::Malformed($what)),
            }
        }
    };
}

codes!(key_status_code, key_status, KeyStatus, "an unknown key status", {
    KeyStatus::Added => 0, KeyStatus::Active => 1, KeyStatus::Retired => 2,
    KeyStatus::Compromised => 3,
});
codes!(certificate_state_code, certificate_state, CertificateState, "an unknown certificate state", {
    CertificateState::Applied => 0, CertificateState::Evaluated => 1,
    CertificateState::Rejected => 2, CertificateState::Issued => 3,
    CertificateState::Suspended => 4, CertificateState::Revoked => 5,
    CertificateState::Expired => 6,
});
codes!(mark_status_code, mark_status, MarkStatus, "an unknown mark status", {
    MarkStatus::Voided => 0, MarkStatus::Lost => 1, MarkStatus::Stolen => 2,
    MarkStatus::Revoked => 3, MarkStatus::Suspended => 4, MarkStatus::Reinstated => 5,
});

struct Writer(Vec<u8>);

impl Writer {
    fn byte(&mut self, b: u8) {
        self.0.push(b);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }

    /// Unsigned LEB128.
    fn varint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.0.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.0.push(n as u8);
    }

    fn string(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.bytes(s.as_bytes());
    }

    fn rows<T>(&mut self, rows: &[Row<T>], mut each: impl FnMut(&mut Writer, &T)) {
        self.varint(rows.len() as u64);
        for (number, row) in rows {
            self.varint(u64::from(*number));
            each(self, row);
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SnapshotError> {
        if self.0.len() < n {
            return Err(SnapshotError::Malformed("truncated"));
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.take(1)?[0])
    }

    fn flag(&mut self) -> Result<bool, SnapshotError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(SnapshotError::Malformed("a flag is neither 0 nor 1")),
        }
    }

    fn varint(&mut self) -> Result<u64, SnapshotError> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                break;
            }
            n |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(SnapshotError::Malformed("a number beyond 64 bits"))
    }

    fn row(&mut self) -> Result<u32, SnapshotError> {
        u32::try_from(self.varint()?).map_err(|_| SnapshotError::Malformed("a row beyond 2^32"))
    }

    fn optional_row(&mut self) -> Result<Option<u32>, SnapshotError> {
        Ok(match self.varint()? {
            0 => None,
            n => Some(
                u32::try_from(n - 1).map_err(|_| SnapshotError::Malformed("a row beyond 2^32"))?,
            ),
        })
    }

    fn string(&mut self) -> Result<String, SnapshotError> {
        let len = usize::try_from(self.varint()?)
            .map_err(|_| SnapshotError::Malformed("a string beyond memory"))?;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| SnapshotError::Malformed("a string is not UTF-8"))
    }

    /// A count, then that many items; the count is bounded by the bytes left, so a hostile
    /// count cannot make it allocate.
    fn list<T>(
        &mut self,
        mut each: impl FnMut(&mut Reader<'a>) -> Result<T, SnapshotError>,
    ) -> Result<Vec<T>, SnapshotError> {
        let count = self.varint()?;
        if count > self.0.len() as u64 {
            return Err(SnapshotError::Malformed("more items than bytes"));
        }
        (0..count).map(|_| each(self)).collect()
    }

    fn rows<T>(
        &mut self,
        mut each: impl FnMut(&mut Reader<'a>) -> Result<T, SnapshotError>,
    ) -> Result<Vec<Row<T>>, SnapshotError> {
        self.list(|r| Ok((r.row()?, each(r)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Snapshot {
        Snapshot {
            size: 42,
            since: None,
            label_hosts: vec!["marks.example.cn".into()],
            keys: vec![(
                0,
                KeyRecord {
                    key_id: KeyId([1; 8]),
                    public_key: [2; 32],
                    status: KeyStatus::Compromised,
                },
            )],
            sub_brands: vec![(
                0,
                SubBrandRecord {
                    sub_brand_id: "ganzhou".into(),
                    suspended: true,
                },
            )],
            issuers: vec![(
                0,
                IssuerRecord {
                    issuer_id: "jx-cb1".into(),
                    status: IssuerStatus::Active,
                    sub_brand: Some(0),
                },
            )],
            certificates: vec![(
                0,
                CertificateRecord {
                    code: "JXGE-2026-0001".into(),
                    state: CertificateState::Issued,
                    valid_until: Some(time::macros::date!(2029 - 01 - 01)),
                },
            )],
            enterprises: vec![(0, "91360100MA35XXXXXX".into())],
            gtins: vec![(0, Gtin::parse("06901234567892").unwrap())],
            first_batch: 0,
            batches: vec![
                BatchRecord {
                    first_serial: 1,
                    count: 10,
                    key: 0,
                    certificate: 0,
                    enterprise: 0,
                    issuer: 0,
                    gtin: Some(0),
                },
                BatchRecord {
                    first_serial: 11,
                    count: 36_500,
                    key: 0,
                    certificate: 0,
                    enterprise: 0,
                    issuer: 0,
                    gtin: None,
                },
            ],
            reports: vec![ReportRecord {
                first: 3,
                last: 5,
                status: MarkStatus::Stolen,
            }],
            checkpoint: "o/log\n42\nAAAA\n\n— o/log sig\n".into(),
        }
    }

    #[test]
    fn a_snapshot_decodes_to_what_was_encoded() {
        let snapshot = sample();
        let mut document = snapshot.encode_body();
        document.extend_from_slice(&[9; 64]);
        let (decoded, body, signature) = Snapshot::decode(&document).unwrap();
        assert_eq!(decoded, snapshot);
        assert_eq!(body, &document[..document.len() - 64]);
        assert_eq!(signature, [9; 64]);
        assert!(document.starts_with(b"MTSS\x01\x00\x2a"));
    }

    #[test]
    fn a_delta_replaces_rows_by_number_and_appends_the_rest() {
        let mut base = sample();
        let mut delta = Snapshot {
            size: 44,
            since: Some(42),
            first_batch: 2,
            checkpoint: "o/log\n44\nBBBB\n\n— o/log sig\n".into(),
            ..Snapshot::default()
        };
        delta.certificates.push((
            0,
            CertificateRecord {
                state: CertificateState::Revoked,
                ..base.certificates[0].1.clone()
            },
        ));
        delta.reports.push(ReportRecord {
            first: 7,
            last: 7,
            status: MarkStatus::Voided,
        });
        let mut wrong = delta.clone();
        wrong.since = Some(41);
        assert!(base.apply(wrong).is_err());
        let mut skipping = delta.clone();
        skipping
            .gtins
            .push((5, Gtin::parse("06901234567892").unwrap()));
        assert_eq!(
            base.apply(skipping),
            Err(SnapshotError::Delta("a row number skips ahead"))
        );
        assert_eq!(base, sample(), "a refused delta changes nothing");
        base.apply(delta).unwrap();
        assert_eq!(base.size, 44);
        assert_eq!(base.certificates[0].1.state, CertificateState::Revoked);
        assert_eq!(base.reports.len(), 2);
    }

    #[test]
    fn hostile_documents_are_refused_without_panicking() {
        let document = {
            let mut d = sample().encode_body();
            d.extend_from_slice(&[0; 64]);
            d
        };
        for cut in 0..document.len() - 64 {
            let mut truncated = document[..cut].to_vec();
            truncated.extend_from_slice(&[0; 64]);
            assert!(Snapshot::decode(&truncated).is_err(), "cut at {cut}");
        }
        let mut huge_count = b"MTSS\x01\x00\x01\xff\xff\xff\xff\x0f".to_vec();
        huge_count.extend_from_slice(&[0; 64]);
        assert!(Snapshot::decode(&huge_count).is_err());
        let mut version = document.clone();
        version[4] = 2;
        assert_eq!(
            Snapshot::decode(&version).err(),
            Some(SnapshotError::Version(2))
        );
    }
}
