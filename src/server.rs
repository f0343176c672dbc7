//! Start-up and shutdown of the service. [`serve`] opens storage and the log (checking the log
//! head against its signed checkpoint), starts the projection followers, serves HTTP on a
//! listener it is given until the shutdown future resolves, then lets in-flight requests
//! finish and commits every append they made before closing the database.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::detect;
use crate::enforcement::cases::Cases;
use crate::enforcement::credit::Credit;
use crate::http::{AppState, Limiter, RateLimit, app};
use crate::keys::{self, Keyring};
use crate::log::{Log, LogSigner};
use crate::mark::index::MarkIndex;
use crate::metrics::Metrics;
use crate::projections::memory::Folded;
use crate::scans::{self, ClientHasher, RecorderOptions, ScanRecorder};
use crate::verify::check::Signatures;
use crate::{clock, projections, storage};

/// The log's checkpoint signer from `keys/log.pem`, created (loudly) on a first start.
pub fn log_signer(config: &Config) -> anyhow::Result<LogSigner> {
    let key = keys::load_or_create(&config.keys_dir.join(keys::LOG_KEY), "LOG KEY")?;
    Ok(LogSigner::new(&config.log_origin(), key)?)
}

/// Opens the configured store and the log on it.
pub async fn open_log(config: &Config, metrics: Arc<Metrics>) -> anyhow::Result<Log> {
    let store = storage::open(&config.database_url)
        .await
        .with_context(|| format!("opening the database {}", redact(&config.database_url)))?;
    let signer = Arc::new(log_signer(config)?);
    Log::open(store, signer, config.writer_options(), metrics)
        .await
        .context("opening the log")
}

pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::default());
    let keyring = Arc::new(Keyring::open(&config.keys_dir)?);
    let log = open_log(&config, metrics.clone()).await?;
    let clients = Arc::new(ClientHasher::open(&config.keys_dir.join(scans::SALT_FILE))?);
    let marks = Arc::new(MarkIndex::default());
    let (committed_serials, detection_queue) = tokio::sync::mpsc::channel(1024);
    let recorder_options = RecorderOptions {
        committed_serials: Some(committed_serials),
        ..config.recorder_options()
    };
    let (scan_recorder, scan_task) =
        ScanRecorder::start(log.store().clone(), metrics.clone(), recorder_options);
    let detector = tokio::spawn(detect::run(
        log.clone(),
        marks.clone(),
        config.thresholds(),
        detection_queue,
    ));
    let mut followers: Vec<_> = projections::all()
        .into_iter()
        .map(|p| tokio::spawn(projections::follow(log.clone(), p)))
        .collect();
    let (index, index_log) = (marks.clone(), log.clone());
    followers.push(tokio::spawn(async move {
        projections::keep_up(&index_log, "marks", || index.catch_up(&index_log)).await
    }));
    let cases = Arc::new(Folded::<Cases>::default());
    let credit = Arc::new(Folded::<Credit>::default());
    let (model, model_log) = (cases.clone(), log.clone());
    followers.push(tokio::spawn(async move {
        projections::keep_up(&model_log, "cases", || model.catch_up(&model_log)).await
    }));
    let (model, model_log) = (credit.clone(), log.clone());
    followers.push(tokio::spawn(async move {
        projections::keep_up(&model_log, "credit", || model.catch_up(&model_log)).await
    }));
    followers.push(tokio::spawn(purge_scans(
        log.clone(),
        config.scan_retention_days,
    )));
    let limiter = Arc::new(Limiter::new(
        RateLimit {
            per_second: config.public_rate,
            burst: config.public_burst,
        },
        config.trusted_proxies()?,
    ));
    followers.push(tokio::spawn(limiter.clone().sweep()));
    let state = AppState {
        log: log.clone(),
        metrics,
        keyring,
        marks,
        cases,
        credit,
        scans: scan_recorder,
        thresholds: config.thresholds(),
        clients,
        signatures: Arc::new(Signatures::new(config.verify_cache_entries)),
        limiter,
        public_url: config.public_url.clone(),
        label_hosts: Arc::new(config.label_hosts()?),
        max_batch_marks: config.max_batch_marks,
        export_threads: config.export_threads(),
        body_limit: config.body_limit,
    };
    tracing::info!(
        address = %listener.local_addr()?,
        database = %redact(&config.database_url),
        log_origin = log.signer().origin(),
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
    log.shutdown().await;
    for follower in followers {
        follower.abort();
    }
    log.store().close().await;
    tracing::info!("marktrace stopped");
    Ok(())
}

/// Deletes scans older than the retention, hourly, for as long as the service runs.
async fn purge_scans(log: Log, retention_days: u32) {
    let mut hourly = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        hourly.tick().await;
        let cutoff = time::OffsetDateTime::now_utc() - time::Duration::days(retention_days.into());
        match log.store().purge_scans(&clock::format_micros(cutoff)).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, retention_days, "purged old scans"),
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
