//! The `marktrace` binary: parse the command line, set up tracing, dispatch. Wiring only.

use anyhow::Context;
use marktrace::access::{self, Grant};
use marktrace::cli::{Cli, Command, IssueArgs, LogCommand, ProjectionsCommand, TokenCommand};
use marktrace::config::Config;
use marktrace::domain::batch::BatchRequest;
use marktrace::domain::issuer::IssuerId;
use marktrace::domain::key::{KeyId, Validity};
use marktrace::keys::{self, Keyring};
use marktrace::log::note::NoteVerifier;
use marktrace::log::{LogSigner, audit};
use marktrace::mark::export::{CsvExport, ExportSpec};
use marktrace::mark::index::MarkIndex;
use marktrace::printing::{Outputs, write_outputs};
use marktrace::registry::batches::{batch_key, issue_batch};
use marktrace::registry::keys::{KeyChange, add_issuer_key, change_issuer_key};
use marktrace::server::open_log;
use marktrace::verify::check::{Presented, Signatures, check, parse_label_url};
use marktrace::{clock, storage};
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
        Command::Init => {
            let log = open_log(&config, Default::default()).await?;
            println!("database ready: {} events in the log", log.size());
            println!("log verifier key: {}", log.signer().verifier_key());
            Ok(())
        }
        Command::Keygen { issuer: None, .. } => keygen(&config),
        Command::Keygen {
            issuer: Some(issuer),
            not_after,
            activate,
        } => issuer_keygen(&config, &issuer, not_after, activate).await,
        Command::Log {
            command: LogCommand::Verify { from, vkey },
        } => verify_log(&config, from, vkey).await,
        Command::Token { command } => token(&config, command).await,
        Command::Issue(args) => issue(&config, args).await,
        Command::Verify { mark, server } => verify(&config, &mark, server.as_deref()).await,
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

/// Creates the root and log keys where missing; an existing key is kept, never replaced.
fn keygen(config: &Config) -> anyhow::Result<()> {
    for name in [keys::ROOT_KEY, keys::LOG_KEY] {
        let path = config.keys_dir.join(name);
        if path.exists() {
            keys::load(&path)?;
            println!("kept {} (already there)", path.display());
        } else {
            keys::create(&path)?;
            println!("created {} (mode 0600; back it up offline)", path.display());
        }
    }
    let root = Keyring::open(&config.keys_dir)?.root_public();
    println!(
        "brand root key: {} {}",
        KeyId::of(&root),
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, root.as_bytes())
    );
    let log_key = keys::load(&config.keys_dir.join(keys::LOG_KEY))?;
    let signer = LogSigner::new(&config.log_origin(), log_key).context("log_origin")?;
    println!("log origin: {}", signer.origin());
    println!("log verifier key: {}", signer.verifier_key());
    Ok(())
}

async fn issuer_keygen(
    config: &Config,
    issuer: &str,
    not_after: Option<u64>,
    activate: bool,
) -> anyhow::Result<()> {
    let issuer = IssuerId::parse(issuer).context("--issuer")?;
    let keyring = Keyring::open(&config.keys_dir)?;
    let log = open_log(config, Default::default()).await?;
    let validity = Validity::starting(clock::unix_now(), not_after).context("--not-after")?;
    let added = add_issuer_key(&log, &keyring, &issuer, validity, "cli").await?;
    println!(
        "created {} (mode 0600; back it up offline)",
        config
            .keys_dir
            .join(keys::issuer_key_file(&issuer, added.key_id))
            .display()
    );
    println!("issuer key: {}", serde_json::to_string(&added)?);
    if activate {
        change_issuer_key(
            &log,
            added.key_id,
            KeyChange::Activate,
            clock::unix_now(),
            "cli",
        )
        .await?;
        println!("activated {}", added.key_id);
    }
    log.shutdown().await;
    Ok(())
}

