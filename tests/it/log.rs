//! The event log's guarantees, on both backends: optimistic concurrency, contiguous indexes
//! under concurrent appenders (and processes), idempotent re-sends, atomic multi-stream
//! appends, and followers that see every event exactly once.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::common;
use common::{DEADLINE, TestDb};
use marktrace::log::{AppendError, Expected, Log, NewEvent, StreamAppend, StreamName};
use uuid::Uuid;

fn event(n: u64) -> NewEvent {
    NewEvent::new("Tested", &serde_json::json!({ "n": n })).unwrap()
}

async fn many_writers_on_one_stream_get_one_winner_per_version(db: TestDb) {
    let log = db.log().await;
    log.append_to("s-1", Expected::NoStream, vec![event(0)])
        .await
        .unwrap();
    // Every round, 16 tasks race to append version v+1 expecting version v.
    for version in 1..=5u64 {
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let log = log.clone();
                tokio::spawn(async move {
                    log.append_to("s-1", Expected::Exact(version), vec![event(i)])
                        .await
                })
            })
            .collect();
        let mut wins = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(appended) => {
                    wins += 1;
                    assert_eq!(appended.positions[0].version, version + 1);
                }
                Err(AppendError::Conflict {
                    stream,
                    expected,
                    actual,
                }) => {
                    assert_eq!(stream, "s-1");
                    assert_eq!(expected, Expected::Exact(version));
                    assert_eq!(actual, version + 1, "the loser learns the actual version");
                }
                Err(other) => panic!("unexpected error {other}"),
            }
        }
        assert_eq!(wins, 1, "exactly one writer wins version {}", version + 1);
    }
    let stream = log.read_stream("s-1", 1, 100).await.unwrap();
    let versions: Vec<u64> = stream.iter().map(|e| e.version).collect();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6]);
    db.cleanup().await;
}

async fn expectations_are_checked(db: TestDb) {
    let log = db.log().await;
    let exists = log
        .append_to("s-2", Expected::StreamExists, vec![event(0)])
        .await;
    assert!(matches!(
        exists,
        Err(AppendError::Conflict { actual: 0, .. })
    ));
    log.append_to("s-2", Expected::NoStream, vec![event(1), event(2)])
        .await
        .unwrap();
    let again = log
        .append_to("s-2", Expected::NoStream, vec![event(3)])
        .await;
    assert!(matches!(
        again,
        Err(AppendError::Conflict { actual: 2, .. })
    ));
    let any = log
        .append_to("s-2", Expected::Any, vec![event(4)])
        .await
        .unwrap();
    assert_eq!(any.positions[0].version, 3);
    assert_eq!(log.size(), 3, "refused appends wrote nothing");
    db.cleanup().await;
}

async fn concurrent_appends_leave_contiguous_indexes_seen_once_by_a_follower(db: TestDb) {
    // Two logs over two pools stand in for two server processes sharing the database.
    let logs = [db.log().await, db.log().await];
    const TASKS: u64 = 64;
    const PER_TASK: u64 = 40;
    let total = TASKS * PER_TASK;
    let mut follower = logs[1].subscribe(0);
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        while (seen.len() as u64) < total {
            for e in follower.next_page(500).await.unwrap() {
                seen.push((e.index, e.event_id));
            }
        }
        seen
    });
    let writers: Vec<_> = (0..TASKS)
        .map(|t| {
            let log = logs[(t % 2) as usize].clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..PER_TASK {
                    let e = event(t * PER_TASK + i);
                    ids.push(e.event_id());
                    log.append_to(&format!("w-{t}"), Expected::Any, vec![e])
                        .await
                        .unwrap();
                }
                ids
            })
        })
        .collect();
    let mut written = BTreeSet::new();
    for w in writers {
        written.extend(w.await.unwrap());
    }
    let seen = tokio::time::timeout(DEADLINE, reader)
        .await
        .expect("the follower sees every appended event")
        .unwrap();
    let indexes: Vec<u64> = seen.iter().map(|(i, _)| *i).collect();
    assert_eq!(
        indexes,
        (0..total).collect::<Vec<_>>(),
        "no gap, no duplicate, in order"
    );
    let seen_ids: BTreeSet<Uuid> = seen.iter().map(|(_, id)| *id).collect();
    assert_eq!(
        seen_ids, written,
        "the follower saw every acknowledged event once"
    );

    // Every stored leaf hash recomputes from its row.
    let events = logs[0].read(0, total as u32).await.unwrap();
    for e in &events {
        assert_eq!(
            e.recomputed_leaf_hash(),
            e.leaf_hash,
            "leaf of entry {}",
            e.index
        );
    }
    assert_eq!(db.store().await.log_size().await.unwrap(), total);
    db.cleanup().await;
}

