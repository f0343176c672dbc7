//! Access tokens end to end, on both backends: minted and revoked with the CLI, checked by the
//! service: 401 without a valid token, 403 for the wrong role, revocation effective at once.

use crate::common;
use common::tokens::mint;
use common::world::{USCC, batch, certify, evaluation, issuer, register_issuer, token, world};
use common::{TestApp, TestDb};
use marktrace::domain::access::Role;
use reqwest::StatusCode;

/// Runs `token create` and returns (token id, bearer token) from what it printed.
fn create(db: &TestDb, args: &[&str]) -> (String, String) {
    let mut full = vec!["token", "create"];
    full.extend_from_slice(args);
    let stdout = db.marktrace_ok(&full);
    let field = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap()
            .to_owned()
    };
    (
        field("token id: "),
        field("bearer token (shown once, store it now): "),
    )
}

async fn status(app: &TestApp, bearer: Option<&str>) -> (StatusCode, serde_json::Value, bool) {
    let mut request = app.client.get(app.url("/api/v1/tokens"));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let challenge = response.headers().contains_key("www-authenticate");
    (status, response.json().await.unwrap(), challenge)
}

async fn tokens_grant_by_role_and_stop_at_revocation(db: TestDb) {
    db.node().await.close().await;
    let (admin_id, admin) = create(&db, &["--role", "admin", "--note", "brand authority"]);
    let (supervisor_id, supervisor) = create(&db, &["--role", "supervisor", "--region", "360100"]);
    let app = TestApp::spawn(&db).await;

    let (code, body, challenge) = status(&app, None).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    assert_eq!(body["type"], "urn:marktrace:problem:unauthorized");
    assert!(challenge, "a 401 names the Bearer scheme");
    let forged = format!("mt_{admin_id}_notthesecret");
    for bad in ["nonsense", "mt_0123456789abcdef_x", forged.as_str()] {
        assert_eq!(
            status(&app, Some(bad)).await.0,
            StatusCode::UNAUTHORIZED,
            "{bad}"
        );
    }

    let (code, body, _) = status(&app, Some(&supervisor)).await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert_eq!(body["type"], "urn:marktrace:problem:forbidden");

    let (code, body, _) = status(&app, Some(&admin)).await;
    assert_eq!(code, StatusCode::OK);
    let listed = body.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["token_id"], admin_id);
    assert_eq!(listed[0]["role"], "admin");
    assert_eq!(listed[0]["note"], "brand authority");
    assert_eq!(listed[1]["regions"], serde_json::json!(["360100"]));
    let text = body.to_string();
    assert!(
        !text.contains(&admin) && !text.contains("sha256"),
        "no token or hash is listed"
    );

    // Revoked by another process; the next request already fails.
    let revoked = db.marktrace(&["token", "revoke", &admin_id]);
    assert!(revoked.status.success());
    assert_eq!(status(&app, Some(&admin)).await.0, StatusCode::UNAUTHORIZED);
    let unknown = db.marktrace(&["token", "revoke", "0123456789abcdef"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no token 0123456789abcdef"));

    let list = db.marktrace(&["token", "list"]);
    let lines: Vec<serde_json::Value> = String::from_utf8(list.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0]["revoked_at"].is_string());
    assert_eq!(lines[1]["token_id"], supervisor_id);
    assert!(lines[1].get("revoked_at").is_none());
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn a_token_whose_scope_does_not_fit_its_role_is_not_minted(db: TestDb) {
    for (args, message) in [
        (&["--role", "issuer"][..], "needs --issuer"),
        (&["--role", "supervisor"][..], "exactly one --region"),
        (
            &["--role", "credit", "--region", "360000"][..],
            "only supervisor and enforcement",
        ),
    ] {
        let mut full = vec!["token", "create"];
        full.extend_from_slice(args);
        let out = db.marktrace(&full);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(message),
            "{args:?}"
        );
    }
    let list = db.marktrace(&["token", "list"]);
    assert!(list.stdout.is_empty(), "nothing was written");
    db.cleanup().await;
}

