//! Brand mutual recognition (品牌互认) end to end, on both backends: sub-brands shown as
//! "江西绿色生态 · <sub-brand>" and suspended as a whole; partner brands registered from their
//! key directory, refused whole on any bad endorsement; and two instances on this machine
//! that register each other and each verify the other's marks, with the partner's live status
//! (revoked there, revoked here) and without it (status unknown), and witness each other's
//! logs (C2SP tlog-witness): each serves checkpoints with the other's cosignature, and a
//! forked checkpoint is refused with the evidence kept.

use std::time::Duration;

use crate::common;
use common::world::{World, batch, token, world, world_of};
use common::{TestApp, TestDb, eventually};
use ed25519_dalek::SigningKey;
use marktrace::app::setup::keygen;
use marktrace::log::cosignature::{AddCheckpoint, CosignatureVerifier};
use marktrace::log::note::{Checkpoint, NoteSigner};
use reqwest::StatusCode;
use serde_json::{Value, json};

const NO_LIMIT: &[&str] = &["--public-rate", "0"];
const PARTNER_ORIGIN: &str = "partner.marktrace.example/log";

async fn verify(app: &TestApp, token: &str) -> Value {
    let (code, answer) = app
        .post("/api/v1/verify", None, json!({ "token": token }))
        .await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    answer
}

/// The consumer's page for a token.
async fn page(app: &TestApp, token: &str) -> String {
    let (code, page) = app.text(&format!("/v/{token}"), None).await;
    assert_eq!(code, StatusCode::OK);
    page
}

/// A batch of 10 marks of the world's certificate; the first mark's token.
async fn first_mark(app: &TestApp, world: &World) -> (String, String) {
    let body = json!({"certificate_id": world.certificate, "count": 10});
    let batch = batch(app, &world.issuer, body).await;
    let first = batch["first_serial"].as_u64().unwrap();
    let batch_id = batch["batch_id"].as_str().unwrap().to_owned();
    (token(app, &world.issuer, first).await, batch_id)
}

async fn sub_brands_show_and_suspend_as_a_whole(db: TestDb) {
    let world = world_of(&db, Some(("ganzhou", "赣南脐橙"))).await;
    let app = TestApp::spawn_with(&db, NO_LIMIT).await;
    let admin = Some(world.admin.as_str());
    let (mark, _) = first_mark(&app, &world).await;

    let answer = verify(&app, &mark).await;
    assert_eq!(answer["verdict"], "genuine", "{answer}");
    assert_eq!(answer["facts"]["brand"], "江西绿色生态 · 赣南脐橙");
    assert!(answer.get("recognised").is_none(), "our own mark: {answer}");
    assert!(page(&app, &mark).await.contains("江西绿色生态 · 赣南脐橙"));

    let (code, listed) = app.get("/api/v1/sub-brands", admin).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(listed[0]["sub_brand_id"], "ganzhou");
    assert_eq!(listed[0]["status"], "active");
    let (code, issuer) = app.get("/api/v1/issuers/jx-cb1", admin).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(issuer["sub_brand"], "ganzhou", "{issuer}");

    let suspend = json!({"reason": "抽检不合格，整体暂停"});
    let path = "/api/v1/sub-brands/ganzhou/suspend";
    let (code, suspended) = app.post(path, admin, suspend.clone()).await;
    assert_eq!(code, StatusCode::OK, "{suspended}");
    assert_eq!(suspended["status"], "suspended");
    let answer = verify(&app, &mark).await;
    assert_eq!(answer["verdict"], "suspended", "{answer}");
    assert_eq!(answer["reason"], "brand_suspended");
    assert!(page(&app, &mark).await.contains("子品牌已被整体暂停"));
    let (code, again) = app.post(path, admin, suspend).await;
    assert_eq!(code, StatusCode::CONFLICT, "{again}");

    let (code, _) = app
        .post("/api/v1/sub-brands/ganzhou/reinstate", admin, json!({}))
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(verify(&app, &mark).await["verdict"], "genuine");

    // An issuer under a sub-brand nobody registered is refused, naming it; an unknown
    // sub-brand is a 404; a taken id a 409.
    let issuer = json!({"id": "jx-cb9", "name": "某认证中心", "brand": "江西绿色生态",
        "region": "360100", "sub_brand": "nowhere"});
    let (code, refused) = app.post("/api/v1/issuers", admin, issuer).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("nowhere"));
    let (code, _) = app.get("/api/v1/sub-brands/nowhere", admin).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let taken = json!({"id": "ganzhou", "name": "又一个", "region": "360700"});
    let (code, _) = app.post("/api/v1/sub-brands", admin, taken).await;
    assert_eq!(code, StatusCode::CONFLICT);
    // Only the brand authority registers sub-brands.
    let other = json!({"id": "jian", "name": "井冈山", "region": "360800"});
    let (code, _) = app
        .post("/api/v1/sub-brands", Some(&world.issuer), other)
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    app.stop().await.unwrap();
    db.cleanup().await;
}

