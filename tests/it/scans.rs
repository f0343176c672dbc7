//! The scan record on both backends: scans group-committed off the response path within the
//! bounded delay, none lost on a graceful shutdown, overload dropped and counted as the metrics
//! say, retention purging only older scans, and client hashes that are salted and never the
//! raw address.

use std::sync::Arc;
use std::time::Instant;

use crate::common;
use common::{ALL_TIME, DEADLINE, TestDb};
use marktrace::clock;
use marktrace::domain::region::RegionCode;
use marktrace::domain::verdict::Verdict;
use marktrace::metrics::Metrics;
use marktrace::scans::{ClientHasher, Purged, RecorderOptions, SALT_FILE, Scan, ScanRecorder};

/// A client hash as `ClientHasher` makes them; its value does not matter to these tests.
const CLIENT: &str = "a3f1c2d4e5b6a7980f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778";

fn region(code: &str) -> RegionCode {
    RegionCode::parse(code).unwrap()
}

fn scan(serial: u64) -> Scan {
    Scan {
        serial,
        scanned_at: clock::now_micros(),
        region: Some(region("360102")),
        verdict: Verdict::Genuine,
        client: CLIENT.to_owned(),
    }
}

fn scan_at(serial: u64, scanned_at: &str, verdict: Verdict, region: Option<RegionCode>) -> Scan {
    Scan {
        serial,
        scanned_at: scanned_at.to_owned(),
        region,
        verdict,
        client: CLIENT.to_owned(),
    }
}

/// A counter's value as `GET /metrics` shows it.
fn counter(metrics: &Metrics, name: &str) -> u64 {
    metrics
        .render(0, &[])
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no counter {name}"))
}

async fn a_scan_is_committed_within_the_bounded_delay(db: TestDb) {
    let store = db.store().await;
    let metrics = Arc::new(Metrics::default());
    let options = RecorderOptions::default();
    let max_delay = options.max_delay;
    let (recorder, task) = ScanRecorder::start(store.clone(), metrics.clone(), options);
    let mut committed = recorder.committed();

    let recorded = scan(42);
    let started = Instant::now();
    recorder.record(recorded.clone());
    // One scan fills no batch and nothing stops the recorder: only the delay can commit it.
    tokio::time::timeout(DEADLINE, committed.wait_for(|n| *n == 1))
        .await
        .expect("the scan is committed without anything else happening")
        .unwrap();
    let elapsed = started.elapsed();
    eprintln!("one scan committed {elapsed:?} after it was recorded (max_delay {max_delay:?})");
    assert!(
        elapsed >= max_delay,
        "a scan waits up to max_delay for others to share its transaction ({elapsed:?})"
    );

    let stored = store.scans_of(&[42], ALL_TIME, 10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].scan, recorded);
    assert_eq!(counter(&metrics, "marktrace_scans_recorded_total"), 1);
    assert_eq!(counter(&metrics, "marktrace_scan_commits_total"), 1);
    assert_eq!(counter(&metrics, "marktrace_scans_dropped_total"), 0);
    task.shutdown().await;
    store.close().await;
    db.cleanup().await;
}

async fn every_recorded_scan_is_written_by_a_graceful_shutdown(db: TestDb) {
    let store = db.store().await;
    let metrics = Arc::new(Metrics::default());
    let options = RecorderOptions::default();
    let max_batch = options.max_batch as u64;
    let (recorder, task) = ScanRecorder::start(store.clone(), metrics.clone(), options);
    let committed = recorder.committed();

    for i in 0..10_000 {
        recorder.record(scan(1 + i % 100));
    }
    task.shutdown().await;

    assert_eq!(store.scan_count().await.unwrap(), 10_000);
    assert_eq!(
        store.scans_of(&[7], ALL_TIME, 1000).await.unwrap().len(),
        100
    );
    assert_eq!(*committed.borrow(), 10_000);
    assert_eq!(counter(&metrics, "marktrace_scans_recorded_total"), 10_000);
    assert_eq!(counter(&metrics, "marktrace_scans_dropped_total"), 0);
    let commits = counter(&metrics, "marktrace_scan_commits_total");
    assert!(
        commits >= 10_000u64.div_ceil(max_batch),
        "no transaction holds more than max_batch scans ({commits} commits)"
    );

    // After shutdown the queue is closed: a late scan is dropped and counted, not lost silently.
    recorder.record(scan(1));
    assert_eq!(counter(&metrics, "marktrace_scans_dropped_total"), 1);
    assert_eq!(store.scan_count().await.unwrap(), 10_000);
    store.close().await;
    db.cleanup().await;
}

async fn an_overloaded_recorder_drops_scans_and_counts_them(db: TestDb) {
    let store = db.store().await;
    let metrics = Arc::new(Metrics::default());
    let options = RecorderOptions {
        queue: 8,
        max_batch: 8,
        ..RecorderOptions::default()
    };
    let (recorder, task) = ScanRecorder::start(store.clone(), metrics.clone(), options);
    let committed = recorder.committed();

    // Built first so the loop offers scans far faster than any database commits them: at most
    // the queue and one batch fit in before the first commit.
    let scans: Vec<Scan> = (1..=1000).map(scan).collect();
    for s in scans {
        recorder.record(s);
    }
    task.shutdown().await;

    let recorded = counter(&metrics, "marktrace_scans_recorded_total");
    let dropped = counter(&metrics, "marktrace_scans_dropped_total");
    eprintln!("{recorded} scans recorded, {dropped} dropped");
    assert!(dropped > 0, "a queue of 8 cannot take 1,000 scans at once");
    assert_eq!(
        recorded + dropped,
        1000,
        "every scan is either written or counted"
    );
    assert_eq!(store.scan_count().await.unwrap(), recorded);
    assert_eq!(*committed.borrow(), recorded);
    store.close().await;
    db.cleanup().await;
}

