//! The `marktrace` binary: parse the command line, set up tracing, open what the command
//! needs, dispatch. Wiring only: the commands live in `cli`.

use anyhow::Context;
use marktrace::cli::{Cli, Command, LogCommand};
use marktrace::server::{self, Node};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Logs go to stderr: stdout carries what commands print (tokens, keys, JSON lines).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
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
        Command::Keygen { issuer: None, .. } => marktrace::cli::keygen(&config),
        Command::Log {
            command: LogCommand::Verify { from, vkey, quorum },
        } => {
            let auditor = server::auditor(&config).await?;
            marktrace::cli::verify_log(&auditor, &config, from, vkey, quorum).await
        }
        Command::Verify {
            mark,
            offline: Some(snapshot),
            delta,
            vkey,
            ..
        } => marktrace::cli::verify_offline(&config, &mark, &snapshot, &delta, vkey),
        command => {
            let node = Node::open(&config, Default::default()).await?;
            let result = marktrace::cli::run(command, &node.services, &config).await;
            node.close().await;
            result
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
