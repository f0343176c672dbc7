//! The registry API on both backends, through a real socket: issuers registered, listed,
//! suspended and reinstated by the brand authority; illegal transitions and bad input refused
//! with problem+json, and nothing written when a request is refused.

use crate::common;

use common::{TestApp, TestDb};
use marktrace::access::{Grant, Role, create_token};
use marktrace::domain::region::RegionCode;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An admin and a supervisor bearer token, minted through the log as the CLI does.
async fn tokens(db: &TestDb) -> (String, String) {
    let log = db.log().await;
    let admin = create_token(
        &log,
        Grant::new(Role::Admin, None, vec![]).unwrap(),
        None,
        "test",
    );
    let region = RegionCode::parse("360100").unwrap();
    let supervisor = Grant::new(Role::Supervisor, None, vec![region]).unwrap();
    let supervisor = create_token(&log, supervisor, None, "test");
    let (admin, supervisor) = (admin.await.unwrap(), supervisor.await.unwrap());
    log.shutdown().await;
    (admin.bearer, supervisor.bearer)
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    app.send(method, path, Some(bearer), body).await
}

fn issuer(id: &str, region: &str) -> Value {
    json!({"id": id, "name": "江西省质量认证中心", "brand": "江西绿色生态", "region": region})
}

async fn issuers_are_registered_listed_and_suspended(db: TestDb) {
    let (admin, _) = tokens(&db).await;
    let app = TestApp::spawn(&db).await;
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;

    let (code, created) = send(
        &app,
        post.clone(),
        "/api/v1/issuers",
        &admin,
        Some(issuer("jx-cb1", "361100")),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    assert_eq!(created["issuer_id"], "jx-cb1");
    assert_eq!(created["region"], "361100");
    assert_eq!(created["status"], "active");
    let (code, _) = send(
        &app,
        post.clone(),
        "/api/v1/issuers",
        &admin,
        Some(issuer("gd-cb", "440000")),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED);

    let (code, body) = send(
        &app,
        post.clone(),
        "/api/v1/issuers",
        &admin,
        Some(issuer("jx-cb1", "360000")),
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("issuer jx-cb1 already exists")
    );

    let (_, all) = send(&app, get.clone(), "/api/v1/issuers", &admin, None).await;
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["issuer_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["gd-cb", "jx-cb1"]);
    let (_, jiangxi) = send(
        &app,
        get.clone(),
        "/api/v1/issuers?region=360000",
        &admin,
        None,
    )
    .await;
    assert_eq!(
        jiangxi.as_array().unwrap().len(),
        1,
        "360000 covers 361100 only"
    );
    let (_, page) = send(
        &app,
        get.clone(),
        "/api/v1/issuers?limit=1&after=gd-cb",
        &admin,
        None,
    )
    .await;
    assert_eq!(page[0]["issuer_id"], "jx-cb1");

    let suspend = Some(json!({"reason": "评价报告造假"}));
    let (code, body) = send(
        &app,
        post.clone(),
        "/api/v1/issuers/jx-cb1/suspend",
        &admin,
        suspend.clone(),
    )
    .await;
    assert_eq!(
        (code, body["status"].as_str()),
        (StatusCode::OK, Some("suspended"))
    );
    let (code, body) = send(
        &app,
        post.clone(),
        "/api/v1/issuers/jx-cb1/suspend",
        &admin,
        suspend,
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert!(
        body["detail"].as_str().unwrap().contains("is suspended"),
        "{body}"
    );
    let (_, suspended) = send(
        &app,
        get.clone(),
        "/api/v1/issuers?status=suspended",
        &admin,
        None,
    )
    .await;
    assert_eq!(suspended.as_array().unwrap().len(), 1);
    let (code, body) = send(
        &app,
        post.clone(),
        "/api/v1/issuers/jx-cb1/reinstate",
        &admin,
        None,
    )
    .await;
    assert_eq!(
        (code, body["status"].as_str()),
        (StatusCode::OK, Some("active"))
    );
    let (code, _) = send(
        &app,
        post.clone(),
        "/api/v1/issuers/jx-cb1/reinstate",
        &admin,
        None,
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT);

    let (code, body) = send(&app, get.clone(), "/api/v1/issuers/jx-cb1", &admin, None).await;
    assert_eq!(
        (code, body["status"].as_str()),
        (StatusCode::OK, Some("active"))
    );
    let (code, _) = send(&app, get.clone(), "/api/v1/issuers/nobody", &admin, None).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = send(&app, post, "/api/v1/issuers/nobody/reinstate", &admin, None).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn bad_input_and_wrong_roles_are_refused_and_write_nothing(db: TestDb) {
    let (admin, supervisor) = tokens(&db).await;
    let app = TestApp::spawn(&db).await;
    let size = || async { db.store().await.log_size().await.unwrap() };
    let before = size().await;
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
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{kind} {needle}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["type"], format!("urn:marktrace:problem:{kind}"));
        assert!(body["detail"].as_str().unwrap().contains(needle), "{body}");
    }
    assert_eq!(size().await, before, "no refused request wrote anything");
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn enterprises_are_registered_by_their_issuer(db: TestDb) {
    let (admin, supervisor) = tokens(&db).await;
    let (cb1, ghost) = {
        let log = db.log().await;
        let grant = |id: &str| Grant::new(Role::Issuer, Some(id.to_owned()), vec![]).unwrap();
        let issuer = create_token(&log, grant("jx-cb1"), None, "test")
            .await
            .unwrap();
        let ghost = create_token(&log, grant("ghost"), None, "test")
            .await
            .unwrap();
        log.shutdown().await;
        (issuer.bearer, ghost.bearer)
    };
    let app = TestApp::spawn(&db).await;
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;
    let (code, _) = send(
        &app,
        post.clone(),
        "/api/v1/issuers",
        &admin,
        Some(issuer("jx-cb1", "360000")),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED);
    let enterprise = |uscc: &str, legacy: bool| {
        Some(
            json!({"uscc": uscc, "legacy_code": legacy, "name": "江西某米业有限公司", "region": "360100"}),
        )
    };

    let (code, body) = send(
        &app,
        post.clone(),
        "/api/v1/enterprises",
        &cb1,
        enterprise(" 914403001922038216", false),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED, "{body}");
    assert_eq!(body["uscc"], "914403001922038216");
    assert_eq!(body["registered_by"], "jx-cb1");
    assert_eq!(body["legacy_code"], false);
    let (code, body) = send(
        &app,
        post.clone(),
        "/api/v1/enterprises",
        &cb1,
        enterprise("914403001922038217", false),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"].as_str().unwrap().contains("check character"),
        "{body}"
    );
    let (code, _) = send(
        &app,
        post.clone(),
        "/api/v1/enterprises",
        &cb1,
        enterprise("110108001234567", false),
    )
    .await;
    assert_eq!(
        code,
        StatusCode::BAD_REQUEST,
        "a legacy code needs the flag"
    );
    let (code, body) = send(
        &app,
        post.clone(),
        "/api/v1/enterprises",
        &cb1,
        enterprise("110108001234567", true),
    )
    .await;
    assert_eq!(
        (code, body["legacy_code"].as_bool()),
        (StatusCode::CREATED, Some(true))
    );
    let (code, _) = send(
        &app,
        post.clone(),
        "/api/v1/enterprises",
        &cb1,
        enterprise("914403001922038216", false),
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT);

    let (code, body) = send(
        &app,
        post.clone(),
        "/api/v1/enterprises",
        &ghost,
        enterprise("91110108795101314G", false),
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("not registered"));
    let (code, _) = send(
        &app,
        post,
        "/api/v1/enterprises",
        &admin,
        enterprise("91110108795101314G", false),
    )
    .await;
    assert_eq!(
        code,
        StatusCode::FORBIDDEN,
        "registering is the issuer's work"
    );

    let (_, mine) = send(&app, get.clone(), "/api/v1/enterprises", &cb1, None).await;
    assert_eq!(mine.as_array().unwrap().len(), 2);
    let (_, theirs) = send(&app, get.clone(), "/api/v1/enterprises", &ghost, None).await;
    assert_eq!(
        theirs.as_array().unwrap().len(),
        0,
        "an issuer sees only its own"
    );
    let (code, _) = send(
        &app,
        get.clone(),
        "/api/v1/enterprises/914403001922038216",
        &ghost,
        None,
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, one) = send(
        &app,
        get.clone(),
        "/api/v1/enterprises/914403001922038216",
        &admin,
        None,
    )
    .await;
    assert_eq!(
        (code, one["name"].as_str()),
        (StatusCode::OK, Some("江西某米业有限公司"))
    );
    let (code, _) = send(&app, get, "/api/v1/enterprises", &supervisor, None).await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn certificates_follow_their_lifecycle(db: TestDb) {
    let (admin, _) = tokens(&db).await;
    let (cb1, cb2) = {
        let log = db.log().await;
        let grant = |id: &str| Grant::new(Role::Issuer, Some(id.to_owned()), vec![]).unwrap();
        let a = create_token(&log, grant("jx-cb1"), None, "test")
            .await
            .unwrap();
        let b = create_token(&log, grant("jx-cb2"), None, "test")
            .await
            .unwrap();
        log.shutdown().await;
        (a.bearer, b.bearer)
    };
    let app = TestApp::spawn(&db).await;
    let post = reqwest::Method::POST;
    let get = reqwest::Method::GET;
    for id in ["jx-cb1", "jx-cb2"] {
        let (code, _) = send(
            &app,
            post.clone(),
            "/api/v1/issuers",
            &admin,
            Some(issuer(id, "360000")),
        )
        .await;
        assert_eq!(code, StatusCode::CREATED);
    }
    let enterprise = json!({"uscc": "91330000704202479R", "name": "某米业", "region": "360100"});
    let (code, _) = send(
        &app,
        post.clone(),
        "/api/v1/enterprises",
        &cb1,
        Some(enterprise),
    )
    .await;
    assert_eq!(code, StatusCode::CREATED);
    let application = json!({"enterprise_uscc": "91330000704202479R", "product_name": "有机大米",
        "product_category": "粮食", "standard": "T/JXGE 001-2026", "scope": "5 kg bags"});
    let apply = || async {
        let (code, body) = send(
            &app,
            post.clone(),
            "/api/v1/certificates",
            &cb1,
            Some(application.clone()),
        )
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
    let (code, body) = send(
        &app,
        post.clone(),
        "/api/v1/certificates",
        &cb1,
        Some(unknown),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("is not a licensee of issuer jx-cb1"),
        "{body}"
    );
    let step = |id: &str, action: &str| format!("/api/v1/certificates/{id}/{action}");
    let evaluation = |result: &str| {
        Some(json!({"evaluator": "第三方评价机构", "result": result,
        "report_sha256": "ab".repeat(32), "date": "2026-10-01"}))
    };
    let issuing = |code: &str, from: &str, until: &str| {
        Some(json!({"code": code, "valid_from": from, "valid_until": until}))
    };
    let reason = Some(json!({"reason": "抽检不合格"}));

    let c1 = apply().await;
    let (code, body) = send(
        &app,
        post.clone(),
        &step(&c1, "issue"),
        &cb1,
        issuing("JX-GE-2026-001", "2026-01-01", "2099-12-31"),
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("is applied; it cannot be issued"),
        "{body}"
    );
    let (code, body) = send(
        &app,
        post.clone(),
        &step(&c1, "evaluate"),
        &cb1,
        evaluation("pass"),
    )
    .await;
    assert_eq!(
        (code, body["state"].as_str()),
        (StatusCode::OK, Some("evaluated"))
    );
    let (code, body) = send(
        &app,
        post.clone(),
        &step(&c1, "issue"),
        &cb1,
        issuing("JX-GE-2026-001", "2026-01-01", "2099-12-31"),
    )
    .await;
    assert_eq!(
        (code, body["state"].as_str()),
        (StatusCode::OK, Some("issued")),
        "{body}"
    );
    assert_eq!(body["code"], "JX-GE-2026-001");
    assert_eq!(body["valid_until"], "2099-12-31");
    for (action, body, status, state) in [
        ("suspend", reason.clone(), StatusCode::OK, "suspended"),
        ("suspend", reason.clone(), StatusCode::CONFLICT, ""),
        ("reinstate", None, StatusCode::OK, "issued"),
        ("revoke", reason.clone(), StatusCode::OK, "revoked"),
        ("reinstate", None, StatusCode::CONFLICT, ""),
    ] {
        let (code, answer) = send(&app, post.clone(), &step(&c1, action), &cb1, body).await;
        assert_eq!(code, status, "{action}: {answer}");
        if status == StatusCode::OK {
            assert_eq!(answer["state"], state, "{action}");
        }
    }

    // A failed evaluation cannot be issued; a code cannot be issued twice; validity ends.
    let c2 = apply().await;
    send(
        &app,
        post.clone(),
        &step(&c2, "evaluate"),
        &cb1,
        evaluation("fail"),
    )
    .await;
    let (code, body) = send(
        &app,
        post.clone(),
        &step(&c2, "issue"),
        &cb1,
        issuing("JX-GE-2026-002", "2026-01-01", "2099-12-31"),
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert!(
        body["detail"].as_str().unwrap().contains("is rejected"),
        "{body}"
    );
    let c3 = apply().await;
    send(
        &app,
        post.clone(),
        &step(&c3, "evaluate"),
        &cb1,
        evaluation("pass"),
    )
    .await;
    let (code, body) = send(
        &app,
        post.clone(),
        &step(&c3, "issue"),
        &cb1,
        issuing("JX-GE-2026-001", "2026-01-01", "2099-12-31"),
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("certificate code JX-GE-2026-001 already exists"),
        "{body}"
    );
    let (code, body) = send(
        &app,
        post.clone(),
        &step(&c3, "issue"),
        &cb1,
        issuing("JX-GE-2020-009", "2020-01-01", "2020-12-31"),
    )
    .await;
    assert_eq!(
        (code, body["state"].as_str()),
        (StatusCode::OK, Some("expired")),
        "{body}"
    );

    // Bad input, another issuer's certificate, a suspended issuer.
    let (code, _) = send(&app, post.clone(), &step(&c3, "evaluate"), &cb1, Some(json!({"evaluator": "x", "result": "pass", "report_sha256": "ab".repeat(32), "date": "2026-13-01"}))).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let c4 = apply().await;
    send(
        &app,
        post.clone(),
        &step(&c4, "evaluate"),
        &cb1,
        evaluation("pass"),
    )
    .await;
    let (code, body) = send(
        &app,
        post.clone(),
        &step(&c4, "issue"),
        &cb1,
        issuing("jx-lower", "2026-01-01", "2099-12-31"),
    )
    .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("certificate code"),
        "{body}"
    );
    let (code, _) = send(
        &app,
        get.clone(),
        &format!("/api/v1/certificates/{c4}"),
        &cb2,
        None,
    )
    .await;
    assert_eq!(
        code,
        StatusCode::NOT_FOUND,
        "another issuer's certificate is invisible"
    );
    let (code, _) = send(
        &app,
        post.clone(),
        &step(&c4, "revoke"),
        &cb2,
        reason.clone(),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    send(
        &app,
        post.clone(),
        "/api/v1/issuers/jx-cb1/suspend",
        &admin,
        Some(json!({"reason": "audit"})),
    )
    .await;
    let (code, body) = send(
        &app,
        post.clone(),
        &step(&c4, "issue"),
        &cb1,
        issuing("JX-GE-2026-004", "2026-01-01", "2099-12-31"),
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert!(
        body["detail"].as_str().unwrap().contains("suspended"),
        "{body}"
    );

    let (_, all) = send(&app, get.clone(), "/api/v1/certificates", &admin, None).await;
    assert_eq!(all.as_array().unwrap().len(), 4);
    let (_, none) = send(&app, get, "/api/v1/certificates", &cb2, None).await;
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