/// One bearer token per role (the issuer's for a registered issuer), minted through the log.
async fn one_token_per_role(db: &TestDb) -> Vec<(Role, String)> {
    let node = db.node().await;
    let log = &node.services;
    register_issuer(log, "jx-cb1", "江西绿色生态", "360000").await;
    let mut tokens = Vec::new();
    for (role, issuer, regions) in [
        (Role::Admin, None, &[][..]),
        (Role::Issuer, Some("jx-cb1"), &[]),
        (Role::Supervisor, None, &["360100"]),
        (Role::Enforcement, None, &["360100", "360000"]),
        (Role::Credit, None, &[]),
    ] {
        tokens.push((role, mint(log, role, issuer, regions).await));
    }
    node.close().await;
    tokens
}

/// The access matrix: every endpoint group answered for every role, and for no token at all.
/// A forbidden write is refused (403) before its body is read; the permitted role reaches
/// validation of the deliberately empty body (400), so no row changes what the next sees.
async fn every_role_reaches_exactly_its_endpoint_groups(db: TestDb) {
    use Role::*;
    let tokens = one_token_per_role(&db).await;
    let app = TestApp::spawn(&db).await;
    let (get, post) = (reqwest::Method::GET, reqwest::Method::POST);
    const ANYONE: &[Role] = &[Admin, Issuer, Supervisor, Enforcement, Credit];
    // (group, method, path, roles permitted, whether anonymous callers are permitted)
    let matrix: Vec<(&str, reqwest::Method, &str, &[Role], bool)> = vec![
        ("public: keys", get.clone(), "/api/v1/keys", ANYONE, true),
        (
            "public: log",
            get.clone(),
            "/api/v1/log/checkpoint",
            ANYONE,
            true,
        ),
        ("ops", get.clone(), "/healthz", ANYONE, true),
        (
            "admin: tokens",
            get.clone(),
            "/api/v1/tokens",
            &[Admin],
            false,
        ),
        (
            "admin: issuers",
            get.clone(),
            "/api/v1/issuers/jx-cb1",
            &[Admin],
            false,
        ),
        (
            "admin: issuers",
            post.clone(),
            "/api/v1/issuers/jx-cb1/suspend",
            &[Admin],
            false,
        ),
        (
            "admin: keys",
            post.clone(),
            "/api/v1/keys/0011223344556677/compromise",
            &[Admin],
            false,
        ),
        (
            "registry reads",
            get.clone(),
            "/api/v1/enterprises",
            &[Admin, Issuer],
            false,
        ),
        (
            "registry reads",
            get.clone(),
            "/api/v1/certificates",
            &[Admin, Issuer],
            false,
        ),
        (
            "issuer: enterprises",
            post.clone(),
            "/api/v1/enterprises",
            &[Issuer],
            false,
        ),
        (
            "issuer: certificates",
            post.clone(),
            "/api/v1/certificates",
            &[Issuer],
            false,
        ),
        (
            "public: label URL",
            get.clone(),
            "/v/not-a-token",
            ANYONE,
            true,
        ),
        (
            "public: credit lookup",
            get.clone(),
            "/api/v1/public/credit?uscc=91330000704202479R",
            ANYONE,
            true,
        ),
        (
            "issuer: batches",
            get.clone(),
            "/api/v1/batches",
            &[Admin, Issuer],
            false,
        ),
        (
            "issuer: batches",
            post.clone(),
            "/api/v1/batches",
            &[Issuer],
            false,
        ),
        (
            "enforcement: flags",
            get.clone(),
            "/api/v1/flags",
            &[Supervisor, Enforcement],
            false,
        ),
        (
            "enforcement: cases",
            get.clone(),
            "/api/v1/cases",
            &[Supervisor, Enforcement],
            false,
        ),
        (
            "enforcement: cases",
            post.clone(),
            "/api/v1/cases",
            &[Supervisor],
            false,
        ),
        (
            "credit: feed",
            get.clone(),
            "/api/v1/credit/records",
            &[Credit],
            false,
        ),
        (
            "credit: CSV",
            get.clone(),
            "/api/v1/credit/records.csv",
            &[Credit],
            false,
        ),
    ];
    for (group, method, path, permitted, anonymous) in &matrix {
        let write = *method == post;
        let body = write.then(|| serde_json::json!({}));
        let call = |bearer: Option<String>| {
            let (method, body) = (method.clone(), body.clone());
            let app = &app;
            async move { app.send(method, path, bearer.as_deref(), body).await }
        };
        let (code, answer) = call(None).await;
        if *anonymous {
            assert!(
                code.is_success(),
                "{group} {path} anonymous: {code} {answer}"
            );
        } else {
            assert_eq!(code, StatusCode::UNAUTHORIZED, "{group} {path} anonymous");
        }
        for (role, bearer) in &tokens {
            let (code, answer) = call(Some(bearer.clone())).await;
            let what = format!("{group} {method} {path} as {role}: {code} {answer}");
            match (permitted.contains(role), write) {
                (true, false) => assert!(code.is_success(), "{what}"),
                (true, true) => assert_eq!(code, StatusCode::BAD_REQUEST, "{what}"),
                (false, _) => {
                    assert_eq!(code, StatusCode::FORBIDDEN, "{what}");
                    assert_eq!(answer["type"], "urn:marktrace:problem:forbidden", "{what}");
                }
            }
        }
    }
    for role in ANYONE {
        let allowed = matrix.iter().filter(|row| row.3.contains(role)).count();
        assert!(
            allowed > 0 && allowed < matrix.len(),
            "{role}: a permitted and a forbidden call"
        );
    }
    app.stop().await.unwrap();
    db.cleanup().await;
}

