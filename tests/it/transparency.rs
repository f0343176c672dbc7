//! The transparency log over HTTP, on both backends, checked by an implementation written
//! here from RFC 9162 and the C2SP specs, independent of the one under test: proofs for random
//! sizes and indexes, checkpoints and their signatures, tiles, entry bundles and tlog-proof
//! bundles; errors for impossible requests; checkpoints that stay consistent under concurrent
//! appenders.

use crate::common;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::tokens::mint_for;
use common::{DEADLINE, ORIGIN, Rng, TestApp, TestDb, problem};
use marktrace::domain::access::Role;
use marktrace::log::{Expected, Log, NewEvent};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

/// RFC 9162 §2.1, written plainly from the definitions: MTH, PATH and PROOF over leaf hashes.
mod independent {
    use super::*;

    pub type Hash = [u8; 32];

    pub fn leaf(entry: &[u8]) -> Hash {
        Sha256::new()
            .chain_update([0])
            .chain_update(entry)
            .finalize()
            .into()
    }

    fn node(l: &Hash, r: &Hash) -> Hash {
        Sha256::new()
            .chain_update([1])
            .chain_update(l)
            .chain_update(r)
            .finalize()
            .into()
    }

    /// The largest power of two smaller than n (n > 1).
    fn split(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    pub fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => Sha256::digest([]).into(),
            1 => d[0],
            n => {
                let k = split(n);
                node(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    /// PATH(m, D[n]).
    pub fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
        if d.len() <= 1 {
            return vec![];
        }
        let k = split(d.len());
        if m < k {
            let mut p = path(m, &d[..k]);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = path(m - k, &d[k..]);
            p.push(mth(&d[..k]));
            p
        }
    }

    /// PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
    pub fn proof(m: usize, d: &[Hash]) -> Vec<Hash> {
        subproof(m, d, true)
    }

    fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![mth(d)] };
        }
        let k = split(n);
        if m <= k {
            let mut p = subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }

