//! What the benches share: a realistic event payload, opening a signing log, concurrent
//! appenders, and a reproducible pseudo-random sequence.
#![allow(dead_code, reason = "each bench uses a different part")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use marktrace::log::{Expected, Log, LogSigner, NewEvent, WriterOptions};
use marktrace::metrics::Metrics;

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
    let store = marktrace::storage::open(url).await.unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
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
