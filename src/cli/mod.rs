//! The command line: one binary, subcommands for the service and its operators. This module
//! parses; [`run`] carries out the commands that work on a node's services (the wiring in
//! `main.rs` opens the node), and [`keygen`] and [`verify_log`] the two that need no node.
//! Each command calls the same application services as the API.

mod args;
mod epcis;
mod issue;
pub mod printing;
mod tokens;
mod verify;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::app::NoteVerifier;
use crate::app::services::Services;
use crate::app::setup;
use crate::app::snapshot;
use crate::app::transparency::Auditor;
use crate::app::verification::check::Presented;
use crate::app::verification::offline::Offline;
use crate::config::Config;
use crate::domain::key::KeyId;
pub use args::{
    Cli, Command, EpcisCommand, IssueArgs, LogCommand, ProjectionsCommand, TokenCommand, parse_from,
};

/// Carries out a command on a node's services. `serve`, `keygen` without `--issuer` and
/// `log verify` are not commands on a node; the wiring runs them.
pub async fn run(command: Command, services: &Services, config: &Config) -> anyhow::Result<()> {
    match command {
        Command::Init => {
            let transparency = &services.transparency;
            println!("database ready: {} events in the log", transparency.size());
            println!("log verifier key: {}", transparency.verifier_key());
            Ok(())
        }
        Command::Keygen {
            issuer: Some(issuer),
            not_after,
            activate,
        } => issue::issuer_keygen(services, config, &issuer, not_after, activate).await,
        Command::Token { command } => tokens::run(services, command).await,
        Command::Issue(args) => issue::issue(services, args).await,
        Command::Epcis { command } => epcis::run(services, command).await,
        Command::Verify { mark, server, .. } => {
            verify::verify(services, &mark, server.as_deref()).await
        }
        Command::Projections {
            command: ProjectionsCommand::Rebuild,
        } => {
            for (name, position) in services.status.rebuild_read_models().await? {
                println!("rebuilt {name}: {position} events applied");
            }
            Ok(())
        }
        Command::Serve | Command::Keygen { issuer: None, .. } | Command::Log { .. } => {
            anyhow::bail!("not a command on a node's services")
        }
    }
}

/// `marktrace keygen`: creates the root and log keys where missing; an existing key is kept,
/// never replaced.
pub fn keygen(config: &Config) -> anyhow::Result<()> {
    let made = setup::keygen(
        &config.keys_dir,
        &config.log_origin(),
        &config.witness_name(),
    )?;
    for (path, created) in &made.files {
        if *created {
            println!("created {} (mode 0600; back it up offline)", path.display());
        } else {
            println!("kept {} (already there)", path.display());
        }
    }
    println!(
        "brand root key: {} {}",
        KeyId::of(&made.root),
        STANDARD.encode(made.root.as_bytes())
    );
    println!("log origin: {}", made.log_origin);
    println!("log verifier key: {}", made.log_verifier_key);
    println!("witness verifier key: {}", made.witness_verifier_key);
    Ok(())
}

/// `marktrace verify --offline SNAPSHOT [--delta FILE …] MARK`: the verdict from a status
/// snapshot alone.
pub fn verify_offline(
    config: &Config,
    mark: &str,
    snapshot: &std::path::Path,
    deltas: &[std::path::PathBuf],
    vkey: Option<String>,
) -> anyhow::Result<()> {
    let log_key = match vkey {
        Some(vkey) => NoteVerifier::parse(&vkey).context("--vkey")?,
        None => setup::log_verifier(&config.keys_dir, &config.log_origin())?,
    };
    let read = |path: &std::path::Path| {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        snapshot::open(&bytes, &log_key).with_context(|| path.display().to_string())
    };
    let mut base = read(snapshot)?;
    for delta in deltas {
        base.apply(read(delta)?)
            .with_context(|| delta.display().to_string())?;
    }
    let offline = Offline::new(base)?;
    let label = offline.label_url(mark);
    let presented = match &label {
        Some(label) => Presented::label(label, None),
        None => Presented::token(mark, None),
    };
    let answer = offline.verify(&presented, time::OffsetDateTime::now_utc().date());
    println!("{}", serde_json::to_string(&answer)?);
    Ok(())
}

/// `marktrace log verify`: recomputes the whole log and checks every checkpoint.
pub async fn verify_log(
    auditor: &Auditor,
    config: &Config,
    from: u64,
    vkey: Option<String>,
    quorum: usize,
) -> anyhow::Result<()> {
    let verifier = match vkey {
        Some(vkey) => NoteVerifier::parse(&vkey).context("--vkey")?,
        None => setup::log_verifier(&config.keys_dir, &config.log_origin())?,
    };
    let report = auditor
        .verify(&verifier, from)
        .await
        .context("log verify failed")?;
    println!(
        "log verified: {} entries ({} recomputed from their data), {} signed checkpoints, root {}",
        report.size,
        report.recomputed,
        report.checkpoints,
        STANDARD.encode(report.root),
    );
    if quorum > 0 {
        let witnesses: Vec<_> = config
            .witnesses()?
            .into_iter()
            .map(|w| w.verifier)
            .collect();
        if witnesses.len() < quorum {
            anyhow::bail!(
                "--quorum {quorum} needs at least {quorum} witnesses given with --witness VKEY"
            );
        }
        let witnessed = auditor
            .check_quorum(&verifier, &witnesses, quorum)
            .await
            .context("log verify failed")?;
        println!(
            "witnessed: the checkpoint of size {} carries {} valid cosignatures (quorum {quorum})",
            witnessed.size, witnessed.cosignatures
        );
    }
    Ok(())
}
