//! The registry API on both backends, through a real socket: issuers registered, listed,
//! suspended and reinstated by the brand authority; illegal transitions and bad input refused
//! with problem+json, and nothing written when a request is refused.

use crate::common;
use common::tokens::mint;
use common::{TestApp, TestDb, assert_refused, problem};
use marktrace::domain::access::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// An admin and a supervisor bearer token, minted through the log as the CLI does.
async fn tokens(db: &TestDb) -> (String, String) {
    let node = db.node().await;
    let log = &node.services;
    let admin = mint(log, Role::Admin, None, &[]).await;
    let supervisor = mint(log, Role::Supervisor, None, &["360100"]).await;
    node.close().await;
    (admin, supervisor)
}

/// Issuer tokens for `ids`, registered or not: a token names its issuer either way.
async fn issuer_tokens<const N: usize>(db: &TestDb, ids: [&str; N]) -> [String; N] {
    let node = db.node().await;
    let log = &node.services;
    let mut tokens = Vec::new();
    for id in ids {
        tokens.push(mint(log, Role::Issuer, Some(id), &[]).await);
    }
    node.close().await;
    tokens.try_into().unwrap()
}

/// `POST /api/v1/enterprises` as issuer `bearer`: a licensee in 南昌.
async fn register_enterprise(
    app: &TestApp,
    bearer: &str,
    uscc: &str,
    legacy: bool,
) -> (StatusCode, Value) {
    let body = json!({"uscc": uscc, "legacy_code": legacy, "name": "江西某米业有限公司",
        "region": "360100"});
    app.post("/api/v1/enterprises", Some(bearer), body).await
}

fn issuer(id: &str, region: &str) -> Value {
    json!({"id": id, "name": "江西省质量认证中心", "brand": "江西绿色生态", "region": region})
}

