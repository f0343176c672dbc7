//! The console's sessions over a real socket, on both backends: signing in with an access
//! token sets an opaque, HttpOnly, SameSite=Strict cookie; the session stands for the token
//! until it signs out, and revoking the token ends it at once; every form is refused without
//! the session's own CSRF token and then changes nothing; the database keeps only a hash of
//! the session id; a role sees the pages its API calls allow.

use crate::common;
use common::tokens::mint_for;
use common::{TestApp, TestDb};
use marktrace::domain::access::Role;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;

/// A browser that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Signs `token` in; returns the `Cookie` header value of its session.
async fn sign_in(app: &TestApp, token: &str) -> String {
    let response = browser()
        .post(app.url("/console/login"))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/console");
    let set = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=43200",
    ] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(!set.contains("Secure"), "http public URL: {set}");
    set.split(';').next().unwrap().to_owned()
}

/// A page as the session sees it: its status, where it redirects, and its text.
async fn page(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, Option<String>, String) {
    let response = browser()
        .get(app.url(path))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_owned());
    (status, location, response.text().await.unwrap())
}

/// The session's CSRF token, as its pages carry it in every form.
fn csrf(html: &str) -> String {
    let field = html.split("name=\"csrf\" value=\"").nth(1).expect("a form");
    field.split('"').next().unwrap().to_owned()
}

