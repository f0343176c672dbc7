//! Issuer keys end to end, on both backends: added by the brand authority with a root
//! endorsement that an independent Ed25519 implementation accepts, published at the public
//! `GET /api/v1/keys`, rotated (activate, retire, compromise) with illegal transitions refused,
//! and registration refusing small-order keys and key ids already taken.

use std::os::unix::fs::PermissionsExt;

use crate::common;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::tokens::mint;
use common::world::register_issuer;
use common::{TestApp, TestDb, assert_refused};
use ed25519_dalek::{SigningKey, VerifyingKey};
use marktrace::app::registry::RegistryError;
use marktrace::domain::access::Role;
use marktrace::domain::issuer::IssuerId;
use marktrace::domain::key::{Validity, endorsement_message};
use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A registered issuer `jx-cb1` and an admin bearer token.
async fn setup(db: &TestDb) -> String {
    let node = db.node().await;
    register_issuer(&node.services, "jx-cb1", "上饶好物", "361100").await;
    let admin = mint(&node.services, Role::Admin, None, &[]).await;
    node.close().await;
    admin
}

fn bytes<const N: usize>(b64: &Value) -> [u8; N] {
    STANDARD
        .decode(b64.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

async fn keys_are_endorsed_published_and_rotated(db: TestDb) {
    let admin = setup(&db).await;
    let app = TestApp::spawn(&db).await;
    let add = |body: Value| app.post("/api/v1/issuers/jx-cb1/keys", Some(&admin), body);

    let (code, first) =
        add(json!({"not_before": 1_767_225_600u64, "not_after": 4_102_444_800u64})).await;
    assert_eq!(code, StatusCode::CREATED, "{first}");
    assert_eq!(first["status"], "added");
    assert_eq!(first["brand"], "上饶好物");
    assert_eq!(first["issuer_id"], "jx-cb1");
    let first_id = first["key_id"].as_str().unwrap().to_owned();

    // Anyone can download the directory, and verify the endorsement with another Ed25519.
    let (code, directory) = app.get("/api/v1/keys", None).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        directory["endorsement_context"],
        "marktrace/key-endorsement/v1"
    );
    let root: [u8; 32] = bytes(&directory["root"]["public_key"]);
    let listed = &directory["keys"][0];
    assert_eq!(listed, &first);
    let public: [u8; 32] = bytes(&listed["public_key"]);
    let message = endorsement_message(
        &IssuerId::parse("jx-cb1").unwrap(),
        &VerifyingKey::from_bytes(&public).unwrap(),
        Validity::new(1_767_225_600, 4_102_444_800).unwrap(),
    );
    let signature: [u8; 64] = bytes(&listed["endorsement"]);
    ed25519_compact::PublicKey::new(root)
        .verify(&message, &ed25519_compact::Signature::new(signature))
        .expect("the root's endorsement verifies independently");

    // The private half is in keys/, 0600, and in no response.
    let file = db.keys_dir.join(format!("issuer-jx-cb1-{first_id}.pem"));
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let secret = marktrace::keys::load(&file).unwrap();
    assert_eq!(secret.verifying_key().to_bytes(), public);
    let secret_b64 = STANDARD.encode(secret.to_bytes());
    assert!(!directory.to_string().contains(&secret_b64));
    assert!(!first.to_string().contains(&secret_b64));

    let post = |path: String, body: Option<Value>| {
        let admin = admin.clone();
        let app = &app;
        async move { app.send(Method::POST, &path, Some(&admin), body).await }
    };
    let (code, active) = post(format!("/api/v1/keys/{first_id}/activate"), None).await;
    assert_eq!(
        (code, active["status"].as_str()),
        (StatusCode::OK, Some("active"))
    );

    // Rotation: a second key activated retires the first.
    let (_, second) = add(json!({})).await;
    let second_id = second["key_id"].as_str().unwrap().to_owned();
    let (code, _) = post(format!("/api/v1/keys/{second_id}/activate"), None).await;
    assert_eq!(code, StatusCode::OK);
    let statuses = |directory: &Value| -> Vec<(String, String)> {
        let mut s: Vec<_> = directory["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["key_id"].as_str().unwrap().to_owned(),
                    k["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        s.sort();
        s
    };
    let (_, directory) = app.get("/api/v1/keys?issuer=jx-cb1", None).await;
    let mut expected = vec![
        (first_id.clone(), "retired".to_owned()),
        (second_id.clone(), "active".to_owned()),
    ];
    expected.sort();
    assert_eq!(statuses(&directory), expected);
    let (_, only_active) = app.get("/api/v1/keys?status=active", None).await;
    assert_eq!(
        statuses(&only_active),
        vec![(second_id.clone(), "active".to_owned())]
    );

    // Illegal transitions are 409s naming the current status.
    let (code, problem) = post(format!("/api/v1/keys/{first_id}/activate"), None).await;
    assert_refused(code, &problem, StatusCode::CONFLICT, "is retired");
    let reason = json!({"reason": "laptop stolen"});
    let (code, compromised) = post(
        format!("/api/v1/keys/{first_id}/compromise"),
        Some(reason.clone()),
    )
    .await;
    assert_eq!(
        (code, compromised["status"].as_str()),
        (StatusCode::OK, Some("compromised"))
    );
    let (code, problem) = post(format!("/api/v1/keys/{first_id}/compromise"), Some(reason)).await;
    assert_refused(code, &problem, StatusCode::CONFLICT, "is compromised");
    let (code, _) = post(format!("/api/v1/keys/{second_id}/retire"), None).await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = post(format!("/api/v1/keys/{second_id}/retire"), None).await;
    assert_eq!(code, StatusCode::CONFLICT);

    // An expired key cannot become active.
    let (_, old) = add(json!({"not_before": 1_000, "not_after": 2_000})).await;
    let (code, problem) = post(
        format!("/api/v1/keys/{}/activate", old["key_id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_refused(code, &problem, StatusCode::CONFLICT, "not now");

    // Bad requests say what was wrong and write nothing.
    let size = app.log_size().await;
    let (code, problem) = add(json!({"not_before": 5, "not_after": 5})).await;
    assert_refused(
        code,
        &problem,
        StatusCode::BAD_REQUEST,
        "earlier than not_after",
    );
    let (code, _) = app
        .post("/api/v1/issuers/nobody/keys", Some(&admin), json!({}))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = post("/api/v1/keys/0011223344556677/activate".to_owned(), None).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = post("/api/v1/keys/not-a-key/retire".to_owned(), None).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(app.log_size().await, size, "nothing refused was written");
    assert_eq!(
        db.issuer_key_files(),
        3,
        "one file per recorded key, none for refused requests"
    );

    app.stop().await.unwrap();
    db.cleanup().await;
}

async fn registration_refuses_small_order_keys_and_taken_key_ids(db: TestDb) {
    setup(&db).await;
    let node = db.node().await;
    let (registry, size) = (&node.services.registry, || node.services.status.log_size());
    let issuer = IssuerId::parse("jx-cb1").unwrap();
    let validity = Validity::new(1, 4_102_444_800).unwrap();
    let key = SigningKey::from_bytes(&[3; 32]).verifying_key();
    registry
        .register_issuer_key(&issuer, key, validity, "test")
        .await
        .unwrap();
    let written = size();

    let again = registry
        .register_issuer_key(&issuer, key, validity, "test")
        .await;
    assert!(
        matches!(again, Err(RegistryError::Exists(ref what)) if what.starts_with("key id")),
        "{again:?}"
    );

    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = VerifyingKey::from_bytes(&identity).unwrap();
    let weak = registry
        .register_issuer_key(&issuer, weak, validity, "test")
        .await;
    assert!(weak.unwrap_err().to_string().contains("small order"));
    assert_eq!(size(), written, "nothing written for a refused key");
    node.close().await;
    db.cleanup().await;
}

on_both_backends!(
    keys_are_endorsed_published_and_rotated,
    registration_refuses_small_order_keys_and_taken_key_ids,
);