/// What an admin of one instance sends to register the other: its directory and log key
/// as the other serves them.
async fn registration(partner: &TestApp, id: &str, name: &str, live: bool) -> Value {
    let (code, directory) = partner.get("/api/v1/keys", None).await;
    assert_eq!(code, StatusCode::OK);
    let (code, vkey) = partner.text("/api/v1/log/key", None).await;
    assert_eq!(code, StatusCode::OK);
    let mut body = json!({"id": id, "name": name, "log_vkey": vkey.trim(), "directory": directory});
    if live {
        body["status_url"] = json!(partner.base);
    }
    body
}

async fn partner_directories_are_checked_whole(db: TestDb) {
    let Some(other) = TestDb::same_backend(&db).await else {
        return;
    };
    let world = world(&db).await;
    let partner_world = world_of(&other, None).await;
    let app = TestApp::spawn_with(&db, NO_LIMIT).await;
    let partner = TestApp::spawn_with(&other, &["--log-origin", PARTNER_ORIGIN]).await;
    let admin = Some(world.admin.as_str());
    let size = app.log_size().await;

    // One endorsement that does not verify refuses the document whole; nothing is written.
    let mut body = registration(&partner, "shanghai", "上海品牌", false).await;
    let good = body.clone();
    body["directory"]["keys"][0]["not_after"] = json!(4_102_444_801u64);
    let (code, refused) = app.post("/api/v1/recognized-brands", admin, body).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("endorsement does not verify"),
        "{refused}"
    );
    // Our own log is not a partner's.
    let mut ours = good.clone();
    let (_, own_key) = app.text("/api/v1/log/key", None).await;
    ours["log_vkey"] = json!(own_key.trim());
    let (code, refused) = app.post("/api/v1/recognized-brands", admin, ours).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{refused}");
    // Our own directory's keys are ours already: their ids are taken.
    let mut mine = good.clone();
    let (_, own_directory) = app.get("/api/v1/keys", None).await;
    mine["directory"] = own_directory;
    let (code, refused) = app.post("/api/v1/recognized-brands", admin, mine).await;
    assert_eq!(code, StatusCode::CONFLICT, "{refused}");
    assert_eq!(
        app.log_size().await,
        size,
        "nothing written for a refused registration"
    );

    let (code, registered) = app.post("/api/v1/recognized-brands", admin, good).await;
    assert_eq!(code, StatusCode::CREATED, "{registered}");
    assert_eq!(registered["origin"], PARTNER_ORIGIN);
    assert_eq!(registered["keys"].as_array().unwrap().len(), 1);
    let (code, _) = app
        .post(
            "/api/v1/recognized-brands",
            admin,
            registration(&partner, "shanghai", "上海品牌", false).await,
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "the id (and the log) are taken");

    // The partner adds a key and marks it compromised: importing the directory again brings
    // the new key and the status.
    let partner_admin = Some(partner_world.admin.as_str());
    let (code, added) = partner
        .post("/api/v1/issuers/jx-cb1/keys", partner_admin, json!({}))
        .await;
    assert_eq!(code, StatusCode::CREATED, "{added}");
    let key_id = added["key_id"].as_str().unwrap();
    let compromise = json!({"reason": "泄露"});
    let path = format!("/api/v1/keys/{key_id}/compromise");
    let (code, _) = partner.post(&path, partner_admin, compromise).await;
    assert_eq!(code, StatusCode::OK);
    let directory =
        registration(&partner, "shanghai", "上海品牌", false).await["directory"].clone();
    let import = "/api/v1/recognized-brands/shanghai/keys";
    let mut forged = directory.clone();
    forged["keys"][1]["endorsement"] = forged["keys"][0]["endorsement"].clone();
    let (code, _) = app
        .post(import, admin, json!({ "directory": forged }))
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let mut other_root = directory.clone();
    let (_, own_directory) = app.get("/api/v1/keys", None).await;
    other_root["root"] = own_directory["root"].clone();
    let (code, _) = app
        .post(import, admin, json!({ "directory": other_root }))
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "another root is refused");
    let (code, imported) = app
        .post(import, admin, json!({ "directory": directory }))
        .await;
    assert_eq!(code, StatusCode::OK, "{imported}");
    let keys = imported["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{imported}");
    assert!(
        keys.iter()
            .any(|k| k["key_id"] == key_id && k["status"] == "compromised")
    );
    let (code, listed) = app.get("/api/v1/recognized-brands", admin).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(listed.as_array().unwrap().len(), 1);

    partner.stop().await.unwrap();
    app.stop().await.unwrap();
    other.cleanup().await;
    db.cleanup().await;
}

