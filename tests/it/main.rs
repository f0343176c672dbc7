//! The integration tests: one binary, one module per area, so the test suite links once
//! instead of once per area (each link of the whole crate and its dependencies takes tens of
//! seconds on the two-core development machine).
//!
//! `cargo test` runs them all; a filter picks by path: `cargo test --test it props` runs the
//! property tests, `cargo test --test it verify::sqlite` the verification tests on SQLite.
//! Storage tests run as `AREA::sqlite::NAME` and `AREA::postgres::NAME` (see
//! `on_both_backends!`); shared set-up is in [`common`].

#[macro_use]
mod common;

mod access;
mod architecture;
mod batches;
mod brands;
mod cases;
mod cli;
mod console;
mod crash;
mod credit;
mod detect;
mod epcis;
mod http;
mod idempotency;
mod keys;
mod log;
mod merkle_vectors;
mod note_vectors;
mod offline;
mod openapi;
mod outage;
mod partitions;
mod props;
mod registry;
mod scans;
mod story;
mod transparency;
mod verify;