/// What a second certification body is told about the first one's licensee, certificate,
/// batch and marks: exactly what it is told about ones that do not exist, so it can neither
/// act on them nor learn that they exist; and nothing it is refused writes anything.
async fn a_second_issuer_can_neither_see_nor_certify_another_issuers_licensee(db: TestDb) {
    use reqwest::Method;
    use serde_json::json;
    let first = world(&db).await;
    let second = {
        let node = db.node().await;
        let log = &node.services;
        let bearer = issuer(log, "jx-cb2", None).await;
        node.close().await;
        bearer
    };
    let app = TestApp::spawn(&db).await;
    let body = json!({"certificate_id": first.certificate, "count": 3});
    let issued = batch(&app, &first.issuer, body).await;
    let (batch_id, serial) = (
        issued["batch_id"].as_str().unwrap().to_owned(),
        issued["first_serial"].as_u64().unwrap(),
    );
    let size = app.log_size().await;

    // (method, path with `{}` for the id, body, the first issuer's id, an id that exists nowhere)
    let missing_serial = (serial + 1000).to_string();
    let serial = serial.to_string();
    let missing_certificate = "0".repeat(32);
    let missing_batch = "1".repeat(32);
    let unregistered = "91110108795101314G";
    let reason = json!({"reason": "复查"});
    let evaluation = evaluation();
    let issuing = json!({"code": "JXGE-2026-0099", "valid_from": "2026-01-01",
        "valid_until": "2099-12-31"});
    let report = json!({"first": 1, "last": 1, "status": "lost"});
    let cert = first.certificate.as_str();
    let rows: Vec<(Method, &str, Option<serde_json::Value>, &str, &str)> = vec![
        (
            Method::GET,
            "/api/v1/enterprises/{}",
            None,
            USCC,
            unregistered,
        ),
        (
            Method::POST,
            "/api/v1/certificates",
            Some(json!({"enterprise_uscc": "{}", "product_name": "大米",
                "product_category": "粮食", "standard": "GB/T 1354", "scope": "全部"})),
            USCC,
            unregistered,
        ),
        (
            Method::GET,
            "/api/v1/certificates/{}",
            None,
            cert,
            &missing_certificate,
        ),
        (
            Method::POST,
            "/api/v1/certificates/{}/evaluate",
            Some(evaluation),
            cert,
            &missing_certificate,
        ),
        (
            Method::POST,
            "/api/v1/certificates/{}/issue",
            Some(issuing),
            cert,
            &missing_certificate,
        ),
        (
            Method::POST,
            "/api/v1/certificates/{}/suspend",
            Some(reason.clone()),
            cert,
            &missing_certificate,
        ),
        (
            Method::POST,
            "/api/v1/certificates/{}/reinstate",
            None,
            cert,
            &missing_certificate,
        ),
        (
            Method::POST,
            "/api/v1/certificates/{}/revoke",
            Some(reason),
            cert,
            &missing_certificate,
        ),
        (
            Method::POST,
            "/api/v1/batches",
            Some(json!({"certificate_id": "{}", "count": 2})),
            cert,
            &missing_certificate,
        ),
        (
            Method::GET,
            "/api/v1/batches/{}",
            None,
            &batch_id,
            &missing_batch,
        ),
        (
            Method::POST,
            "/api/v1/batches/{}/reports",
            Some(report),
            &batch_id,
            &missing_batch,
        ),
        (
            Method::GET,
            "/api/v1/batches/{}/marks.csv",
            None,
            &batch_id,
            &missing_batch,
        ),
        (
            Method::GET,
            "/api/v1/marks/{}",
            None,
            &serial,
            &missing_serial,
        ),
        (
            Method::GET,
            "/api/v1/marks/{}/qr.svg",
            None,
            &serial,
            &missing_serial,
        ),
        (
            Method::GET,
            "/api/v1/marks/{}/qr.png",
            None,
            &serial,
            &missing_serial,
        ),
    ];
    for (method, path, body, theirs, missing) in rows {
        let fill = |id: &str| {
            let body = body
                .as_ref()
                .map(|b| serde_json::from_str(&b.to_string().replace("{}", id)).unwrap());
            (path.replace("{}", id), body)
        };
        let mut answers = Vec::new();
        for id in [theirs, missing] {
            let (path, body) = fill(id);
            let (code, answer) = app.send(method.clone(), &path, Some(&second), body).await;
            assert!(code.is_client_error(), "{method} {path}: {code} {answer}");
            let detail = answer["detail"]
                .as_str()
                .unwrap_or_default()
                .replace(id, "…");
            answers.push((code, answer["type"].clone(), detail));
        }
        assert_eq!(answers[0], answers[1], "{method} {path}: theirs vs missing");
        // The first issuer may do the same reads (its writes are not repeated here).
        if method == Method::GET {
            let (code, _) = app
                .send(
                    method,
                    &path.replace("{}", theirs),
                    Some(&first.issuer),
                    None,
                )
                .await;
            assert!(code.is_success(), "{path} as the first issuer: {code}");
        }
    }
    for list in [
        "/api/v1/enterprises",
        "/api/v1/certificates",
        "/api/v1/batches",
    ] {
        let (code, answer) = app.get(list, Some(&second)).await;
        assert_eq!((code, answer), (StatusCode::OK, json!([])), "{list}");
    }
    assert_eq!(app.log_size().await, size, "nothing refused was written");

    // The same legal entity may be the second body's client too: its own licence, its own
    // certificate and marks, each naming the licensee as that body registered it.
    let licence = json!({"uscc": USCC, "name": "绿源米业（乙）", "region": "360100"});
    let register = || app.post("/api/v1/enterprises", Some(&second), licence.clone());
    let (code, licensee) = register().await;
    assert_eq!(code, StatusCode::CREATED, "{licensee}");
    assert_eq!(licensee["registered_by"], "jx-cb2");
    let (code, again) = register().await;
    assert_eq!(code, StatusCode::CONFLICT, "its own licence twice: {again}");
    let (_, own) = app
        .get(&format!("/api/v1/enterprises/{USCC}"), Some(&first.issuer))
        .await;
    assert_eq!(
        (own["registered_by"].as_str(), own["name"].as_str()),
        (Some("jx-cb1"), Some("绿源米业"))
    );
    let (_, all) = app.get("/api/v1/enterprises", Some(&first.admin)).await;
    let by: Vec<_> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["registered_by"].clone())
        .collect();
    assert_eq!(
        by,
        [json!("jx-cb1"), json!("jx-cb2")],
        "both licences, by USCC then issuer"
    );
    for (query, expected) in [
        ("limit=1", vec!["jx-cb1"]),
        (&format!("limit=1&after={USCC}:jx-cb1"), vec!["jx-cb2"]),
        (&format!("after={USCC}"), vec![]),
    ] {
        let path = format!("/api/v1/enterprises?{query}");
        let (_, page) = app.get(&path, Some(&first.admin)).await;
        let by: Vec<_> = page
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["registered_by"].clone())
            .collect();
        assert_eq!(by, expected, "{path}");
    }

    let id = certify(&app, &second, USCC, "JXGE-2026-0002").await;
    let body = json!({"certificate_id": id, "count": 2});
    let theirs = batch(&app, &second, body).await;
    let enterprise_named = |serial: u64, bearer: String| {
        let app = &app;
        async move {
            let body = json!({"token": token(app, &bearer, serial).await});
            let (code, answer) = app.post("/api/v1/verify", None, body).await;
            assert_eq!(code, StatusCode::OK);
            assert_eq!(answer["verdict"], "genuine", "{answer}");
            let fact = |name: &str| answer["facts"][name].as_str().unwrap().to_owned();
            (fact("issuer_id"), fact("enterprise_name"))
        }
    };
    let second_serial = theirs["first_serial"].as_u64().unwrap();
    assert_eq!(
        enterprise_named(second_serial, second.clone()).await,
        ("jx-cb2".to_owned(), "绿源米业（乙）".to_owned())
    );
    assert_eq!(
        enterprise_named(serial.parse().unwrap(), first.issuer.clone()).await,
        ("jx-cb1".to_owned(), "绿源米业".to_owned())
    );
    app.stop().await.unwrap();
    db.cleanup().await;
}

