//! Verification end to end, on both backends, through the label URLs and `POST
//! /api/v1/verify`: one test per verdict and reason of SPEC.md "Verdicts", the cache never
//! outliving a revocation, bad input never answered with a 5xx, the HTML page with its strict
//! CSP, and consumer reports. The per-client rate limit is tested with the other public routes
//! in tests/http.rs.

use std::time::Duration;

use crate::common;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::world::{World, certificate, world};
use common::{ALL_TIME, TestApp, TestDb, problem};
use ed25519_dalek::SigningKey;
use marktrace::app::services::Services;
use marktrace::clock;
use marktrace::domain::batch::BatchIssued;
use marktrace::domain::issuer::IssuerId;
use marktrace::domain::key::KeyId;
use marktrace::keys::Keyring;
use marktrace::mark::token::{MarkBody, sign};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::macros::date;

/// Rate limiting off: these tests are one client making many requests.
const NO_LIMIT: &[&str] = &["--public-rate", "0"];

struct Setup {
    world: World,
    app: TestApp,
    batch_id: String,
}

/// The world and a batch of 100 marks with a GTIN.
async fn setup(db: &TestDb) -> Setup {
    let world = world(db).await;
    let app = TestApp::spawn_with(db, NO_LIMIT).await;
    let body = json!({"certificate_id": world.certificate, "count": 100, "gtin": "06901234567892"});
    let batch = common::world::batch(&app, &world.issuer, body).await;
    let batch_id = batch["batch_id"].as_str().unwrap().to_owned();
    Setup {
        world,
        app,
        batch_id,
    }
}

impl Setup {
    async fn mark(&self, serial: u64) -> Value {
        common::world::mark(&self.app, &self.world.issuer, serial).await
    }

    async fn token(&self, serial: u64) -> String {
        common::world::token(&self.app, &self.world.issuer, serial).await
    }

    /// `GET /v/{token}` as JSON.
    async fn scan(&self, token: &str) -> (StatusCode, Value) {
        let response = self
            .app
            .client
            .get(self.app.url(&format!("/v/{token}")))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or_default())
    }

    async fn verify(&self, body: Value) -> Value {
        let (code, answer) = self.app.post("/api/v1/verify", None, body).await;
        assert_eq!(code, StatusCode::OK, "{answer}");
        answer
    }

    async fn report(&self, first: u64, last: u64, status: &str) {
        let path = format!("/api/v1/batches/{}/reports", self.batch_id);
        let body = json!({"first": first, "last": last, "status": status, "reason": "测试"});
        let (code, answer) = self.app.post(&path, Some(&self.world.issuer), body).await;
        assert_eq!(code, StatusCode::OK, "{answer}");
    }
}

fn verdict(answer: &Value) -> (&str, &str) {
    (
        answer["verdict"].as_str().unwrap(),
        answer["reason"].as_str().unwrap(),
    )
}

/// Issues `count` marks of `certificate` as jx-cb1 through the registry call the service and
/// `marktrace issue` make, on the day and at the Unix time `at`, with `log`, not the service.
async fn issue_directly(
    services: &Services,
    certificate: &str,
    count: u64,
    at: (time::Date, u64),
) -> BatchIssued {
    let marks = &services.marks;
    let request = marks
        .request(certificate, count, None, vec![], None, None)
        .unwrap();
    let issuer = IssuerId::parse("jx-cb1").unwrap();
    let entry = marks.issue_at(&issuer, request, at, "test").await.unwrap();
    (*entry.issued).clone()
}

