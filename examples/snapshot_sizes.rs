//! The size of a status snapshot and of a delta on a realistic registry (issue 17): 1,000,000
//! marks a day for a year in 10,000 batches of 36,500, 500 certificates (as many licensees,
//! 1,000 GTINs, 20 issuers with two keys each), 1% of the batches' ranges reported, a
//! signed checkpoint note and one label host; then the delta after one certificate is
//! revoked. The rows are generated from a fixed seed and encoded by the service's own
//! encoder (`domain::snapshot`), with a 64-byte signature appended as the service appends
//! it. Run: `cargo run --release --example snapshot_sizes`.

use marktrace::domain::batch::MarkStatus;
use marktrace::domain::certificate::CertificateState;
use marktrace::domain::gtin::Gtin;
use marktrace::domain::issuer::IssuerStatus;
use marktrace::domain::key::{KeyId, KeyStatus};
use marktrace::domain::snapshot::{
    BatchRecord, CertificateRecord, IssuerRecord, KeyRecord, ReportRecord, SIGNATURE_BYTES,
    Snapshot,
};

const BATCHES: u64 = 10_000;
const PER_BATCH: u64 = 1_000_000 * 365 / BATCHES;
const CERTIFICATES: u32 = 500;
const GTINS: u32 = 1_000;
const ISSUERS: u32 = 20;

/// A checkpoint note as the service signs it: origin, size, root, one signature line.
const CHECKPOINT: &str = "marks.example.cn/log\n10612345\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} marks.example.cn/log Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

/// xorshift64*, so the example needs no dependency and prints the same every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn certificate(i: u32, state: CertificateState) -> CertificateRecord {
    CertificateRecord {
        code: format!("JXGE-2026-{i:04}"),
        state,
        valid_until: Some(time::macros::date!(2029 - 12 - 31)),
    }
}

fn main() {
    let mut rng = Rng(0x6d61_726b_7472_6163);
    let keys = (0..ISSUERS * 2)
        .map(|i| {
            let key = KeyRecord {
                key_id: KeyId((u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_be_bytes()),
                public_key: [i as u8; 32],
                status: if i % 2 == 0 {
                    KeyStatus::Active
                } else {
                    KeyStatus::Retired
                },
            };
            (i, key)
        })
        .collect();
    let issuers = (0..ISSUERS)
        .map(|i| {
            let issuer = IssuerRecord {
                issuer_id: format!("jx-cb{i}"),
                status: IssuerStatus::Active,
                sub_brand: None,
            };
            (i, issuer)
        })
        .collect();
    let certificates = (0..CERTIFICATES)
        .map(|i| (i, certificate(i, CertificateState::Issued)))
        .collect();
    let enterprises = (0..CERTIFICATES)
        .map(|i| (i, format!("91360100MA35{i:05}X")))
        .collect();
    let gtins = (0..GTINS)
        .map(|i| {
            let data = 690_123_400_000 + u64::from(i);
            let gtin = (0..10)
                .find_map(|d| Gtin::from_u64(data * 10 + d))
                .expect("one digit is the check digit");
            (i, gtin)
        })
        .collect();
    let batches: Vec<BatchRecord> = (0..BATCHES)
        .map(|b| {
            let certificate = rng.below(u64::from(CERTIFICATES)) as u32;
            let issuer = certificate % ISSUERS;
            BatchRecord {
                first_serial: 1 + b * PER_BATCH,
                count: PER_BATCH,
                key: issuer * 2,
                certificate,
                enterprise: certificate,
                issuer,
                gtin: Some(rng.below(u64::from(GTINS)) as u32),
            }
        })
        .collect();
    let statuses = [
        MarkStatus::Voided,
        MarkStatus::Lost,
        MarkStatus::Stolen,
        MarkStatus::Revoked,
        MarkStatus::Suspended,
    ];
    let reports = (0..BATCHES / 100)
        .map(|_| {
            let batch = &batches[rng.below(BATCHES) as usize];
            let first = batch.first_serial + rng.below(PER_BATCH - 1_000);
            ReportRecord {
                first,
                last: first + rng.below(1_000),
                status: statuses[rng.below(5) as usize],
            }
        })
        .collect();
    let full = Snapshot {
        size: 10_612_345,
        since: None,
        label_hosts: vec!["marks.example.cn".into()],
        keys,
        sub_brands: Vec::new(),
        issuers,
        certificates,
        enterprises,
        gtins,
        first_batch: 0,
        batches,
        reports,
        checkpoint: CHECKPOINT.into(),
    };
    let full_bytes = full.encode_body().len() + SIGNATURE_BYTES;
    let revoked = Snapshot {
        size: full.size + 1,
        since: Some(full.size),
        label_hosts: full.label_hosts.clone(),
        certificates: vec![(7, certificate(7, CertificateState::Revoked))],
        first_batch: BATCHES as u32,
        checkpoint: CHECKPOINT.into(),
        ..Snapshot::default()
    };
    let delta_bytes = revoked.encode_body().len() + SIGNATURE_BYTES;
    println!(
        "full snapshot: {full_bytes} bytes ({:.1} KiB; limit 256 KiB: {:.2} of it)",
        full_bytes as f64 / 1024.0,
        full_bytes as f64 / (256.0 * 1024.0)
    );
    println!(
        "delta for one revocation: {delta_bytes} bytes (limit 1 KiB: {:.2} of it)",
        delta_bytes as f64 / 1024.0
    );
}
