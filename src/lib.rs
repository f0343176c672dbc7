//! marktrace: the system of record for certification marks.
//!
//! The crate is layered, and `tests/architecture.rs` holds it so: every module imports only
//! its own layer and those below, and no two files import each other, however indirectly.
//!
//! | layer | modules | what they own |
//! |---|---|---|
//! | wiring | [`server`], `main.rs` | opening storage, building the services, serving |
//! | edges | [`http`], [`cli`], [`config`] | the route table and thin handlers; the commands; settings |
//! | application | [`app`] | one service per capability: access, registry, marks, verification, detection, cases, credit, transparency, idempotency, status |
//! | model | [`log`], [`projections`], [`scans`], [`sessions`], [`idempotency`], [`witnessing`], [`keys`] | the event log with its Merkle tree; read models; the scan record; console sessions; idempotency keys; witnessed logs and cosignatures; key files. Each declares the storage port it needs |
//! | domain | [`domain`], [`mark`] | pure types and rules: identifiers, registry events, verdicts, detection rules; the token codec, label URLs, QR codes, the export |
//! | utilities | [`clock`], [`hex`], [`metrics`], [`threads`] | the log's timestamp, hex, counters, background priority |
//! | storage | [`storage`] | the only SQL: the model's ports for SQLite and PostgreSQL, reached only by the wiring |

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod hex;
pub mod http;
pub mod idempotency;
pub mod keys;
pub mod log;
pub mod mark;
pub mod metrics;
pub mod projections;
pub mod scans;
pub mod server;
pub mod sessions;
pub mod storage;
pub mod threads;
pub mod witnessing;

pub use server::serve;
