//! Access tokens end to end, on both backends: minted and revoked with the CLI, checked by the
//! service: 401 without a valid token, 403 for the wrong role, revocation effective at once.

mod common;

use std::process::{Command, Output};

use common::{ORIGIN, TestApp, TestDb};
use reqwest::StatusCode;

fn marktrace(db: &TestDb, args: &[&str]) -> Output {
    let keys = db.keys_dir.display().to_string();
    let mut command = Command::new(env!("CARGO_BIN_EXE_marktrace"));
    command.args(["--config", "/dev/null", "--database-url", &db.url]);
    command.args(["--keys-dir", &keys, "--log-origin", ORIGIN]);
    command.args(args).output().expect("run marktrace")
}

/// Runs `token create` and returns (token id, bearer token) from what it printed.
fn create(db: &TestDb, args: &[&str]) -> (String, String) {
    let mut full = vec!["token", "create"];
    full.extend_from_slice(args);
    let out = marktrace(db, &full);
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
    let revoked = marktrace(&db, &["token", "revoke", &admin_id]);
    assert!(revoked.status.success());
    assert_eq!(status(&app, Some(&admin)).await.0, StatusCode::UNAUTHORIZED);
    let unknown = marktrace(&db, &["token", "revoke", "0123456789abcdef"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no token 0123456789abcdef"));

    let list = marktrace(&db, &["token", "list"]);
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
        let out = marktrace(&db, &full);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(message),
            "{args:?}"
        );
    }
    let list = marktrace(&db, &["token", "list"]);
    assert!(list.stdout.is_empty(), "nothing was written");
    db.cleanup().await;
}

on_both_backends!(
    tokens_grant_by_role_and_stop_at_revocation,
    a_token_whose_scope_does_not_fit_its_role_is_not_minted,
);
