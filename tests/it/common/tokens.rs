//! Bearer tokens for tests, minted through the access service as `marktrace token create`
//! mints them.

use marktrace::app::services::Services;
use marktrace::domain::access::{Grant, Role};
use marktrace::domain::region::RegionCode;

use super::TestDb;

/// Mints a token of `role`, scoped to `issuer` and `regions` as the role requires; returns
/// its bearer string.
pub async fn mint(
    services: &Services,
    role: Role,
    issuer: Option<&str>,
    regions: &[&str],
) -> String {
    let regions = regions
        .iter()
        .map(|code| RegionCode::parse(code).unwrap())
        .collect();
    let grant = Grant::new(role, issuer.map(str::to_owned), regions).unwrap();
    let minted = services.access.create(grant, None, "test").await;
    minted.unwrap().bearer
}

/// [`mint`] on a deployment's database while no service runs: opens a node and closes it.
pub async fn mint_for(db: &TestDb, role: Role, issuer: Option<&str>, regions: &[&str]) -> String {
    let node = db.node().await;
    let bearer = mint(&node.services, role, issuer, regions).await;
    node.close().await;
    bearer
}