/// A token's bytes, changed by `change`, re-encoded.
fn tampered(token: &str, change: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut bytes = URL_SAFE_NO_PAD.decode(token).unwrap();
    change(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

async fn a_genuine_mark_is_genuine_with_its_registered_facts(db: TestDb) {
    let s = setup(&db).await;
    let token = s.token(7).await;
    for _ in 0..2 {
        let (code, answer) = s.scan(&token).await;
        assert_eq!(code, StatusCode::OK);
        assert_eq!(verdict(&answer), ("genuine", "registered"), "cached or not");
        let facts = &answer["facts"];
        assert_eq!(facts["serial"], 7);
        assert_eq!(facts["brand"], "江西绿色生态");
        assert_eq!(facts["enterprise_name"], "绿源米业");
        assert_eq!(facts["enterprise_uscc"], common::world::USCC);
        assert_eq!(facts["product_name"], "大米");
        assert_eq!(facts["certificate_code"], "JXGE-2026-0001");
        assert_eq!(facts["certificate_status"], "valid");
        assert_eq!(facts["gtin"], "06901234567892");
        assert_eq!(answer["flags"], json!([]));
    }
    let gs1 = s.mark(7).await["gs1_url"].as_str().unwrap().to_owned();
    let answer = s.verify(json!({"url": gs1})).await;
    assert_eq!(verdict(&answer), ("genuine", "registered"));
    s.app.stop().await.unwrap();
    db.cleanup().await;
}

async fn forged_marks_are_forged_with_their_reason(db: TestDb) {
    let s = setup(&db).await;
    let token = s.token(7).await;
    // Does not decode: junk, oversized, non-ASCII, padded.
    for junk in [
        "x".to_owned(),
        "A".repeat(3000),
        "中文标识".to_owned(),
        format!("{token}=="),
    ] {
        let answer = s.verify(json!({"token": junk})).await;
        assert_eq!(verdict(&answer), ("forged", "malformed"), "{junk:.20}");
    }
    let (code, answer) = s.scan("%E4%B8%AD").await;
    assert_eq!(
        (code, verdict(&answer)),
        (StatusCode::OK, ("forged", "malformed"))
    );
    // Another version.
    let v2 = tampered(&token, |b| b[0] = 2);
    assert_eq!(
        verdict(&s.verify(json!({"token": v2})).await),
        ("forged", "unsupported_version")
    );
    // A key no issuer has.
    let stranger = SigningKey::from_bytes(&[42; 32]);
    let body = MarkBody::new(
        KeyId::of(&stranger.verifying_key()),
        7,
        "JXGE-2026-0001",
        None,
    )
    .unwrap();
    let unknown = sign(&stranger, &body);
    assert_eq!(
        verdict(&s.verify(json!({"token": unknown})).await),
        ("forged", "unknown_key")
    );
    // A registered body whose signature was damaged.
    let bad = tampered(&token, |b| *b.last_mut().unwrap() ^= 0x01);
    assert_eq!(
        verdict(&s.verify(json!({"token": bad})).await),
        ("forged", "bad_signature")
    );
    s.app.stop().await.unwrap();
    db.cleanup().await;
}

async fn a_registered_key_signing_an_unissued_serial_is_forged_and_raises_key_misuse(db: TestDb) {
    let s = setup(&db).await;
    let keyring = Keyring::open(&db.keys_dir).unwrap();
    let (_, keys) = s.app.get("/api/v1/keys?status=active", None).await;
    let key_id = KeyId::parse(keys["keys"][0]["key_id"].as_str().unwrap()).unwrap();
    let key = keyring
        .issuer_key(&IssuerId::parse("jx-cb1").unwrap(), key_id)
        .unwrap();
    let gtin = marktrace::domain::gtin::Gtin::parse("06901234567892").unwrap();
    let body = MarkBody::new(key_id, 999_999, "JXGE-2026-0001", Some(gtin)).unwrap();
    let misused = sign(&key, &body);
    let size_before = s.app.log_size().await;
    for _ in 0..3 {
        let answer = s.verify(json!({"token": misused})).await;
        assert_eq!(verdict(&answer), ("forged", "unregistered_signed_mark"));
        assert!(answer.get("facts").is_none());
    }
    assert_eq!(
        s.app.log_size().await,
        size_before + 1,
        "one event however often scanned"
    );
    let (_, entry) = s
        .app
        .get(&format!("/api/v1/log/entries/{size_before}"), None)
        .await;
    assert_eq!(entry["envelope"]["type"], "KeyMisuseDetected", "{entry}");
    assert_eq!(
        entry["data"],
        json!({"key_id": key_id.to_string(), "serial": 999_999, "severity": "critical"})
    );
    // The same key over an issued serial but another certificate code: a body the registry
    // never issued, signed by its key (not a changed genuine mark).
    let other = MarkBody::new(key_id, 8, "JXGE-2026-9999", Some(gtin)).unwrap();
    let answer = s.verify(json!({"token": sign(&key, &other)})).await;
    assert_eq!(verdict(&answer), ("forged", "unregistered_signed_mark"));
    s.app.stop().await.unwrap();
    db.cleanup().await;
}

async fn changed_marks_and_labels_are_altered(db: TestDb) {
    let s = setup(&db).await;
    let token = s.token(7).await;
    // The certificate code's bytes changed and re-encoded (JXGE-2026-0001 → JXGE-2026-0002).
    let changed = tampered(&token, |b| b[18 + 13] = b'2');
    let answer = s.verify(json!({"token": changed})).await;
    assert_eq!(verdict(&answer), ("altered", "body_mismatch"));
    assert_eq!(
        answer["facts"]["certificate_code"], "JXGE-2026-0001",
        "the genuine facts are shown"
    );
    // A GS1 label whose path serial was changed.
    let url = format!("http://localhost:8080/01/06901234567892/21/8?t={token}");
    assert_eq!(
        verdict(&s.verify(json!({"url": url})).await),
        ("altered", "url_mismatch")
    );
    let url = format!("http://localhost:8080/01/06901234567892/21/007?t={token}");
    assert_eq!(
        verdict(&s.verify(json!({"url": url})).await),
        ("altered", "url_mismatch")
    );
    // What an inspector read off the label disagrees with the registry.
    let claims = json!({"token": token, "claims": {"certificate_code": "JXGE-2026-0003"}});
    assert_eq!(
        verdict(&s.verify(claims).await),
        ("altered", "claims_mismatch")
    );
    // A real mark on another enterprise's product: still genuine, flagged traded.
    let claims = json!({"token": token, "claims": {"enterprise_uscc": "914403001922038216", "certificate_code": "JXGE-2026-0001"}});
    let answer = s.verify(claims).await;
    assert_eq!(verdict(&answer), ("genuine", "registered"));
    assert_eq!(answer["flags"], json!(["traded"]));
    let claims = json!({"token": token, "claims": {"gtin": "4006381333931"}});
    assert_eq!(s.verify(claims).await["flags"], json!(["traded"]));
    s.app.stop().await.unwrap();
    db.cleanup().await;
}

async fn reported_marks_are_void_revoked_or_suspended(db: TestDb) {
    let s = setup(&db).await;
    s.report(1, 10, "voided").await;
    s.report(11, 11, "lost").await;
    s.report(12, 12, "stolen").await;
    s.report(13, 13, "revoked").await;
    s.report(14, 14, "suspended").await;
    for (serial, expected, flags) in [
        (5, ("void", "voided"), json!(["leaked"])),
        (11, ("void", "lost"), json!(["leaked"])),
        (12, ("void", "stolen"), json!(["leaked"])),
        (13, ("revoked", "mark_revoked"), json!([])),
        (14, ("suspended", "mark_suspended"), json!([])),
        (15, ("genuine", "registered"), json!([])),
    ] {
        let answer = s.verify(json!({"token": s.token(serial).await})).await;
        assert_eq!(verdict(&answer), expected, "serial {serial}");
        assert_eq!(answer["flags"], flags, "serial {serial}");
    }
    s.app.stop().await.unwrap();
    db.cleanup().await;
}

async fn a_revocation_is_never_answered_from_the_cache(db: TestDb) {
    let s = setup(&db).await;
    let token = s.token(20).await;
    assert_eq!(
        verdict(&s.verify(json!({"token": token})).await),
        ("genuine", "registered")
    );
    assert_eq!(verdict(&s.scan(&token).await.1), ("genuine", "registered"));
    let path = format!("/api/v1/certificates/{}/suspend", s.world.certificate);
    let reason = json!({"reason": "抽检不合格"});
    let (code, _) = s
        .app
        .post(&path, Some(&s.world.issuer), reason.clone())
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        verdict(&s.scan(&token).await.1),
        ("suspended", "certificate_suspended")
    );
    let path = format!("/api/v1/certificates/{}/revoke", s.world.certificate);
    let (code, _) = s.app.post(&path, Some(&s.world.issuer), reason).await;
    assert_eq!(code, StatusCode::OK);
    let answer = s.scan(&token).await.1;
    assert_eq!(verdict(&answer), ("revoked", "certificate_revoked"));
    assert_eq!(answer["facts"]["certificate_status"], "revoked");
    // A compromised key's marks stay what they are, with the flag.
    let (_, keys) = s.app.get("/api/v1/keys", None).await;
    let key = keys["keys"][0]["key_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/keys/{key}/compromise");
    let (code, _) = s
        .app
        .post(&path, Some(&s.world.admin), json!({"reason": "泄露"}))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(s.scan(&token).await.1["flags"], json!(["key_compromised"]));
    s.app.stop().await.unwrap();
    db.cleanup().await;
}

async fn a_mark_issued_while_its_certificate_was_valid_stays_genuine_once_expired(db: TestDb) {
    let w = world(&db).await;
    let node = db.node().await;
    let expired = certificate(
        &node.services,
        "JXGE-2021-0042",
        date!(2021 - 01 - 01),
        date!(2021 - 12 - 31),
    )
    .await;
    // Issued on 2021-06-01, when the certificate was valid; the key's validity covers then.
    let at = (date!(2021 - 06 - 01), 1_622_505_600);
    let batch = issue_directly(&node.services, &expired, 5, at).await;
    node.close().await;
    let app = TestApp::spawn_with(&db, NO_LIMIT).await;
    let mark = common::world::mark(&app, &w.issuer, batch.first_serial).await;
    let body = json!({"token": mark["token"]});
    let (_, answer) = app.post("/api/v1/verify", None, body).await;
    assert_eq!(verdict(&answer), ("genuine", "registered"));
    assert_eq!(answer["facts"]["certificate_status"], "expired");
    assert_eq!(answer["facts"]["valid_until"], "2021-12-31");
    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn the_page_is_html_with_a_strict_policy_and_reports_are_taken(db: TestDb) {
    let s = setup(&db).await;
    let token = s.token(3).await;
    let response = s
        .app
        .client
        .get(s.app.url(&format!("/v/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = response.text().await.unwrap();
    assert!(html.contains("lang=\"zh-CN\"") && html.contains("绿源米业"));
    // The report form, as a browser posts it.
    let form = [
        ("token", token.as_str()),
        ("region", "360100"),
        ("note", "包装粗糙"),
        ("contact", ""),
    ];
    let response = s
        .app
        .client
        .post(s.app.url("/api/v1/reports"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.text().await.unwrap().contains("<html"));
    // And as JSON; confidential in the log.
    let body = json!({"token": token, "note": "价格异常低", "contact": "138-0000-0000"});
    let (code, filed) = s.app.post("/api/v1/reports", None, body).await;
    assert_eq!(code, StatusCode::CREATED);
    assert_eq!(filed["report_id"].as_str().unwrap().len(), 32);
    let last = s.app.log_size().await - 1;
    let (_, entry) = s
        .app
        .get(&format!("/api/v1/log/entries/{last}"), None)
        .await;
    assert_eq!(entry["envelope"]["visibility"], "confidential");
    assert!(
        !entry.to_string().contains("138-0000-0000"),
        "a contact is never public"
    );
    for bad in [
        json!({"token": token, "note": ""}),
        json!({"token": token, "note": "x", "region": "999999"}),
    ] {
        let (code, problem) = s.app.post("/api/v1/reports", None, bad).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{problem}");
    }
    s.app.stop().await.unwrap();
    db.cleanup().await;
}

/// SPEC.md "Log and transparency": a confidential event's data carries a random salt, so its
/// public `data_sha256` confirms no guess. A contact is one of 10,000 endings of a known
/// prefix; the data rebuilt as reports were stored before salting matches none of them.
async fn a_confidential_entry_s_hash_confirms_no_guess(db: TestDb) {
    let s = setup(&db).await;
    let token = s.token(5).await;
    let (note, contact) = ("价格异常低", "138-0000-4821");
    let mut filed = Vec::new();
    for _ in 0..2 {
        let body = json!({"token": token, "note": note, "contact": contact});
        let (code, answer) = s.app.post("/api/v1/reports", None, body).await;
        assert_eq!(code, StatusCode::CREATED, "{answer}");
        let index = s.app.log_size().await - 1;
        filed.push((answer["report_id"].as_str().unwrap().to_owned(), index));
    }
    let store = db.store().await;
    let mut salts = Vec::new();
    for (report_id, index) in &filed {
        // What anyone reads.
        let (code, entry) = s
            .app
            .get(&format!("/api/v1/log/entries/{index}"), None)
            .await;
        assert_eq!(code, StatusCode::OK, "{entry}");
        assert_eq!(entry["envelope"]["type"], "ConsumerReportFiled");
        assert!(entry.get("data").is_none(), "{entry}");
        let public = entry["envelope"]["data_sha256"].as_str().unwrap();
        let q = |text: &str| serde_json::to_string(text).unwrap();
        let guess = |n: u32| {
            format!(
                r#"{{"report_id":{},"token":{},"note":{},"contact":{}}}"#,
                q(report_id),
                q(&token),
                q(note),
                q(&format!("138-0000-{n:04}"))
            )
        };
        let matched: Vec<u32> = (0..10_000)
            .filter(|&n| marktrace::log::event::sha256_hex(guess(n).as_bytes()) == public)
            .collect();
        assert_eq!(
            matched,
            Vec::<u32>::new(),
            "the public hash confirmed a guess"
        );

        // What the store holds, and an entitled reader gets: the data the hash commits to,
        // with its salt, otherwise exactly as reports were stored before (so the guess above
        // was the right one to try).
        let stored = store.read_log(*index, 1).await.unwrap().remove(0);
        assert_eq!(stored.index, *index);
        assert_eq!(
            marktrace::log::event::sha256_hex(stored.data.as_bytes()),
            public
        );
        let data: Value = serde_json::from_str(&stored.data).unwrap();
        assert_eq!(data["contact"], contact);
        assert_eq!(data["note"], note);
        let salt = data["salt"].as_str().expect("a salt").to_owned();
        assert!(
            salt.len() >= 32 && salt.bytes().all(|b| b.is_ascii_hexdigit()),
            "at least 16 random bytes, hex: {salt}"
        );
        assert_eq!(
            stored.data.replacen(&format!(r#""salt":"{salt}","#), "", 1),
            guess(4821)
        );
        salts.push(salt);
    }
    assert_ne!(salts[0], salts[1], "a fresh salt per event");
    s.app.stop().await.unwrap();
    db.cleanup().await;
}

/// SPEC.md "Label URL": a label URL on a host the brand does not print is a changed label.
/// Label hosts are the public URL's host and port, compared case-insensitively, and any
/// `--label-host`; a forged token stays forged wherever it points.
async fn a_label_url_on_a_host_the_brand_does_not_print_is_altered(db: TestDb) {
    let s = setup(&db).await;
    let token = s.token(7).await;
    let gs1 = |host: &str| format!("{host}/01/06901234567892/21/7?t={token}");
    let short = |host: &str| format!("{host}/v/{token}");
    for url in [
        short("http://localhost:8080"),
        short("http://LocalHost:8080"),
        gs1("http://localhost:8080"),
    ] {
        let answer = s.verify(json!({ "url": url })).await;
        assert_eq!(verdict(&answer), ("genuine", "registered"), "{url}");
    }
    for url in [
        short("http://evil.example"),
        short("https://evil.example"),
        short("http://localhost:8081"),
        short("http://localhost"),
        short("http://localhost:8080@evil.example"),
        short("https://old.example.cn"),
        gs1("http://evil.example"),
    ] {
        let answer = s.verify(json!({ "url": url })).await;
        assert_eq!(verdict(&answer), ("altered", "url_mismatch"), "{url}");
        assert_eq!(answer["facts"]["serial"], 7, "the genuine facts are shown");
    }
    let bad = tampered(&token, |b| *b.last_mut().unwrap() ^= 0x01);
    let answer = s
        .verify(json!({"url": format!("http://evil.example/v/{bad}")}))
        .await;
    assert_eq!(verdict(&answer), ("forged", "bad_signature"));
    // The command line applies the same rule, offline.
    let out = db.marktrace(&["verify", &short("http://evil.example")]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(r#"offline: {"verdict":"altered","reason":"url_mismatch""#),
        "{stdout}"
    );
    s.app.stop().await.unwrap();

    // A deployment that moved domain keeps its old labels genuine.
    let moved = ["--public-rate", "0", "--label-host", "OLD.example.cn"];
    let app = TestApp::spawn_with(&db, &moved).await;
    for (url, expected) in [
        (short("https://old.example.cn"), ("genuine", "registered")),
        (gs1("http://Old.Example.CN"), ("genuine", "registered")),
        (short("http://localhost:8080"), ("genuine", "registered")),
        (short("http://evil.example"), ("altered", "url_mismatch")),
    ] {
        let (code, answer) = app
            .post("/api/v1/verify", None, json!({ "url": url }))
            .await;
        assert_eq!(code, StatusCode::OK, "{answer}");
        assert_eq!(verdict(&answer), expected, "{url}");
    }
    let out = db.marktrace(&[
        "--label-host",
        "old.example.cn",
        "verify",
        &short("https://old.example.cn"),
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(r#"offline: {"verdict":"genuine","reason":"registered""#),
        "{stdout}"
    );
    app.stop().await.unwrap();
    db.cleanup().await;
}

/// Semantic errors are `invalid-request`, only a body that is not JSON is `invalid-json`, and
/// a report over the size limit is a 413 whether it is JSON or the page's form.
async fn errors_have_the_types_the_api_promises(db: TestDb) {
    let s = setup(&db).await;
    let token = s.token(3).await;
    let post = |body: String, content_type: &'static str| {
        s.app
            .client
            .post(s.app.url("/api/v1/verify"))
            .header("content-type", content_type)
            .body(body)
    };
    for (body, kind, detail) in [
        (
            json!({"token": token, "region": "36"}),
            "invalid-request",
            "six",
        ),
        (
            json!({"token": token, "claims": {"gtin": "06901234567893"}}),
            "invalid-request",
            "check digit",
        ),
        (json!({"token": 7}), "invalid-request", "token"),
        (
            json!({"token": token, "extra": 1}),
            "invalid-request",
            "extra",
        ),
    ] {
        let response = post(body.to_string(), "application/json");
        let problem = problem(
            response.send().await.unwrap(),
            StatusCode::BAD_REQUEST,
            kind,
        )
        .await;
        assert!(
            problem["detail"].as_str().unwrap().contains(detail),
            "{body}: {problem}"
        );
    }
    for body in ["{\"token\": ", "not json", "{\"token\": \"a\",}"] {
        let response = post(body.into(), "application/json").send().await.unwrap();
        problem(response, StatusCode::BAD_REQUEST, "invalid-json").await;
    }
    // Over the 64 KiB limit, as JSON and as the page's form.
    let note = "x".repeat(70_000);
    let json_report = s
        .app
        .client
        .post(s.app.url("/api/v1/reports"))
        .json(&json!({"token": token, "note": note}));
    let form_report = s
        .app
        .client
        .post(s.app.url("/api/v1/reports"))
        .form(&[("token", token.as_str()), ("note", note.as_str())]);
    for request in [json_report, form_report] {
        let response = request.send().await.unwrap();
        problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large").await;
    }
    s.app.stop().await.unwrap();
    db.cleanup().await;
}

async fn bad_requests_are_4xx_never_5xx(db: TestDb) {
    let s = setup(&db).await;
    for body in [
        json!({}),
        json!({"token": "a", "url": "b"}),
        json!({"url": "https://x/y"}),
        json!({"token": "a", "region": "12"}),
    ] {
        let (code, problem) = s.app.post("/api/v1/verify", None, body.clone()).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{body}: {problem}");
    }
    let long = "A".repeat(5000);
    for path in [
        format!("/v/{long}"),
        "/01/x/21/y".to_owned(),
        "/01/x/21/y?t=".to_owned(),
        "/v/a?region=abc".to_owned(),
    ] {
        let response = s
            .app
            .client
            .get(s.app.url(&path))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success() || response.status().is_client_error(),
            "{path}: {}",
            response.status()
        );
    }
    s.app.stop().await.unwrap();
    db.cleanup().await;
}

async fn the_cli_verifies_offline_and_online(db: TestDb) {
    let s = setup(&db).await;
    let gs1 = s.mark(9).await["gs1_url"].as_str().unwrap().to_owned();
    let out = db.marktrace(&["verify", &gs1, "--server", &s.app.base]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    for mode in ["offline: ", "online: "] {
        let line = stdout.lines().find_map(|l| l.strip_prefix(mode)).unwrap();
        let answer: Value = serde_json::from_str(line).unwrap();
        assert_eq!(verdict(&answer), ("genuine", "registered"), "{mode}");
    }
    let out = db.marktrace(&["verify", "not-a-token"]);
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains(r#""verdict":"forged","reason":"malformed""#)
    );
    s.app.stop().await.unwrap();
    db.cleanup().await;
}

async fn scans_are_recorded_hashed_and_a_graceful_stop_loses_none(db: TestDb) {
    let s = setup(&db).await;
    let token = s.token(30).await;
    let scans = 200;
    for i in 0..scans {
        let path = format!(
            "/v/{token}?region={}",
            if i % 2 == 0 { "360102" } else { "361102" }
        );
        let (code, _) = s.app.get(&path, None).await;
        assert_eq!(code, StatusCode::OK);
    }
    // Undecodable tokens name no serial: no scan.
    s.verify(json!({"token": "junk"})).await;
    s.app.stop().await.unwrap();
    let store = db.store().await;
    assert_eq!(
        store.scan_count().await.unwrap(),
        scans,
        "every answered scan was written"
    );
    let recorded = store.scans_of(&[30], ALL_TIME, 1000).await.unwrap();
    assert_eq!(recorded.len() as u64, scans);
    let clients: std::collections::HashSet<_> =
        recorded.iter().map(|r| r.scan.client.clone()).collect();
    assert_eq!(clients.len(), 1, "one client");
    let client = clients.into_iter().next().unwrap();
    assert!(client.len() == 64 && client.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!client.contains("127.0.0.1"));
    assert!(
        recorded
            .iter()
            .all(|r| r.scan.verdict.as_str() == "genuine")
    );
    let regions: std::collections::HashSet<_> = recorded
        .iter()
        .map(|r| r.scan.region.unwrap().to_string())
        .collect();
    assert_eq!(regions.len(), 2);
    db.cleanup().await;
}

/// A batch issued by another process on the same database (`marktrace issue` beside a running
/// service) is genuine at once, not a key's misuse: the service reads the log before saying so.
async fn a_batch_issued_by_another_process_is_never_taken_for_key_misuse(db: TestDb) {
    let w = world(&db).await;
    let app = TestApp::spawn_with(&db, NO_LIMIT).await;
    // Warm the service's index, then issue through a separate log handle it hears nothing from.
    let before = app.log_size().await;
    let node = db.node().await;
    let today = time::OffsetDateTime::now_utc().date();
    let at = (today, clock::unix_now());
    let batch = issue_directly(&node.services, &w.certificate, 3, at).await;
    let keyring = Keyring::open(&db.keys_dir).unwrap();
    let issuer = IssuerId::parse("jx-cb1").unwrap();
    let key = keyring.issuer_key(&issuer, batch.key_id).unwrap();
    let body = MarkBody::new(
        batch.key_id,
        batch.first_serial,
        &batch.certificate_code,
        None,
    )
    .unwrap();
    let token = sign(&key, &body);
    node.close().await;
    let (_, answer) = app
        .post("/api/v1/verify", None, json!({"token": token}))
        .await;
    assert_eq!(verdict(&answer), ("genuine", "registered"));
    let size = db.store().await.log_size().await.unwrap();
    assert_eq!(size, before + 1, "the batch, and no KeyMisuseDetected");
    app.stop().await.unwrap();
    db.cleanup().await;
}

/// `POST /api/v1/verify/batch` (a platform's listings, customs sampling): one answer per item
/// in order, each what `POST /verify` answers; scans only with a region; a bad item refuses
/// the whole request; a token holder's bucket empties and refills at `verify_batch_rate`
/// marks a second while another holder is still served.
async fn a_batch_of_marks_is_verified_each_as_alone(db: TestDb) {
    let world = world(&db).await;
    let tokens = common::cases::tokens(&db).await;
    let limited = [NO_LIMIT, &["--verify-batch-rate", "1"]].concat();
    let app = TestApp::spawn_with(&db, &limited).await;
    let body = json!({"certificate_id": world.certificate, "count": 10, "gtin": "06901234567892"});
    let batch = common::world::batch(&app, &world.issuer, body).await;
    let first = batch["first_serial"].as_u64().unwrap();
    let genuine = common::world::token(&app, &world.issuer, first).await;
    let url = format!(
        "{}/01/06901234567892/21/{}?t={genuine}",
        app.base,
        first + 1
    );
    let items = json!([{"token": genuine}, {"url": url}, {"token": "AQ"},
        {"token": genuine, "claims": {"certificate_code": "JXGE-2026-0002"}}]);
    let path = "/api/v1/verify/batch";
    let credit = Some(tokens.credit.as_str());
    let (code, answers) = app.post(path, credit, json!({"items": items})).await;
    assert_eq!(code, StatusCode::OK, "{answers}");
    let answers = answers["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 4);
    for (item, answer) in items.as_array().unwrap().iter().zip(answers) {
        let (_, alone) = app.post("/api/v1/verify", None, item.clone()).await;
        assert_eq!(verdict(answer), verdict(&alone), "{item}");
    }
    assert_eq!(verdict(&answers[0]), ("genuine", "registered"));
    assert_eq!(verdict(&answers[1]), ("altered", "url_mismatch"));
    assert_eq!(verdict(&answers[3]), ("altered", "claims_mismatch"));

    // Without a region nothing was recorded; with one, each item is a scan there.
    let sampled = json!({"items": [{"token": genuine}, {"token": genuine}], "region": "360100"});
    let (code, _) = app.post(path, Some(&tokens.admin), sampled).await;
    assert_eq!(code, StatusCode::OK);
    let activity = format!("/api/v1/cases/marks/{first}");
    let supervisor = Some(tokens.nanchang.as_str());
    let count = |days: &[Value], region: Value| -> u64 {
        days.iter()
            .filter(|d| d["region"] == region)
            .map(|d| d["scans"].as_u64().unwrap())
            .sum()
    };
    let scans = common::eventually(Duration::from_secs(10), "the sampled scans", || async {
        let (_, mark) = app.get(&activity, supervisor).await;
        let days = mark["scans"].as_array().cloned().unwrap_or_default();
        (count(&days, json!("360100")) == 2).then_some(days)
    })
    .await;
    // Scans are written in order, so the earlier ones are in: the three single verifications
    // of this serial's token (no region), and none from the batch without a region.
    assert_eq!(count(&scans, Value::Null), 3, "{scans:?}");

    // One bad item refuses the request, naming it; more than 1,000 are refused; no token is
    // a 401.
    let bad = json!({"items": [{"token": genuine}, {"url": "https://x.example/nothing"}]});
    let (code, problem) = app.post(path, credit, bad).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        problem["detail"].as_str().unwrap().starts_with("items[1]"),
        "{problem}"
    );
    let many: Vec<Value> = (0..1001).map(|_| json!({"token": "AQ"})).collect();
    let (code, _) = app.post(path, credit, json!({"items": many})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let (code, _) = app.post(path, None, json!({"items": items})).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);

    // A full batch empties the bucket (1,000 marks at 1 a second): the next batch waits.
    let full: Vec<Value> = (0..1000).map(|_| json!({"token": genuine})).collect();
    let issuer = Some(world.issuer.as_str());
    let (code, _) = app.post(path, issuer, json!({"items": full})).await;
    assert_eq!(code, StatusCode::OK);
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(&world.issuer)
        .json(&json!({"items": [{"token": genuine}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let (code, _) = app
        .post(path, credit, json!({"items": [{"token": genuine}]}))
        .await;
    assert_eq!(code, StatusCode::OK, "another holder's bucket");
    app.stop().await.unwrap();
    db.cleanup().await;
}

on_both_backends!(
    a_batch_of_marks_is_verified_each_as_alone,
    a_batch_issued_by_another_process_is_never_taken_for_key_misuse,
    scans_are_recorded_hashed_and_a_graceful_stop_loses_none,
    the_cli_verifies_offline_and_online,
    a_genuine_mark_is_genuine_with_its_registered_facts,
    forged_marks_are_forged_with_their_reason,
    a_registered_key_signing_an_unissued_serial_is_forged_and_raises_key_misuse,
    changed_marks_and_labels_are_altered,
    reported_marks_are_void_revoked_or_suspended,
    a_revocation_is_never_answered_from_the_cache,
    a_mark_issued_while_its_certificate_was_valid_stays_genuine_once_expired,
    the_page_is_html_with_a_strict_policy_and_reports_are_taken,
    bad_requests_are_4xx_never_5xx,
    a_confidential_entry_s_hash_confirms_no_guess,
    a_label_url_on_a_host_the_brand_does_not_print_is_altered,
    errors_have_the_types_the_api_promises,
);