/// A deployment's witness verifier key, made (with its other keys) before it starts, so that
/// its partner can be configured with it.
fn witness_key(db: &TestDb, own: &[&str]) -> String {
    let config = db.config_with(own);
    keygen(&db.keys_dir, &config.log_origin(), &config.witness_name())
        .unwrap()
        .witness_verifier_key
}

async fn two_instances_recognise_and_witness_each_other(db: TestDb) {
    let Some(other) = TestDb::same_backend(&db).await else {
        return;
    };
    let jiangxi = world(&db).await;
    let shanghai = world_of(&other, None).await;
    // Each asks the other's witness, at the other's address: both bound before either starts.
    let (a_socket, b_socket) = (listener().await, listener().await);
    let a_base = format!("http://{}", a_socket.local_addr().unwrap());
    let b_base = format!("http://{}", b_socket.local_addr().unwrap());
    let a_own = NO_LIMIT.to_vec();
    let b_own = [NO_LIMIT, &["--log-origin", PARTNER_ORIGIN]].concat();
    let (a_witness, b_witness) = (witness_key(&db, &a_own), witness_key(&other, &b_own));
    let asks_b = format!("{b_witness}@{b_base}/api/v1/witness");
    let asks_a = format!("{a_witness}@{a_base}/api/v1/witness");
    let a = TestApp::spawn_on(&db, &[a_own, vec!["--witness", &asks_b]].concat(), a_socket);
    let b = TestApp::spawn_on(
        &other,
        &[b_own, vec!["--witness", &asks_a]].concat(),
        b_socket,
    );
    let (code, served) = a.text("/api/v1/witness/key", None).await;
    assert_eq!((code, served.trim()), (StatusCode::OK, a_witness.as_str()));
    let (a_mark, _) = first_mark(&a, &jiangxi).await;
    let (b_mark, b_batch) = first_mark(&b, &shanghai).await;

    // Before registration, the other's mark is a key nobody here holds, and the other's
    // witness follows no log of ours.
    assert_eq!(verify(&a, &b_mark).await["reason"], "unknown_key");
    let (_, latest) = a.text("/api/v1/log/checkpoint", None).await;
    let unknown = add_checkpoint(&b, 0, &[], &latest).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    register(
        &a,
        &jiangxi.admin,
        registration(&b, "shanghai", "上海品牌", true).await,
    )
    .await;
    register(
        &b,
        &shanghai.admin,
        registration(&a, "jiangxi", "江西绿色生态", true).await,
    )
    .await;

    // Each verifies the other's mark as the other's, with the other's facts and live status.
    let at_a = verify(&a, &b_mark).await;
    assert_eq!(at_a["verdict"], "genuine", "{at_a}");
    assert_eq!(at_a["recognised"]["brand"], "上海品牌");
    assert_eq!(at_a["recognised"]["origin"], PARTNER_ORIGIN);
    assert_eq!(at_a["recognised"]["status"], "live");
    assert_eq!(at_a["facts"]["certificate_code"], "JXGE-2026-0001");
    let at_b = verify(&b, &a_mark).await;
    assert_eq!(at_b["verdict"], "genuine", "{at_b}");
    assert_eq!(at_b["recognised"]["brand"], "江西绿色生态");
    assert_eq!(at_b["recognised"]["origin"], common::ORIGIN);
    let shown = page(&a, &b_mark).await;
    assert!(
        shown.contains("互认品牌") && shown.contains("上海品牌"),
        "{shown}"
    );
    assert!(
        !shown.contains("本标识由江西绿色生态认证机构签发"),
        "never presented as ours"
    );

    // Our own marks are untouched, and a changed partner mark is caught here.
    assert!(verify(&a, &a_mark).await.get("recognised").is_none());
    let mut bytes = base64_decode(&b_mark);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let broken = verify(&a, &base64_encode(&bytes)).await;
    assert_eq!(broken["verdict"], "forged", "{broken}");
    assert_eq!(broken["reason"], "bad_signature");

    // Revoked at the partner: revoked here, for a new scan of another mark of the batch (the
    // first one's live answer is cached for a minute).
    let path = format!("/api/v1/batches/{b_batch}/reports");
    let first = base_serial(&b, &shanghai, &b_batch).await;
    let report =
        json!({"first": first + 1, "last": first + 9, "status": "revoked", "reason": "撤销"});
    let (code, answer) = b.post(&path, Some(&shanghai.issuer), report).await;
    assert_eq!(code, StatusCode::OK, "{answer}");
    let second = token(&b, &shanghai.issuer, first + 1).await;
    let revoked = verify(&a, &second).await;
    assert_eq!(revoked["verdict"], "revoked", "{revoked}");
    assert_eq!(revoked["reason"], "mark_revoked");
    assert_eq!(revoked["recognised"]["status"], "live");

    // Each checkpoint either serves carries the other's cosignature, once it has caught up.
    let a_cosigned = cosigned_by(&a, &b_witness).await;
    cosigned_by(&b, &a_witness).await;
    let (code, bundle) = a
        .text("/api/v1/log/proof/bundle?index=0&cosigned=1", None)
        .await;
    assert_eq!(code, StatusCode::OK);
    assert!(bundle.ends_with(&a_cosigned), "{bundle}");
    // The operator's audit accepts it with the partner's witness as quorum; not with two.
    let quorum = db.marktrace_ok(&["--witness", &b_witness, "log", "verify", "--quorum", "1"]);
    assert!(quorum.contains("carries 1 valid cosignatures"), "{quorum}");
    let alone = db.marktrace_err(&["--witness", &b_witness, "log", "verify", "--quorum", "2"]);
    assert!(alone.contains("needs at least 2 witnesses"), "{alone}");
    let both = format!("{b_witness},{a_witness}");
    let short = db.marktrace_err(&["--witness", &both, "log", "verify", "--quorum", "2"]);
    assert!(
        short.contains("no checkpoint has 2 cosignatures"),
        "{short}"
    );

    forks_are_refused_with_evidence(&a, &other).await;

    // The partner away: the signature still vouches for the mark, the status is unknown.
    let third = token(&b, &shanghai.issuer, first + 2).await;
    b.stop().await.unwrap();
    let unknown = verify(&a, &third).await;
    assert_eq!(unknown["verdict"], "genuine", "{unknown}");
    assert_eq!(unknown["recognised"]["status"], "unknown");
    assert!(unknown.get("facts").is_none());
    assert!(
        page(&a, &third)
            .await
            .contains("暂时无法向「上海品牌」核实")
    );

    a.stop().await.unwrap();
    other.cleanup().await;
    db.cleanup().await;
}

