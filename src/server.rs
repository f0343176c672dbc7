//! The wiring: the one place that opens storage and hands each owner its port. [`Node`] opens
//! the database and the log (checking the log head against its signed checkpoint) and builds
//! the application services on them, for `serve` and for the CLI's commands alike; [`serve`]
//! adds what only a running service has (read-model followers, the scan recorder and the
//! detector, HTTP), serves until the shutdown future resolves, then lets in-flight requests
//! finish and commits every append they made before closing the database.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::app::access::Access;
use crate::app::cases::Enforcement;
use crate::app::credit::CreditRecords;
use crate::app::detection::Detector;
use crate::app::epcis::Traceability;
use crate::app::idempotency::Idempotency;
use crate::app::marks::Marks;
use crate::app::registry::Registry;
use crate::app::resolver::Resolver;
use crate::app::services::Services;
use crate::app::snapshot::Snapshots;
use crate::app::status::Status;
use crate::app::transparency::{Auditor, Transparency};
use crate::app::verification::batcher::Batcher;
use crate::app::verification::check::Signatures;
use crate::app::verification::{ScanSink, Verifier};
use crate::app::witness::{Cosigning, Witness};
use crate::config::Config;
use crate::http::{
    AppState, Limiter, MAX_BATCH_ITEMS, RateLimit, SessionSettings, TokenLimiter, app,
};
use crate::idempotency::KeyStore;
use crate::keys::{self, Keyring};
use crate::log::cosignature::Cosigner;
use crate::log::{Log, LogSigner, LogStore, StorageError, WriterOptions};
use crate::metrics::Metrics;
use crate::projections::cases::Cases;
use crate::projections::credit::Credit;
use crate::projections::marks::MarkIndex;
use crate::projections::memory::Folded;
use crate::projections::status::StatusIndex;
use crate::projections::{self, ReadModels};
use crate::scans::{self, ClientHasher, Purged, RecorderOptions, ScanRecorder, ScanStore};
use crate::sessions::SessionStore;
use crate::storage::{self, Database};
use crate::threads::Background;
use crate::witnessing::WitnessStore;

/// The witness's cosigner from `keys/witness.pem`, created (loudly) on a first start.
fn cosigner(config: &Config) -> anyhow::Result<Cosigner> {
    let key = keys::load_or_create(&config.keys_dir.join(keys::WITNESS_KEY), "WITNESS KEY")?;
    Ok(Cosigner::new(&config.witness_name(), key)?)
}

/// The log's checkpoint signer from `keys/log.pem`, created (loudly) on a first start.
fn log_signer(config: &Config) -> anyhow::Result<LogSigner> {
    let key = keys::load_or_create(&config.keys_dir.join(keys::LOG_KEY), "LOG KEY")?;
    Ok(LogSigner::new(&config.log_origin(), key)?)
}

async fn open_database(config: &Config) -> anyhow::Result<Arc<dyn Database>> {
    storage::open(&config.database_url)
        .await
        .with_context(|| format!("opening the database {}", redact(&config.database_url)))
}

fn writer_options(config: &Config) -> WriterOptions {
    WriterOptions {
        max_batch_events: config.append_batch_events,
        max_wait: Duration::from_micros(config.append_wait_us),
        ..WriterOptions::default()
    }
}

/// The log's store alone, for the audit (`marktrace log verify`), which needs no log key.
pub async fn auditor(config: &Config) -> anyhow::Result<Auditor> {
    let db = open_database(config).await?;
    Ok(Auditor::new(
        db.clone() as Arc<dyn LogStore>,
        db as Arc<dyn WitnessStore>,
    ))
}

/// The in-memory read models a node folds from the log.
#[derive(Clone, Default)]
struct Memory {
    marks: Arc<MarkIndex>,
    cases: Arc<Folded<Cases>>,
    credit: Arc<Folded<Credit>>,
    statuses: Arc<StatusIndex>,
}

/// A node of the deployment: its database, its log and its services.
pub struct Node {
    pub services: Services,
    db: Arc<dyn Database>,
    log: Log,
    models: ReadModels,
    memory: Memory,
    detector: Detector,
}