async fn a_purge_deletes_only_older_scans_and_reads_come_newest_first(db: TestDb) {
    let store = db.store().await;
    // More old scans than one purge transaction deletes, so the purge takes several.
    let old: Vec<Scan> = (0..25_000)
        .map(|i| {
            let at = format!("2026-01-15T00:00:00.{i:06}Z");
            scan_at(1000 + i % 10, &at, Verdict::Genuine, None)
        })
        .collect();
    store.insert_scans(&old).await.unwrap();
    let before = "2026-02-01T00:00:00.000000Z";
    // Inserted out of time order, with every verdict, with and without a region.
    let kept = vec![
        scan_at(7, "2026-03-01T08:00:00.000000Z", Verdict::Altered, None),
        scan_at(
            7,
            "2026-03-03T08:00:00.000000Z",
            Verdict::Genuine,
            Some(region("361100")),
        ),
        scan_at(7, before, Verdict::Forged, Some(region("360000"))),
        scan_at(
            7,
            "2026-03-02T08:00:00.000000Z",
            Verdict::Void,
            Some(region("360102")),
        ),
        scan_at(
            u64::MAX,
            "2026-03-01T00:00:00.000000Z",
            Verdict::Revoked,
            None,
        ),
        scan_at(1, "2026-03-01T00:00:00.000001Z", Verdict::Suspended, None),
    ];
    store.insert_scans(&kept).await.unwrap();
    let mut old_of_serial_7 = scan_at(7, "2026-01-31T23:59:59.999999Z", Verdict::Genuine, None);
    old_of_serial_7.client = "0".repeat(64);
    store
        .insert_scans(std::slice::from_ref(&old_of_serial_7))
        .await
        .unwrap();
    assert_eq!(store.scan_count().await.unwrap(), 25_007);

    assert_eq!(store.purge_scans(before).await.unwrap().deleted, 25_001);
    assert_eq!(store.scan_count().await.unwrap(), 6);
    assert!(
        store
            .scans_of(&[1003], ALL_TIME, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.purge_scans(before).await.unwrap(),
        Purged::default(),
        "nothing left to purge"
    );

    let newest_first: Vec<Scan> = store
        .scans_of(&[7], ALL_TIME, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.scan)
        .collect();
    let expected = [&kept[1], &kept[3], &kept[0], &kept[2]];
    assert_eq!(newest_first.iter().collect::<Vec<_>>(), expected);
    // A read from a time on leaves out what was scanned before it.
    let since_march_2nd: Vec<Scan> = store
        .scans_of(&[7], "2026-03-02T08:00:00.000000Z", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.scan)
        .collect();
    assert_eq!(since_march_2nd, [kept[1].clone(), kept[3].clone()]);
    let two = store.scans_of(&[7], ALL_TIME, 2).await.unwrap();
    assert_eq!(two.len(), 2);
    assert_ne!(two[0].scan_id, two[1].scan_id);
    assert_eq!(two[0].scan, kept[1]);
    assert_eq!(
        store.scans_of(&[u64::MAX], ALL_TIME, 10).await.unwrap()[0].scan,
        kept[4]
    );
    assert_eq!(
        store.scans_of(&[1], ALL_TIME, 10).await.unwrap()[0].scan,
        kept[5]
    );
    store.close().await;
    db.cleanup().await;
}

async fn client_hashes_are_salted_and_the_raw_address_is_stored_nowhere(db: TestDb) {
    let address = "203.0.113.7";
    let ip = address.parse().unwrap();
    let hasher = ClientHasher::open(&db.keys_dir.join(SALT_FILE)).unwrap();
    let client = hasher.hash(ip);
    assert_eq!(client.len(), 64);
    assert!(
        client
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    let reopened = ClientHasher::open(&db.keys_dir.join(SALT_FILE)).unwrap();
    assert_eq!(reopened.hash(ip), client, "stable for one salt");
    let other = ClientHasher::open(&db.keys_dir.join("other-salt")).unwrap();
    assert_ne!(other.hash(ip), client, "different for another salt");

    let store = db.store().await;
    let (recorder, task) = ScanRecorder::start(
        store.clone(),
        Arc::new(Metrics::default()),
        RecorderOptions::default(),
    );
    recorder.record(Scan {
        client: hasher.hash(ip),
        ..scan(9)
    });
    task.shutdown().await;
    let stored = store.scans_of(&[9], ALL_TIME, 10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].scan.client, client);
    // The stored scan holds every column of its row.
    let row = format!("{:?}", stored[0]);
    assert!(!row.contains(address), "{row}");
    store.close().await;
    db.cleanup().await;
}

on_both_backends!(
    a_scan_is_committed_within_the_bounded_delay,
    every_recorded_scan_is_written_by_a_graceful_shutdown,
    an_overloaded_recorder_drops_scans_and_counts_them,
    a_purge_deletes_only_older_scans_and_reads_come_newest_first,
    client_hashes_are_salted_and_the_raw_address_is_stored_nowhere,
);
