//! Proofs and checkpoint signing, on SQLite.
//!
//! - Inclusion and consistency proofs on a 1,000,000-entry log (the size of one large
//!   deployment's first year of registry events), at random indexes and sizes: each is a few
//!   range reads of stored leaf hashes and tile nodes. Target: well under 1 ms.
//! - The cost of the checkpoint every commit signs, against the append rate in the same run:
//!   one appender (one commit per event, where signing weighs most) and 256 appenders. A log
//!   that does not sign would need a second write path the product must never have, so the
//!   signature is timed on its own and set against the measured time per commit.
//!
//! `cargo bench --bench log_proofs`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use marktrace::log::merkle::{Frontier, leaf_hash};
use marktrace::log::{Expected, Log, LogSigner, NewEvent, StreamAppend, StreamName, WriterOptions};
use marktrace::metrics::Metrics;

const ENTRIES: u64 = 1_000_000;

fn signer() -> Arc<LogSigner> {
    let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
    Arc::new(LogSigner::new("bench.marktrace.example/log", key).unwrap())
}

async fn open(url: &str) -> Log {
    let store = marktrace::storage::open(url).await.unwrap();
    Log::open(
        store,
        signer(),
        WriterOptions::default(),
        Arc::new(Metrics::default()),
    )
    .await
    .unwrap()
}

/// Fills the log with requests of 10,000 events (the most one request may carry).
async fn fill(log: &Log, entries: u64) {
    let mut done = 0;
    while done < entries {
        let events = (done..done + 10_000)
            .map(|i| NewEvent::new("Filled", &serde_json::json!({ "i": i })).unwrap())
            .collect();
        let stream = StreamName::parse(&format!("fill-{}", done / 10_000)).unwrap();
        log.append(vec![StreamAppend {
            stream,
            expected: Expected::NoStream,
            events,
        }])
        .await
        .unwrap();
        done += 10_000;
    }
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn proofs(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("proofs.db").display());
    let log = rt.block_on(async {
        let log = open(&url).await;
        let start = Instant::now();
        fill(&log, ENTRIES).await;
        eprintln!(
            "filled {ENTRIES} entries in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        log
    });
    let mut group = c.benchmark_group("log_proofs");
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    group.bench_function("inclusion_1m", |b| {
        b.to_async(&rt).iter(|| {
            let size = ENTRIES - rng.below(1000);
            let index = rng.below(size);
            let log = log.clone();
            async move { log.inclusion_proof(index, size).await.unwrap() }
        })
    });
    group.bench_function("consistency_1m", |b| {
        b.to_async(&rt).iter(|| {
            let to = ENTRIES - rng.below(1000);
            let from = 1 + rng.below(to);
            let log = log.clone();
            async move { log.consistency_proof(from, to).await.unwrap() }
        })
    });
    group.finish();
    rt.block_on(log.shutdown());
}

fn signing_share(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("append.db").display());
    let log = rt.block_on(open(&url));
    let mut group = c.benchmark_group("checkpoint_cost");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));

    // The checkpoint a commit signs: the tree's root from the frontier, then the note.
    let signer = signer();
    let mut frontier = Frontier::default();
    for i in 0u64..1000 {
        frontier.push(leaf_hash(&i.to_be_bytes()));
    }
    group.bench_function("sign_checkpoint", |b| b.iter(|| signer.sign(&frontier)));

    group.throughput(Throughput::Elements(1));
    let mut round = 0u64;
    for appenders in [1u64, 256] {
        group.bench_function(format!("append_{appenders}_appenders"), |b| {
            b.to_async(&rt).iter_custom(|iters| {
                round += 1;
                let log = log.clone();
                let r = round;
                async move {
                    let start = Instant::now();
                    let tasks: Vec<_> = (0..appenders.min(iters))
                        .map(|a| {
                            let log = log.clone();
                            let n = iters / appenders.min(iters)
                                + u64::from(a < iters % appenders.min(iters));
                            tokio::spawn(async move {
                                for i in 0..n {
                                    let e = NewEvent::new("Bench", &i).unwrap();
                                    let stream = format!("b-{r}-{a}");
                                    log.append_to(&stream, Expected::Any, vec![e])
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
            })
        });
    }
    group.finish();
    rt.block_on(log.shutdown());
}

criterion_group!(benches, proofs, signing_share);
criterion_main!(benches);
