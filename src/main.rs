//! The `marktrace` binary: parse the command line, set up tracing, dispatch. Wiring only.

use anyhow::Context;
use marktrace::cli::{Cli, Command, ProjectionsCommand};
use marktrace::server::open_log;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("marktrace: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let Cli { config, command } = marktrace::cli::parse_from(std::env::args_os())?;
    match command {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("listen: cannot bind {}", config.listen))?;
            marktrace::serve(config, listener, shutdown_signal()).await
        }
        Command::Init => {
            let log = open_log(&config, Default::default()).await?;
            println!("database ready: {} events in the log", log.size());
            Ok(())
        }
        Command::Projections {
            command: ProjectionsCommand::Rebuild,
        } => {
            let log = open_log(&config, Default::default()).await?;
            for (name, position) in marktrace::projections::rebuild_all(&log).await? {
                println!("rebuilt {name}: {position} events applied");
            }
            Ok(())
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; draining");
}
