//! What the benches share: a realistic event payload, opening a signing log, concurrent
//! appenders, a registry with one batch of marks built through the library, and a reproducible
//! pseudo-random sequence.
#![allow(dead_code, reason = "each bench uses a different part")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use marktrace::app::registry::certificates::CertificateStep;
use marktrace::app::registry::keys::KeyChange;
use marktrace::domain::batch::BatchIssued;
use marktrace::domain::certificate::{Applied, Evaluated, EvaluationResult, Issued};
use marktrace::domain::enterprise::EnterpriseRegistered;
use marktrace::domain::gtin::Gtin;
use marktrace::domain::issuer::{IssuerId, IssuerRegistered};
use marktrace::domain::key::Validity;
use marktrace::domain::region::RegionCode;
use marktrace::keys::Keyring;
use marktrace::log::{Expected, Log, LogSigner, NewEvent, WriterOptions};
use marktrace::mark::token::{self, MarkBody};
use marktrace::metrics::Metrics;
use marktrace::projections::marks::MarkIndex;
use time::macros::date;

/// An event payload of the size a registry event has (about 150 bytes of JSON), so a stored
/// row is about 300 bytes with its envelope fields and hashes.
pub fn payload(n: u64) -> serde_json::Value {
    serde_json::json!({
        "certificate": "JX-GE-2026-000123",
        "enterprise_uscc": "91360100MA35XXXX0A",
        "product": "有机大米 organic rice, 5 kg",
        "serial_first": n,
        "count": 10000,
        "regions": ["360000"],
    })
}

/// Opens the log on a database URL with a fixed checkpoint key.
pub async fn open_log(url: &str) -> Log {
    let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
    open_log_with(url, key).await
}

/// Opens the log of a deployment, with its log key.
async fn open_log_as(url: &str, config: &marktrace::config::Config) -> Log {
    let key = marktrace::keys::load(&config.keys_dir.join(marktrace::keys::LOG_KEY)).unwrap();
    open_log_with(url, key).await
}

async fn open_log_with(url: &str, key: SigningKey) -> Log {
    let store = marktrace::storage::open(url).await.unwrap();
    let signer = Arc::new(LogSigner::new("bench.marktrace.example/log", key).unwrap());
    Log::open(
        store,
        signer,
        WriterOptions::default(),
        Arc::new(Metrics::default()),
    )
    .await
    .unwrap()
}

/// Appends `total` events with `appenders` concurrent tasks; returns the elapsed time.
pub async fn append_run(log: &Log, appenders: u64, total: u64, round: u64) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = (0..appenders)
        .map(|a| {
            let log = log.clone();
            let n = total / appenders + u64::from(a < total % appenders);
            tokio::spawn(async move {
                let stream = format!("bench-{round}-{a}");
                for i in 0..n {
                    let event = NewEvent::new("MarkBatchIssued", &payload(i)).unwrap();
                    log.append_to(&stream, Expected::Any, vec![event])
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

/// A deterministic pseudo-random sequence (xorshift), so runs are comparable.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A SQLite deployment as `marktrace serve` would open it, holding a registry (issuer `jx-cb1`
/// with an active endorsed key, an enterprise, an issued certificate) and one batch, with a
/// mark index caught up with its log. The log is shut down once the index has caught up:
/// verification reads only the index.
pub struct Deployment {
    pub index: MarkIndex,
    pub batch: BatchIssued,
    /// The issuer key that signed the batch's marks.
    pub key: SigningKey,
    _dir: tempfile::TempDir,
}

impl Deployment {
    /// Builds it on `rt` through the same registry calls the service makes; the batch has
    /// `count` marks of certificate `JXGE-2026-0001` and, if given, a GTIN.
    pub fn build(rt: &tokio::runtime::Runtime, count: u64, gtin: Option<Gtin>) -> Deployment {
        rt.block_on(Deployment::build_async(count, gtin))
    }

    async fn build_async(count: u64, gtin: Option<Gtin>) -> Deployment {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("marktrace.db").display());
        let keys_dir = dir.path().join("keys");
        let keys = keys_dir.display().to_string();
        let config = marktrace::cli::parse_from([
            "marktrace",
            "--config",
            "/dev/null",
            "--database-url",
            &url,
            "--keys-dir",
            &keys,
            "--log-origin",
            "bench.marktrace.example/log",
            "serve",
        ])
        .unwrap()
        .config;
        let node = marktrace::server::Node::open(&config, Arc::new(Metrics::default()))
            .await
            .unwrap();
        let services = &node.services;
        let issuer = IssuerId::parse("jx-cb1").unwrap();
        let region = RegionCode::parse("360100").unwrap();
        let registered =
            IssuerRegistered::new("jx-cb1", "江西省质量认证中心", "江西绿色生态", region).unwrap();
        let registry = &services.registry;
        registry.register_issuer(registered, "bench").await.unwrap();
        let uscc = "91330000704202479R";
        let enterprise =
            EnterpriseRegistered::new(uscc, false, "绿源米业", region, issuer.clone()).unwrap();
        registry
            .register_enterprise(enterprise, "bench")
            .await
            .unwrap();
        let validity = Validity::new(1, 4_102_444_800).unwrap();
        let added = registry
            .add_issuer_key(&issuer, validity, "bench")
            .await
            .unwrap();
        let now = marktrace::clock::unix_now();
        registry
            .change_issuer_key(added.key_id, KeyChange::Activate, now, "bench")
            .await
            .unwrap();
        let certificate = uuid::Uuid::now_v7().simple().to_string();
        let applied = Applied::new(
            certificate.clone(),
            issuer.clone(),
            uscc.into(),
            "有机大米",
            "粮食",
            "T/JXGE 001-2026",
            "5 kg bags",
        )
        .unwrap();
        registry.apply_certificate(applied, "bench").await.unwrap();
        let evaluated = Evaluated::new(
            "第三方评价机构",
            EvaluationResult::Pass,
            &"ab".repeat(32),
            date!(2026 - 01 - 05),
        )
        .unwrap();
        let issued = Issued::new(
            "JXGE-2026-0001",
            date!(2026 - 01 - 01),
            date!(2099 - 12 - 31),
        );
        for step in [
            CertificateStep::Evaluate(evaluated),
            CertificateStep::Issue(issued.unwrap()),
        ] {
            registry
                .advance_certificate(&certificate, &issuer, step, "bench")
                .await
                .unwrap();
        }
        let marks = &services.marks;
        let request = marks
            .request(&certificate, count, gtin, vec![], None, None)
            .unwrap();
        let batch = marks.issue(&issuer, request, "bench").await.unwrap().issued;
        node.close().await;
        // Verification reads only the index: fold it from the log, then close that too.
        let log = open_log_as(&url, &config).await;
        let index = MarkIndex::default();
        index.catch_up(&log).await.unwrap();
        log.shutdown().await;
        let key = Keyring::open(&keys_dir)
            .unwrap()
            .issuer_key(&issuer, batch.key_id)
            .unwrap();
        Deployment {
            index,
            batch: (*batch).clone(),
            key,
            _dir: dir,
        }
    }

    /// The genuine token of the batch's `i`-th mark (0-based), as the export signs it.
    pub fn token(&self, i: u64) -> String {
        assert!(
            i < self.batch.count,
            "the batch has {} marks",
            self.batch.count
        );
        let body = MarkBody::new(
            self.batch.key_id,
            self.batch.first_serial + i,
            &self.batch.certificate_code,
            self.batch.gtin,
        )
        .unwrap();
        token::sign(&self.key, &body)
    }
}