impl Node {
    /// Opens the database and the log and builds the services. Verification records no scans
    /// until [`serve`] gives it a recorder.
    pub async fn open(config: &Config, metrics: Arc<Metrics>) -> anyhow::Result<Node> {
        let keyring = Arc::new(Keyring::open(&config.keys_dir)?);
        let db = open_database(config).await?;
        let signer = Arc::new(log_signer(config)?);
        let log = Log::open(db.clone(), signer, writer_options(config), metrics.clone())
            .await
            .context("opening the log")?;
        let models = ReadModels::new(log.clone(), db.clone());
        let memory = Memory::default();
        let registry = Registry::new(
            log.clone(),
            models.clone(),
            keyring.clone(),
            memory.marks.clone(),
        );
        let detector = Detector::new(
            log.clone(),
            memory.marks.clone(),
            db.clone() as Arc<dyn ScanStore>,
            config.thresholds(),
            config.scan_retention_days,
            metrics.clone(),
        );
        let label_hosts = Arc::new(config.label_hosts()?);
        let verifier = Verifier::new(
            log.clone(),
            memory.marks.clone(),
            Arc::new(Signatures::new(config.verify_cache_mib << 20)),
            Arc::new(Batcher::new(metrics.clone())),
            detector.clone(),
            label_hosts.clone(),
        );
        let resolver = Resolver::new(
            log.clone(),
            memory.marks.clone(),
            registry.clone(),
            config.public_url.clone(),
            config.pip_url_template.clone(),
        );
        let services = Services {
            access: Access::new(
                log.clone(),
                models.clone(),
                db.clone() as Arc<dyn SessionStore>,
            ),
            marks: Marks::new(
                log.clone(),
                memory.marks.clone(),
                registry.clone(),
                keyring,
                config.public_url.clone(),
                config.max_batch_marks,
                config.export_threads(),
            ),
            registry,
            verifier,
            enforcement: Enforcement::new(
                log.clone(),
                memory.cases.clone(),
                memory.marks.clone(),
                db.clone() as Arc<dyn ScanStore>,
            ),
            credit: CreditRecords::new(log.clone(), memory.credit.clone(), memory.cases.clone()),
            transparency: Transparency::new(
                log.clone(),
                Auditor::new(
                    db.clone() as Arc<dyn LogStore>,
                    db.clone() as Arc<dyn WitnessStore>,
                ),
                db.clone() as Arc<dyn WitnessStore>,
            ),
            witness: Witness::new(
                log.clone(),
                db.clone() as Arc<dyn WitnessStore>,
                cosigner(config)?,
                memory.marks.clone(),
            ),
            idempotency: Idempotency::new(db.clone() as Arc<dyn KeyStore>),
            status: Status::new(log.clone(), models.clone(), metrics),
            snapshots: Snapshots::new(log.clone(), memory.statuses.clone(), label_hosts),
            traceability: Traceability::new(
                log.clone(),
                memory.marks.clone(),
                db.clone() as Arc<dyn ScanStore>,
                config.public_url.clone(),
            ),
            resolver,
        };
        Ok(Node {
            services,
            db,
            log,
            models,
            memory,
            detector,
        })
    }

    /// The node's detector, as the scan recorder feeds it.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// Commits every append already requested, then closes the database.
    pub async fn close(self) {
        self.log.shutdown().await;
        self.db.close().await;
    }

    /// Keeps every read model current for as long as the service runs, on `runtime`.
    fn follow(&self, runtime: &Handle) -> Vec<JoinHandle<()>> {
        let mut followers: Vec<_> = projections::all()
            .into_iter()
            .map(|p| runtime.spawn(self.models.clone().follow(p)))
            .collect();
        let log = self.log.clone();
        let Memory {
            marks,
            cases,
            credit,
            statuses,
        } = self.memory.clone();
        followers.push(runtime.spawn(async move {
            let (l1, l2, l3, l4) = (log.clone(), log.clone(), log.clone(), log.clone());
            tokio::join!(
                projections::keep_up(&l1, "marks", || marks.catch_up(&l1)),
                projections::keep_up(&l2, "cases", || cases.catch_up(&l2)),
                projections::keep_up(&l3, "credit", || credit.catch_up(&l3)),
                projections::keep_up(&l4, "statuses", || statuses.catch_up(&l4)),
            );
        }));
        followers
    }
}

/// Committed scan batches that may wait for detection: at most 4 × 4,096 scans. Beyond that
/// the scan writer waits, and the recorder's bounded queue absorbs it. Measured with
/// `run.sh --memory`: 1,024 took peak memory to 420 MB and 32 (with detection taking 16
/// batches at a time) to 525 MB.
const DETECTION_QUEUE: usize = 4;

pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::default());
    let mut node = Node::open(&config, metrics.clone()).await?;
    let clients = Arc::new(ClientHasher::open(&config.keys_dir.join(scans::SALT_FILE))?);
    // Committed batches waiting for detection, bounded: a detector that falls behind holds
    // back the scan writer (and the recorder's bounded queue) instead of buffering batches
    // of thousands of scans without bound.
    let (committed, detection_queue) = tokio::sync::mpsc::channel(DETECTION_QUEUE);
    let recorder_options = RecorderOptions {
        queue: config.scan_queue,
        max_delay: Duration::from_millis(config.scan_delay_ms),
        committed: Some(committed),
        ..RecorderOptions::default()
    };
    // Background work runs on its own one-thread runtime (see `threads`), so neither the scan
    // writes nor detection nor the followers take a request worker's turn.
    let background = Background::start().context("starting the background runtime")?;
    let runtime = background.handle().clone();
    let scan_store = node.db.clone() as Arc<dyn ScanStore>;
    let (recorder, scan_task) = {
        let _background = runtime.enter();
        ScanRecorder::start(scan_store.clone(), metrics, recorder_options)
    };
    let detector = runtime.spawn(node.detector.clone().run(detection_queue));
    node.services.verifier = node
        .services
        .verifier
        .recording(ScanSink { recorder, clients });
    let mut followers = node.follow(&runtime);
    followers.push(runtime.spawn(keep_scans(scan_store, config.scan_retention_days)));
    let limiter = Arc::new(Limiter::new(
        RateLimit {
            per_second: config.public_rate,
            burst: config.public_burst,
        },
        config.trusted_proxies()?,
    ));
    followers.push(runtime.spawn(limiter.clone().sweep()));
    let cosigning = Cosigning::new(node.log.clone(), node.db.clone() as Arc<dyn WitnessStore>);
    for witness in config.witnesses()? {
        if let Some(url) = witness.url.clone() {
            followers.push(runtime.spawn(cosigning.clone().follow(witness, url)));
        }
    }
    let access = node.services.access.clone();
    followers.push(
        runtime.spawn(purge_hourly("ended console sessions", move || {
            let access = access.clone();
            async move { access.purge_sessions().await }
        })),
    );
    let idempotency = node.services.idempotency.clone();
    followers.push(
        runtime.spawn(purge_hourly("expired idempotency keys", move || {
            let idempotency = idempotency.clone();
            async move { idempotency.purge().await }
        })),
    );
    let state = AppState {
        services: Arc::new(node.services.clone()),
        limiter,
        batch_limiter: Arc::new(TokenLimiter::new(
            config.verify_batch_rate,
            MAX_BATCH_ITEMS as u32,
        )),
        body_limit: config.body_limit,
        sessions: SessionSettings {
            lifetime: Duration::from_secs(u64::from(config.console_session_hours) * 3600),
            secure: config.public_url.starts_with("https://"),
        },
    };
    tracing::info!(
        address = %listener.local_addr()?,
        database = %redact(&config.database_url),
        log_origin = node.services.transparency.origin(),
        "marktrace serving"
    );
    let service = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    // Every scan the answered requests recorded is written before the database closes.
    scan_task.shutdown().await;
    // The recorder is gone, so the detector's queue closes: it finishes the last batches.
    if let Err(error) = detector.await {
        tracing::error!(%error, "the detector failed");
    }
    for follower in followers {
        follower.abort();
    }
    node.close().await;
    drop(background);
    tracing::info!("marktrace stopped");
    Ok(())
}

/// Runs a purge hourly, for as long as the service runs: ended console sessions (refused
/// anyway; this keeps the table to the sessions that can still sign someone in), idempotency
/// keys past their keeping time.
async fn purge_hourly<F, P>(what: &'static str, purge: P)
where
    P: Fn() -> F,
    F: Future<Output = Result<u64, StorageError>>,
{
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        match purge().await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, what, "purged"),
            Err(error) => tracing::error!(%error, what, "purge failed"),
        }
    }
}

/// The scan table's upkeep, hourly from start-up for as long as the service runs: the months
/// ahead get their partitions (PostgreSQL), then scans older than the retention go.
async fn keep_scans(scans: Arc<dyn ScanStore>, retention_days: u32) {
    let mut hourly = tokio::time::interval(Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        match scans
            .add_partitions(time::OffsetDateTime::now_utc().date())
            .await
        {
            Ok(created) if created.is_empty() => {}
            Ok(created) => tracing::info!(?created, "created scan partitions"),
            Err(error) => tracing::error!(%error, "creating scan partitions failed"),
        }
        match scans
            .purge_scans(&scans::retained_since(retention_days))
            .await
        {
            Ok(purged) if purged == Purged::default() => {}
            Ok(Purged {
                partitions,
                deleted,
            }) => tracing::info!(?partitions, deleted, retention_days, "purged old scans"),
            Err(error) => tracing::error!(%error, "purging old scans failed"),
        }
    }
}

/// A database URL without its password, for logs and messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}
