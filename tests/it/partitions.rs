//! The scan table by month, on PostgreSQL: the upkeep makes each month's partition ahead and
//! takes back what the default partition caught meanwhile; retention drops the months that
//! ended before the cutoff, keeps the one it falls in, and purges the default partition's old
//! scans row by row; a read bounded in time is planned over the months from its bound on only;
//! and migration 0011 turns a populated table into months keeping every scan and id.
//!
//! Dates are fixed, far from today's: the upkeep takes the day it works for, and these
//! months are made by the tests alone.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common;
use common::{ALL_TIME, TestDb};
use marktrace::domain::verdict::Verdict;
use marktrace::scans::{Purged, Scan};
use serde_json::Value;
use sqlx::{PgPool, Row};
use time::macros::date;

fn scan(serial: u64, scanned_at: &str) -> Scan {
    Scan {
        serial,
        scanned_at: scanned_at.to_owned(),
        region: None,
        verdict: Verdict::Genuine,
        client: "c".repeat(64),
    }
}

/// The partition each scan of a serial lives in, oldest scan first.
async fn homes(pg: &PgPool, serial: i64) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT tableoid::regclass::text FROM scans WHERE serial = $1 ORDER BY scanned_at",
    )
    .bind(serial)
    .fetch_all(pg)
    .await
    .unwrap()
}

/// The scans of a serial still stored, oldest first.
async fn times(pg: &PgPool, serial: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT scanned_at FROM scans WHERE serial = $1 ORDER BY scanned_at")
        .bind(serial)
        .fetch_all(pg)
        .await
        .unwrap()
}

async fn months_are_made_ahead_and_take_back_what_the_default_partition_caught(db: TestDb) {
    let store = db.store().await;
    let pg = PgPool::connect(&db.url).await.unwrap();
    // No month exists yet: the scan is not refused, the default partition takes it.
    store
        .insert_scans(&[scan(7, "2031-05-20T10:00:00.000000Z")])
        .await
        .unwrap();
    assert_eq!(homes(&pg, 7).await, ["scans_default"]);

    // The upkeep makes this month and the two after it; creating May would fail while the
    // default partition holds a May scan, so the scan moves into its month.
    let created = store.add_partitions(date!(2031 - 05 - 02)).await.unwrap();
    assert_eq!(created, ["scans_2031_05", "scans_2031_06", "scans_2031_07"]);
    assert_eq!(homes(&pg, 7).await, ["scans_2031_05"]);

    // The last instant of July goes to July; August has no month yet.
    store
        .insert_scans(&[
            scan(8, "2031-07-31T23:59:59.999999Z"),
            scan(8, "2031-08-01T00:00:00.000000Z"),
        ])
        .await
        .unwrap();
    assert_eq!(homes(&pg, 8).await, ["scans_2031_07", "scans_default"]);
    assert!(
        store
            .add_partitions(date!(2031 - 05 - 31))
            .await
            .unwrap()
            .is_empty(),
        "every month it would make exists"
    );
    // A month later one more month is made, and August's scan moves into it.
    let created = store.add_partitions(date!(2031 - 06 - 01)).await.unwrap();
    assert_eq!(created, ["scans_2031_08"]);
    assert_eq!(homes(&pg, 8).await, ["scans_2031_07", "scans_2031_08"]);
    assert_eq!(store.scan_count().await.unwrap(), 3);
    pg.close().await;
    store.close().await;
    db.cleanup().await;
}

