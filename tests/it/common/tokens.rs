//! Bearer tokens for tests, minted through the log as `marktrace token create` mints them.

use marktrace::access::{Grant, Role, create_token};
use marktrace::domain::region::RegionCode;
use marktrace::log::Log;

use super::TestDb;

/// Mints a token of `role`, scoped to `issuer` and `regions` as the role requires; returns
/// its bearer string.
pub async fn mint(log: &Log, role: Role, issuer: Option<&str>, regions: &[&str]) -> String {
    let regions = regions
        .iter()
        .map(|code| RegionCode::parse(code).unwrap())
        .collect();
    let grant = Grant::new(role, issuer.map(str::to_owned), regions).unwrap();
    create_token(log, grant, None, "test").await.unwrap().bearer
}

/// [`mint`] on a deployment's database while no service runs: opens the log and closes it.
pub async fn mint_for(db: &TestDb, role: Role, issuer: Option<&str>, regions: &[&str]) -> String {
    let log = db.log().await;
    let bearer = mint(&log, role, issuer, regions).await;
    log.shutdown().await;
    bearer
}
