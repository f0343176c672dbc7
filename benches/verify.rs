//! Verification in process: `check()` (the whole verdict decision a scan gets, without HTTP)
//! against the raw Ed25519 verification it cannot avoid, in the same run.
//!
//! The deployment is real: a SQLite registry built through the library (issuer, endorsed active
//! key, enterprise, issued certificate) and one batch of 10,000,000 marks, the default
//! `max_batch_marks`, so the uncached case can never run out of serials never presented before
//! (a batch costs one event whatever its size). Its certificate `JXGE-2026-0001` and GTIN
//! make a 41-byte body and a 140-character token, the common label.
//!
//! - `raw_verify_strict`: `VerifyingKey::verify_strict` of a real token's signed message
//!   (context, 0x00, body): the limit every first scan of a mark pays.
//! - `uncached`: a genuine token never presented before on every call, so each call decodes,
//!   looks up key and batch, misses the signature cache, does exactly one `verify_strict` and
//!   inserts the outcome, as a first scan does. The tokens are signed outside the timed loop
//!   (`iter_custom`). The cache has the service's default capacity (1,000,000 entries).
//! - `cached`: the same 1,000 genuine tokens over and over, every outcome already cached:
//!   repeat scans of the marks in one shop, say. 1,000 is a working set far below the cache's
//!   capacity yet too many to stay in the CPU's nearest caches by accident.
//! - `junk`: 1,000 random base64url strings of a token's length (140 characters, so they
//!   decode to 105 bytes and are refused on their version byte, or rarely a field): what a
//!   scanner of random QR codes or a fuzzer sends.
//!
//! Last, the uncached/raw ratio is measured once more from interleaved blocks (see `PAIRED_*`),
//! since criterion times the cases minutes apart and other load on a shared machine drifts.
//!
//! The group `batch` needs no deployment: 64 genuine tokens of one key with the same 41-byte
//! body, their signatures checked one by one with `verify_strict` (`batch/verify_strict`) and
//! all at once with `mark::batch::verify_each` (`batch/verify_each`). Both report time per 64
//! signatures and throughput in signatures. 64 spreads the batch's fixed cost (the B and A
//! terms, drawing the weights) thin, and is a batch a verifier can gather without holding a
//! scan long.
//!
//! `cargo bench --bench verify` (`-- batch` for that group alone; the deployment is still built)

mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::Signature;
use marktrace::app::verification::check::{Checked, Presented, Signatures, check};
use marktrace::domain::gtin::Gtin;
use marktrace::domain::key::KeyId;
use marktrace::domain::verdict::Verdict;
use marktrace::mark::batch::{BatchKey, Item, verify_each};
use marktrace::mark::token::{self, MarkBody, Token};
use support::{Deployment, Rng};
use time::Date;

const MARKS: u64 = 10_000_000;
/// Signatures in the batch group's batch.
const BATCH: u64 = 64;
/// The working set of the cached case.
const REPEATED: u64 = 1_000;
/// The service's default `verify_cache_mib`.
const CACHE_BYTES: u64 = 64 << 20;
/// Interleaved blocks of the closing ratio: 40 × 1,000 of each is about 4 s at 50 µs a call.
const PAIRED_ROUNDS: u64 = 40;
const PAIRED_BLOCK: u64 = 1_000;
const CONTEXT: &[u8] = b"marktrace/mark/v1\0";
const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn present(token: &str) -> Presented<'_> {
    Presented {
        token,
        url_path: None,
        foreign_host: false,
        claims: None,
    }
}

fn verdict(checked: &Checked) -> Verdict {
    checked.answer.verdict
}

