//! Writes a client can retry, on both backends: a POST sent again with its `Idempotency-Key`
//! gets the original answer from any node and writes nothing twice; the key with another
//! request is a 409, as is the key while its first request runs; keys are their caller's own;
//! and a request whose node died after the log took its events, retried once its claim
//! lapsed, is recognised by the log through the event ids the key derives.

use marktrace::app::idempotency::{Begun, Outcome};
use marktrace::domain::enterprise::EnterpriseRegistered;
use marktrace::domain::issuer::IssuerId;
use marktrace::domain::region::RegionCode;
use std::sync::Arc;

use marktrace::storage::Database;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common;
use common::tokens::mint_for;
use common::world::world;
use common::{TestApp, TestDb};
use marktrace::domain::access::Role;

/// A POST with an optional key: status, the key-replayed header, the body's text.
async fn post_keyed(
    app: &TestApp,
    path: &str,
    bearer: Option<&str>,
    key: Option<&str>,
    body: &Value,
) -> (StatusCode, Option<String>, String) {
    let mut request = app.client.post(app.url(path)).json(body);
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, replayed, response.text().await.unwrap())
}

fn problem_type(body: &str) -> String {
    let problem: Value = serde_json::from_str(body).unwrap();
    problem["type"].as_str().unwrap().to_owned()
}

fn enterprise(code: &str) -> Value {
    json!({"uscc": code, "legacy_code": true, "name": "重试米业", "region": "360100"})
}