async fn resending_the_same_event_ids_returns_the_original_indexes(db: TestDb) {
    let log = db.log().await;
    log.append_to("other", Expected::Any, vec![event(0)])
        .await
        .unwrap();
    let batch = vec![event(1), event(2)];
    let first = log
        .append_to("s-3", Expected::NoStream, batch.clone())
        .await
        .unwrap();
    assert!(!first.replayed);
    assert_eq!(first.indexes(), [1, 2]);
    // The same request again, even with an expectation that no longer holds, is a replay.
    let again = log
        .append_to("s-3", Expected::NoStream, batch.clone())
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.indexes(), [1, 2]);
    assert_eq!(
        db.store().await.log_size().await.unwrap(),
        3,
        "nothing appended twice"
    );
    // Reusing an id for different content is refused, not replayed.
    let forged = vec![event(99).with_id(batch[0].event_id())];
    let refused = log.append_to("s-3", Expected::Any, forged).await;
    assert!(matches!(
        refused,
        Err(AppendError::IdempotencyMismatch { .. })
    ));
    db.cleanup().await;
}

async fn a_multi_stream_append_is_all_or_nothing(db: TestDb) {
    let log = db.log().await;
    log.append_to("b-1", Expected::NoStream, vec![event(0)])
        .await
        .unwrap();
    // A new stream a-1 and b-1 as `b_expected`, in one append.
    let both = |b_expected: Expected| {
        let append = |stream: &str, expected, event| StreamAppend {
            stream: StreamName::parse(stream).unwrap(),
            expected,
            events: vec![event],
        };
        vec![
            append("a-1", Expected::NoStream, event(1)),
            append("b-1", b_expected, event(2)),
        ]
    };
    let refused = log.append(both(Expected::NoStream)).await;
    assert!(matches!(refused, Err(AppendError::Conflict { ref stream, .. }) if stream == "b-1"));
    assert!(
        log.read_stream("a-1", 1, 10).await.unwrap().is_empty(),
        "a-1 untouched"
    );
    let ok = log.append(both(Expected::Exact(1))).await.unwrap();
    assert_eq!(ok.indexes(), [1, 2]);
    db.cleanup().await;
}

