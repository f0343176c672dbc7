//! Access tokens end to end, on both backends: minted and revoked with the CLI, checked by the
//! service: 401 without a valid token, 403 for the wrong role, revocation effective at once.

mod common;

use common::{TestApp, TestDb};
use marktrace::access::{Grant, Role, create_token};
use marktrace::domain::issuer::IssuerRegistered;
use marktrace::domain::region::RegionCode;
use reqwest::StatusCode;

/// Runs `token create` and returns (token id, bearer token) from what it printed.
fn create(db: &TestDb, args: &[&str]) -> (String, String) {
    let mut full = vec!["token", "create"];
    full.extend_from_slice(args);
    let out = db.marktrace(&full);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
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
    db.log().await.shutdown().await;
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
    let log = db.log().await;
    let region = RegionCode::parse("360000").unwrap();
    let registered = IssuerRegistered::new("jx-cb1", "认证中心", "江西绿色生态", region).unwrap();
    marktrace::registry::register_issuer(&log, registered, "test")
        .await
        .unwrap();
    let nanchang = RegionCode::parse("360100").unwrap();
    let grants = [
        Grant::new(Role::Admin, None, vec![]),
        Grant::new(Role::Issuer, Some("jx-cb1".into()), vec![]),
        Grant::new(Role::Supervisor, None, vec![nanchang]),
        Grant::new(Role::Enforcement, None, vec![nanchang, region]),
        Grant::new(Role::Credit, None, vec![]),
    ];
    let mut tokens = Vec::new();
    for grant in grants {
        let grant = grant.unwrap();
        let role = grant.role;
        let minted = create_token(&log, grant, None, "test").await.unwrap();
        tokens.push((role, minted.bearer));
    }
    log.shutdown().await;
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

on_both_backends!(
    every_role_reaches_exactly_its_endpoint_groups,
    tokens_grant_by_role_and_stop_at_revocation,
    a_token_whose_scope_does_not_fit_its_role_is_not_minted,
);