async fn base_serial(app: &TestApp, world: &World, batch_id: &str) -> u64 {
    let (code, batch) = app
        .get(&format!("/api/v1/batches/{batch_id}"), Some(&world.issuer))
        .await;
    assert_eq!(code, StatusCode::OK, "{batch}");
    batch["first_serial"].as_u64().unwrap()
}

fn base64_decode(token: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn listener() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// Sends a tlog-witness `add-checkpoint` request to an instance's witness.
async fn add_checkpoint(
    witness: &TestApp,
    old: u64,
    proof: &[[u8; 32]],
    checkpoint: &str,
) -> reqwest::Response {
    let body = AddCheckpoint {
        old,
        proof: proof.to_vec(),
        checkpoint: checkpoint.to_owned(),
    };
    witness
        .client
        .post(witness.url("/api/v1/witness/add-checkpoint"))
        .body(body.to_body())
        .send()
        .await
        .unwrap()
}

/// Waits until the checkpoint `app` serves carries a valid cosignature by `witness`; returns
/// that note.
async fn cosigned_by(app: &TestApp, witness: &str) -> String {
    let verifier = CosignatureVerifier::parse(witness).unwrap();
    let what = format!(
        "a cosignature by {} on the latest checkpoint",
        verifier.name()
    );
    eventually(Duration::from_secs(30), &what, || async {
        let (code, note) = app.text("/api/v1/log/checkpoint", None).await;
        let cosigned = code == StatusCode::OK && verifier.cosigned(&note).unwrap().is_some();
        cosigned.then_some(note)
    })
    .await
}

/// The partner's log key signs a second checkpoint of the size `witness` cosigned, with another
/// root, and then one that does not extend it: the witness refuses both and keeps each, once,
/// as evidence in its own log.
async fn forks_are_refused_with_evidence(witness: &TestApp, partner: &TestDb) {
    let key = marktrace::keys::load(&partner.keys_dir.join("log.pem")).unwrap();
    let signer = NoteSigner::new(PARTNER_ORIGIN, key).unwrap();
    let forged = |size: u64, root: u8| {
        let text = Checkpoint {
            origin: PARTNER_ORIGIN.to_owned(),
            size,
            root: [root; 32],
        };
        signer.sign(&text.to_text()).unwrap()
    };
    // Where the witness stands: a 409 from size 0 names it.
    let standing = add_checkpoint(witness, 0, &[], &forged(1, 1)).await;
    assert_eq!(standing.status(), StatusCode::CONFLICT);
    assert_eq!(standing.headers()["content-type"], "text/x.tlog.size");
    let size: u64 = standing.text().await.unwrap().trim().parse().unwrap();
    assert!(size > 1);

    let before = witness.log_size().await;
    let fork = forged(size, 7);
    let refused = add_checkpoint(witness, size, &[], &fork).await;
    let problem = common::problem(refused, StatusCode::CONFLICT, "conflict").await;
    assert!(problem["detail"].as_str().unwrap().contains("evidence"));
    let again = add_checkpoint(witness, size, &[], &fork).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let evidence = last_entry(witness).await;
    assert_eq!(witness.log_size().await, before + 1, "kept once");
    assert_eq!(evidence["envelope"]["type"], "PartnerCheckpointRefused");
    assert_eq!(evidence["data"]["reason"], "fork");
    assert_eq!(evidence["data"]["partner_id"], "shanghai");
    assert!(
        evidence["data"]["request"]
            .as_str()
            .unwrap()
            .ends_with(&fork)
    );
    assert!(
        evidence["data"]["cosigned"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{PARTNER_ORIGIN}\n{size}\n"))
    );

    // A larger tree whose proof does not hold from the cosigned one: 422, and evidence.
    let unproven = forged(size + 1, 9);
    let refused = add_checkpoint(witness, size, &[[3; 32]], &unproven).await;
    common::problem(refused, StatusCode::UNPROCESSABLE_ENTITY, "unprocessable").await;
    let evidence = last_entry(witness).await;
    assert_eq!(evidence["data"]["reason"], "inconsistent");
    // A smaller tree, and a checkpoint not signed by the partner's key, are never cosigned.
    let smaller = add_checkpoint(witness, size, &[], &forged(size - 1, 1)).await;
    assert_eq!(smaller.status(), StatusCode::BAD_REQUEST);
    let stranger = NoteSigner::new(PARTNER_ORIGIN, SigningKey::from_bytes(&[4; 32])).unwrap();
    let unsigned = stranger
        .sign(&format!(
            "{PARTNER_ORIGIN}\n{size}\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
        ))
        .unwrap();
    let refused = add_checkpoint(witness, size, &[], &unsigned).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(witness.log_size().await, before + 2);
}

/// The last entry of an instance's log, envelope and data.
async fn last_entry(app: &TestApp) -> Value {
    let index = app.log_size().await - 1;
    let (code, entry) = app.get(&format!("/api/v1/log/entries/{index}"), None).await;
    assert_eq!(code, StatusCode::OK, "{entry}");
    entry
}

async fn register(app: &TestApp, admin: &str, body: Value) {
    let (code, answer) = app
        .post("/api/v1/recognized-brands", Some(admin), body)
        .await;
    assert_eq!(code, StatusCode::CREATED, "{answer}");
}

on_both_backends!(
    sub_brands_show_and_suspend_as_a_whole,
    partner_directories_are_checked_whole,
    two_instances_recognise_and_witness_each_other,
);