async fn a_retried_write_gets_its_first_answer_from_any_node(db: TestDb) {
    let w = world(&db).await;
    let a = TestApp::spawn(&db).await;
    let b = TestApp::spawn(&db).await;
    let path = "/api/v1/enterprises";
    let body = enterprise("RETRY-1");
    let (code, replayed, first) = post_keyed(&a, path, Some(&w.issuer), Some("k-1"), &body).await;
    assert_eq!((code, replayed), (StatusCode::CREATED, None), "{first}");
    let size = db.log().await.size();

    // The same request again, on the other node: the first answer, marked, nothing written.
    for app in [&a, &b] {
        let (code, replayed, again) =
            post_keyed(app, path, Some(&w.issuer), Some("k-1"), &body).await;
        assert_eq!(code, StatusCode::CREATED);
        assert_eq!(replayed.as_deref(), Some("true"));
        assert_eq!(again, first);
    }
    // Quoted as a structured-field string, it is the same key.
    let (code, replayed, _) = post_keyed(&b, path, Some(&w.issuer), Some("\"k-1\""), &body).await;
    assert_eq!(
        (code, replayed.as_deref()),
        (StatusCode::CREATED, Some("true"))
    );
    assert_eq!(db.log().await.size(), size);

    // The key with another body, or another path, is refused; nothing is written.
    let (code, _, refused) = post_keyed(
        &b,
        path,
        Some(&w.issuer),
        Some("k-1"),
        &enterprise("RETRY-2"),
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert_eq!(
        problem_type(&refused),
        "urn:marktrace:problem:idempotency-key-reused"
    );
    let batch = json!({"certificate_id": w.certificate, "count": 5});
    let (code, _, refused) =
        post_keyed(&a, "/api/v1/batches", Some(&w.issuer), Some("k-1"), &batch).await;
    assert_eq!(code, StatusCode::CONFLICT, "{refused}");
    assert_eq!(db.log().await.size(), size);

    // Keys are their caller's own: another token's k-1 is another key.
    let other = mint_for(&db, Role::Issuer, Some("jx-cb1"), &[]).await;
    let size = db.log().await.size();
    let (code, replayed, created) =
        post_keyed(&a, path, Some(&other), Some("k-1"), &enterprise("RETRY-3")).await;
    assert_eq!((code, replayed), (StatusCode::CREATED, None), "{created}");
    assert_eq!(db.log().await.size(), size + 1);

    // Without a key, a write runs each time it is sent; a conflict is not kept for the key,
    // so a key's retry after one runs afresh.
    let (code, _, _) = post_keyed(&a, path, Some(&w.issuer), None, &body).await;
    assert_eq!(code, StatusCode::CONFLICT);
    let (code, replayed, conflict) =
        post_keyed(&a, path, Some(&w.issuer), Some("k-2"), &body).await;
    assert_eq!((code, replayed), (StatusCode::CONFLICT, None));
    assert_eq!(problem_type(&conflict), "urn:marktrace:problem:conflict");
    let (code, replayed, _) = post_keyed(&a, path, Some(&w.issuer), Some("k-2"), &body).await;
    assert_eq!((code, replayed), (StatusCode::CONFLICT, None));

    // A consumer's report, without a token: keyed by the client's address.
    let report = json!({"token": "not-a-real-token", "note": "标签模糊"});
    let (code, _, filed) = post_keyed(&a, "/api/v1/reports", None, Some("r-1"), &report).await;
    assert_eq!(code, StatusCode::CREATED, "{filed}");
    let (code, replayed, again) =
        post_keyed(&b, "/api/v1/reports", None, Some("r-1"), &report).await;
    assert_eq!(
        (code, replayed.as_deref()),
        (StatusCode::CREATED, Some("true"))
    );
    assert_eq!(again, filed);

    // A key that is not 1 to 255 visible ASCII characters is a 400 naming the header.
    for bad in ["", "has space", "\"a b\"", &"k".repeat(256)] {
        let (code, _, refused) = post_keyed(&a, path, Some(&w.issuer), Some(bad), &body).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{bad:?}");
        assert!(refused.contains("Idempotency-Key"), "{refused}");
    }
    // A keyed body over the limit is refused as any other, with nothing claimed or written.
    let size = db.log().await.size();
    let huge = enterprise(&"X".repeat(128 * 1024));
    let (code, _, refused) = post_keyed(&a, path, Some(&w.issuer), Some("big"), &huge).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE, "{refused}");
    assert_eq!(
        problem_type(&refused),
        "urn:marktrace:problem:payload-too-large"
    );
    let (code, _, answer) = post_keyed(&a, path, Some(&w.issuer), Some("big"), &body).await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert_eq!(
        problem_type(&answer),
        "urn:marktrace:problem:conflict",
        "the key was not taken by the refused body"
    );
    assert_eq!(db.log().await.size(), size);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
    db.cleanup().await;
}

/// Eight copies of one keyed request at once: one runs; each other copy gets its answer or is
/// told the key's request is still running (409 with Retry-After); one event is written.
async fn concurrent_copies_of_a_keyed_request_write_once(db: TestDb) {
    let w = world(&db).await;
    let app = TestApp::spawn(&db).await;
    let size = db.log().await.size();
    let body = enterprise("RACE-1");
    let copies = (0..8).map(|_| async {
        let mut request = app
            .client
            .post(app.url("/api/v1/enterprises"))
            .bearer_auth(&w.issuer)
            .header("Idempotency-Key", "race")
            .json(&body);
        request = request.header("Accept", "application/json");
        let response = request.send().await.unwrap();
        let retry_after = response.headers().contains_key("retry-after");
        (
            response.status(),
            retry_after,
            response.text().await.unwrap(),
        )
    });
    let answers = futures_util::future::join_all(copies).await;
    let created: Vec<&String> = answers
        .iter()
        .filter(|(code, _, _)| *code == StatusCode::CREATED)
        .map(|(_, _, body)| body)
        .collect();
    assert!(!created.is_empty(), "{answers:?}");
    assert!(
        created.iter().all(|body| *body == created[0]),
        "{answers:?}"
    );
    for (code, retry_after, body) in &answers {
        if *code != StatusCode::CREATED {
            assert_eq!(*code, StatusCode::CONFLICT, "{body}");
            assert_eq!(
                problem_type(body),
                "urn:marktrace:problem:idempotency-in-progress"
            );
            assert!(retry_after);
        }
    }
    assert_eq!(db.log().await.size(), size + 1);
    app.stop().await.unwrap();
    db.cleanup().await;
}