    /// Opens a C2SP signed note with a vkey `name+keyid+base64(0x01||pub)`: returns the
    /// signed text (origin, size, root lines) after checking the Ed25519 signature.
    pub fn open_note(note: &str, vkey: &str) -> (String, u64, Hash) {
        let mut parts = vkey.trim().splitn(3, '+');
        let (name, id_hex, key) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let key = STANDARD.decode(key).unwrap();
        assert_eq!(key[0], 1, "Ed25519 key type");
        let public =
            ed25519_dalek::VerifyingKey::from_bytes(&key[1..].try_into().unwrap()).unwrap();
        let key_id: [u8; 4] = Sha256::new()
            .chain_update(name.as_bytes())
            .chain_update([b'\n', 1])
            .chain_update(&key[1..])
            .finalize()[..4]
            .try_into()
            .unwrap();
        assert_eq!(hex(&key_id), id_hex);
        let split_at = note.find("\n\n").unwrap() + 1;
        let (text, signatures) = note.split_at(split_at);
        let line = signatures[1..]
            .lines()
            .find(|l| l.starts_with(&format!("— {name} ")))
            .unwrap();
        let sig = STANDARD.decode(line.rsplit(' ').next().unwrap()).unwrap();
        assert_eq!(sig[..4], key_id);
        let signature = ed25519_dalek::Signature::from_slice(&sig[4..]).unwrap();
        public
            .verify_strict(text.as_bytes(), &signature)
            .expect("checkpoint signature");
        let mut lines = text.lines();
        let origin = lines.next().unwrap().to_owned();
        let size = lines.next().unwrap().parse().unwrap();
        let root = STANDARD
            .decode(lines.next().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        (origin, size, root)
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

use independent::Hash;

/// Appends `n` events in commits of varying sizes; every fifth event is confidential.
async fn fill(log: &Log, n: u64, rng: &mut Rng) {
    let mut done = 0;
    while done < n {
        let batch = (1 + rng.below(40)).min(n - done);
        let events = (done..done + batch)
            .map(|i| {
                let e = NewEvent::new("Filled", &serde_json::json!({ "i": i })).unwrap();
                if i % 5 == 0 {
                    e.confidential().unwrap()
                } else {
                    e
                }
            })
            .collect();
        log.append_to(&format!("fill-{}", done % 7), Expected::Any, events)
            .await
            .unwrap();
        done += batch;
    }
}

fn hashes(json: &serde_json::Value) -> Vec<Hash> {
    json["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            STANDARD
                .decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect()
}

/// Rate limiting off: these tests are one client reading the whole log, as an auditor would
/// (the limit itself is tested in tests/http.rs).
const NO_LIMIT: &[&str] = &["--public-rate", "0"];

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

async fn json(app: &TestApp, path: &str) -> serde_json::Value {
    let response = get(app, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

/// The leaf hashes of entries 0..n, recomputed here from the served envelopes.
async fn leaves(app: &TestApp, n: u64) -> Vec<Hash> {
    let mut leaves = Vec::new();
    for i in 0..n {
        let entry = json(app, &format!("/api/v1/log/entries/{i}")).await;
        let envelope = serde_json::to_string(&entry["envelope"]).unwrap();
        let leaf = independent::leaf(envelope.as_bytes());
        assert_eq!(STANDARD.encode(leaf), entry["leaf_hash"], "entry {i}");
        leaves.push(leaf);
    }
    leaves
}

async fn proofs_verify_independently_for_random_sizes_and_indexes(db: TestDb) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let n = 520 + rng.below(200); // beyond two full tiles, so tile nodes are used
    let log = db.log().await;
    fill(&log, n, &mut rng).await;
    log.shutdown().await;
    let app = TestApp::spawn_with(&db, NO_LIMIT).await;
    let d = leaves(&app, n).await;

    let vkey = get(&app, "/api/v1/log/key").await.text().await.unwrap();
    let note = get(&app, "/api/v1/log/checkpoint")
        .await
        .text()
        .await
        .unwrap();
    let (origin, size, root) = independent::open_note(&note, &vkey);
    assert_eq!((origin.as_str(), size), (ORIGIN, n));
    assert_eq!(root, independent::mth(&d));

    for _ in 0..40 {
        let size = 1 + rng.below(n);
        let index = rng.below(size);
        let proof = json(
            &app,
            &format!("/api/v1/log/proof/inclusion?index={index}&size={size}"),
        )
        .await;
        assert_eq!(
            (proof["index"].as_u64(), proof["size"].as_u64()),
            (Some(index), Some(size))
        );
        let expected = independent::path(index as usize, &d[..size as usize]);
        assert_eq!(hashes(&proof), expected, "inclusion of {index} in {size}");

        let from = 1 + rng.below(size);
        let proof = json(
            &app,
            &format!("/api/v1/log/proof/consistency?from={from}&to={size}"),
        )
        .await;
        let expected = independent::proof(from as usize, &d[..size as usize]);
        assert_eq!(hashes(&proof), expected, "consistency {from}..{size}");
    }
    // Without a size, the proof is against the latest checkpoint.
    let latest = json(&app, "/api/v1/log/proof/inclusion?index=3").await;
    assert_eq!(latest["size"].as_u64(), Some(n));
    assert_eq!(hashes(&latest), independent::path(3, &d));

    // The tlog-proof bundle: header, index, path, blank line, the checkpoint verbatim.
    let index = rng.below(n);
    let bundle = get(&app, &format!("/api/v1/log/proof/bundle?index={index}"))
        .await
        .text()
        .await
        .unwrap();
    let (head, checkpoint) = bundle.split_once("\n\n").unwrap();
    let mut lines = head.lines();
    assert_eq!(lines.next(), Some("c2sp.org/tlog-proof@v1"));
    assert_eq!(lines.next(), Some(format!("index {index}").as_str()));
    let path: Vec<Hash> = lines
        .map(|l| STANDARD.decode(l).unwrap().try_into().unwrap())
        .collect();
    assert_eq!(path, independent::path(index as usize, &d));
    assert_eq!(checkpoint, note);
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn tiles_and_entry_bundles_follow_tlog_tiles(db: TestDb) {
    let mut rng = Rng(42);
    let n = 300;
    let log = db.log().await;
    fill(&log, n, &mut rng).await;
    log.shutdown().await;
    let app = TestApp::spawn_with(&db, NO_LIMIT).await;
    let d = leaves(&app, n).await;

    let full = get(&app, "/api/v1/log/tiles/tile/0/000").await;
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(full.headers()["content-type"], "application/octet-stream");
    assert!(
        full.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(full.bytes().await.unwrap(), d[..256].concat());

    let partial = get(&app, "/api/v1/log/tiles/tile/0/001.p/44").await;
    assert_eq!(partial.bytes().await.unwrap(), d[256..300].concat());
    // Level 1 holds the hash of each full level-0 tile; a tree of 300 has one.
    let level1 = get(&app, "/api/v1/log/tiles/tile/1/000.p/1").await;
    assert_eq!(
        level1.bytes().await.unwrap(),
        independent::mth(&d[..256]).to_vec()
    );

    let bundle = get(&app, "/api/v1/log/tiles/tile/entries/001.p/44")
        .await
        .bytes()
        .await
        .unwrap();
    let mut rest = &bundle[..];
    for (i, leaf) in d[256..300].iter().enumerate() {
        let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
        assert_eq!(
            &independent::leaf(&rest[2..2 + len]),
            leaf,
            "bundle entry {i}"
        );
        rest = &rest[2 + len..];
    }
    assert!(rest.is_empty());

    for missing in [
        "0/001",
        "0/001.p/45",
        "1/000",
        "entries/002.p/1",
        "0/1",
        "0/x000/001",
        "9/000",
    ] {
        let response = get(&app, &format!("/api/v1/log/tiles/tile/{missing}")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
    }
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn entries_show_data_only_for_public_events(db: TestDb) {
    let log = db.log().await;
    let public = NewEvent::new("Registered", &serde_json::json!({"name": "江西"})).unwrap();
    let secret = NewEvent::new("Reported", &serde_json::json!({"contact": "138"}))
        .unwrap()
        .confidential()
        .unwrap();
    log.append_to("e-1", Expected::Any, vec![public, secret])
        .await
        .unwrap();
    log.shutdown().await;
    let app = TestApp::spawn_with(&db, NO_LIMIT).await;
    let entry = json(&app, "/api/v1/log/entries/0").await;
    assert_eq!(entry["data"], serde_json::json!({"name": "江西"}));
    assert_eq!(entry["envelope"]["type"], "Registered");
    let entry = json(&app, "/api/v1/log/entries/1").await;
    assert!(
        entry.get("data").is_none(),
        "confidential data is not served: {entry}"
    );
    assert_eq!(entry["envelope"]["visibility"], "confidential");
    assert_eq!(entry["envelope"]["data_sha256"].as_str().unwrap().len(), 64);
    let none = get(&app, "/api/v1/log/entries/2").await;
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn impossible_proof_requests_are_400_problems(db: TestDb) {
    let log = db.log().await;
    fill(&log, 10, &mut Rng(7)).await;
    log.shutdown().await;
    let app = TestApp::spawn_with(&db, NO_LIMIT).await;
    for (path, needle) in [
        ("/api/v1/log/proof/inclusion?index=3&size=11", "beyond"),
        ("/api/v1/log/proof/inclusion?index=10&size=10", "index 10"),
        ("/api/v1/log/proof/inclusion?size=10", "index"),
        ("/api/v1/log/proof/inclusion?index=x", "index"),
        ("/api/v1/log/proof/consistency?from=0&to=5", "empty tree"),
        ("/api/v1/log/proof/consistency?from=6&to=5", "larger"),
        ("/api/v1/log/proof/bundle?index=10", "index 10"),
    ] {
        let response = get(&app, path).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        let body = problem(response, StatusCode::BAD_REQUEST, "invalid-request").await;
        assert!(
            body["detail"].as_str().unwrap().contains(needle),
            "{path}: {body}"
        );
    }
    let same = json(&app, "/api/v1/log/proof/consistency?from=7&to=7").await;
    assert_eq!(same["hashes"], serde_json::json!([]));
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn checkpoints_stay_consistent_under_concurrent_appenders(db: TestDb) {
    let log = db.log().await;
    let appenders: Vec<_> = (0..8)
        .map(|a| {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0..60 {
                    let e = NewEvent::new("Concurrent", &(a * 1000 + i)).unwrap();
                    log.append_to(&format!("c-{a}"), Expected::Any, vec![e])
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    // Meanwhile, every checkpoint observed must be consistent with the one before it. The
    // observer reads as often as it can, to see as many checkpoints as possible.
    let started = tokio::time::Instant::now();
    let mut observed = Vec::new();
    while observed
        .last()
        .map(|c: &marktrace::log::records::StoredCheckpoint| c.size)
        != Some(480)
    {
        assert!(
            started.elapsed() < DEADLINE,
            "no checkpoint of all 480 events after {DEADLINE:?}"
        );
        let checkpoint = log.latest_checkpoint().await.unwrap();
        if let Some(previous) = observed.last().filter(|p| p.size > 0) {
            let proof = log
                .consistency_proof(previous.size, checkpoint.size)
                .await
                .unwrap();
            marktrace::log::merkle::verify_consistency(
                previous.size,
                checkpoint.size,
                &proof,
                &previous.root,
                &checkpoint.root,
            )
            .expect("consecutive checkpoints are consistent");
        }
        observed.push(checkpoint);
        tokio::task::yield_now().await;
    }
    for a in appenders {
        a.await.unwrap();
    }
    // And every stored checkpoint's root is the independent root of its prefix.
    let events = log.read(0, 1000).await.unwrap();
    let d: Vec<Hash> = events
        .iter()
        .map(|e| independent::leaf(e.envelope().as_bytes()))
        .collect();
    let stored = db.store().await.read_checkpoints(0, 10_000).await.unwrap();
    assert!(stored.len() > 1);
    for checkpoint in &stored {
        assert_eq!(
            checkpoint.root,
            independent::mth(&d[..checkpoint.size as usize]),
            "size {}",
            checkpoint.size
        );
    }
    db.cleanup().await;
}

/// The brand authority audits the whole log over the API, as `marktrace log verify` does: the
/// answer covers every entry and its recomputed root is the latest checkpoint's; no other role
/// may start an audit.
async fn the_brand_authority_audits_the_whole_log(db: TestDb) {
    let admin = mint_for(&db, Role::Admin, None, &[]).await;
    let credit = mint_for(&db, Role::Credit, None, &[]).await;
    let log = db.log().await;
    fill(&log, 40, &mut Rng(7)).await;
    log.shutdown().await;
    let app = TestApp::spawn_with(&db, NO_LIMIT).await;
    let (status, audit) = app
        .post("/api/v1/log/verify", Some(&admin), serde_json::json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert_eq!(audit["verified"], true, "{audit}");
    let size = app.log_size().await;
    assert_eq!(audit["size"], size);
    let checkpoint = get(&app, "/api/v1/log/checkpoint")
        .await
        .text()
        .await
        .unwrap();
    let root = checkpoint.lines().nth(2).unwrap();
    assert_eq!(audit["root"], root, "{checkpoint}");
    let (status, _) = app
        .post("/api/v1/log/verify", Some(&credit), serde_json::json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.stop().await.unwrap();
    db.cleanup().await;
}

on_both_backends!(
    the_brand_authority_audits_the_whole_log,
    proofs_verify_independently_for_random_sizes_and_indexes,
    tiles_and_entry_bundles_follow_tlog_tiles,
    entries_show_data_only_for_public_events,
    impossible_proof_requests_are_400_problems,
    checkpoints_stay_consistent_under_concurrent_appenders,
);