/// Prints the verdict from the local registry, then from the server if one is named.
async fn verify(config: &Config, mark: &str, server: Option<&str>) -> anyhow::Result<()> {
    let log = open_log(config, Default::default()).await?;
    let index = MarkIndex::default();
    index.catch_up(&log).await?;
    let hosts = config.label_hosts()?;
    let label = parse_label_url(mark, &hosts);
    let presented = match &label {
        Some(label) => label.presented(None),
        None => Presented {
            token: mark,
            url_path: None,
            foreign_host: false,
            claims: None,
        },
    };
    let today = time::OffsetDateTime::now_utc().date();
    let checked = check(&index, &Signatures::new(1), &presented, today);
    log.shutdown().await;
    println!("offline: {}", serde_json::to_string(&checked.answer)?);
    if let Some(server) = server {
        let url = format!("{}/api/v1/verify", server.trim_end_matches('/'));
        // A URL is sent whole, so the server sees a changed path too.
        let body = match label {
            None => serde_json::json!({ "token": mark }),
            Some(_) => serde_json::json!({ "url": mark }),
        };
        let response = reqwest::Client::new()
            .post(&url)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("asking {url}"))?;
        println!("online: {}", response.text().await?);
    }
    Ok(())
}

/// Issues a batch as its issuer and writes the printing house's files.
async fn issue(config: &Config, args: IssueArgs) -> anyhow::Result<()> {
    let issuer = IssuerId::parse(&args.issuer).context("--issuer")?;
    let keyring = Keyring::open(&config.keys_dir)?;
    let log = open_log(config, Default::default()).await?;
    let index = MarkIndex::default();
    let request = BatchRequest::new(
        &args.certificate,
        args.count,
        config.max_batch_marks,
        args.gtin,
        args.regions,
        args.lot.as_deref(),
        args.notes.as_deref(),
    )?;
    let today = time::OffsetDateTime::now_utc().date();
    let batch = issue_batch(
        &log,
        &index,
        &keyring,
        &issuer,
        request,
        (today, clock::unix_now()),
        "cli",
    )
    .await?;
    println!("batch: {}", serde_json::to_string(&batch)?);
    let spec = ExportSpec {
        key: batch_key(&log, &keyring, &batch).await?,
        first_serial: batch.first_serial,
        count: batch.count,
        certificate: batch.certificate_code.clone(),
        gtin: batch.gtin,
        public_url: config.public_url.clone(),
    };
    log.shutdown().await;
    let export = CsvExport::start(spec, config.export_threads())?;
    let outputs = Outputs {
        csv: args
            .out
            .unwrap_or_else(|| format!("marks-{}.csv", batch.batch_id).into()),
        qr_dir: args.qr_dir,
        sheet: args.sheet,
    };
    let total = batch.count;
    let (written, outputs) = tokio::task::spawn_blocking(move || {
        write_outputs(export, total, &outputs).map(|n| (n, outputs))
    })
    .await??;
    println!("wrote {written} marks to {}", outputs.csv.display());
    if let Some(peak) = peak_memory_kib() {
        println!("peak memory: {} MiB", peak / 1024);
    }
    Ok(())
}

/// The process's peak resident memory (`VmHWM`), where the kernel reports it.
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn token(config: &Config, command: TokenCommand) -> anyhow::Result<()> {
    let log = open_log(config, Default::default()).await?;
    match command {
        TokenCommand::Create {
            role,
            issuer,
            regions,
            note,
        } => {
            let grant = Grant::new(role, issuer, regions)?;
            let minted = access::create_token(&log, grant, note, "cli").await?;
            println!("token id: {}", minted.token_id);
            println!("bearer token (shown once, store it now): {}", minted.bearer);
        }
        TokenCommand::Revoke { token_id } => {
            access::revoke_token(&log, &token_id, "cli")
                .await
                .with_context(|| format!("no token {token_id} to revoke"))?;
            println!("revoked {token_id}");
        }
        TokenCommand::List => {
            marktrace::projections::catch_up(&log, &marktrace::projections::tokens::Tokens).await?;
            for token in log.store().tokens().await? {
                println!("{}", serde_json::to_string(&token)?);
            }
        }
    }
    log.shutdown().await;
    Ok(())
}

async fn verify_log(config: &Config, from: u64, vkey: Option<String>) -> anyhow::Result<()> {
    let verifier = match vkey {
        Some(vkey) => NoteVerifier::parse(&vkey).context("--vkey")?,
        None => {
            let key = keys::load(&config.keys_dir.join(keys::LOG_KEY))?;
            LogSigner::new(&config.log_origin(), key)?.verifier()
        }
    };
    let store = storage::open(&config.database_url).await?;
    let report = audit::verify(store.as_ref(), &verifier, from)
        .await
        .context("log verify failed")?;
    println!(
        "log verified: {} entries ({} recomputed from their data), {} signed checkpoints, root {}",
        report.size,
        report.recomputed,
        report.checkpoints,
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, report.root),
    );
    Ok(())
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
