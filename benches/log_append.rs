//! Append throughput of the event log with group commit, against the limit of the same
//! database: one multi-row INSERT of 1,000 rows of the same shape per transaction into a
//! scratch table (LIMITS.md, "the storage lesson").
//!
//! Appenders: 1 (a lone writer pays a whole transaction per event), 16 (a busy API node) and
//! 256 (a burst: many requests in flight, the case group commit exists for). Each appender
//! appends one event per request to its own stream, as independent API requests do.
//!
//! SQLite always; PostgreSQL too when `TEST_POSTGRES_URL` is set (each run in a fresh schema).
//! `cargo bench --bench log_append`

mod support;

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sqlx::{Executor, QueryBuilder};
use support::{append_run, payload};

struct Target {
    name: &'static str,
    url: String,
    _dir: Option<tempfile::TempDir>,
}

fn targets(rt: &tokio::runtime::Runtime) -> Vec<Target> {
    let dir = tempfile::tempdir().unwrap();
    let mut targets = vec![Target {
        name: "sqlite",
        url: format!("sqlite://{}", dir.path().join("bench.db").display()),
        _dir: Some(dir),
    }];
    if let Ok(base) = std::env::var("TEST_POSTGRES_URL") {
        let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
        rt.block_on(async {
            let pool = sqlx::PgPool::connect(&base).await.unwrap();
            pool.execute(format!("CREATE SCHEMA {schema}").as_str())
                .await
                .unwrap();
        });
        targets.push(Target {
            name: "postgres",
            url: format!("{base}?options=-c%20search_path%3D{schema}"),
            _dir: None,
        });
    }
    targets
}

/// The raw limit: `total` rows of the events table's shape and indexes, 1,000 per INSERT and
/// transaction.
/// A macro because sqlx's generic executor bounds do not fit a generic function here.
macro_rules! raw_insert_run {
    ($name:ident, $db:ty) => {
        async fn $name(pool: &sqlx::Pool<$db>, total: u64, round: u64) -> Duration {
            let data = serde_json::to_string(&payload(0)).unwrap();
            let start = Instant::now();
            let mut next = 0;
            while next < total {
                let rows: Vec<u64> = (next..total.min(next + 1000)).collect();
                next += rows.len() as u64;
                let mut tx = pool.begin().await.unwrap();
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO scratch (idx, event_id, stream, version, type, schema, data, \
                     data_sha256, recorded_at, visibility, leaf_hash) ",
                );
                qb.push_values(&rows, |mut row, &i| {
                    row.push_bind((round * 1_000_000_000 + i) as i64)
                        .push_bind(uuid::Uuid::now_v7())
                        // The key pattern of 256 appenders, one stream each: the
                        // (stream, version) index sees the same scattered inserts.
                        .push_bind(format!("bench-{round}-{}", i % 256))
                        .push_bind((i / 256 + 1) as i64)
                        .push_bind("MarkBatchIssued")
                        .push_bind(1i64)
                        .push_bind(data.as_str())
                        .push_bind("a".repeat(64))
                        .push_bind("2026-11-29T03:40:00.123456Z")
                        .push_bind("public")
                        .push_bind(vec![7u8; 32]);
                });
                qb.build().execute(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
            }
            start.elapsed()
        }
    };
}
raw_insert_run!(raw_sqlite, sqlx::Sqlite);
raw_insert_run!(raw_postgres, sqlx::Postgres);

const SCRATCH: &str = "CREATE TABLE IF NOT EXISTS scratch (idx BIGINT PRIMARY KEY, \
    event_id UUID NOT NULL UNIQUE, stream TEXT NOT NULL, version BIGINT NOT NULL, \
    type TEXT NOT NULL, schema BIGINT NOT NULL, data TEXT NOT NULL, data_sha256 TEXT NOT NULL, \
    recorded_at TEXT NOT NULL, visibility TEXT NOT NULL, leaf_hash BYTEA NOT NULL, \
    UNIQUE (stream, version))";

fn log_append(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for target in targets(&rt) {
        let log = rt.block_on(support::open_log(&target.url));
        let mut group = c.benchmark_group(format!("log_append/{}", target.name));
        group.throughput(Throughput::Elements(1));
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(8));
        let mut round = 0;
        for appenders in [1u64, 16, 256] {
            group.bench_function(BenchmarkId::new("group_commit", appenders), |b| {
                b.to_async(&rt).iter_custom(|iters| {
                    round += 1;
                    let log = log.clone();
                    let r = round;
                    async move { append_run(&log, appenders.min(iters), iters, r).await }
                })
            });
        }
        // The limit, in the same database file or schema.
        if target.name == "sqlite" {
            let pool = rt.block_on(async {
                let pool = sqlx::SqlitePool::connect(&target.url).await.unwrap();
                // Same durability as the log (see storage/sqlite.rs).
                pool.execute("PRAGMA synchronous = FULL").await.unwrap();
                pool.execute(
                    SCRATCH
                        .replace("BYTEA", "BLOB")
                        .replace("UUID", "BLOB")
                        .as_str(),
                )
                .await
                .unwrap();
                pool
            });
            group.bench_function("raw_multirow_insert_1000", |b| {
                b.to_async(&rt).iter_custom(|iters| {
                    round += 1;
                    let pool = pool.clone();
                    let r = round;
                    async move { raw_sqlite(&pool, iters, r).await }
                })
            });
        } else {
            let pool = rt.block_on(async {
                let pool = sqlx::PgPool::connect(&target.url).await.unwrap();
                pool.execute(SCRATCH).await.unwrap();
                pool
            });
            group.bench_function("raw_multirow_insert_1000", |b| {
                b.to_async(&rt).iter_custom(|iters| {
                    round += 1;
                    let pool = pool.clone();
                    let r = round;
                    async move { raw_postgres(&pool, iters, r).await }
                })
            });
        }
        group.finish();
        rt.block_on(log.shutdown());
    }
}

criterion_group!(benches, log_append);
criterion_main!(benches);
