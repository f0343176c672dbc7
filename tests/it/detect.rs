//! Detection end to end, on both backends: scans through the label URL raise flags in the
//! log shortly after they are committed, into the queues of the regions involved, shown by
//! later verifications; their innocent twins raise nothing; the flag queue is region-scoped.

use crate::common;
use common::flags::{kinds, queue};
use common::tokens::mint_for;
use common::world::{batch, token, world};
use common::{TestApp, TestDb};
use marktrace::clock;
use marktrace::domain::access::Role;
use marktrace::domain::region::RegionCode;
use marktrace::domain::verdict::Verdict;
use marktrace::metrics::Metrics;
use marktrace::scans::Scan;
use marktrace::server::Node;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use time::OffsetDateTime;

/// A supervisor token for one region.
async fn supervisor(db: &TestDb, region: &str) -> String {
    mint_for(db, Role::Supervisor, None, &[region]).await
}

async fn a_cloned_and_diverted_mark_lands_in_both_queues(db: TestDb) {
    let w = world(&db).await;
    let nanchang = supervisor(&db, "360100").await;
    let ganzhou = supervisor(&db, "360700").await;
    let shangrao = supervisor(&db, "361100").await;
    let app = TestApp::spawn_with(&db, &["--public-rate", "0"]).await;
    let body = json!({"certificate_id": w.certificate, "count": 10, "regions": ["360100"]});
    let batch = batch(&app, &w.issuer, body).await;
    let token = token(&app, &w.issuer, 3).await;

    // The same label scanned in 南昌 and, minutes later, in 赣州 (about 330 km away).
    for region in ["360102", "360702"] {
        let (code, _) = app.get(&format!("/v/{token}?region={region}"), None).await;
        assert_eq!(code, StatusCode::OK);
    }
    let flags = queue(&app, &nanchang, 2).await;
    assert_eq!(kinds(&flags), vec!["cloned", "diverted"]);
    let cloned = flags.iter().find(|f| f["flag"] == "cloned").unwrap();
    assert_eq!(cloned["rule"], "impossible_travel");
    assert_eq!(cloned["serial"], 3);
    assert_eq!(cloned["batch_id"], batch["batch_id"]);
    assert_eq!(
        cloned["evidence"]["observed_in"],
        json!(["360102", "360702"])
    );
    assert_eq!(cloned["evidence"]["scan_ids"].as_array().unwrap().len(), 2);
    let text = cloned.to_string();
    let hashes = text
        .split('"')
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(hashes.count(), 0, "no client hash in a public flag: {text}");
    let diverted = flags.iter().find(|f| f["flag"] == "diverted").unwrap();
    assert_eq!(diverted["evidence"]["observed_in"], json!(["360702"]));

    let flags = queue(&app, &ganzhou, 2).await;
    assert_eq!(kinds(&flags), vec!["cloned", "diverted"], "both queues");
    // Both flags are committed (南昌's queue holds them): another region's queue is empty now.
    let (code, flags) = app.get("/api/v1/flags", Some(&shangrao)).await;
    assert_eq!(
        (code, flags),
        (StatusCode::OK, json!([])),
        "another region sees nothing"
    );
    let (code, _) = app.get("/api/v1/flags", Some(&w.issuer)).await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (code, _) = app.get("/api/v1/flags", None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, filtered) = app
        .get("/api/v1/flags?flag=diverted", Some(&nanchang))
        .await;
    assert_eq!(
        (code, kinds(filtered.as_array().unwrap())),
        (StatusCode::OK, vec!["diverted".to_owned()])
    );

    // The verdict stays genuine; the flags ride beside it. More scans raise nothing twice.
    for _ in 0..3 {
        let scan = json!({"token": token, "region": "360702"});
        let (_, answer) = app.post("/api/v1/verify", None, scan).await;
        assert_eq!(answer["verdict"], "genuine");
        assert_eq!(answer["flags"], json!(["cloned", "diverted"]));
    }
    // A sentinel: once serial 4's flag is in the queue, the scans above went through detection.
    let sentinel = common::world::token(&app, &w.issuer, 4).await;
    app.get(&format!("/v/{sentinel}?region=360702"), None).await;
    let flags = queue(&app, &nanchang, 3).await;
    let of_3 = flags.iter().filter(|f| f["serial"] == 3).count();
    assert_eq!((flags.len(), of_3), (3, 2), "once per (serial, flag)");
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn innocent_twins_raise_nothing(db: TestDb) {
    let w = world(&db).await;
    let jiangxi = supervisor(&db, "360000").await;
    let guangdong = supervisor(&db, "440000").await;
    let app = TestApp::spawn_with(&db, &["--public-rate", "0"]).await;
    let body =
        json!({"certificate_id": w.certificate, "count": 10, "regions": ["360000", "310000"]});
    batch(&app, &w.issuer, body).await;
    let scan = |serial: u64, region: &'static str| {
        let (app, issuer) = (&app, &w.issuer);
        async move {
            let token = token(app, issuer, serial).await;
            let (code, _) = app.get(&format!("/v/{token}?region={region}"), None).await;
            assert_eq!(code, StatusCode::OK);
        }
    };
    // One shopper scanning ten times in one place; a scan inside the licence; a partner
    // brand's mark scanned in Shanghai, where the licence allows it.
    for _ in 0..10 {
        scan(1, "360102").await;
    }
    scan(2, "310000").await;
    // Then a scan that does raise a flag (outside the licence): once it is in the queue,
    // everything scanned before it has been through detection.
    scan(3, "440000").await;
    let flags = queue(&app, &guangdong, 1).await;
    assert_eq!(kinds(&flags), vec!["diverted"]);
    assert_eq!(flags[0]["serial"], 3);
    let flags = queue(&app, &jiangxi, 1).await;
    assert_eq!(flags.len(), 1, "nothing for the innocent scans: {flags:?}");
    app.stop().await.unwrap();
    db.cleanup().await;
}

