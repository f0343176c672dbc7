//! Test harness: a fresh database per test, on SQLite always and on PostgreSQL when
//! `TEST_POSTGRES_URL` is set, the service spawned on port 0 for HTTP tests, and waiting for
//! what the service does on its own with a deadline instead of a sleep. The set-up several
//! areas share lives in the submodules: tokens, the registry world, case work and flags.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use marktrace::config::Config;
use marktrace::log::{Expected, Log, LogSigner, NewEvent, WriterOptions};
use marktrace::metrics::Metrics;
use marktrace::server::Node;
use marktrace::storage::{self, Database};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tempfile::TempDir;

pub mod cases;
pub mod flags;
pub mod partner;
pub mod tokens;
pub mod world;

/// The log origin every test deployment uses.
pub const ORIGIN: &str = "test.marktrace.example/log";

/// A database of its own (a SQLite file or a PostgreSQL schema) and a keys directory.
pub struct TestDb {
    pub url: String,
    pub keys_dir: PathBuf,
    _dir: Option<TempDir>,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        TestDb {
            url: format!("sqlite://{}", dir.path().join("marktrace.db").display()),
            keys_dir: dir.path().join("keys"),
            _dir: Some(dir),
            pg: None,
        }
    }

    /// A new schema in the database `TEST_POSTGRES_URL` names, or `None` when it is unset.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(base) = std::env::var("TEST_POSTGRES_URL") else {
            eprintln!("TEST_POSTGRES_URL is not set: skipping the PostgreSQL run of this test");
            return None;
        };
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let pool = sqlx::PgPool::connect(&base)
            .await
            .expect("TEST_POSTGRES_URL must reach a running PostgreSQL");
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&pool)
            .await
            .expect("create test schema");
        pool.close().await;
        let separator = if base.contains('?') { '&' } else { '?' };
        let dir = tempfile::tempdir().expect("temporary directory");
        Some(TestDb {
            url: format!("{base}{separator}options=-c%20search_path%3D{schema}"),
            keys_dir: dir.path().join("keys"),
            _dir: Some(dir),
            pg: Some((base, schema)),
        })
    }

    /// Another database on `db`'s backend, for a second deployment beside it.
    pub async fn same_backend(db: &TestDb) -> Option<TestDb> {
        match db.pg {
            Some(_) => TestDb::postgres().await,
            None => Some(TestDb::sqlite()),
        }
    }

    /// A database and keys created by another (parent) test process, left to it.
    pub fn existing(url: &str, keys_dir: &Path) -> TestDb {
        TestDb {
            url: url.to_owned(),
            keys_dir: keys_dir.to_owned(),
            _dir: None,
            pg: None,
        }
    }

    /// The configuration of a deployment on this database, as `marktrace` parses it, with
    /// extra command-line arguments.
    pub fn config_with(&self, extra: &[&str]) -> Config {
        let keys = self.keys_dir.display().to_string();
        let mut args = vec![
            "marktrace",
            "--config",
            "/dev/null",
            "--database-url",
            &self.url,
            "--keys-dir",
            &keys,
        ];
        // A deployment given its own origin (a partner beside this one) keeps it.
        if !extra.contains(&"--log-origin") {
            args.extend(["--log-origin", ORIGIN]);
        }
        args.extend_from_slice(extra);
        args.push("serve");
        marktrace::cli::parse_from(args)
            .expect("test configuration")
            .config
    }

    pub fn config(&self) -> Config {
        self.config_with(&[])
    }

    pub async fn store(&self) -> Arc<dyn Database> {
        storage::open(&self.url).await.expect("open test store")
    }

    /// A node as `marktrace` opens one for a command: the database, the log and the
    /// application services (creating the keys on first use). Close it with [`Node::close`].
    pub async fn node(&self) -> Node {
        Node::open(&self.config(), Arc::new(Metrics::default()))
            .await
            .expect("open node")
    }

    /// The log alone, for the tests of the log itself, signing with the deployment's log key
    /// (created on first use).
    pub async fn log(&self) -> Log {
        self.log_with(Default::default(), Arc::new(Metrics::default()))
            .await
    }

    /// [`TestDb::log`] with its writer's options and metrics.
    pub async fn log_with(&self, options: WriterOptions, metrics: Arc<Metrics>) -> Log {
        let config = self.config();
        let path = config.keys_dir.join(marktrace::keys::LOG_KEY);
        let key = marktrace::keys::load_or_create(&path, "LOG KEY").expect("log key");
        let signer = Arc::new(LogSigner::new(&config.log_origin(), key).expect("log origin"));
        Log::open(self.store().await, signer, options, metrics)
            .await
            .expect("open log")
    }

    /// How many issuer signing keys (`issuer-*.pem`) the keys directory holds.
    pub fn issuer_key_files(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.keys_dir) else {
            return 0;
        };
        entries
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with("issuer-")
            })
            .count()
    }

    /// Runs the `marktrace` binary and fails the test, showing its standard error, unless it
    /// succeeds; returns its standard output.
    pub fn marktrace_ok(&self, args: &[&str]) -> String {
        let out = self.marktrace(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "marktrace {args:?}: {stderr}");
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    /// Runs the `marktrace` binary and fails the test unless it fails; returns its standard
    /// error, which names what was wrong.
    pub fn marktrace_err(&self, args: &[&str]) -> String {
        let out = self.marktrace(args);
        assert!(!out.status.success(), "marktrace {args:?} succeeded");
        String::from_utf8(out.stderr).expect("UTF-8 output")
    }

    /// Runs the `marktrace` binary against this deployment, as an operator would.
    pub fn marktrace(&self, args: &[&str]) -> std::process::Output {
        let keys = self.keys_dir.display().to_string();
        std::process::Command::new(env!("CARGO_BIN_EXE_marktrace"))
            .args(["--config", "/dev/null", "--database-url", &self.url])
            .args(["--keys-dir", &keys, "--log-origin", ORIGIN])
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .output()
            .expect("run marktrace")
    }

    /// Drops a PostgreSQL test schema; SQLite files go with their temporary directory.
    pub async fn cleanup(self) {
        if let Some((base, schema)) = &self.pg {
            let pool = sqlx::PgPool::connect(base).await.expect("reconnect");
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&pool)
                .await
                .expect("drop test schema");
            pool.close().await;
        }
    }
}