async fn post_form(
    app: &TestApp,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let response = browser()
        .post(app.url(path))
        .header(COOKIE, cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

async fn a_session_stands_for_its_token_until_sign_out(db: TestDb) {
    let token = mint_for(&db, Role::Supervisor, None, &["360100"]).await;
    let app = TestApp::spawn(&db).await;
    // Not signed in: every page sends the browser to sign in.
    let (status, location, _) = page(&app, "mt_session=forged", "/console/flags").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/console/login"));
    // A wrong token is refused on the sign-in page, with no cookie.
    let wrong = browser()
        .post(app.url("/console/login"))
        .form(&[("token", "mt_0123456789abcdef_nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(SET_COOKIE).is_none());

    let cookie = sign_in(&app, &token).await;
    let (status, _, home) = page(&app, &cookie, "/console").await;
    assert_eq!(status, StatusCode::OK, "{home}");
    assert!(home.contains("360100 南昌市"), "the caller's scope: {home}");
    let (status, _, queue) = page(&app, &cookie, "/console/flags").await;
    assert_eq!(status, StatusCode::OK);
    assert!(queue.contains("<svg"), "the map");
    // The API's refusal for a page of another role.
    let (status, _, refused) = page(&app, &cookie, "/console/credit").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        refused.contains("this requires the credit role"),
        "{refused}"
    );

    // Sign-out needs the session's CSRF token; then the cookie signs nobody in.
    let (status, _) = post_form(&app, &cookie, "/console/logout", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = page(&app, &cookie, "/console").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "still signed in after a refused sign-out"
    );
    let token = csrf(&home);
    let (status, _) = post_form(&app, &cookie, "/console/logout", &[("csrf", &token)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, location, _) = page(&app, &cookie, "/console").await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/console/login"))
    );
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn revoking_the_token_ends_its_sessions(db: TestDb) {
    let token = mint_for(&db, Role::Supervisor, None, &["360100"]).await;
    let app = TestApp::spawn(&db).await;
    let first = sign_in(&app, &token).await;
    let second = sign_in(&app, &token).await;
    assert_ne!(first, second, "each sign-in is its own session");
    let token_id = token.split('_').nth(1).unwrap();
    let revoked = db.marktrace(&["token", "revoke", token_id]);
    assert!(revoked.status.success(), "{revoked:?}");
    for cookie in [first, second] {
        let (status, location, _) = page(&app, &cookie, "/console/flags").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location.as_deref(), Some("/console/login"));
    }
    app.stop().await.unwrap();
    db.cleanup().await;
}

/// A form without the session's CSRF token, or with another session's, is refused and
/// writes nothing; with its own it opens the case.
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing(db: TestDb) {
    let token = mint_for(&db, Role::Supervisor, None, &["360100"]).await;
    let app = TestApp::spawn(&db).await;
    let mine = sign_in(&app, &token).await;
    let other = sign_in(&app, &token).await;
    let (_, _, other_page) = page(&app, &other, "/console/cases").await;
    let (_, _, my_page) = page(&app, &mine, "/console/cases").await;
    let open = |csrf: String| {
        vec![
            ("csrf", csrf),
            ("owner_region", "360100".to_owned()),
            ("origin", "manual".to_owned()),
            ("title", "疑似伪造标识".to_owned()),
            ("serials", "17, 18".to_owned()),
        ]
    };
    let size = app.log_size().await;
    for csrf in [String::new(), csrf(&other_page)] {
        let form = open(csrf);
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = post_form(&app, &mine, "/console/cases", &pairs).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains("CSRF"), "{body}");
    }
    assert_eq!(app.log_size().await, size, "nothing written");
    let form = open(csrf(&my_page));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = post_form(&app, &mine, "/console/cases", &pairs).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (_, _, cases) = page(&app, &mine, "/console/cases").await;
    assert!(cases.contains("疑似伪造标识"), "{cases}");
    app.stop().await.unwrap();
    db.cleanup().await;
}

/// A multipart form body as a browser sends one: text fields, then one file.
fn multipart(fields: &[(&str, &str)], file: (&str, &[u8])) -> (String, Vec<u8>) {
    let boundary = "----marktrace-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    let (name, bytes) = file;
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A case's evidence uploaded in the console is recorded by the file's SHA-256 and size (the
/// file itself is not kept); a penalty decision the API refuses is refused with the API's
/// message naming the field, and closes nothing.
async fn evidence_is_hashed_and_a_bad_decision_is_refused_by_field(db: TestDb) {
    let token = mint_for(&db, Role::Supervisor, None, &["360100"]).await;
    let app = TestApp::spawn(&db).await;
    let cookie = sign_in(&app, &token).await;
    let (_, _, list) = page(&app, &cookie, "/console/cases").await;
    let form = [
        ("csrf", csrf(&list)),
        ("owner_region", "360100".to_owned()),
        ("origin", "manual".to_owned()),
        ("title", "证据测试".to_owned()),
    ];
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let opened = browser()
        .post(app.url("/console/cases"))
        .header(COOKIE, &cookie)
        .form(&pairs)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    let case_path = opened.headers()[LOCATION].to_str().unwrap().to_owned();
    let (_, _, case_page) = page(&app, &cookie, &case_path).await;
    let token = csrf(&case_page);

    let photo = b"\xff\xd8\xff\xe0 not really a jpeg, but bytes all the same";
    let (content_type, body) = multipart(
        &[("csrf", &token), ("description", "现场照片")],
        ("file", photo),
    );
    let uploaded = browser()
        .post(app.url(&format!("{case_path}/evidence")))
        .header(COOKIE, &cookie)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        uploaded.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        uploaded.text().await
    );
    let (_, _, after) = page(&app, &cookie, &case_path).await;
    let sha256 = marktrace::hex::hex(&<sha2::Sha256 as sha2::Digest>::digest(photo));
    assert!(
        after.contains(&format!("SHA-256 {sha256} · {} B", photo.len())),
        "{after}"
    );

    let size = app.log_size().await;
    let (status, refused) = post_form(
        &app,
        &cookie,
        &format!("{case_path}/close"),
        &[
            ("csrf", &token),
            ("outcome", "penalty"),
            ("name", "某公司"),
            ("uscc", "not-a-code"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused.contains("decision: missing field"), "{refused}");
    let mut decision: Vec<(String, String)> = common::cases::decision()
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    decision.retain(|(k, _)| k != "uscc");
    decision.push(("uscc".into(), "91330000704202479S".into()));
    let mut close = vec![
        ("csrf".to_owned(), token.clone()),
        ("outcome".into(), "penalty".into()),
    ];
    close.extend(decision);
    let pairs: Vec<(&str, &str)> = close
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, refused) = post_form(&app, &cookie, &format!("{case_path}/close"), &pairs).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        refused.contains("uscc"),
        "the API's message names the field: {refused}"
    );
    assert_eq!(app.log_size().await, size, "nothing written");
    app.stop().await.unwrap();
    db.cleanup().await;
}

/// The session table holds the SHA-256 of each session id, never the id the cookie carries,
/// and forgets a session once it has ended.
async fn the_database_keeps_only_a_hash_of_the_session(db: TestDb) {
    let token = mint_for(&db, Role::Credit, None, &[]).await;
    let app = TestApp::spawn(&db).await;
    let cookie = sign_in(&app, &token).await;
    let id = cookie.strip_prefix("mt_session=").unwrap();
    let store = db.store().await;
    let hash = marktrace::domain::access::session_sha256(id);
    let now = marktrace::clock::now_micros();
    let stored = store
        .session(&hash, &now)
        .await
        .unwrap()
        .expect("stored by hash");
    assert_eq!(stored.token_id, token.split('_').nth(1).unwrap());
    assert!(store.session(id, &now).await.unwrap().is_none());
    // Ended sessions are forgotten: nothing has ended yet; at the end of time, this one has.
    assert_eq!(store.purge_sessions(&now).await.unwrap(), 0);
    assert_eq!(
        store
            .purge_sessions("9999-12-31T23:59:59.999999Z")
            .await
            .unwrap(),
        1
    );
    assert!(store.session(&hash, &now).await.unwrap().is_none());
    app.stop().await.unwrap();
    db.cleanup().await;
}

on_both_backends!(
    a_session_stands_for_its_token_until_sign_out,
    revoking_the_token_ends_its_sessions,
    a_form_without_its_csrf_token_is_refused_and_changes_nothing,
    the_database_keeps_only_a_hash_of_the_session,
    evidence_is_hashed_and_a_bad_decision_is_refused_by_field,
);
