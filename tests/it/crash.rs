//! Durability: an appender killed with SIGKILL loses nothing it acknowledged, and leaves no
//! gap and no torn entry. The child is this test binary itself, re-run with only
//! `crash::child_appender`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common;
use common::TestDb;
use marktrace::log::{Expected, NewEvent};
use uuid::Uuid;

const DB_VAR: &str = "MARKTRACE_CRASH_TEST_DB";
const KEYS_VAR: &str = "MARKTRACE_CRASH_TEST_KEYS";

/// Acknowledgements the parent waits for before it kills the child.
const KILL_AFTER: usize = 2000;

/// The child test's name as the test harness knows it: its path below the crate root, so the
/// filter stays right wherever this module moves.
fn child_test_name() -> String {
    let module = module_path!().split_once("::").map_or("", |(_, path)| path);
    format!("{module}::child_appender")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of a_killed_appender_loses_nothing_acknowledged"]
async fn child_appender() {
    let url = std::env::var(DB_VAR).expect("run by the crash test with the database URL");
    let keys = std::env::var(KEYS_VAR).expect("run by the crash test with the keys directory");
    let log = TestDb::existing(&url, keys.as_ref()).log().await;
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let log = log.clone();
            tokio::spawn(async move {
                for n in 0u64.. {
                    let event = NewEvent::new("Tested", &n).unwrap();
                    let id = event.event_id();
                    let stream = format!("c-{w}");
                    let done = log.append_to(&stream, Expected::Any, vec![event]).await;
                    let index = done.unwrap().positions[0].index;
                    // Printed only after the commit: each line is an acknowledgement.
                    println!("ack {index} {id}");
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
}

async fn a_killed_appender_loses_nothing_acknowledged(db: TestDb) {
    // The parent opens the log first, so the child finds its key and first checkpoint.
    db.log().await.shutdown().await;
    let url = db.url.clone();
    let keys = db.keys_dir.clone();
    let acknowledged = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", &child_test_name()])
            .args(["--nocapture", "--test-threads=1"])
            .env(DB_VAR, url)
            .env(KEYS_VAR, keys)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acks = HashMap::new();
        let record = |acks: &mut HashMap<Uuid, u64>, line: String| {
            if let Some(rest) = line.strip_prefix("ack ") {
                let (index, id) = rest.split_once(' ').unwrap();
                acks.insert(id.parse::<Uuid>().unwrap(), index.parse::<u64>().unwrap());
            }
        };
        for line in lines.by_ref() {
            record(&mut acks, line.unwrap());
            if acks.len() >= KILL_AFTER {
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Lines already in the pipe were acknowledged before the kill.
        for line in lines.map_while(Result::ok) {
            record(&mut acks, line);
        }
        acks
    })
    .await
    .unwrap();
    assert!(acknowledged.len() >= KILL_AFTER);

    let log = db.log().await;
    let store = db.store().await;
    let size = store.log_size().await.unwrap();
    let events = log.read(0, u32::MAX).await.unwrap();
    assert_eq!(
        events.len() as u64,
        size,
        "the head counts exactly the stored events"
    );
    for (position, event) in events.iter().enumerate() {
        assert_eq!(event.index, position as u64, "indexes are contiguous");
        assert_eq!(
            event.recomputed_leaf_hash(),
            event.leaf_hash,
            "entry {} intact",
            event.index
        );
    }
    // Tiles, checkpoints and head agree with the entries: nothing torn.
    let verifier = log.signer().verifier();
    let report = marktrace::log::audit::verify(store.as_ref(), &verifier, 0)
        .await
        .expect("the log audits clean after the crash");
    assert_eq!(report.size, size);
    let stored: HashMap<Uuid, u64> = events.iter().map(|e| (e.event_id, e.index)).collect();
    for (id, index) in &acknowledged {
        assert_eq!(
            stored.get(id),
            Some(index),
            "acknowledged event {id} survived at {index}"
        );
    }
    db.cleanup().await;
}

on_both_backends!(a_killed_appender_loses_nothing_acknowledged);
