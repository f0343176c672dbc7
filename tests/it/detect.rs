//! Detection end to end, on both backends: scans through the label URL raise flags in the
//! log shortly after they are committed, into the queues of the regions involved, shown by
//! later verifications; their innocent twins raise nothing; the flag queue is region-scoped.

use crate::common;

use std::time::{Duration, Instant};

use common::world::world;
use common::{TestApp, TestDb};
use marktrace::access::{Grant, Role, create_token};
use marktrace::domain::region::RegionCode;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A supervisor token for one region.
async fn supervisor(db: &TestDb, region: &str) -> String {
    let log = db.log().await;
    let grant = Grant::new(
        Role::Supervisor,
        None,
        vec![RegionCode::parse(region).unwrap()],
    )
    .unwrap();
    let token = create_token(&log, grant, None, "test")
        .await
        .unwrap()
        .bearer;
    log.shutdown().await;
    token
}

/// Waits until `bearer`'s flag queue holds `count` flags; returns them and how long it took.
async fn flags_when(app: &TestApp, bearer: &str, count: usize) -> (Vec<Value>, Duration) {
    let start = Instant::now();
    loop {
        let (code, flags) = app
            .send(Method::GET, "/api/v1/flags", Some(bearer), None)
            .await;
        assert_eq!(code, StatusCode::OK, "{flags}");
        let flags = flags.as_array().unwrap().clone();
        if flags.len() >= count || start.elapsed() > Duration::from_secs(10) {
            return (flags, start.elapsed());
        }
        tokio::task::yield_now().await;
    }
}

fn kinds(flags: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = flags
        .iter()
        .map(|f| f["flag"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    kinds
}

async fn a_cloned_and_diverted_mark_lands_in_both_queues(db: TestDb) {
    let w = world(&db).await;
    let nanchang = supervisor(&db, "360100").await;
    let ganzhou = supervisor(&db, "360700").await;
    let shangrao = supervisor(&db, "361100").await;
    let app = TestApp::spawn_with(&db, &["--public-rate", "0"]).await;
    let body = json!({"certificate_id": w.certificate, "count": 10, "regions": ["360100"]});
    let (_, batch) = app
        .send(Method::POST, "/api/v1/batches", Some(&w.issuer), Some(body))
        .await;
    let (_, mark) = app
        .send(Method::GET, "/api/v1/marks/3", Some(&w.issuer), None)
        .await;
    let token = mark["token"].as_str().unwrap();

    // The same label scanned in 南昌 and, minutes later, in 赣州 (about 330 km away).
    for region in ["360102", "360702"] {
        let (code, _) = app
            .send(
                Method::GET,
                &format!("/v/{token}?region={region}"),
                None,
                None,
            )
            .await;
        assert_eq!(code, StatusCode::OK);
    }
    let (flags, took) = flags_when(&app, &nanchang, 2).await;
    println!("flags in the 360100 queue after {took:?}");
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

    let (flags, _) = flags_when(&app, &ganzhou, 2).await;
    assert_eq!(kinds(&flags), vec!["cloned", "diverted"], "both queues");
    let (flags, _) = flags_when(&app, &shangrao, 0).await;
    assert!(flags.is_empty(), "another region sees nothing");
    let (code, _) = app
        .send(Method::GET, "/api/v1/flags", Some(&w.issuer), None)
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (code, _) = app.send(Method::GET, "/api/v1/flags", None, None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, filtered) = app
        .send(
            Method::GET,
            "/api/v1/flags?flag=diverted",
            Some(&nanchang),
            None,
        )
        .await;
    assert_eq!(
        (code, kinds(filtered.as_array().unwrap())),
        (StatusCode::OK, vec!["diverted".to_owned()])
    );

    // The verdict stays genuine; the flags ride beside it. More scans raise nothing twice.
    for _ in 0..3 {
        let (_, answer) = app
            .send(
                Method::POST,
                "/api/v1/verify",
                None,
                Some(json!({"token": token, "region": "360702"})),
            )
            .await;
        assert_eq!(answer["verdict"], "genuine");
        assert_eq!(answer["flags"], json!(["cloned", "diverted"]));
    }
    // A sentinel: once serial 4's flag is in the queue, the scans above went through detection.
    let (_, mark) = app
        .send(Method::GET, "/api/v1/marks/4", Some(&w.issuer), None)
        .await;
    let sentinel = mark["token"].as_str().unwrap();
    app.send(
        Method::GET,
        &format!("/v/{sentinel}?region=360702"),
        None,
        None,
    )
    .await;
    let (flags, _) = flags_when(&app, &nanchang, 3).await;
    let of_3 = flags.iter().filter(|f| f["serial"] == 3).count();
    assert_eq!((flags.len(), of_3), (3, 2), "once per (serial, flag)");
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn innocent_twins_raise_nothing(db: TestDb) {
    let w = world(&db).await;
    let jiangxi = supervisor(&db, "360000").await;
    let app = TestApp::spawn_with(&db, &["--public-rate", "0"]).await;
    let body =
        json!({"certificate_id": w.certificate, "count": 10, "regions": ["360000", "310000"]});
    app.send(Method::POST, "/api/v1/batches", Some(&w.issuer), Some(body))
        .await;
    let token = |serial: u64| {
        let app = &app;
        let issuer = w.issuer.clone();
        async move {
            let (_, mark) = app
                .send(
                    Method::GET,
                    &format!("/api/v1/marks/{serial}"),
                    Some(&issuer),
                    None,
                )
                .await;
            mark["token"].as_str().unwrap().to_owned()
        }
    };
    // One shopper scanning ten times in one place; a scan inside the licence; a partner
    // brand's mark scanned in Shanghai, where the licence allows it.
    let shopper = token(1).await;
    for _ in 0..10 {
        app.send(
            Method::GET,
            &format!("/v/{shopper}?region=360102"),
            None,
            None,
        )
        .await;
    }
    let partner = token(2).await;
    app.send(
        Method::GET,
        &format!("/v/{partner}?region=310000"),
        None,
        None,
    )
    .await;
    // Then a scan that does raise a flag (outside the licence): once it is in the queue,
    // everything scanned before it has been through detection.
    let outside = token(3).await;
    app.send(
        Method::GET,
        &format!("/v/{outside}?region=440000"),
        None,
        None,
    )
    .await;
    let guangdong = supervisor(&db, "440000").await;
    let (flags, _) = flags_when(&app, &guangdong, 1).await;
    assert_eq!(kinds(&flags), vec!["diverted"]);
    assert_eq!(flags[0]["serial"], 3);
    let (flags, _) = flags_when(&app, &jiangxi, 1).await;
    assert_eq!(flags.len(), 1, "nothing for the innocent scans: {flags:?}");
    app.stop().await.unwrap();
    db.cleanup().await;
}

on_both_backends!(
    a_cloned_and_diverted_mark_lands_in_both_queues,
    innocent_twins_raise_nothing
);
