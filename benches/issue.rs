//! Issuing marks: the CSV export against the raw Ed25519 signing rate of the same machine, in the
//! same run.
//!
//! - `sign_one_core`: ed25519-dalek signing the exact message of a token (context, 0x00 and a
//!   41-byte body: certificate `JX-GE-2026-001` and a GTIN, a typical batch), the serial changed
//!   each time: the one-core limit. `token_one_core` adds what the codec does per mark
//!   (`MarkBody::new`, `write_token` with its base64).
//! - `sign_all_cores`: the same raw signing on `available_parallelism` threads, each signing its
//!   share of 200,000 marks: the limit the export is held to (target: export ≥ 0.85 of it).
//! - `export`: 200,000 marks through `CsvExport` on `available_parallelism` workers, drained
//!   with `blocking_next_chunk` as the CLI does.
//!
//! 200,000 marks is a real small batch and 1.3–2.5 s on two cores, long enough that thread
//! start-up and the last chunk's tail weigh under 1%; ten flat samples of one or two iterations
//! keep a group under half a minute, where criterion's default hundred would take several
//! minutes and say no more.
//! Finally one export of 1,000,000 marks (target < 15 s) is timed once, beside a raw all-core
//! signing of the same count, and the ratio printed.
//!
//! `cargo bench --bench issue`

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{Signer as _, SigningKey};
use marktrace::domain::gtin::Gtin;
use marktrace::domain::key::KeyId;
use marktrace::mark::export::{CsvExport, ExportSpec};
use marktrace::mark::token::{self, MarkBody};

const BATCH: u64 = 200_000;
const LARGE_BATCH: u64 = 1_000_000;
const FIRST_SERIAL: u64 = 1_000_000_001;
const CERTIFICATE: &str = "JX-GE-2026-001";
const CONTEXT: &[u8] = b"marktrace/mark/v1\0";
/// Offset of the serial in the signed message: context, version, key id.
const SERIAL_AT: usize = CONTEXT.len() + 1 + 8;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn key_id() -> KeyId {
    KeyId::of(&key().verifying_key())
}

fn gtin() -> Gtin {
    Gtin::parse("4006381333931").unwrap()
}

fn body(key_id: KeyId, serial: u64) -> MarkBody {
    MarkBody::new(key_id, serial, CERTIFICATE, Some(gtin())).unwrap()
}

/// The exact message a token's signature covers, taken from a real token so the bench signs
/// what the codec signs.
fn message() -> Vec<u8> {
    let token = URL_SAFE_NO_PAD
        .decode(token::sign(&key(), &body(key_id(), FIRST_SERIAL)))
        .unwrap();
    [CONTEXT, &token[..token.len() - 64]].concat()
}

fn threads() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap()
}

/// Raw signing of `count` messages on every core, thread `t` signing serials `t`, `t + threads`, ….
fn sign_all_cores(count: u64) {
    let threads = threads().get() as u64;
    let key = key();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let key = &key;
            scope.spawn(move || {
                let mut message = message();
                let share = count / threads + u64::from(t < count % threads);
                for i in 0..share {
                    message[SERIAL_AT..SERIAL_AT + 8]
                        .copy_from_slice(&(FIRST_SERIAL + i * threads + t).to_be_bytes());
                    black_box(key.sign(&message));
                }
            });
        }
    });
}

/// Exports `count` marks and returns the CSV's size, so nothing is optimised away.
fn export(count: u64) -> usize {
    let spec = ExportSpec {
        key: key(),
        first_serial: FIRST_SERIAL,
        count,
        certificate: CERTIFICATE.to_owned(),
        gtin: Some(gtin()),
        public_url: "https://marks.example.org".to_owned(),
    };
    let mut export = CsvExport::start(spec, threads()).unwrap();
    let mut bytes = export.header().len();
    while let Some(chunk) = export.blocking_next_chunk() {
        bytes += black_box(chunk.csv).len();
    }
    bytes
}

fn one_core(c: &mut Criterion) {
    let mut group = c.benchmark_group("issue_one_core");
    group.throughput(Throughput::Elements(1));
    let key = key();
    let mut message = message();
    let mut serial = FIRST_SERIAL;
    group.bench_function("sign_one_core", |b| {
        b.iter(|| {
            serial += 1;
            message[SERIAL_AT..SERIAL_AT + 8].copy_from_slice(&serial.to_be_bytes());
            key.sign(&message)
        })
    });
    let key_id = key_id();
    let mut text = String::new();
    group.bench_function("token_one_core", |b| {
        b.iter(|| {
            serial += 1;
            text.clear();
            token::write_token(&key, &body(key_id, serial), &mut text);
            text.len()
        })
    });
    group.finish();
}

fn all_cores(c: &mut Criterion) {
    let mut group = c.benchmark_group("issue_all_cores");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(25))
        .throughput(Throughput::Elements(BATCH));
    group.bench_function("sign_all_cores", |b| b.iter(|| sign_all_cores(BATCH)));
    group.bench_function("export", |b| b.iter(|| export(BATCH)));
    group.finish();
}

fn large_batch(_: &mut Criterion) {
    let start = Instant::now();
    sign_all_cores(LARGE_BATCH);
    let raw = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let bytes = export(LARGE_BATCH);
    let exported = start.elapsed().as_secs_f64();
    let per_second = |seconds: f64| LARGE_BATCH as f64 / seconds;
    eprintln!(
        "1,000,000 marks on {} threads: raw signing {raw:.2} s ({:.0}/s); export {exported:.2} s \
         ({:.0}/s, {:.0} MB of CSV); export / raw = {:.3}",
        threads(),
        per_second(raw),
        per_second(exported),
        bytes as f64 / 1e6,
        raw / exported,
    );
}

criterion_group!(benches, one_core, all_cores, large_batch);
criterion_main!(benches);
