//! A registry to test marks against: issuer `jx-cb1` with an active key, an enterprise in 南昌,
//! a current certificate, and issuer and admin tokens, made through the same registry calls
//! the service makes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::VerifyingKey;
use marktrace::access::{Grant, Role, create_token};
use marktrace::domain::certificate::{Applied, Evaluated, EvaluationResult, Issued};
use marktrace::domain::enterprise::EnterpriseRegistered;
use marktrace::domain::issuer::{IssuerId, IssuerRegistered};
use marktrace::domain::key::Validity;
use marktrace::domain::region::RegionCode;
use marktrace::keys::Keyring;
use marktrace::log::Log;
use marktrace::registry::keys::{KeyChange, add_issuer_key, change_issuer_key};
use marktrace::registry::{self, CertificateStep};
use reqwest::Method;
use time::macros::date;

use super::{TestApp, TestDb};

/// The public URL every test deployment has (the harness's default).
pub const PUBLIC_URL: &str = "http://localhost:8080";
pub const USCC: &str = "91330000704202479R";

/// An issued certificate with the given validity, returning its id.
pub async fn certificate(log: &Log, code: &str, from: time::Date, until: time::Date) -> String {
    let issuer = IssuerId::parse("jx-cb1").unwrap();
    let id = uuid::Uuid::now_v7().simple().to_string();
    let applied = Applied::new(
        id.clone(),
        issuer.clone(),
        USCC.into(),
        "大米",
        "粮食",
        "GB/T 1354",
        "全部",
    )
    .unwrap();
    registry::apply_certificate(log, applied, "test")
        .await
        .unwrap();
    let evaluated = Evaluated::new(
        "第三方",
        EvaluationResult::Pass,
        &"ab".repeat(32),
        date!(2026 - 01 - 05),
    )
    .unwrap();
    let steps = [
        CertificateStep::Evaluate(evaluated),
        CertificateStep::Issue(Issued::new(code, from, until).unwrap()),
    ];
    for step in steps {
        registry::advance_certificate(log, &id, &issuer, step, "test")
            .await
            .unwrap();
    }
    id
}

pub struct World {
    pub issuer: String,
    pub admin: String,
    pub certificate: String,
}

/// Registers a certification body in 南昌 with an active signing key and returns an issuer
/// token for it.
pub async fn issuer(log: &Log, keyring: &Keyring, id: &str) -> String {
    let issuer_id = IssuerId::parse(id).unwrap();
    let region = RegionCode::parse("360100").unwrap();
    let registered = IssuerRegistered::new(id, "认证中心", "江西绿色生态", region).unwrap();
    registry::register_issuer(log, registered, "test")
        .await
        .unwrap();
    let key = add_issuer_key(
        log,
        keyring,
        &issuer_id,
        Validity::new(1, 4_102_444_800).unwrap(),
        "test",
    )
    .await
    .unwrap();
    change_issuer_key(
        log,
        key.key_id,
        KeyChange::Activate,
        marktrace::clock::unix_now(),
        "test",
    )
    .await
    .unwrap();
    let grant = Grant::new(Role::Issuer, Some(id.to_owned()), vec![]).unwrap();
    create_token(log, grant, None, "test").await.unwrap().bearer
}

/// Issuer jx-cb1 with an active key, an enterprise in 南昌, a current certificate, and tokens.
pub async fn world(db: &TestDb) -> World {
    let keyring = Keyring::open(&db.keys_dir).unwrap();
    let log = db.log().await;
    let issuer = issuer(&log, &keyring, "jx-cb1").await;
    let id = IssuerId::parse("jx-cb1").unwrap();
    let region = RegionCode::parse("360100").unwrap();
    let enterprise = EnterpriseRegistered::new(USCC, false, "绿源米业", region, id).unwrap();
    registry::register_enterprise(&log, enterprise, "test")
        .await
        .unwrap();
    let certificate = certificate(
        &log,
        "JXGE-2026-0001",
        date!(2026 - 01 - 01),
        date!(2099 - 12 - 31),
    )
    .await;
    let grant = Grant::new(Role::Admin, None, vec![]).unwrap();
    let admin = create_token(&log, grant, None, "test").await.unwrap();
    log.shutdown().await;
    World {
        issuer,
        admin: admin.bearer,
        certificate,
    }
}

/// The published public key of the issuer's active key.
pub async fn active_key(app: &TestApp) -> VerifyingKey {
    let (_, directory) = app
        .send(Method::GET, "/api/v1/keys?status=active", None, None)
        .await;
    let public: [u8; 32] = STANDARD
        .decode(directory["keys"][0]["public_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    VerifyingKey::from_bytes(&public).unwrap()
}
