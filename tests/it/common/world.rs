//! A registry to test marks against: issuer `jx-cb1` with an active key, an enterprise in 南昌,
//! a current certificate, and issuer and admin tokens, made through the same registry calls
//! the service makes; and the HTTP steps tests take on it: a certificate's lifecycle, a
//! batch, a mark.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::VerifyingKey;
use marktrace::app::registry::certificates::CertificateStep;
use marktrace::app::registry::keys::KeyChange;
use marktrace::app::services::Services;
use marktrace::domain::access::Role;
use marktrace::domain::brand::SubBrandRegistered;
use marktrace::domain::certificate::{Applied, Evaluated, EvaluationResult, Issued};
use marktrace::domain::enterprise::EnterpriseRegistered;
use marktrace::domain::issuer::{BrandId, IssuerId, IssuerRegistered};
use marktrace::domain::key::Validity;
use marktrace::domain::region::RegionCode;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::macros::date;

use super::tokens::mint;
use super::{TestApp, TestDb};

/// The public URL every test deployment has (the harness's default).
pub const PUBLIC_URL: &str = "http://localhost:8080";
pub const USCC: &str = "91330000704202479R";

/// An issued certificate with the given validity, returning its id.
pub async fn certificate(
    services: &Services,
    code: &str,
    from: time::Date,
    until: time::Date,
) -> String {
    let registry = &services.registry;
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
    registry.apply_certificate(applied, "test").await.unwrap();
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
        registry
            .advance_certificate(&id, &issuer, step, "test")
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

/// Registers certification body `id` of `brand` in `region`, as the admin API does.
pub async fn register_issuer(services: &Services, id: &str, brand: &str, region: &str) {
    register_issuer_under(services, id, brand, region, None).await;
}

/// [`register_issuer`] for a sub-brand, registered already.
pub async fn register_issuer_under(
    services: &Services,
    id: &str,
    brand: &str,
    region: &str,
    sub_brand: Option<&str>,
) {
    let region = RegionCode::parse(region).unwrap();
    let sub_brand = sub_brand.map(|s| BrandId::parse(s).unwrap());
    let registered = IssuerRegistered::new(id, "认证中心", brand, region)
        .unwrap()
        .under(sub_brand);
    let registry = &services.registry;
    registry.register_issuer(registered, "test").await.unwrap();
}

/// Registers a certification body in 南昌 (under `sub_brand`, if given) with an active
/// signing key and returns an issuer token for it.
pub async fn issuer(services: &Services, id: &str, sub_brand: Option<&str>) -> String {
    let issuer_id = IssuerId::parse(id).unwrap();
    register_issuer_under(services, id, "江西绿色生态", "360100", sub_brand).await;
    let registry = &services.registry;
    let validity = Validity::new(1, 4_102_444_800).unwrap();
    let key = registry
        .add_issuer_key(&issuer_id, validity, "test")
        .await
        .unwrap();
    let now = marktrace::clock::unix_now();
    registry
        .change_issuer_key(key.key_id, KeyChange::Activate, now, "test")
        .await
        .unwrap();
    mint(services, Role::Issuer, Some(id), &[]).await
}

/// Issuer jx-cb1 with an active key, an enterprise in 南昌, a current certificate, and tokens.
pub async fn world(db: &TestDb) -> World {
    world_of(db, None).await
}

/// [`world`], with jx-cb1 certifying for sub-brand `(id, name)` of 赣州, registered first.
pub async fn world_of(db: &TestDb, sub_brand: Option<(&str, &str)>) -> World {
    let node = db.node().await;
    let services = &node.services;
    if let Some((id, name)) = sub_brand {
        let region = RegionCode::parse("360700").unwrap();
        let registered = SubBrandRegistered::new(id, name, region).unwrap();
        let registry = &services.registry;
        registry
            .register_sub_brand(registered, "test")
            .await
            .unwrap();
    }
    let issuer = issuer(services, "jx-cb1", sub_brand.map(|(id, _)| id)).await;
    let id = IssuerId::parse("jx-cb1").unwrap();
    let region = RegionCode::parse("360100").unwrap();
    let enterprise = EnterpriseRegistered::new(USCC, false, "绿源米业", region, id).unwrap();
    services
        .registry
        .register_enterprise(enterprise, "test")
        .await
        .unwrap();
    let certificate = certificate(
        services,
        "JXGE-2026-0001",
        date!(2026 - 01 - 01),
        date!(2099 - 12 - 31),
    )
    .await;
    let admin = mint(services, Role::Admin, None, &[]).await;
    node.close().await;
    World {
        issuer,
        admin,
        certificate,
    }
}

/// The published public key of the issuer's active key.
pub async fn active_key(app: &TestApp) -> VerifyingKey {
    let (_, directory) = app.get("/api/v1/keys?status=active", None).await;
    let public: [u8; 32] = STANDARD
        .decode(directory["keys"][0]["public_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    VerifyingKey::from_bytes(&public).unwrap()
}

/// A passing evaluation, as `POST /api/v1/certificates/{id}/evaluate` takes it.
pub fn evaluation() -> Value {
    json!({"evaluator": "第三方", "result": "pass", "report_sha256": "ab".repeat(32),
        "date": "2026-01-05"})
}

/// A certificate through its lifecycle over HTTP as issuer `bearer`: applied for the licensee
/// `uscc`, evaluated, issued as `code`, valid until 2099; returns its id.
pub async fn certify(app: &TestApp, bearer: &str, uscc: &str, code: &str) -> String {
    let step = |path: String, body: Value| async move {
        let (status, answer) = app.post(&path, Some(bearer), body).await;
        assert!(status.is_success(), "{path}: {status} {answer}");
        answer
    };
    let application = json!({"enterprise_uscc": uscc, "product_name": "有机大米",
        "product_category": "粮食", "standard": "GB/T 1354", "scope": "全部"});
    let applied = step("/api/v1/certificates".into(), application).await;
    let id = applied["certificate_id"].as_str().unwrap().to_owned();
    step(format!("/api/v1/certificates/{id}/evaluate"), evaluation()).await;
    let issuing = json!({"code": code, "valid_from": "2026-01-01", "valid_until": "2099-12-31"});
    step(format!("/api/v1/certificates/{id}/issue"), issuing).await;
    id
}

/// Issues a batch as `bearer` (`POST /api/v1/batches` with `body`); returns the batch.
pub async fn batch(app: &TestApp, bearer: &str, body: Value) -> Value {
    let (status, batch) = app.post("/api/v1/batches", Some(bearer), body).await;
    assert_eq!(status, StatusCode::CREATED, "{batch}");
    batch
}

/// Mark `serial` as its issuer `bearer` reads it (`GET /api/v1/marks/{serial}`).
pub async fn mark(app: &TestApp, bearer: &str, serial: u64) -> Value {
    let (status, mark) = app
        .get(&format!("/api/v1/marks/{serial}"), Some(bearer))
        .await;
    assert_eq!(status, StatusCode::OK, "{mark}");
    mark
}

/// The signed token printed on mark `serial`'s label.
pub async fn token(app: &TestApp, bearer: &str, serial: u64) -> String {
    mark(app, bearer, serial).await["token"]
        .as_str()
        .unwrap()
        .to_owned()
}
