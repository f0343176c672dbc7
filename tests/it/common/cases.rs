//! Case work to test against: one token per role that matters to cases and credit (two
//! supervisors in different cities, an enforcement team for all of 江西), a valid penalty
//! decision, and a helper to open a case.

use marktrace::domain::access::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::tokens::mint;
use super::{TestApp, TestDb};

/// The enterprise the decisions name.
pub const PARTY_USCC: &str = "91330000704202479R";

pub struct Tokens {
    /// Supervisor of 南昌 (360100).
    pub nanchang: String,
    /// Supervisor of 赣州 (360700).
    pub ganzhou: String,
    /// Enforcement team covering all of 江西 (360000).
    pub jiangxi: String,
    pub issuer: String,
    pub credit: String,
    pub admin: String,
}

pub async fn tokens(db: &TestDb) -> Tokens {
    let node = db.node().await;
    let log = &node.services;
    let tokens = Tokens {
        nanchang: mint(log, Role::Supervisor, None, &["360100"]).await,
        ganzhou: mint(log, Role::Supervisor, None, &["360700"]).await,
        jiangxi: mint(log, Role::Enforcement, None, &["360000"]).await,
        issuer: mint(log, Role::Issuer, Some("jx-cb1"), &[]).await,
        credit: mint(log, Role::Credit, None, &[]).await,
        admin: mint(log, Role::Admin, None, &[]).await,
    };
    node.close().await;
    tokens
}

/// A decision that passes every rule; `facts` holds a comma and quotes, as real ones do.
pub fn decision() -> Value {
    json!({
        "name": "南昌某米业有限公司",
        "uscc": PARTY_USCC,
        "legal_representative": "张三",
        "decision_number": "洪市监罚〔2026〕12号",
        "violation_type": "伪造认证标志",
        "facts": "使用伪造的\"江西绿色生态\"标识, 共 1200 袋",
        "basis": "《认证认可条例》第七十一条",
        "category": "罚款",
        "content": "罚款 5 万元",
        "fine_wan": "5",
        "confiscated_wan": "0.35",
        "decided_on": "2026-03-02",
        "publish_until": "2029-03-02",
        "authority": "南昌市市场监督管理局",
        "authority_uscc": "11360100MB1739152L",
        "data_source": "南昌市市场监督管理局"
    })
}

/// Opens a case owned by `region` as `bearer`; returns the case.
pub async fn open_case(app: &TestApp, bearer: &str, region: &str) -> Value {
    let body = json!({
        "owner_region": region,
        "origin": "manual",
        "title": "疑似伪造标识",
        "subject": {"enterprise_uscc": PARTY_USCC, "serials": [17, 18], "flags": []}
    });
    let (status, case) = app.post("/api/v1/cases", Some(bearer), body).await;
    assert_eq!(status, StatusCode::CREATED, "{case}");
    case
}
