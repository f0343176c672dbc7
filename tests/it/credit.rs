//! Credit publication end to end, on both backends: closing a case with a penalty publishes a
//! public record in the same append; the credit platform reads it in the feed (with a proof
//! per entry and a cursor) and in the CSV; anyone finds it by USCC until it is withdrawn; and
//! the case behind it stays confidential.

use crate::common;
use common::cases::{PARTY_USCC, decision, open_case, tokens};
use common::{ORIGIN, TestApp, TestDb};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The credit platforms' CSV export.
const CSV: &str = "/api/v1/credit/records.csv";

async fn feed(app: &TestApp, bearer: &str, query: &str) -> Vec<Value> {
    let (status, body) = app
        .get(&format!("/api/v1/credit/records{query}"), Some(bearer))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

async fn public(app: &TestApp) -> Value {
    let (status, body) = app
        .get(
            &format!("/api/v1/public/credit?uscc={}", PARTY_USCC.to_lowercase()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn a_penalty_is_published_provably_and_withdrawn_by_later_events(db: TestDb) {
    let t = tokens(&db).await;
    let app = TestApp::spawn(&db).await;
    let case = open_case(&app, &t.nanchang, "360100").await;
    let case_id = case["case_id"].as_str().unwrap().to_owned();
    let (status, closed) = app
        .post(
            &format!("/api/v1/cases/{case_id}/close"),
            Some(&t.nanchang),
            json!({"outcome": "penalty", "decision": decision()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    let record_id = closed["closed"]["record_id"].as_str().unwrap().to_owned();

    // The feed: one publication, with its leaf hash and an offline-checkable proof bundle.
    let entries = feed(&app, &t.credit, "").await;
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    let index = entry["index"].as_u64().unwrap();
    assert_eq!(entry["type"], "CreditRecordPublished");
    assert_eq!(entry["record_id"], record_id.as_str());
    assert_eq!(entry["status"], "published");
    assert_eq!(entry["record"]["decision"]["uscc"], PARTY_USCC);
    let proof = entry["proof"].as_str().unwrap();
    assert!(proof.starts_with("c2sp.org/tlog-proof@v1\n"), "{proof}");
    assert!(proof.contains(&format!("\nindex {index}\n")), "{proof}");
    assert!(proof.contains(&format!("\n\u{2014} {ORIGIN} ")), "{proof}");
    let (_, logged) = app.get(&format!("/api/v1/log/entries/{index}"), None).await;
    assert_eq!(entry["leaf_hash"], logged["leaf_hash"]);
    assert_eq!(entry["data"], logged["data"], "the record is public");
    assert!(
        !logged["data"].to_string().contains(&case_id),
        "no case id in public data"
    );
    assert!(
        feed(&app, &t.credit, &format!("?after={index}"))
            .await
            .is_empty()
    );
    assert_eq!(
        feed(&app, &t.credit, &format!("?after={}", index - 1))
            .await
            .len(),
        1
    );

    // The case's own events are in the log as envelopes only.
    let opened = case["history"][0]["index"].as_u64().unwrap();
    let (status, logged) = app
        .get(&format!("/api/v1/log/entries/{opened}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(logged.get("data").is_none(), "{logged}");
    assert_eq!(logged["envelope"]["visibility"], "confidential");

    // The CSV: the platforms' codes, RFC 4180 quoting of the comma and quotes in 违法事实.
    let (status, text) = app.text(CSV, Some(&t.credit)).await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = text.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "CF_XDR_MC,CF_XDR_SHXYM,CF_FRDB,CF_WSH,CF_WFXW,CF_SY,CF_YJ,CF_CFLB,CF_NR,CF_NR_FK,\
         CF_NR_WFFF,CF_JDRQ,CF_GSJZQ,CF_CFJG,CF_CFJGDM,CF_SJLY,LOG_INDEX"
    );
    assert_eq!(
        lines[1],
        format!(
            "南昌某米业有限公司,{PARTY_USCC},张三,洪市监罚〔2026〕12号,伪造认证标志,\
             \"使用伪造的\"\"江西绿色生态\"\"标识, 共 1200 袋\",《认证认可条例》第七十一条,\
             罚款,罚款 5 万元,5,0.35,2026/03/02,2029/03/02,南昌市市场监督管理局,\
             11360100MB1739152L,南昌市市场监督管理局,{index}"
        )
    );
    assert_eq!(lines.len(), 3, "header, one row, the final line end");

    // Anyone finds it by the enterprise's code.
    let found = public(&app).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["record_id"], record_id.as_str());
    assert!(!found.to_string().contains(&case_id));

    // Only the owner region's supervisor changes the record, and only by later events.
    let correct = format!("/api/v1/credit/records/{record_id}/correct");
    let mut corrected = decision();
    corrected["fine_wan"] = json!("4.5");
    let (status, _) = app
        .post(&correct, Some(&t.ganzhou), corrected.clone())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = app.post(&correct, Some(&t.nanchang), corrected).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "corrected");
    let later = feed(&app, &t.credit, &format!("?after={index}")).await;
    assert_eq!(later.len(), 1);
    assert_eq!(later[0]["type"], "CreditRecordCorrected");
    assert_eq!(public(&app).await[0]["decision"]["fine_wan"], "4.5");

    let withdraw = format!("/api/v1/credit/records/{record_id}/withdraw");
    let (status, body) = app
        .post(
            &withdraw,
            Some(&t.nanchang),
            json!({"reason": "行政复议撤销"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(public(&app).await, json!([]));
    assert_eq!(
        app.text(CSV, Some(&t.credit)).await.1.split("\r\n").count(),
        2
    );
    let all = feed(&app, &t.credit, "").await;
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|e| e["status"] == "withdrawn"));
    let (status, _) = app
        .post(&withdraw, Some(&t.nanchang), json!({"reason": "again"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    app.stop().await.unwrap();
    db.cleanup().await;
}

/// A cell a spreadsheet would take for a formula (OWASP "CSV injection": one starting with `=`,
/// `+`, `-` or `@`; tab and CR are trimmed from decision text) is neutralised with a leading
/// `'`, then quoted per RFC 4180 as any other cell.
async fn the_csv_neutralises_cells_a_spreadsheet_would_run(db: TestDb) {
    let t = tokens(&db).await;
    let app = TestApp::spawn(&db).await;
    let case = open_case(&app, &t.nanchang, "360100").await;
    let case_id = case["case_id"].as_str().unwrap().to_owned();
    let mut decision = decision();
    decision["name"] = json!("=HYPERLINK(\"http://evil.example\",\"详情\")");
    decision["violation_type"] = json!("+1+cmd|' /C calc'!A0");
    decision["facts"] = json!("-2+3");
    decision["basis"] = json!("@SUM(A1:A9)");
    let (status, closed) = app
        .post(
            &format!("/api/v1/cases/{case_id}/close"),
            Some(&t.nanchang),
            json!({"outcome": "penalty", "decision": decision}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    let (status, text) = app.text(CSV, Some(&t.credit)).await;
    assert_eq!(status, StatusCode::OK);
    let row = text.split("\r\n").nth(1).unwrap();
    assert!(
        row.starts_with(&format!(
            "\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"详情\"\")\",{PARTY_USCC},张三,\
             洪市监罚〔2026〕12号,'+1+cmd|' /C calc'!A0,'-2+3,'@SUM(A1:A9),罚款,"
        )),
        "{row}"
    );
    // The feed and the log keep the decision as it was given.
    let entries = feed(&app, &t.credit, "").await;
    assert_eq!(entries[0]["record"]["decision"]["facts"], "-2+3");
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn only_the_credit_role_reads_the_feed(db: TestDb) {
    let t = tokens(&db).await;
    let app = TestApp::spawn(&db).await;
    for path in ["/api/v1/credit/records", "/api/v1/credit/records.csv"] {
        for bearer in [&t.nanchang, &t.jiangxi, &t.issuer, &t.admin] {
            let (status, _) = app.get(path, Some(bearer)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        }
        let (status, _) = app.get(path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let (status, body) = app.get("/api/v1/public/credit?uscc=123", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"].as_str().unwrap().starts_with("uscc: "),
        "{body}"
    );
    app.stop().await.unwrap();
    db.cleanup().await;
}

on_both_backends!(
    a_penalty_is_published_provably_and_withdrawn_by_later_events,
    only_the_credit_role_reads_the_feed,
    the_csv_neutralises_cells_a_spreadsheet_would_run,
);
