//! A database outage as clients see it: PostgreSQL reached through a loopback TCP proxy that
//! the test cuts and restores. While it is cut, every request that needs the database answers
//! 503 `unavailable` with `Retry-After` within two seconds (writes, reads, and verification,
//! even of a mark this node has cached, since it can no longer prove it is current),
//! `/readyz` says so, and `/healthz` stays 200; once restored, the node answers again.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::common::world::{batch, token, world};
use crate::common::{DEADLINE, TestApp, TestDb, eventually};

/// A loopback TCP proxy to one address, which can be cut (the listener closed and every
/// connection through it dropped) and restored on the same port.
struct Proxy {
    port: u16,
    upstream: String,
    connections: Option<JoinSet<()>>,
}

impl Proxy {
    async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut proxy = Proxy {
            port,
            upstream: upstream.to_owned(),
            connections: None,
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let upstream = self.upstream.clone();
        let mut connections = JoinSet::new();
        connections.spawn(async move {
            let mut pipes = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                pipes.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        self.connections = Some(connections);
    }

    /// Closes the listener and every connection: the database is gone.
    async fn cut(&mut self) {
        if let Some(mut connections) = self.connections.take() {
            connections.shutdown().await;
        }
    }

    async fn restore(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.serve(listener);
    }
}

/// The URL of the same database through the proxy.
fn through(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let user = authority
        .rsplit_once('@')
        .map(|(u, _)| format!("{u}@"))
        .unwrap_or_default();
    format!("{scheme}://{user}127.0.0.1:{port}/{path}")
}

fn upstream(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split_once('/').unwrap().0;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// The status and JSON verdict of a label URL, as a scanning app asks for it.
async fn verdict(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let response = app
        .client
        .get(app.url(&format!("/v/{token}")))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Sends a request and checks it is refused as unavailable, quickly.
async fn refused_quickly(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) {
    let started = Instant::now();
    let mut request = app
        .client
        .request(method.clone(), app.url(path))
        .header("Accept", "application/json");
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(
        response.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "{method} {path}"
    );
    assert!(
        response.headers().contains_key("retry-after"),
        "{method} {path}: Retry-After"
    );
    let problem: Value = response.json().await.unwrap();
    assert_eq!(
        problem["type"].as_str().map(|t| t.ends_with("unavailable")),
        Some(true),
        "{problem}"
    );
    assert!(
        took < Duration::from_secs(2),
        "{method} {path} took {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_answered_503_at_once_and_survived() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let w = world(&db).await;
    let mut proxy = Proxy::start(&upstream(&db.url)).await;
    let via = TestDb::existing(&through(&db.url, proxy.port), &db.keys_dir);
    let app = TestApp::spawn_with(&via, &["--public-rate", "0"]).await;
    let body = json!({"certificate_id": w.certificate, "count": 10});
    batch(&app, &w.issuer, body.clone()).await;
    let genuine = token(&app, &w.issuer, 1).await;
    let (code, answer) = verdict(&app, &genuine).await;
    assert_eq!(
        (code, answer["verdict"].as_str()),
        (StatusCode::OK, Some("genuine"))
    );
    let (code, _) = app.get("/readyz", None).await;
    assert_eq!(code, StatusCode::OK);

    proxy.cut().await;
    // A write, a read, a verification of the cached mark, a fresh batch: each refused fast,
    // again and again (the circuit keeps them from waiting on the pool).
    for _ in 0..3 {
        refused_quickly(
            &app,
            reqwest::Method::POST,
            "/api/v1/batches",
            Some(&w.issuer),
            Some(body.clone()),
        )
        .await;
        refused_quickly(
            &app,
            reqwest::Method::GET,
            "/api/v1/enterprises",
            Some(&w.admin),
            None,
        )
        .await;
        refused_quickly(
            &app,
            reqwest::Method::GET,
            &format!("/v/{genuine}"),
            None,
            None,
        )
        .await;
    }
    let (code, ready) = app.get("/readyz", None).await;
    assert_eq!(
        (code, ready["status"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")),
        "{ready}"
    );
    let (code, _) = app.get("/healthz", None).await;
    assert_eq!(
        code,
        StatusCode::OK,
        "liveness does not depend on the database"
    );

    proxy.restore().await;
    // Back once the circuit's probe finds the database again.
    let answer = eventually(DEADLINE, "verification after the outage", || async {
        let (code, answer) = verdict(&app, &genuine).await;
        (code == StatusCode::OK).then_some(answer)
    })
    .await;
    assert_eq!(answer["verdict"], "genuine");
    let (code, _) = app.get("/readyz", None).await;
    assert_eq!(code, StatusCode::OK);
    let (code, created) = app.post("/api/v1/batches", Some(&w.issuer), body).await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    app.stop().await.unwrap();
    proxy.cut().await;
    db.cleanup().await;
}