/// The brand authority mints and revokes tokens over the API as the CLI does: the bearer is in
/// the answer only and works at once; a scope that does not fit the role is a 400 and mints
/// nothing; revoking an unknown id is a 409; a revoked bearer is refused; no other role mints.
async fn the_api_mints_and_revokes_tokens(db: TestDb) {
    let admin = create(&db, &["--role", "admin"]).1;
    let app = TestApp::spawn(&db).await;
    let body = serde_json::json!({"role": "supervisor", "regions": ["360100"], "note": "南昌"});
    let (status, minted) = app.post("/api/v1/tokens", Some(&admin), body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{minted}");
    let bearer = minted["bearer"].as_str().unwrap().to_owned();
    let id = minted["token_id"].as_str().unwrap().to_owned();
    assert!(bearer.starts_with(&format!("mt_{id}_")), "{minted}");
    let (status, _) = app.get("/api/v1/flags", Some(&bearer)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, listed) = app.get("/api/v1/tokens", Some(&admin)).await;
    assert!(
        !listed.to_string().contains(&bearer),
        "the list never holds a bearer"
    );

    let before = app.log_size().await;
    let unfit = serde_json::json!({"role": "supervisor", "regions": []});
    let (status, problem) = app.post("/api/v1/tokens", Some(&admin), unfit).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("region"),
        "{problem}"
    );
    let (status, _) = app.post("/api/v1/tokens", Some(&bearer), body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.log_size().await, before, "nothing minted");

    let revoke = |id: &str| format!("/api/v1/tokens/{id}/revoke");
    let (status, _) = app
        .post(
            &revoke("0123456789abcdef"),
            Some(&admin),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = app
        .post(&revoke(&id), Some(&admin), serde_json::json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get("/api/v1/flags", Some(&bearer)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await.unwrap();
    db.cleanup().await;
}

on_both_backends!(
    the_api_mints_and_revokes_tokens,
    every_role_reaches_exactly_its_endpoint_groups,
    a_second_issuer_can_neither_see_nor_certify_another_issuers_licensee,
    tokens_grant_by_role_and_stop_at_revocation,
    a_token_whose_scope_does_not_fit_its_role_is_not_minted,
);