/// Detection reads a serial's history when it first sees it, not at every batch: a serial
/// scanned 100,000 times costs no more reads per scan than one scanned twice, and a warm
/// watch still raises a flag the moment a scan crosses a threshold.
async fn a_busy_serial_costs_what_a_quiet_one_does(db: TestDb) {
    let w = world(&db).await;
    let app = TestApp::spawn(&db).await;
    let body = json!({"certificate_id": w.certificate, "count": 10, "regions": ["360100"]});
    batch(&app, &w.issuer, body).await;
    app.stop().await.unwrap();
    let metrics = Arc::new(Metrics::default());
    let node = Node::open(&db.config(), metrics.clone()).await.unwrap();
    let store = db.store().await;
    let scan = |serial: u64, n: u64, region: &str| Scan {
        serial,
        scanned_at: clock::format_micros(OffsetDateTime::now_utc()),
        region: Some(RegionCode::parse(region).unwrap()),
        verdict: Verdict::Genuine,
        // Seven shoppers take turns: never twenty distinct clients.
        client: format!("{:064x}", n % 7),
    };
    // Reads per scan, for `total` scans of `serial` committed 100 to a batch (under load a
    // batch holds a few scans of each of many serials; reading a busy serial's history at
    // every batch would cost 1,000 rows per 100 scans).
    let reads_per_scan = |serial: u64, total: u64| {
        let (store, node, metrics) = (store.clone(), &node, metrics.clone());
        async move {
            let before = metrics.detection_reads_total();
            let scans: Vec<Scan> = (0..total).map(|n| scan(serial, n, "360102")).collect();
            for batch in scans.chunks(100) {
                store.insert_scans(batch).await.unwrap();
                node.detector().detect(batch).await.unwrap();
            }
            (metrics.detection_reads_total() - before) as f64 / total as f64
        }
    };
    let busy = reads_per_scan(1, 100_000).await;
    let quiet = reads_per_scan(2, 2).await;
    assert!(
        busy <= quiet,
        "reads per scan: {busy} for a busy serial, {quiet} for a quiet one"
    );

    // The busy serial's watch is warm: one scan outside the licence raises `diverted` now.
    let before = metrics.detection_reads_total();
    let stray = [scan(1, 0, "440000")];
    store.insert_scans(&stray).await.unwrap();
    node.detector().detect(&stray).await.unwrap();
    let read = metrics.detection_reads_total() - before;
    assert_eq!(
        read, 1000,
        "the suspect serial's history, up to its bound, once"
    );
    // In the licensed region's queue: the one flag, so nothing before it was suspect.
    let app = TestApp::spawn(&db).await;
    let nanchang = supervisor(&db, "360100").await;
    let flags = queue(&app, &nanchang, 1).await;
    assert_eq!(kinds(&flags), vec!["diverted"]);
    assert_eq!(flags[0]["serial"], 1);
    app.stop().await.unwrap();
    node.close().await;
    db.cleanup().await;
}

on_both_backends!(
    a_cloned_and_diverted_mark_lands_in_both_queues,
    innocent_twins_raise_nothing,
    a_busy_serial_costs_what_a_quiet_one_does
);