fn verify(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let gtin = Gtin::parse("4006381333931").unwrap();
    let deployment = Deployment::build(&rt, MARKS, Some(gtin));
    let index = &deployment.index;
    let today: Date = time::OffsetDateTime::now_utc().date();
    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));

    let sample = deployment.token(0);
    let bytes = URL_SAFE_NO_PAD.decode(&sample).unwrap();
    let (body, signature) = bytes.split_at(bytes.len() - 64);
    let message = [CONTEXT, body].concat();
    let signature = Signature::from_slice(signature).unwrap();
    let public = deployment.key.verifying_key();
    eprintln!(
        "token: {} characters, body {} bytes, signed message {} bytes",
        sample.len(),
        body.len(),
        message.len()
    );
    group.bench_function("raw_verify_strict", |b| {
        b.iter(|| public.verify_strict(black_box(&message), black_box(&signature)))
    });

    // Serials 1..REPEATED are the cached set; the uncached case starts above them.
    let signatures = Signatures::new(CACHE_BYTES);
    let mut next = REPEATED;
    let mut calls = 0u64;
    group.bench_function("uncached", |b| {
        b.iter_custom(|iters| {
            let fresh: Vec<String> = (0..iters).map(|i| deployment.token(next + i)).collect();
            next += iters;
            calls += iters;
            let start = Instant::now();
            for token in &fresh {
                let checked = check(
                    index,
                    &signatures,
                    &present(token),
                    &signatures.prepare(token),
                    today,
                    None,
                );
                assert_eq!(verdict(&checked), Verdict::Genuine);
                black_box(checked);
            }
            start.elapsed()
        })
    });
    eprintln!("uncached: {calls} distinct genuine tokens, each checked once");

    let repeated: Vec<String> = (0..REPEATED).map(|i| deployment.token(i)).collect();
    for token in &repeated {
        let checked = check(
            index,
            &signatures,
            &present(token),
            &signatures.prepare(token),
            today,
            None,
        );
        assert_eq!(verdict(&checked), Verdict::Genuine);
    }
    let mut i = 0;
    group.bench_function("cached", |b| {
        b.iter(|| {
            i = (i + 1) % repeated.len();
            check(
                index,
                &signatures,
                &present(&repeated[i]),
                &signatures.prepare(&repeated[i]),
                today,
                None,
            )
        })
    });

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let junk: Vec<String> = (0..REPEATED)
        .map(|_| {
            (0..sample.len())
                .map(|_| char::from(BASE64URL[rng.below(64) as usize]))
                .collect()
        })
        .collect();
    let forged = junk
        .iter()
        .filter(|t| {
            verdict(&check(
                index,
                &signatures,
                &present(t),
                &signatures.prepare(t),
                today,
                None,
            )) == Verdict::Forged
        })
        .count();
    assert_eq!(forged, junk.len(), "every junk token is forged");
    let mut i = 0;
    group.bench_function("junk", |b| {
        b.iter(|| {
            i = (i + 1) % junk.len();
            check(
                index,
                &signatures,
                &present(&junk[i]),
                &signatures.prepare(&junk[i]),
                today,
                None,
            )
        })
    });
    group.finish();

    // The ratio from interleaved blocks, so load from other processes on this shared machine
    // weighs on both sides alike: 40 rounds of 1,000 raw verifications then 1,000 first checks.
    let (mut raw, mut first) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..PAIRED_ROUNDS {
        let fresh: Vec<String> = (0..PAIRED_BLOCK)
            .map(|i| deployment.token(next + i))
            .collect();
        next += PAIRED_BLOCK;
        let start = Instant::now();
        for _ in 0..PAIRED_BLOCK {
            black_box(public.verify_strict(black_box(&message), black_box(&signature))).unwrap();
        }
        raw += start.elapsed();
        let start = Instant::now();
        for token in &fresh {
            let checked = check(
                index,
                &signatures,
                &present(token),
                &signatures.prepare(token),
                today,
                None,
            );
            assert_eq!(verdict(&checked), Verdict::Genuine);
        }
        first += start.elapsed();
    }
    let per_call = |d: Duration| d.as_secs_f64() * 1e6 / (PAIRED_ROUNDS * PAIRED_BLOCK) as f64;
    eprintln!(
        "interleaved, {} each: raw verify_strict {:.2} µs, uncached check {:.2} µs; \
         uncached rate / raw rate = {:.3}",
        PAIRED_ROUNDS * PAIRED_BLOCK,
        per_call(raw),
        per_call(first),
        raw.as_secs_f64() / first.as_secs_f64()
    );
    drop(deployment);
    rt.shutdown_timeout(Duration::from_secs(5));
}

fn batch(c: &mut Criterion) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let public = key.verifying_key();
    let gtin = Gtin::parse("4006381333931").unwrap();
    let tokens: Vec<Token> = (1..=BATCH)
        .map(|serial| {
            let body =
                MarkBody::new(KeyId::of(&public), serial, "JXGE-2026-0001", Some(gtin)).unwrap();
            Token::decode(&token::sign(&key, &body)).unwrap()
        })
        .collect();
    let messages: Vec<_> = tokens.iter().map(Token::signed_message).collect();
    let batch_key = BatchKey::new(public);
    let items: Vec<Item> = tokens
        .iter()
        .zip(&messages)
        .map(|(token, message)| Item {
            key: &batch_key,
            message: message.as_ref(),
            signature: token.signature(),
        })
        .collect();
    assert!(verify_each(&items).iter().all(|&genuine| genuine));

    let mut group = c.benchmark_group("batch");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("verify_strict", |b| {
        b.iter(|| {
            for item in &items {
                black_box(public.verify_strict(black_box(item.message), item.signature)).unwrap();
            }
        })
    });
    group.bench_function("verify_each", |b| b.iter(|| verify_each(black_box(&items))));
    group.finish();
}

criterion_group!(benches, verify, batch);
criterion_main!(benches);
