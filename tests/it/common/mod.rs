//! Test harness: a fresh database per test, on SQLite always and on PostgreSQL when
//! `TEST_POSTGRES_URL` is set, and the service spawned on port 0 for HTTP tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use marktrace::config::Config;
use marktrace::log::Log;
use marktrace::metrics::Metrics;
use marktrace::storage::{self, Store};
use tempfile::TempDir;

pub mod cases;
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
            "--log-origin",
            ORIGIN,
        ];
        args.extend_from_slice(extra);
        args.push("serve");
        marktrace::cli::parse_from(args)
            .expect("test configuration")
            .config
    }

    pub fn config(&self) -> Config {
        self.config_with(&[])
    }

    pub async fn store(&self) -> Arc<dyn Store> {
        storage::open(&self.url).await.expect("open test store")
    }

    /// The log as `marktrace` opens it (creating the log key on first use).
    pub async fn log(&self) -> Log {
        marktrace::server::open_log(&self.config(), Arc::new(Metrics::default()))
            .await
            .expect("open log")
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
        let config = db.config_with(extra);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
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

    /// Graceful shutdown, as on SIGTERM; returns what `serve` returned.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.stop.take().expect("stopped once").send(());
        self.server.await.expect("server task")
    }
}