async fn events_keep_their_exact_bytes_and_metadata(db: TestDb) {
    let log = db.log().await;
    let correlation = Uuid::new_v4();
    let e = NewEvent::new(
        "Tested",
        &serde_json::json!({"名": "江西绿色生态", "x": 1.50}),
    )
    .unwrap()
    .confidential()
    .unwrap()
    .with_schema(3)
    .with_metadata(marktrace::log::Metadata {
        actor: Some("admin:test".into()),
        correlation_id: Some(correlation),
        causation_id: None,
    });
    let data = e.clone();
    log.append_to("s-4", Expected::Any, vec![e]).await.unwrap();
    let stored = &log.read(0, 1).await.unwrap()[0];
    // Confidential data is stored with its salt first, otherwise exactly as serialised.
    let (salt, rest) = stored
        .data
        .split_at(r#"{"salt":"0123456789abcdef0123456789abcdef","#.len());
    assert!(salt.starts_with(r#"{"salt":""#), "{}", stored.data);
    assert_eq!(rest, r#""x":1.5,"名":"江西绿色生态"}"#);
    assert_eq!(stored.event_id, data.event_id());
    assert_eq!(stored.schema, 3);
    assert_eq!(stored.visibility, marktrace::log::Visibility::Confidential);
    assert_eq!(stored.metadata.actor.as_deref(), Some("admin:test"));
    assert_eq!(stored.metadata.correlation_id, Some(correlation));
    assert!(stored.recorded_at.ends_with('Z') && stored.recorded_at.len() == 27);
    db.cleanup().await;
}

async fn a_closed_log_refuses_appends_after_committing_those_queued(db: TestDb) {
    let log = db.log().await;
    let queued: Vec<_> = (0..50)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { log.append_to("q", Expected::Any, vec![event(i)]).await })
        })
        .collect();
    tokio::task::yield_now().await;
    log.shutdown().await;
    let mut acknowledged = 0;
    for q in queued {
        if q.await.unwrap().is_ok() {
            acknowledged += 1;
        }
    }
    let later = log.append_to("q", Expected::Any, vec![event(99)]).await;
    assert!(matches!(later, Err(AppendError::Unavailable(_))));
    let reopened = db.store().await;
    assert_eq!(reopened.log_size().await.unwrap(), acknowledged);
    db.cleanup().await;
}

async fn projections_rebuild_to_the_same_counts(db: TestDb) {
    let log: Log = db.log().await;
    for i in 0..30 {
        let kind = if i % 3 == 0 { "Third" } else { "Other" };
        let e = NewEvent::new(kind, &i).unwrap();
        log.append_to("p", Expected::Any, vec![e]).await.unwrap();
    }
    let store = db.store().await;
    let models = marktrace::projections::ReadModels::new(log.clone(), store.clone());
    let counts = || async {
        for p in marktrace::projections::all() {
            models.catch_up(p.as_ref()).await.unwrap();
        }
        store.event_type_counts().await.unwrap()
    };
    let expected = vec![("Other".to_string(), 20), ("Third".to_string(), 10)];
    assert_eq!(counts().await, expected);
    // Catching up again applies nothing twice.
    assert_eq!(counts().await, expected);
    let rebuilt = models.rebuild_all().await.unwrap();
    assert!(rebuilt.contains(&("event_types", 30)));
    assert!(
        rebuilt.iter().all(|(_, position)| *position == 30),
        "{rebuilt:?}"
    );
    assert_eq!(store.event_type_counts().await.unwrap(), expected);
    db.cleanup().await;
}

async fn another_process_appending_is_seen_by_version_checks(db: TestDb) {
    // Each log caches the stream versions of its own last commit; an append by another
    // process in between must not be missed.
    let a = db.log().await;
    let b = db.log().await;
    a.append_to("shared", Expected::NoStream, vec![event(1)])
        .await
        .unwrap();
    b.append_to("shared", Expected::Exact(1), vec![event(2)])
        .await
        .unwrap();
    let stale = a
        .append_to("shared", Expected::Exact(1), vec![event(3)])
        .await;
    assert!(
        matches!(stale, Err(AppendError::Conflict { actual: 2, .. })),
        "{stale:?}"
    );
    let fresh = a
        .append_to("shared", Expected::Exact(2), vec![event(4)])
        .await
        .unwrap();
    assert_eq!(fresh.positions[0].version, 3);
    assert_eq!(fresh.positions[0].index, 2);
    db.cleanup().await;
}

async fn one_append_larger_than_a_statement_is_stored_whole(db: TestDb) {
    // 2,500 events need three multi-row INSERTs in one transaction.
    let log = db.log().await;
    let events: Vec<NewEvent> = (0..2500).map(event).collect();
    let appended = log
        .append_to("big", Expected::NoStream, events)
        .await
        .unwrap();
    assert_eq!(appended.indexes(), (0..2500).collect::<Vec<_>>());
    let stored = log.read(0, 3000).await.unwrap();
    assert_eq!(stored.len(), 2500);
    assert!(
        stored
            .iter()
            .all(|e| e.recomputed_leaf_hash() == e.leaf_hash)
    );
    let checkpoint = log.latest_checkpoint().await.unwrap();
    assert_eq!(checkpoint.size, 2500);
    assert_eq!(log.root_at(2500).await.unwrap(), checkpoint.root);
    db.cleanup().await;
}

async fn group_commits_respect_their_event_bound_and_wait(db: TestDb) {
    // A writer that waits up to 20 ms for company but commits at most 8 events at a time.
    let options = marktrace::log::WriterOptions {
        max_batch_events: 8,
        max_wait: std::time::Duration::from_millis(20),
        ..Default::default()
    };
    let metrics = Arc::new(marktrace::metrics::Metrics::default());
    let log = db.log_with(options, metrics.clone()).await;
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move {
                log.append_to("bounded", Expected::Any, vec![event(i)])
                    .await
            })
        })
        .collect();
    let mut indexes = Vec::new();
    for t in tasks {
        indexes.push(t.await.unwrap().unwrap().positions[0].index);
    }
    indexes.sort_unstable();
    assert_eq!(indexes, (0..40).collect::<Vec<_>>());
    let commits: u64 = metrics
        .render(0, &[])
        .lines()
        .find_map(|l| l.strip_prefix("marktrace_log_commits_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        commits >= 5,
        "40 events in commits of at most 8 need at least 5, got {commits}"
    );
    db.cleanup().await;
}

on_both_backends!(
    many_writers_on_one_stream_get_one_winner_per_version,
    expectations_are_checked,
    concurrent_appends_leave_contiguous_indexes_seen_once_by_a_follower,
    resending_the_same_event_ids_returns_the_original_indexes,
    a_multi_stream_append_is_all_or_nothing,
    events_keep_their_exact_bytes_and_metadata,
    a_closed_log_refuses_appends_after_committing_those_queued,
    projections_rebuild_to_the_same_counts,
    another_process_appending_is_seen_by_version_checks,
    one_append_larger_than_a_statement_is_stored_whole,
    group_commits_respect_their_event_bound_and_wait,
);
