//! The HTTP skeleton over a real socket, on both backends: operations endpoints, problem+json
//! for requests that match nothing, graceful shutdown, and the per-client rate limit of the
//! public routes (clients told apart by their loopback source address, 127.0.0.0/8).

use std::net::IpAddr;

use crate::common;
use common::world::world;
use common::{ALL_TIME, TestApp, TestDb, problem, seed};
use marktrace::scans::{ClientHasher, SALT_FILE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn healthz_and_metrics_answer(db: TestDb) {
    seed(&db, 2).await;
    let app = TestApp::spawn(&db).await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let body: serde_json::Value = health.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["log_size"], 2);

    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text().await.unwrap();
    assert!(text.contains("\nmarktrace_log_size 2\n"), "{text}");
    assert!(text.contains("# TYPE marktrace_log_commits_total counter"));
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn unknown_routes_and_methods_are_problem_json(db: TestDb) {
    let app = TestApp::spawn(&db).await;
    let missing = app
        .client
        .get(app.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    let body = problem(missing, StatusCode::NOT_FOUND, "not-found").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("/api/v1/nothing-here")
    );
    let wrong = app.client.delete(app.url("/healthz")).send().await.unwrap();
    problem(wrong, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed").await;
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn a_graceful_stop_finishes_and_the_data_stays(db: TestDb) {
    let app = TestApp::spawn(&db).await;
    let ok = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let base = app.base.clone();
    app.stop()
        .await
        .expect("serve returns Ok after a graceful stop");
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "the port is closed"
    );
    db.cleanup().await;
}

/// A client whose requests come from `address` (any of 127.0.0.0/8 reaches the server).
fn client_from(address: &str) -> reqwest::Client {
    let address: IpAddr = address.parse().unwrap();
    reqwest::Client::builder()
        .local_address(address)
        .build()
        .unwrap()
}

/// The limits the tests below run with: a burst of 2, then 1 a second.
const LIMITED: [&str; 4] = ["--public-rate", "1", "--public-burst", "2"];
const BURST: usize = 2;

/// Sends `request` until it is refused: the first `BURST` never are, and the refusal is the
/// 429 problem with `Retry-After`. At 1/s a slow machine may see a token refilled after the
/// burst, so a few more tries are allowed; twenty cannot all find one.
async fn refused_after_the_burst(request: impl Fn() -> reqwest::RequestBuilder, what: &str) {
    for sent in 0..BURST + 20 {
        let response = request().send().await.unwrap();
        let status = response.status();
        assert!(!status.is_server_error(), "{what}: {status}");
        if status != StatusCode::TOO_MANY_REQUESTS {
            continue;
        }
        assert!(sent >= BURST, "{what}: refused within the burst");
        let retry: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry >= 1, "{what}");
        problem(response, StatusCode::TOO_MANY_REQUESTS, "too-many-requests").await;
        return;
    }
    panic!("{what}: never refused");
}

/// One operation of the OpenAPI document, with a URL that reaches its handler.
struct Operation {
    method: Method,
    path: String,
    url: String,
    /// Needs no token.
    anonymous: bool,
    /// Documents a 429 answer.
    documents_429: bool,
}

async fn documented_operations(client: &reqwest::Client, app: &TestApp) -> Vec<Operation> {
    let doc: Value = client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut all = Vec::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let mut url = path
                .replace("{index}", "0")
                .replace("{path}", "0/000.p/1")
                .replace("{token}", "x");
            let query: Vec<String> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query" && p["required"] == true)
                .map(|p| format!("{}=1", p["name"].as_str().unwrap()))
                .collect();
            if !query.is_empty() {
                url = format!("{url}?{}", query.join("&"));
            }
            all.push(Operation {
                method: Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                path: path.clone(),
                url,
                anonymous: operation.get("security").is_none(),
                documents_429: operation["responses"].get("429").is_some(),
            });
        }
    }
    all
}

/// Every operation anyone may call without a token, as the OpenAPI document lists them (label
/// URLs, verify, reports, keys, the log with its proofs and tiles, public credit, the document
/// itself), answers one client 429 with Retry-After after its burst, while another client is
/// still served; the document says so for exactly these operations and batch verification,
/// whose limit is per token holder. The operations endpoints and every authenticated operation
/// never answer 429 per client.
async fn every_public_route_is_limited_per_client(db: TestDb) {
    let app = TestApp::spawn_with(&db, &LIMITED).await;
    let operations = documented_operations(&client_from("127.0.0.250"), &app).await;
    let probes = ["/healthz", "/readyz", "/metrics"];
    let public: std::collections::BTreeSet<&str> = operations
        .iter()
        .filter(|op| op.anonymous && !probes.contains(&op.path.as_str()))
        .map(|op| op.path.as_str())
        .collect();
    let expected = [
        "/v/{token}",
        "/01/{gtin}/21/{serial}",
        "/01/{gtin}",
        "/api/v1/openapi.json",
        "/api/v1/verify",
        "/api/v1/reports",
        "/api/v1/keys",
        "/api/v1/log/checkpoint",
        "/api/v1/log/key",
        "/api/v1/log/entries/{index}",
        "/api/v1/log/proof/inclusion",
        "/api/v1/log/proof/consistency",
        "/api/v1/log/proof/bundle",
        "/api/v1/log/tiles/tile/{path}",
        "/api/v1/public/credit",
        "/api/v1/status/snapshot",
        "/api/v1/public/certificates/{code}",
        "/api/v1/witness/add-checkpoint",
        "/api/v1/witness/key",
    ];
    assert_eq!(public, expected.into());
    for (i, op) in operations.iter().enumerate() {
        let limited = public.contains(&op.path.as_str());
        // Batch verification has a limit of its own, per token holder (tests/it/verify.rs).
        let per_token = op.path == "/api/v1/verify/batch";
        assert_eq!(
            op.documents_429,
            limited || per_token,
            "{} {}: documented",
            op.method,
            op.path
        );
        let one = client_from(&format!("127.0.1.{i}"));
        let request = || one.request(op.method.clone(), app.url(&op.url));
        if limited {
            refused_after_the_burst(request, &op.url).await;
            let other = client_from(&format!("127.0.2.{i}"));
            let status = other
                .request(op.method.clone(), app.url(&op.url))
                .send()
                .await
                .unwrap()
                .status();
            assert_ne!(
                status,
                StatusCode::TOO_MANY_REQUESTS,
                "{}: another client",
                op.url
            );
        } else {
            for _ in 0..BURST * 3 {
                let status = request().send().await.unwrap().status();
                assert_ne!(
                    status,
                    StatusCode::TOO_MANY_REQUESTS,
                    "{} {}",
                    op.method,
                    op.url
                );
            }
        }
    }
    app.stop().await.unwrap();
    db.cleanup().await;
}