async fn retention_drops_the_months_that_ended_before_the_cutoff_and_purges_the_default(
    db: TestDb,
) {
    let store = db.store().await;
    let pg = PgPool::connect(&db.url).await.unwrap();
    store.add_partitions(date!(2024 - 01 - 10)).await.unwrap();
    store.add_partitions(date!(2024 - 03 - 10)).await.unwrap();
    store
        .insert_scans(&[
            scan(1, "2024-01-15T00:00:00.000000Z"),
            scan(1, "2024-02-29T23:59:59.999999Z"),
            scan(1, "2024-03-10T00:00:00.000000Z"),
            scan(1, "2024-03-20T00:00:00.000000Z"),
            scan(1, "2024-05-01T00:00:00.000000Z"),
            // No month for these: the default partition holds them.
            scan(2, "2023-06-01T00:00:00.000000Z"),
            scan(2, "2030-01-01T00:00:00.000000Z"),
        ])
        .await
        .unwrap();
    assert_eq!(homes(&pg, 2).await, ["scans_default", "scans_default"]);

    let cutoff = "2024-03-15T00:00:00.000000Z";
    let purged = store.purge_scans(cutoff).await.unwrap();
    assert_eq!(
        purged,
        Purged {
            partitions: vec!["scans_2024_01".into(), "scans_2024_02".into()],
            deleted: 1,
        },
        "January and February dropped whole, the default partition's old scan deleted"
    );
    // March straddles the cutoff: kept whole, its scan of the 10th with it, until it ends.
    assert_eq!(
        times(&pg, 1).await,
        [
            "2024-03-10T00:00:00.000000Z",
            "2024-03-20T00:00:00.000000Z",
            "2024-05-01T00:00:00.000000Z"
        ]
    );
    assert_eq!(times(&pg, 2).await, ["2030-01-01T00:00:00.000000Z"]);
    let january: Option<String> = sqlx::query_scalar("SELECT to_regclass('scans_2024_01')::text")
        .fetch_one(&pg)
        .await
        .unwrap();
    assert_eq!(january, None, "the month's table is gone");
    assert_eq!(
        store.purge_scans(cutoff).await.unwrap(),
        Purged::default(),
        "nothing left before the cutoff but March's straddling scan"
    );

    // A cutoff at the first instant of April: March ends at it and goes.
    let purged = store
        .purge_scans("2024-04-01T00:00:00.000000Z")
        .await
        .unwrap();
    assert_eq!(purged.partitions, ["scans_2024_03"]);
    assert_eq!(store.scan_count().await.unwrap(), 2);
    pg.close().await;
    store.close().await;
    db.cleanup().await;
}

