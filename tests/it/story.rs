//! The whole chain of issue 7 on both backends, through HTTP only after set-up: a batch
//! licensed to 南昌 is copied and scanned in 南昌 and 赣州 within the hour → `cloned` and
//! `diverted` in both cities' queues → 南昌's supervisor opens a case from the flags and
//! shares it with 赣州 → 赣州's supervisor adds a note → the case closes with a penalty decision
//! → the credit platform reads the record in its feed (with a proof) and its CSV, and anyone
//! finds it by the enterprise's USCC.

use crate::common;
use common::cases::{PARTY_USCC, decision, tokens};
use common::flags::{kinds, queue};
use common::world::{batch, mark, world};
use common::{TestApp, TestDb};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn a_copied_mark_ends_in_a_published_credit_record(db: TestDb) {
    let w = world(&db).await;
    let t = tokens(&db).await;
    let app = TestApp::spawn_with(&db, &["--public-rate", "0"]).await;
    let body = json!({"certificate_id": w.certificate, "count": 100, "regions": ["360100"]});
    batch(&app, &w.issuer, body).await;
    let url = mark(&app, &w.issuer, 42).await["url"]
        .as_str()
        .unwrap()
        .replace("http://localhost:8080", "");

    for region in ["360102", "360702"] {
        let answer: Value = app
            .client
            .get(app.url(&format!("{url}?region={region}")))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["verdict"], "genuine");
    }
    let mut indexes = Vec::new();
    for bearer in [&t.nanchang, &t.ganzhou] {
        let flags = queue(&app, bearer, 2).await;
        assert_eq!(kinds(&flags), vec!["cloned", "diverted"], "both queues");
        indexes = flags.iter().map(|f| f["index"].to_string()).collect();
    }

    let open = json!({
        "owner_region": "360100",
        "origin": "flags",
        "title": "标识被复制并在赣州销售",
        "subject": {"enterprise_uscc": PARTY_USCC, "serials": [42], "flags": indexes}
    });
    let (code, case) = app.post("/api/v1/cases", Some(&t.nanchang), open).await;
    assert_eq!(code, StatusCode::CREATED, "{case}");
    let id = case["case_id"].as_str().unwrap().to_owned();
    let path = |action: &str| format!("/api/v1/cases/{id}/{action}");
    let (code, _) = app
        .get(&format!("/api/v1/cases/{id}"), Some(&t.ganzhou))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "not shared yet");
    let (code, _) = app
        .post(
            &path("share"),
            Some(&t.nanchang),
            json!({"region": "360700"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let note = json!({"text": "赣州市场发现同一序列号的标签 30 余枚"});
    let (code, _) = app.post(&path("notes"), Some(&t.ganzhou), note).await;
    assert_eq!(code, StatusCode::OK);
    let close = json!({"outcome": "penalty", "decision": decision()});
    let (code, closed) = app.post(&path("close"), Some(&t.nanchang), close).await;
    assert_eq!(code, StatusCode::OK, "{closed}");

    let (code, feed) = app.get("/api/v1/credit/records", Some(&t.credit)).await;
    assert_eq!(code, StatusCode::OK, "{feed}");
    let entries = feed["records"]
        .as_array()
        .or(feed.as_array())
        .unwrap()
        .clone();
    assert_eq!(entries.len(), 1, "{feed}");
    let entry = &entries[0];
    assert_eq!(entry["record"]["decision"]["uscc"], PARTY_USCC);
    let proof = entry["proof"].as_str().unwrap();
    assert!(proof.starts_with("c2sp.org/tlog-proof@v1"), "{proof}");
    assert!(
        proof.contains(&format!("index {}", entry["index"])),
        "{proof}"
    );

    let (code, csv) = app
        .text("/api/v1/credit/records.csv", Some(&t.credit))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert!(csv.starts_with("CF_XDR_MC,CF_XDR_SHXYM,"), "{csv}");
    assert!(csv.contains(PARTY_USCC) && csv.contains("洪市监罚〔2026〕12号"));

    let (code, public) = app
        .get(&format!("/api/v1/public/credit?uscc={PARTY_USCC}"), None)
        .await;
    assert_eq!(code, StatusCode::OK);
    assert!(
        public.to_string().contains("洪市监罚〔2026〕12号"),
        "{public}"
    );
    assert!(
        !public.to_string().contains(&id),
        "no case id in public data"
    );
    app.stop().await.unwrap();
    db.cleanup().await;
}

on_both_backends!(a_copied_mark_ends_in_a_published_credit_record);
