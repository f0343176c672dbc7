//! The flag queues that detection fills on its own after scans: waited for with a deadline.

use reqwest::StatusCode;
use serde_json::Value;

use super::{DEADLINE, TestApp, eventually};

/// Waits until `bearer`'s flag queue holds at least `count` flags, and returns them all.
pub async fn queue(app: &TestApp, bearer: &str, count: usize) -> Vec<Value> {
    let what = format!("{count} flags in the queue");
    eventually(DEADLINE, &what, || async {
        let (status, flags) = app.get("/api/v1/flags", Some(bearer)).await;
        assert_eq!(status, StatusCode::OK, "{flags}");
        let flags = flags.as_array().unwrap().clone();
        (flags.len() >= count).then_some(flags)
    })
    .await
}

/// The kinds of `flags`, sorted.
pub fn kinds(flags: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = flags
        .iter()
        .map(|f| f["flag"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    kinds
}
