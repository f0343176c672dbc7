//! The command line's grammar: one clap-derived tree of subcommands over the one
//! configuration, and [`parse_from`], which resolves that configuration too.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::Config;
use crate::domain::access::Role;
use crate::domain::gtin::Gtin;
use crate::domain::region::RegionCode;

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
    /// EPCIS 2.0 documents for traceability partners.
    Epcis {
        #[command(subcommand)]
        command: EpcisCommand,
    },
    /// Verify a mark's token or label URL against this deployment's registry (offline, from
    /// the database and key directory), and against a running service if --server is given.
    Verify {
        /// The token, or a label URL (`…/v/{token}` or `…/01/{gtin}/21/{serial}?t={token}`).
        mark: String,
        /// A service to ask as well, e.g. `http://127.0.0.1:8080`.
        #[arg(long, conflicts_with = "offline")]
        server: Option<String>,
        /// Decide from this status snapshot alone (`GET /api/v1/status/snapshot`), without
        /// the database or a service; repeat `--delta` files to bring it up to date.
        #[arg(long)]
        offline: Option<PathBuf>,
        /// Deltas (`?since=SIZE`) to apply to the `--offline` snapshot, in order.
        #[arg(long, requires = "offline")]
        delta: Vec<PathBuf>,
        /// The log's verifier key the snapshot must be signed with (as served at
        /// /api/v1/log/key); default: the public half of keys/log.pem.
        #[arg(long, requires = "offline")]
        vkey: Option<String>,
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
        /// Also require the newest cosigned checkpoint to carry this many valid cosignatures
        /// by distinct witnesses among those given with `--witness VKEY`.
        #[arg(long, default_value_t = 0)]
        quorum: usize,
    },
}

#[derive(Subcommand, Debug)]
pub enum EpcisCommand {
    /// Write one EPCIS 2.0 document, as `GET /api/v1/epcis/events` (or, with --scans-day,
    /// `GET /api/v1/epcis/scans` for every region) answers it.
    Export {
        /// The last log index seen (with --scans-day: the last serial seen).
        #[arg(long)]
        after: Option<u64>,
        /// Events (with --scans-day: serials) at most, 1 to 1000.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        /// The scans of this whole past UTC day (`YYYY-MM-DD`) instead of registry events.
        #[arg(long)]
        scans_day: Option<String>,
        /// Where to write the document; default: standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProjectionsCommand {
    /// Empty every projection and rebuild it from the whole log.
    Rebuild,
}