/// The tables a plan reads ("Relation Name" anywhere in `EXPLAIN (FORMAT JSON)`).
fn relations(plan: &Value, found: &mut BTreeSet<String>) {
    match plan {
        Value::Object(node) => {
            if let Some(Value::String(name)) = node.get("Relation Name") {
                found.insert(name.clone());
            }
            node.values().for_each(|v| relations(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| relations(v, found)),
        _ => {}
    }
}

async fn a_read_from_a_time_on_is_planned_over_the_months_from_then_only(db: TestDb) {
    let store = db.store().await;
    store.add_partitions(date!(2024 - 01 - 10)).await.unwrap();
    let january = scan(7, "2024-01-15T00:00:00.000000Z");
    let march = scan(7, "2024-03-15T00:00:00.000000Z");
    store
        .insert_scans(&[january.clone(), march.clone()])
        .await
        .unwrap();
    let since = "2024-03-01T00:00:00.000000Z";
    let read = store.scans_of(&[7], since, 1000).await.unwrap();
    assert_eq!(
        read.into_iter().map(|s| s.scan).collect::<Vec<_>>(),
        [march]
    );

    // The statement `scans_of` ran, as the database received it (the text is the same for
    // every read, whichever connection ran it last), prepared and explained on a connection
    // of our own as sqlx's prepared statement is planned: custom plans first (pruned while
    // planning), then the generic plan (pruned as it starts).
    let pg = PgPool::connect(&db.url).await.unwrap();
    let statement: String = sqlx::query_scalar(
        "SELECT query FROM pg_stat_activity WHERE datname = current_database() \
         AND query LIKE 'SELECT scan_id, serial, scanned_at, region, verdict, client FROM%' \
         LIMIT 1",
    )
    .fetch_one(&pg)
    .await
    .unwrap();
    let mut conn = pg.acquire().await.unwrap();
    sqlx::raw_sql(&format!("PREPARE scans_of(text, text) AS {statement}"))
        .execute(&mut *conn)
        .await
        .unwrap();
    for mode in ["force_custom_plan", "force_generic_plan"] {
        sqlx::raw_sql(&format!("SET plan_cache_mode = {mode}"))
            .execute(&mut *conn)
            .await
            .unwrap();
        let mut read = async |since: &str| {
            let explain = format!("EXPLAIN (FORMAT JSON) EXECUTE scans_of('{{7}}', '{since}')");
            let row = sqlx::raw_sql(&explain).fetch_one(&mut *conn).await.unwrap();
            // The simple protocol answers in text: the plan's JSON.
            let plan: Value =
                serde_json::from_str(&row.try_get_unchecked::<String, _>(0).unwrap()).unwrap();
            let mut found = BTreeSet::new();
            relations(&plan, &mut found);
            found.into_iter().collect::<Vec<_>>()
        };
        assert_eq!(
            read(since).await,
            ["scans_2024_03", "scans_default"],
            "{mode}: from March on, January and February are not read"
        );
        assert_eq!(
            read(ALL_TIME).await,
            [
                "scans_2024_01",
                "scans_2024_02",
                "scans_2024_03",
                "scans_default"
            ],
            "{mode}: without a bound every month is read"
        );
    }
    drop(conn);
    pg.close().await;
    store.close().await;
    db.cleanup().await;
}

async fn the_migration_to_months_keeps_every_scan_and_id(db: TestDb) {
    // The schema before 0011: every earlier migration, run as the service ran them.
    let pg = PgPool::connect(&db.url).await.unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut before = sqlx::migrate::Migrator::new(dir).await.unwrap();
    before.migrations = before
        .migrations
        .iter()
        .filter(|m| m.version < 11)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    before.run(&pg).await.unwrap();
    sqlx::raw_sql(
        "INSERT INTO scans (serial, scanned_at, region, verdict, client) VALUES \
         (1, '2026-09-30T23:59:59.999999Z', '360102', 'genuine', 'a'), \
         (2, '2026-10-01T00:00:00.000000Z', NULL, 'void', 'b'), \
         (1, '2026-11-15T08:00:00.000000Z', '361100', 'forged', 'c'), \
         (3, '2026-11-16T08:00:00.000000Z', NULL, 'genuine', 'd'); \
         DELETE FROM scans WHERE serial = 3",
    )
    .execute(&pg)
    .await
    .unwrap();
    type Row = (i64, i64, String, Option<String>, String, String);
    let all = "SELECT scan_id, serial, scanned_at, region, verdict, client FROM scans \
               ORDER BY scan_id";
    let old: Vec<Row> = sqlx::query_as(all).fetch_all(&pg).await.unwrap();
    assert_eq!(old.len(), 3);

    let store = db.store().await;
    let new: Vec<Row> = sqlx::query_as(all).fetch_all(&pg).await.unwrap();
    assert_eq!(new, old, "every scan, with its id");
    let leaves: Vec<String> = sqlx::query_scalar(
        "SELECT relid::text FROM pg_partition_tree('scans') WHERE isleaf ORDER BY 1",
    )
    .fetch_all(&pg)
    .await
    .unwrap();
    assert_eq!(
        leaves,
        [
            "scans_2026_09",
            "scans_2026_10",
            "scans_2026_11",
            "scans_default"
        ]
    );
    assert_eq!(homes(&pg, 1).await, ["scans_2026_09", "scans_2026_11"]);
    assert_eq!(
        store.scans_of(&[2], ALL_TIME, 10).await.unwrap()[0].scan_id,
        2
    );
    // The deleted scan's id (4) is never handed out again.
    store
        .insert_scans(&[scan(5, "2026-11-20T00:00:00.000000Z")])
        .await
        .unwrap();
    let id: i64 = sqlx::query_scalar("SELECT scan_id FROM scans WHERE serial = 5")
        .fetch_one(&pg)
        .await
        .unwrap();
    assert_eq!(id, 5);
    pg.close().await;
    store.close().await;
    db.cleanup().await;
}

on_postgres!(
    months_are_made_ahead_and_take_back_what_the_default_partition_caught,
    retention_drops_the_months_that_ended_before_the_cutoff_and_purges_the_default,
    a_read_from_a_time_on_is_planned_over_the_months_from_then_only,
    the_migration_to_months_keeps_every_scan_and_id,
);
