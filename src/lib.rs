//! marktrace: the system of record for certification marks.
//!
//! Map of the crate, one line per module:
//! - [`access`]: access tokens: minting, checking, roles and scopes.
//! - [`config`]: the one clap-derived configuration, with env and `marktrace.toml` fallbacks.
//! - [`cli`]: the command line: `serve`, `init`, `keygen`, `token`, `log verify`,
//!   `projections rebuild`.
//! - [`server`]: start-up and shutdown of the service: storage, log writer, projections, HTTP.
//! - [`domain`]: pure registry types: GB/T 2260 regions, USCC, GTIN-14, issuers, issuer keys
//!   and their endorsements, enterprises, certificates, cases and penalty decisions.
//! - [`detect`]: the detection rules and the flags they raise from committed scans.
//! - [`enforcement`]: case work across regions and credit records (双公示): in-memory read
//!   models, access by region, the credit feed with proofs and its CSV.
//! - [`error`]: the HTTP-edge error type and its problem+json response.
//! - [`http`]: the route table, middleware and thin handlers.
//! - [`keys`]: the keys directory: root, log and issuer keys as PKCS#8 PEM, mode 0600.
//! - [`mark`]: the token v1 codec, label QR codes, the batch CSV export and the serial index.
//! - [`log`]: the append-only event log: events, envelopes, group commit, following, the
//!   Merkle tree, signed checkpoints, proofs, tiles and the audit.
//! - [`storage`]: the only place SQL lives: one trait, SQLite and PostgreSQL behind it.
//! - [`registry`]: validated registry changes (issuers, keys, enterprises, certificates),
//!   appended with optimistic concurrency.
//! - [`projections`]: read models built from the log, with their checkpoints, and the
//!   in-memory folds (`projections::memory`).
//! - [`scans`]: consumer scans: the record, the salted client hash, the group-committing
//!   recorder off the response path.
//! - [`metrics`]: counters and gauges rendered as Prometheus text.
//! - [`clock`]: the one timestamp format the log uses.
//! - [`printing`]: the printing house's files from `marktrace issue`: CSV, QR PNGs, a sheet,
//!   and the export's progress.

pub mod access;
pub mod cli;
pub mod clock;
pub mod config;
pub mod detect;
pub mod domain;
pub mod enforcement;
pub mod error;
pub mod http;
pub mod keys;
pub mod log;
pub mod mark;
pub mod metrics;
pub mod printing;
pub mod projections;
pub mod registry;
pub mod scans;
pub mod server;
pub mod storage;
pub mod verify;

pub use server::serve;