async fn issuers_are_registered_listed_and_suspended(db: TestDb) {
    let (admin, _) = tokens(&db).await;
    let app = TestApp::spawn(&db).await;

    let (code, created) = app
        .post("/api/v1/issuers", Some(&admin), issuer("jx-cb1", "361100"))
        .await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    assert_eq!(created["issuer_id"], "jx-cb1");
    assert_eq!(created["region"], "361100");
    assert_eq!(created["status"], "active");
    let (code, _) = app
        .post("/api/v1/issuers", Some(&admin), issuer("gd-cb", "440000"))
        .await;
    assert_eq!(code, StatusCode::CREATED);

    let (code, body) = app
        .post("/api/v1/issuers", Some(&admin), issuer("jx-cb1", "360000"))
        .await;
    assert_refused(
        code,
        &body,
        StatusCode::CONFLICT,
        "issuer jx-cb1 already exists",
    );

    let (_, all) = app.get("/api/v1/issuers", Some(&admin)).await;
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["issuer_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["gd-cb", "jx-cb1"]);
    let (_, jiangxi) = app.get("/api/v1/issuers?region=360000", Some(&admin)).await;
    assert_eq!(
        jiangxi.as_array().unwrap().len(),
        1,
        "360000 covers 361100 only"
    );
    let (_, page) = app
        .get("/api/v1/issuers?limit=1&after=gd-cb", Some(&admin))
        .await;
    assert_eq!(page[0]["issuer_id"], "jx-cb1");

    let suspend = json!({"reason": "评价报告造假"});
    let (code, body) = app
        .post(
            "/api/v1/issuers/jx-cb1/suspend",
            Some(&admin),
            suspend.clone(),
        )
        .await;
    assert_eq!(
        (code, body["status"].as_str()),
        (StatusCode::OK, Some("suspended"))
    );
    let (code, body) = app
        .post("/api/v1/issuers/jx-cb1/suspend", Some(&admin), suspend)
        .await;
    assert_refused(code, &body, StatusCode::CONFLICT, "is suspended");
    let (_, suspended) = app
        .get("/api/v1/issuers?status=suspended", Some(&admin))
        .await;
    assert_eq!(suspended.as_array().unwrap().len(), 1);
    let (code, body) = app
        .send(
            Method::POST,
            "/api/v1/issuers/jx-cb1/reinstate",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (code, body["status"].as_str()),
        (StatusCode::OK, Some("active"))
    );
    let (code, _) = app
        .send(
            Method::POST,
            "/api/v1/issuers/jx-cb1/reinstate",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT);

    let (code, body) = app.get("/api/v1/issuers/jx-cb1", Some(&admin)).await;
    assert_eq!(
        (code, body["status"].as_str()),
        (StatusCode::OK, Some("active"))
    );
    let (code, _) = app.get("/api/v1/issuers/nobody", Some(&admin)).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = app
        .send(
            Method::POST,
            "/api/v1/issuers/nobody/reinstate",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn bad_input_and_wrong_roles_are_refused_and_write_nothing(db: TestDb) {
    let (admin, supervisor) = tokens(&db).await;
    let app = TestApp::spawn(&db).await;
    let before = app.log_size().await;
    let url = app.url("/api/v1/issuers");
    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str, &str)> = vec![
        (
            app.client
                .post(&url)
                .bearer_auth(&admin)
                .json(&issuer("Bad Id", "360000")),
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "issuer id",
        ),
        (
            app.client
                .post(&url)
                .bearer_auth(&admin)
                .json(&issuer("ok", "999999")),
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "999999",
        ),
        (
            app.client
                .post(&url)
                .bearer_auth(&admin)
                .json(&json!({"id": "ok", "name": " ", "brand": "b", "region": "360000"})),
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "name",
        ),
        (
            app.client
                .post(&url)
                .bearer_auth(&admin)
                .json(&json!({"id": "ok", "extra": 1})),
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "extra",
        ),
        (
            app.client
                .post(&url)
                .bearer_auth(&admin)
                .header("content-type", "application/json")
                .body("{\"id\": "),
            StatusCode::BAD_REQUEST,
            "invalid-json",
            "EOF",
        ),
        (
            app.client
                .post(&url)
                .bearer_auth(&admin)
                .header("content-type", "application/json")
                .body(format!("{{\"id\":\"{}\"}}", "x".repeat(70_000))),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "larger",
        ),
        (
            app.client.post(&url).bearer_auth(&admin).body("id=x"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "application/json",
        ),
        (
            app.client
                .post(&url)
                .bearer_auth(&supervisor)
                .json(&issuer("ok", "360000")),
            StatusCode::FORBIDDEN,
            "forbidden",
            "admin",
        ),
        (
            app.client.post(&url).json(&issuer("ok", "360000")),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Bearer",
        ),
        (
            app.client.get(&url).bearer_auth(&supervisor),
            StatusCode::FORBIDDEN,
            "forbidden",
            "admin",
        ),
        (
            app.client.get(format!("{url}?limit=0")).bearer_auth(&admin),
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "limit",
        ),
    ];
    for (request, status, kind, needle) in cases {
        let body = problem(request.send().await.unwrap(), status, kind).await;
        assert!(body["detail"].as_str().unwrap().contains(needle), "{body}");
    }
    assert_eq!(
        app.log_size().await,
        before,
        "no refused request wrote anything"
    );
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn enterprises_are_registered_by_their_issuer(db: TestDb) {
    let (admin, supervisor) = tokens(&db).await;
    let [cb1, ghost] = issuer_tokens(&db, ["jx-cb1", "ghost"]).await;
    let app = TestApp::spawn(&db).await;
    let (code, _) = app
        .post("/api/v1/issuers", Some(&admin), issuer("jx-cb1", "360000"))
        .await;
    assert_eq!(code, StatusCode::CREATED);

    let (code, body) = register_enterprise(&app, &cb1, " 914403001922038216", false).await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    assert_eq!(body["uscc"], "914403001922038216");
    assert_eq!(body["registered_by"], "jx-cb1");
    assert_eq!(body["legacy_code"], false);
    let (code, body) = register_enterprise(&app, &cb1, "914403001922038217", false).await;
    assert_refused(code, &body, StatusCode::BAD_REQUEST, "check character");
    let (code, _) = register_enterprise(&app, &cb1, "110108001234567", false).await;
    assert_eq!(
        code,
        StatusCode::BAD_REQUEST,
        "a legacy code needs the flag"
    );
    let (code, body) = register_enterprise(&app, &cb1, "110108001234567", true).await;
    assert_eq!(
        (code, body["legacy_code"].as_bool()),
        (StatusCode::CREATED, Some(true))
    );
    let (code, _) = register_enterprise(&app, &cb1, "914403001922038216", false).await;
    assert_eq!(code, StatusCode::CONFLICT);

    let (code, body) = register_enterprise(&app, &ghost, "91110108795101314G", false).await;
    assert_refused(code, &body, StatusCode::FORBIDDEN, "not registered");
    let (code, _) = register_enterprise(&app, &admin, "91110108795101314G", false).await;
    assert_eq!(
        code,
        StatusCode::FORBIDDEN,
        "registering is the issuer's work"
    );

    let (_, mine) = app.get("/api/v1/enterprises", Some(&cb1)).await;
    assert_eq!(mine.as_array().unwrap().len(), 2);
    let (_, theirs) = app.get("/api/v1/enterprises", Some(&ghost)).await;
    assert_eq!(
        theirs.as_array().unwrap().len(),
        0,
        "an issuer sees only its own"
    );
    let (code, _) = app
        .get("/api/v1/enterprises/914403001922038216", Some(&ghost))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, one) = app
        .get("/api/v1/enterprises/914403001922038216", Some(&admin))
        .await;
    assert_eq!(
        (code, one["name"].as_str()),
        (StatusCode::OK, Some("江西某米业有限公司"))
    );
    let (code, _) = app.get("/api/v1/enterprises", Some(&supervisor)).await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn certificates_follow_their_lifecycle(db: TestDb) {
    let (admin, _) = tokens(&db).await;
    let [cb1, cb2] = issuer_tokens(&db, ["jx-cb1", "jx-cb2"]).await;
    let app = TestApp::spawn(&db).await;
    for id in ["jx-cb1", "jx-cb2"] {
        let (code, _) = app
            .post("/api/v1/issuers", Some(&admin), issuer(id, "360000"))
            .await;
        assert_eq!(code, StatusCode::CREATED);
    }
    let enterprise = json!({"uscc": "91330000704202479R", "name": "某米业", "region": "360100"});
    let (code, _) = app
        .post("/api/v1/enterprises", Some(&cb1), enterprise)
        .await;
    assert_eq!(code, StatusCode::CREATED);
    let application = json!({"enterprise_uscc": "91330000704202479R", "product_name": "有机大米",
        "product_category": "粮食", "standard": "T/JXGE 001-2026", "scope": "5 kg bags"});
    let apply = || async {
        let (code, body) = app
            .post("/api/v1/certificates", Some(&cb1), application.clone())
            .await;
        assert_eq!(
            (code, body["state"].as_str()),
            (StatusCode::CREATED, Some("applied")),
            "{body}"
        );
        body["certificate_id"].as_str().unwrap().to_owned()
    };
    let unknown = json!({"enterprise_uscc": "914403001922038216", "product_name": "p",
        "product_category": "c", "standard": "s", "scope": "x"});
    let (code, body) = app.post("/api/v1/certificates", Some(&cb1), unknown).await;
    assert_refused(
        code,
        &body,
        StatusCode::BAD_REQUEST,
        "is not a licensee of issuer jx-cb1",
    );
    let step = |id: &str, action: &str| format!("/api/v1/certificates/{id}/{action}");
    let evaluation = |result: &str| {
        json!({"evaluator": "第三方评价机构", "result": result,
        "report_sha256": "ab".repeat(32), "date": "2026-10-01"})
    };
    let issuing = |code: &str, from: &str, until: &str| json!({"code": code, "valid_from": from, "valid_until": until});
    let reason = json!({"reason": "抽检不合格"});
    let issue = |id: &str, code: &str, from: &str, until: &str| {
        let (path, body) = (step(id, "issue"), issuing(code, from, until));
        let (app, cb1) = (&app, &cb1);
        async move { app.post(&path, Some(cb1), body).await }
    };
    let evaluate = |id: &str, result: &str| {
        let (path, body) = (step(id, "evaluate"), evaluation(result));
        let (app, cb1) = (&app, &cb1);
        async move { app.post(&path, Some(cb1), body).await }
    };

    let c1 = apply().await;
    let (code, body) = issue(&c1, "JX-GE-2026-001", "2026-01-01", "2099-12-31").await;
    assert_refused(
        code,
        &body,
        StatusCode::CONFLICT,
        "is applied; it cannot be issued",
    );
    let (code, body) = evaluate(&c1, "pass").await;
    assert_eq!(
        (code, body["state"].as_str()),
        (StatusCode::OK, Some("evaluated"))
    );
    let (code, body) = issue(&c1, "JX-GE-2026-001", "2026-01-01", "2099-12-31").await;
    assert_eq!(
        (code, body["state"].as_str()),
        (StatusCode::OK, Some("issued")),
        "{body}"
    );
    assert_eq!(body["code"], "JX-GE-2026-001");
    assert_eq!(body["valid_until"], "2099-12-31");
    for (action, body, status, state) in [
        ("suspend", Some(reason.clone()), StatusCode::OK, "suspended"),
        ("suspend", Some(reason.clone()), StatusCode::CONFLICT, ""),
        ("reinstate", None, StatusCode::OK, "issued"),
        ("revoke", Some(reason.clone()), StatusCode::OK, "revoked"),
        ("reinstate", None, StatusCode::CONFLICT, ""),
    ] {
        let (code, answer) = app
            .send(Method::POST, &step(&c1, action), Some(&cb1), body)
            .await;
        assert_eq!(code, status, "{action}: {answer}");
        if status == StatusCode::OK {
            assert_eq!(answer["state"], state, "{action}");
        }
    }

    // A failed evaluation cannot be issued; a code cannot be issued twice; validity ends.
    let c2 = apply().await;
    evaluate(&c2, "fail").await;
    let (code, body) = issue(&c2, "JX-GE-2026-002", "2026-01-01", "2099-12-31").await;
    assert_refused(code, &body, StatusCode::CONFLICT, "is rejected");
    let c3 = apply().await;
    evaluate(&c3, "pass").await;
    let (code, body) = issue(&c3, "JX-GE-2026-001", "2026-01-01", "2099-12-31").await;
    assert_refused(
        code,
        &body,
        StatusCode::CONFLICT,
        "certificate code JX-GE-2026-001 already exists",
    );
    let (code, body) = issue(&c3, "JX-GE-2020-009", "2020-01-01", "2020-12-31").await;
    assert_eq!(
        (code, body["state"].as_str()),
        (StatusCode::OK, Some("expired")),
        "{body}"
    );

    // Bad input, another issuer's certificate, a suspended issuer.
    let (code, _) = app.post(&step(&c3, "evaluate"), Some(&cb1), json!({"evaluator": "x", "result": "pass", "report_sha256": "ab".repeat(32), "date": "2026-13-01"})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let c4 = apply().await;
    evaluate(&c4, "pass").await;
    let (code, body) = issue(&c4, "jx-lower", "2026-01-01", "2099-12-31").await;
    assert_refused(code, &body, StatusCode::BAD_REQUEST, "certificate code");
    let (code, _) = app
        .get(&format!("/api/v1/certificates/{c4}"), Some(&cb2))
        .await;
    assert_eq!(
        code,
        StatusCode::NOT_FOUND,
        "another issuer's certificate is invisible"
    );
    let (code, _) = app
        .post(&step(&c4, "revoke"), Some(&cb2), reason.clone())
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    app.post(
        "/api/v1/issuers/jx-cb1/suspend",
        Some(&admin),
        json!({"reason": "audit"}),
    )
    .await;
    let (code, body) = issue(&c4, "JX-GE-2026-004", "2026-01-01", "2099-12-31").await;
    assert_refused(code, &body, StatusCode::FORBIDDEN, "suspended");

    let (_, all) = app.get("/api/v1/certificates", Some(&admin)).await;
    assert_eq!(all.as_array().unwrap().len(), 4);
    let (_, none) = app.get("/api/v1/certificates", Some(&cb2)).await;
    assert_eq!(none.as_array().unwrap().len(), 0);
    app.stop().await.unwrap();
    db.cleanup().await;
}

on_both_backends!(
    issuers_are_registered_listed_and_suspended,
    bad_input_and_wrong_roles_are_refused_and_write_nothing,
    enterprises_are_registered_by_their_issuer,
    certificates_follow_their_lifecycle,
);