/// A client that has spent its public burst is still served on authenticated routes (known
/// by its token) and on the operations endpoints (probes).
async fn authenticated_routes_and_probes_are_not_limited(db: TestDb) {
    let w = world(&db).await;
    let app = TestApp::spawn_with(&db, &LIMITED).await;
    let one = client_from("127.0.0.3");
    refused_after_the_burst(|| one.get(app.url("/api/v1/keys")), "keys").await;
    for _ in 0..BURST * 5 {
        let tokens = one
            .get(app.url("/api/v1/tokens"))
            .bearer_auth(&w.admin)
            .send()
            .await
            .unwrap();
        assert_eq!(tokens.status(), StatusCode::OK);
        for probe in ["/healthz", "/metrics"] {
            let status = one.get(app.url(probe)).send().await.unwrap().status();
            assert_eq!(status, StatusCode::OK, "{probe}");
        }
    }
    let status = one
        .get(app.url("/api/v1/keys"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "still spent");
    app.stop().await.unwrap();
    db.cleanup().await;
}

/// Behind a trusted proxy each consumer is its own client, named by `X-Forwarded-For`; from any
/// other peer the header is ignored. The scan record hashes the very address the limiter
/// counted.
async fn a_proxy_header_is_believed_only_from_a_trusted_peer(db: TestDb) {
    let w = world(&db).await;
    let trusted = [
        "--trusted-proxy-header",
        "X-Forwarded-For",
        "--trusted-proxies",
        "127.0.0.1/32,10.0.0.0/8",
    ];
    let app = TestApp::spawn_with(&db, &[&LIMITED[..], &trusted[..]].concat()).await;
    let body = json!({"certificate_id": w.certificate, "count": 1});
    let (code, batch) = app
        .send(Method::POST, "/api/v1/batches", Some(&w.issuer), Some(body))
        .await;
    assert_eq!(code, StatusCode::CREATED, "{batch}");
    let (_, mark) = app
        .send(Method::GET, "/api/v1/marks/1", Some(&w.issuer), None)
        .await;
    let url = mark["url"].as_str().unwrap().to_owned();
    let path = url
        .split_once("/v/")
        .map(|(_, t)| format!("/v/{t}"))
        .unwrap();
    let scan = |client: &reqwest::Client, forwarded_for: &str| {
        client
            .get(app.url(&path))
            .header("accept", "application/json")
            .header("x-forwarded-for", forwarded_for)
    };

    let proxy = client_from("127.0.0.1");
    // The consumer at 198.51.100.1 claims to be 192.0.2.99; the proxy appended the truth,
    // after an inner proxy in 10/8.
    let first = "192.0.2.99, 198.51.100.1, 10.1.1.1";
    refused_after_the_burst(|| scan(&proxy, first), "consumer 1 behind the proxy").await;
    let second = scan(&proxy, "198.51.100.2").send().await.unwrap();
    assert_eq!(
        second.status(),
        StatusCode::OK,
        "another consumer, same proxy"
    );

    let direct = client_from("127.0.0.2");
    // Each request names another consumer: believed, none would ever be refused.
    let claimed = std::cell::Cell::new(0);
    refused_after_the_burst(
        || {
            claimed.set(claimed.get() + 1);
            scan(&direct, &format!("198.51.100.{}", 100 + claimed.get()))
        },
        "an untrusted peer naming others",
    )
    .await;
    app.stop().await.unwrap();

    let hasher = ClientHasher::open(&db.keys_dir.join(SALT_FILE)).unwrap();
    let hash = |address: &str| hasher.hash(address.parse().unwrap());
    let store = db.store().await;
    let scans = store.scans_of(&[1], ALL_TIME, 100).await.unwrap();
    let clients: std::collections::HashSet<_> =
        scans.iter().map(|s| s.scan.client.clone()).collect();
    let expected: std::collections::HashSet<_> = ["198.51.100.1", "198.51.100.2", "127.0.0.2"]
        .map(hash)
        .into();
    assert_eq!(
        clients, expected,
        "scans are recorded under the limiter's client"
    );
    store.close().await;
    db.cleanup().await;
}

on_both_backends!(
    healthz_and_metrics_answer,
    unknown_routes_and_methods_are_problem_json,
    a_graceful_stop_finishes_and_the_data_stays,
    every_public_route_is_limited_per_client,
    authenticated_routes_and_probes_are_not_limited,
    a_proxy_header_is_believed_only_from_a_trusted_peer,
);
