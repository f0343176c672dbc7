//! Case work end to end, on both backends: who may open, read, work, share, transfer and close
//! a case; a case outside the caller's regions is indistinguishable from a missing one; closed
//! cases refuse changes; invalid penalty decisions write nothing.
//!
//! A supervisor that covers a case only through a share and tries to close or transfer it gets
//! a 403, not a 404: it already reads the case, so the refusal leaks nothing.

use crate::common;
use common::cases::{decision, open_case, tokens};
use common::{TestApp, TestDb, assert_refused};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn id_of(case: &Value) -> String {
    case["case_id"].as_str().unwrap().to_owned()
}

async fn the_access_matrix_of_a_case(db: TestDb) {
    let t = tokens(&db).await;
    let app = TestApp::spawn(&db).await;
    let case = open_case(&app, &t.nanchang, "360100").await;
    let id = id_of(&case);
    let path = format!("/api/v1/cases/{id}");
    assert_eq!(case["status"], "open");
    assert_eq!(case["owner_region"], "360100");
    assert_eq!(case["subject"]["serials"], json!([17, 18]));

    // A region the supervisor does not cover cannot own its cases.
    let (status, body) = app
        .post(
            "/api/v1/cases",
            Some(&t.nanchang),
            json!({"owner_region": "360700", "origin": "flags", "title": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // 赣州 does not see 南昌's case: the answer is the one for a case that does not exist.
    let (status, hidden) = app.get(&path, Some(&t.ganzhou)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let missing_id = "0".repeat(32);
    let (status, missing) = app
        .get(&format!("/api/v1/cases/{missing_id}"), Some(&t.ganzhou))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        hidden.to_string().replace(&id, "X"),
        missing.to_string().replace(&missing_id, "X")
    );
    assert_eq!(hidden["detail"], format!("case {id} does not exist"));
    let (_, listed) = app.get("/api/v1/cases", Some(&t.ganzhou)).await;
    assert_eq!(listed, json!([]));
    let note = json!({"text": "赣州发现同批次"});
    let (status, _) = app
        .post(&format!("{path}/notes"), Some(&t.ganzhou), note.clone())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .post(
            &format!("{path}/share"),
            Some(&t.ganzhou),
            json!({"region": "360700"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no self-invitation");

    // Shared with 赣州: it reads and works the case, but only the owner closes or transfers.
    let (status, shared) = app
        .post(
            &format!("{path}/share"),
            Some(&t.nanchang),
            json!({"region": "360700"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{shared}");
    assert_eq!(shared["shared_with"], json!(["360700"]));
    let (status, _) = app.get(&path, Some(&t.ganzhou)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, noted) = app
        .post(&format!("{path}/notes"), Some(&t.ganzhou), note)
        .await;
    assert_eq!(status, StatusCode::OK, "{noted}");
    assert_eq!(noted["notes"][0]["by_region"], "360700");
    for (action, body) in [
        ("close", json!({"outcome": "no_action"})),
        ("transfer", json!({"region": "360700"})),
    ] {
        let (status, body) = app
            .post(&format!("{path}/{action}"), Some(&t.ganzhou), body)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{action}: {body}");
    }

    // The provincial enforcement team covers every city's cases and adds evidence.
    let (status, listed) = app.get("/api/v1/cases", Some(&t.jiangxi)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let evidence = json!({"description": "现场照片", "file_sha256": "ab".repeat(32), "size": 2048});
    let (status, worked) = app
        .post(&format!("{path}/evidence"), Some(&t.jiangxi), evidence)
        .await;
    assert_eq!(status, StatusCode::OK, "{worked}");
    assert_eq!(worked["evidence"][0]["size"], 2048);
    let (status, _) = app
        .post(
            &format!("{path}/close"),
            Some(&t.jiangxi),
            json!({"outcome": "no_action"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "enforcement teams do not close"
    );

    // Other roles have no business with cases; without a token nobody does.
    for bearer in [&t.issuer, &t.credit, &t.admin] {
        let (status, body) = app.get(&path, Some(bearer)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["type"], "urn:marktrace:problem:forbidden");
        let (status, _) = app.get("/api/v1/cases", Some(bearer)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) = app.get(&path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.post("/api/v1/cases", None, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Closed, the case refuses every change, naming its state.
    let (status, closed) = app
        .post(
            &format!("{path}/close"),
            Some(&t.nanchang),
            json!({"outcome": "no_action"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["status"], "closed");
    let kinds: Vec<&str> = closed["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "CaseOpened",
            "CaseShared",
            "CaseNoteAdded",
            "CaseEvidenceAdded",
            "CaseClosed"
        ]
    );
    let (status, body) = app
        .post(
            &format!("{path}/notes"),
            Some(&t.nanchang),
            json!({"text": "补充"}),
        )
        .await;
    assert_refused(status, &body, StatusCode::CONFLICT, "closed");
    let (_, open) = app
        .get("/api/v1/cases?status=open", Some(&t.nanchang))
        .await;
    assert_eq!(open, json!([]));
    let (_, closed) = app
        .get("/api/v1/cases?status=closed", Some(&t.nanchang))
        .await;
    assert_eq!(closed.as_array().unwrap().len(), 1);

    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn a_transfer_moves_the_case_to_the_new_region(db: TestDb) {
    let t = tokens(&db).await;
    let app = TestApp::spawn(&db).await;
    let first = id_of(&open_case(&app, &t.nanchang, "360100").await);
    let second = id_of(&open_case(&app, &t.nanchang, "360100").await);
    let (status, moved) = app
        .post(
            &format!("/api/v1/cases/{first}/transfer"),
            Some(&t.nanchang),
            json!({"region": "360700"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["owner_region"], "360700");
    let path = format!("/api/v1/cases/{first}");
    let (status, _) = app.get(&path, Some(&t.nanchang)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get(&path, Some(&t.ganzhou)).await;
    assert_eq!(status, StatusCode::OK);
    // The cursor pages through the cases in the order they were opened.
    let (_, page) = app.get("/api/v1/cases?limit=1", Some(&t.jiangxi)).await;
    assert_eq!(page[0]["case_id"], first.as_str());
    let (_, page) = app
        .get(
            &format!("/api/v1/cases?limit=1&after={first}"),
            Some(&t.jiangxi),
        )
        .await;
    assert_eq!(page[0]["case_id"], second.as_str());
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn invalid_decisions_are_refused_and_write_nothing(db: TestDb) {
    let t = tokens(&db).await;
    let app = TestApp::spawn(&db).await;
    let id = id_of(&open_case(&app, &t.nanchang, "360100").await);
    let before = app.log_size().await;
    let with = |field: &str, value: &str| {
        let mut d = decision();
        d[field] = json!(value);
        json!({"outcome": "penalty", "decision": d})
    };
    let cases = [
        (with("uscc", "91330000704202479A"), "uscc: check character"),
        (
            with("publish_until", "2026-01-01"),
            "publish_until must be after decided_on",
        ),
        (
            with("fine_wan", "-1"),
            "fine_wan must be a non-negative amount in 万元",
        ),
        (json!({"outcome": "penalty"}), "decision is required"),
        (
            json!({"outcome": "no_action", "decision": decision()}),
            "decision must be absent",
        ),
    ];
    for (body, message) in cases {
        let (status, answer) = app
            .post(
                &format!("/api/v1/cases/{id}/close"),
                Some(&t.nanchang),
                body,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["type"], "urn:marktrace:problem:invalid-request");
        let detail = answer["detail"].as_str().unwrap();
        assert!(detail.starts_with(message), "{detail}");
    }
    assert_eq!(app.log_size().await, before, "nothing was written");
    let (_, case) = app
        .get(&format!("/api/v1/cases/{id}"), Some(&t.nanchang))
        .await;
    assert_eq!(case["status"], "open");
    app.stop().await.unwrap();
    db.cleanup().await;
}

on_both_backends!(
    the_access_matrix_of_a_case,
    a_transfer_moves_the_case_to_the_new_region,
    invalid_decisions_are_refused_and_write_nothing,
);