/// Runs each named `async fn(TestDb)` of the calling module as the test `postgres::NAME`: for
/// what only PostgreSQL has (the scan table's partitions). Skipped, as every PostgreSQL run is,
/// when `TEST_POSTGRES_URL` is unset.
macro_rules! on_postgres {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::common::TestDb::postgres().await {
                        super::$name(db).await;
                    }
                }
            )*
        }
    };
}

/// Runs each named `async fn(TestDb)` of the calling module as two tests, `sqlite::NAME` and
/// `postgres::NAME`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::TestDb::sqlite()).await;
                }
            )*
        }
        on_postgres!($($name),*);
    };
}

/// The service running on a real socket, on port 0, until [`TestApp::stop`].
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestApp {
    pub async fn spawn(db: &TestDb) -> TestApp {
        TestApp::spawn_with(db, &[]).await
    }

    /// The service with extra command-line settings.
    pub async fn spawn_with(db: &TestDb, extra: &[&str]) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        TestApp::spawn_on(db, extra, listener)
    }

    /// The service on a socket bound beforehand, so that its address can be configured
    /// elsewhere (a partner's witness URL) before it starts.
    pub fn spawn_on(db: &TestDb, extra: &[&str], listener: tokio::net::TcpListener) -> TestApp {
        let config = db.config_with(extra);
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(marktrace::serve(config, listener, async move {
            let _ = stopped.await;
        }));
        TestApp {
            base,
            client: reqwest::Client::new(),
            stop: Some(stop),
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request, with a bearer token and a JSON body if given; returns the status and
    /// the JSON answer (null if the answer is not JSON).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or_default())
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> (StatusCode, Value) {
        self.send(Method::GET, path, bearer, None).await
    }

    pub async fn post(&self, path: &str, bearer: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, bearer, Some(body)).await
    }

    /// A `GET` whose answer is text (a CSV export, a signed note): the status and the body.
    pub async fn text(&self, path: &str, bearer: Option<&str>) -> (StatusCode, String) {
        let mut request = self.client.get(self.url(path));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// The log size `/healthz` reports: compared before and after a request, whether it
    /// wrote anything.
    pub async fn log_size(&self) -> u64 {
        let (status, health) = self.get("/healthz", None).await;
        assert_eq!(status, StatusCode::OK, "{health}");
        health["log_size"].as_u64().unwrap()
    }

    /// Graceful shutdown, as on SIGTERM; returns what `serve` returned.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.stop.take().expect("stopped once").send(());
        self.server.await.expect("server task")
    }
}

/// Asserts that `response` is an RFC 9457 problem of `status` and type `kind` with a detail;
/// returns the problem.
pub async fn problem(response: reqwest::Response, status: StatusCode, kind: &str) -> Value {
    assert_eq!(response.status(), status, "{kind}");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["type"],
        format!("urn:marktrace:problem:{kind}"),
        "{body}"
    );
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

/// Asserts that a request was refused with `status` and a problem detail that says `why`.
#[track_caller]
pub fn assert_refused(code: StatusCode, problem: &Value, status: StatusCode, why: &str) {
    assert_eq!(code, status, "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains(why),
        "the detail does not say {why:?}: {problem}"
    );
}

/// The `since` of a scan read that wants every stored scan: every timestamp sorts after it.
pub const ALL_TIME: &str = "";

/// How long a test waits for what the service does on its own (detection after a scan, a
/// commit after a delay) before it calls the service stuck. A guard against a test that never
/// ends, far above the time the work takes on a loaded two-core machine; never a measure of
/// speed, which lives in the benches.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `check` until it returns `Some`, and returns what it returned; fails the test, naming
/// `what`, if `deadline` passes first. For waiting on something the service does by itself,
/// where there is no event to await.
pub async fn eventually<T, F, Fut>(deadline: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    // Between checks, leave the two cores to the work being waited for.
    const INTERVAL: Duration = Duration::from_millis(20);
    let start = tokio::time::Instant::now();
    loop {
        if let Some(done) = check().await {
            return done;
        }
        assert!(
            start.elapsed() < deadline,
            "still waiting for {what} after {deadline:?}"
        );
        tokio::time::sleep(INTERVAL).await;
    }
}

/// Appends `n` events of type `Seeded`, `{"i": i}`, spread over three streams, and closes the
/// log.
pub async fn seed(db: &TestDb, n: u64) {
    let log = db.log().await;
    for i in 0..n {
        let event = NewEvent::new("Seeded", &serde_json::json!({ "i": i })).unwrap();
        log.append_to(&format!("s-{}", i % 3), Expected::Any, vec![event])
            .await
            .unwrap();
    }
    log.shutdown().await;
}

/// xorshift64: a deterministic pseudo-random sequence, so a failure names a case that fails
/// again.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
