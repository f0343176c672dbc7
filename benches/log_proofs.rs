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

mod support;

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use marktrace::log::merkle::{Frontier, leaf_hash};
use marktrace::log::{Expected, Log, NewEvent, StreamAppend, StreamName};
use support::{Rng, append_run, open_log};

const ENTRIES: u64 = 1_000_000;

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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn proofs(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("proofs.db").display());
    let log = rt.block_on(async {
        let log = open_log(&url).await;
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
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("append.db").display());
    let log = rt.block_on(open_log(&url));
    let mut group = c.benchmark_group("checkpoint_cost");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));

    // The checkpoint a commit signs: the tree's root from the frontier, then the note.
    let signer = log.signer();
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
                async move { append_run(&log, appenders.min(iters), iters, r).await }
            })
        });
    }
    group.finish();
    rt.block_on(log.shutdown());
}

criterion_group!(benches, proofs, signing_share);
criterion_main!(benches);