/// A node took a key, ran the request, the log took its event, and the node died before the
/// answer was kept. A retry within the lease is told the request is running; once the claim
/// has lapsed, the retry runs again under the same event ids, and the log answers the original
/// event instead of appending another (where fresh ids would be a second registration,
/// refused as one).
async fn a_retry_after_a_node_died_mid_request_writes_nothing_twice(db: TestDb) {
    world(&db).await;
    let node = db.node().await;
    let store = db.store().await;
    let idempotency = &node.services.idempotency;
    let registry = &node.services.registry;
    let registered = EnterpriseRegistered::new(
        "DIED-1",
        true,
        "断电米业",
        RegionCode::parse("360100").unwrap(),
        IssuerId::parse("jx-cb1").unwrap(),
    )
    .unwrap();
    let (scope, key, fingerprint) = ("token:t1", "died", "f".repeat(64));
    let Begun::Run(claim) = idempotency.begin(scope, key, &fingerprint).await.unwrap() else {
        panic!("a fresh key is claimed");
    };
    let first = claim
        .run(registry.register_enterprise(registered.clone(), "test"))
        .await
        .unwrap();
    drop(claim); // the node dies here
    let log = db.log().await;
    let size = log.size();
    assert!(matches!(
        idempotency.begin(scope, key, &fingerprint).await.unwrap(),
        Begun::Running
    ));

    lapse(&store, scope, key, &fingerprint).await;
    let Begun::Run(claim) = idempotency.begin(scope, key, &fingerprint).await.unwrap() else {
        panic!("a lapsed claim is taken over");
    };
    let again = claim
        .run(registry.register_enterprise(registered.clone(), "test"))
        .await
        .unwrap();
    assert_eq!(again, first);
    log.ensure_current().await.unwrap();
    assert_eq!(log.size(), size, "the log recognised the events");
    // Fresh ids make a second registration, which the log refuses as one.
    assert!(
        registry
            .register_enterprise(registered, "test")
            .await
            .is_err()
    );

    let outcome = Outcome {
        status: 201,
        content_type: Some("application/json".into()),
        location: None,
        body: b"{}".to_vec(),
    };
    idempotency.finish(claim, Some(&outcome)).await.unwrap();
    let Begun::Replay(kept) = idempotency.begin(scope, key, &fingerprint).await.unwrap() else {
        panic!("the outcome is kept");
    };
    assert_eq!(kept, outcome);
    assert!(matches!(
        idempotency.begin(scope, key, "other").await.unwrap(),
        Begun::OtherRequest
    ));
    node.close().await;
    db.cleanup().await;
}

/// The document states the header on exactly the POSTs the layer keys: every one of them
/// refuses a malformed key before anything else, and the two that write nothing (verifying a
/// mark, auditing the log) and the witness protocol's, which a log retries by its own rules
/// (the old size it names), neither document nor check one.
async fn every_documented_write_takes_a_key_and_only_those(db: TestDb) {
    let app = TestApp::spawn(&db).await;
    let (_, doc) = app.get("/api/v1/openapi.json", None).await;
    let mut keyed = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(operation) = item.get("post") else {
            continue;
        };
        let documented = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header");
        let writes = ![
            "/api/v1/verify",
            "/api/v1/verify/batch",
            "/api/v1/log/verify",
            "/api/v1/witness/add-checkpoint",
        ]
        .contains(&path.as_str());
        assert_eq!(documented, writes, "{path}");
        if documented {
            keyed += 1;
            assert_eq!(
                operation["responses"]["409"]["$ref"], "#/components/responses/Conflict",
                "{path}"
            );
        }
        let url = path.replace(['{', '}'], "");
        let (code, _, body) = post_keyed(&app, &url, None, Some("has space"), &json!({})).await;
        let refused = code == StatusCode::BAD_REQUEST && body.contains("Idempotency-Key");
        assert_eq!(refused, writes, "{path}: {code} {body}");
    }
    assert!(keyed >= 25, "{keyed} keyed writes");
    app.stop().await.unwrap();
    db.cleanup().await;
}

