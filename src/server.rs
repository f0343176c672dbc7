//! Start-up and shutdown of the service. [`serve`] opens storage, starts the log writer and
//! the projection followers, serves HTTP on a listener it is given until the shutdown future
//! resolves, then lets in-flight requests finish and commits every append they made before
//! closing the database.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::http::{AppState, app};
use crate::log::Log;
use crate::metrics::Metrics;
use crate::{projections, storage};

/// Opens the configured store and the log on it.
pub async fn open_log(config: &Config) -> anyhow::Result<Log> {
    let store = storage::open(&config.database_url)
        .await
        .with_context(|| format!("opening the database {}", config.database_url))?;
    Log::open(store, config.writer_options(), Arc::new(Metrics::default()))
        .await
        .context("reading the log head")
}

pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::default());
    let store = storage::open(&config.database_url)
        .await
        .with_context(|| format!("opening the database {}", config.database_url))?;
    let log = Log::open(store.clone(), config.writer_options(), metrics.clone())
        .await
        .context("reading the log head")?;
    let followers: Vec<_> = projections::all()
        .into_iter()
        .map(|p| tokio::spawn(projections::follow(log.clone(), p)))
        .collect();
    let state = AppState {
        log: log.clone(),
        metrics,
        body_limit: config.body_limit,
    };
    tracing::info!(
        address = %listener.local_addr()?,
        database = %redact(&config.database_url),
        "marktrace serving"
    );
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    log.shutdown().await;
    for follower in followers {
        follower.abort();
    }
    store.close().await;
    tracing::info!("marktrace stopped");
    Ok(())
}

/// A database URL without its password, for logs.
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
