//! The command line: one binary, subcommands for the service and its operators. This module
//! parses; [`run`] carries out the commands that work on a node's services (the wiring in
//! `main.rs` opens the node), and [`keygen`] and [`verify_log`] the two that need no node.
//! Each command calls the same application services as the API.

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use std::path::PathBuf;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::app::NoteVerifier;
use crate::app::services::Services;
use crate::app::setup;
use crate::app::transparency::Auditor;
use crate::config::Config;
use crate::domain::access::Role;
use crate::domain::gtin::Gtin;
use crate::domain::key::KeyId;
use crate::domain::region::RegionCode;

mod issue;
mod tokens;
mod verify;

/// Parses a command line, printing help or a usage error and exiting as clap does, then
/// resolves the configuration (file, validation).
pub fn parse_from<I, T>(args: I) -> anyhow::Result<Cli>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = Cli::command().get_matches_from(args);
    let mut cli = Cli::from_arg_matches(&matches)?;
    cli.config = cli.config.resolve(&matches)?;
    Ok(cli)
}

#[derive(Parser, Debug)]
#[command(
    name = "marktrace",
    version,
    about = "The system of record for certification marks"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP service (creates and migrates the database on first start).
    Serve,
    /// Create and migrate the database and sign the log's first checkpoint, then exit.
    Init,
    /// Create the brand root key (keys/root.pem) and the log's checkpoint key (keys/log.pem)
    /// where missing and print their public halves; with --issuer, create a new issuer key,
    /// endorsed by the root and recorded in the log.
    Keygen {
        /// The registered issuer to make a mark-signing key for.
        #[arg(long)]
        issuer: Option<String>,
        /// When the issuer key's validity ends, in Unix seconds (default: in three years).
        #[arg(long, requires = "issuer")]
        not_after: Option<u64>,
        /// Make the new issuer key active at once (the issuer's active key is retired).
        #[arg(long, requires = "issuer")]
        activate: bool,
    },
    /// Access tokens for the HTTP API.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The transparency log.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Read models built from the log.
    Projections {
        #[command(subcommand)]
        command: ProjectionsCommand,
    },
    /// Issue a batch of marks for an issuer and write them for the printing house.
    Issue(IssueArgs),
    /// Verify a mark's token or label URL against this deployment's registry (offline, from
    /// the database and key directory), and against a running service if --server is given.
    Verify {
        /// The token, or a label URL (`…/v/{token}` or `…/01/{gtin}/21/{serial}?t={token}`).
        mark: String,
        /// A service to ask as well, e.g. `http://127.0.0.1:8080`.
        #[arg(long)]
        server: Option<String>,
    },
}

#[derive(clap::Args, Debug)]
pub struct IssueArgs {
    /// The issuer the batch is issued by.
    #[arg(long)]
    pub issuer: String,
    /// The certificate (id) the marks certify; it must be issued and current.
    #[arg(long)]
    pub certificate: String,
    /// How many marks.
    #[arg(long)]
    pub count: u64,
    /// The product's GTIN (8, 12, 13 or 14 digits, check digit verified).
    #[arg(long, value_parser = |s: &str| Gtin::parse(s).map_err(|e| e.to_string()))]
    pub gtin: Option<Gtin>,
    /// A licensed region (GB/T 2260); repeat for several. Default: the enterprise's province.
    #[arg(long = "region")]
    pub regions: Vec<RegionCode>,
    /// The product lot.
    #[arg(long)]
    pub lot: Option<String>,
    #[arg(long)]
    pub notes: Option<String>,
    /// The CSV to write (`serial,token,url[,gs1_url]`); default `marks-<batch id>.csv`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write one QR PNG per mark, named `<serial>.png`, into this directory.
    #[arg(long)]
    pub qr_dir: Option<PathBuf>,
    /// Also write a printable HTML sheet of the labels.
    #[arg(long)]
    pub sheet: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Mint a bearer token and print it once; only its SHA-256 is stored.
    Create {
        #[arg(long, value_enum)]
        role: Role,
        /// The issuer an issuer token acts for.
        #[arg(long)]
        issuer: Option<String>,
        /// GB/T 2260 region codes a supervisor (one) or enforcement (one or more) token covers.
        #[arg(long = "region")]
        regions: Vec<RegionCode>,
        /// Who or what the token is for.
        #[arg(long)]
        note: Option<String>,
    },
    /// Revoke a token by its id, for good.
    Revoke { token_id: String },
    /// List every token's id, grant, note and state (never the tokens).
    List,
}

#[derive(Subcommand, Debug)]
pub enum LogCommand {
    /// Recompute every leaf, the tree, every checkpoint's signature and root, and the stored
    /// tile nodes; report the first entry index where anything disagrees and exit non-zero.
    Verify {
        /// Recompute leaves from this index on, taking earlier stored leaf hashes as they are.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// The verifier key to check checkpoints with (`name+keyid+base64`), e.g. as served at
        /// /api/v1/log/key; default: the public half of keys/log.pem.
        #[arg(long)]
        vkey: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProjectionsCommand {
    /// Empty every projection and rebuild it from the whole log.
    Rebuild,
}

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
        Command::Verify { mark, server } => {
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
    let made = setup::keygen(&config.keys_dir, &config.log_origin())?;
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
    Ok(())
}

/// `marktrace log verify`: recomputes the whole log and checks every checkpoint.
pub async fn verify_log(
    auditor: &Auditor,
    config: &Config,
    from: u64,
    vkey: Option<String>,
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
    Ok(())
}