/// Lets a held claim's lease lapse: the claim is moved into the past, as time would move it.
async fn lapse(store: &Arc<dyn Database>, scope: &str, key: &str, fingerprint: &str) {
    let now = marktrace::clock::now_micros();
    let held = store
        .claim_key(scope, key, fingerprint, &now)
        .await
        .unwrap()
        .expect("the key is held");
    let past = "2000-01-01T00:00:00.000000Z";
    assert!(
        store
            .take_over_key(scope, key, &held.claimed_at, past)
            .await
            .unwrap()
    );
}

/// The fingerprint the server takes of a JSON POST (`http::idempotency`), so a test can put a
/// claim in the store as another node's request would have.
fn fingerprint(path: &str, body: &Value) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"POST\0")
        .chain_update(path)
        .chain_update(b"\0application/json\0")
        .chain_update(serde_json::to_vec(body).unwrap())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Another node holds the key for the same request: the retry is told it is running, with
/// Retry-After, and nothing is written; once the claim has lapsed (the node died), the retry
/// takes the key over and runs. A request that ended without an outcome worth keeping released
/// its key, so its retry runs afresh.
async fn a_key_held_elsewhere_is_in_progress_until_its_claim_lapses(db: TestDb) {
    let w = world(&db).await;
    let app = TestApp::spawn(&db).await;
    let store = db.store().await;
    let path = "/api/v1/enterprises";
    let body = enterprise("HELD-1");
    let token_id = w.issuer.split('_').nth(1).unwrap();
    let scope = format!("token:{token_id}");
    let fingerprint = fingerprint(path, &body);
    let claimed = store
        .claim_key(
            &scope,
            "held",
            &fingerprint,
            &marktrace::clock::now_micros(),
        )
        .await
        .unwrap();
    assert!(claimed.is_none());
    let size = db.log().await.size();
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(&w.issuer)
        .header("Idempotency-Key", "held")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.headers().contains_key("retry-after"));
    let problem = response.text().await.unwrap();
    assert_eq!(
        problem_type(&problem),
        "urn:marktrace:problem:idempotency-in-progress"
    );
    assert_eq!(db.log().await.size(), size);

    lapse(&store, &scope, "held", &fingerprint).await;
    let (code, replayed, created) =
        post_keyed(&app, path, Some(&w.issuer), Some("held"), &body).await;
    assert_eq!((code, replayed), (StatusCode::CREATED, None), "{created}");
    assert_eq!(db.log().await.size(), size + 1);

    // A released key (its request answered 5xx, 409 or 429) is free for the retry.
    let node = db.node().await;
    let idempotency = &node.services.idempotency;
    let Begun::Run(claim) = idempotency.begin("token:t2", "k", "f").await.unwrap() else {
        panic!("a fresh key is claimed");
    };
    idempotency.finish(claim, None).await.unwrap();
    assert!(matches!(
        idempotency.begin("token:t2", "k", "f").await.unwrap(),
        Begun::Run(_)
    ));
    node.close().await;
    app.stop().await.unwrap();
    db.cleanup().await;
}

on_both_backends!(
    a_key_held_elsewhere_is_in_progress_until_its_claim_lapses,
    every_documented_write_takes_a_key_and_only_those,
    a_retried_write_gets_its_first_answer_from_any_node,
    concurrent_copies_of_a_keyed_request_write_once,
    a_retry_after_a_node_died_mid_request_writes_nothing_twice,
);
