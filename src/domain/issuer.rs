//! Issuers: the certification bodies (认证机构) the brand authority registers, and the rules of
//! their status. An issuer is `active` or `suspended`; a suspended issuer may not issue. This
//! module owns the identifiers, the event data and the transitions; `registry` appends them.

use serde::{Deserialize, Serialize};

use super::region::RegionCode;

pub const ISSUER_REGISTERED: &str = "IssuerRegistered";
pub const ISSUER_SUSPENDED: &str = "IssuerSuspended";
pub const ISSUER_REINSTATED: &str = "IssuerReinstated";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssuerError {
    #[error("issuer id {0:?} must be 1 to 32 of a-z, 0-9 and '-', starting with a letter or digit")]
    Id(String),
    #[error("brand id {0:?} must be 1 to 32 of a-z, 0-9 and '-', starting with a letter or digit")]
    BrandId(String),
    #[error("{field} must be 1 to {max} characters after trimming")]
    Text { field: &'static str, max: usize },
    #[error("issuer {id} is {status}; it cannot be {action}")]
    Transition {
        id: String,
        status: IssuerStatus,
        action: &'static str,
    },
}

/// An issuer's id: `[a-z0-9][a-z0-9-]{0,31}`, so `issuer-<id>` is a valid stream name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IssuerId(String);

super::string_schema!(IssuerId, "^[a-z0-9][a-z0-9-]{0,31}$", "An issuer's id.");

impl IssuerId {
    pub fn parse(s: &str) -> Result<IssuerId, IssuerError> {
        let b = s.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 32
            && matches!(b[0], b'a'..=b'z' | b'0'..=b'9')
            && b.iter()
                .all(|c| matches!(c, b'a'..=b'z' | b'0'..=b'9' | b'-'));
        if ok {
            Ok(IssuerId(s.to_owned()))
        } else {
            Err(IssuerError::Id(s.chars().take(40).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn stream(&self) -> String {
        format!("issuer-{}", self.0)
    }
}

impl TryFrom<String> for IssuerId {
    type Error = IssuerError;

    fn try_from(s: String) -> Result<IssuerId, IssuerError> {
        IssuerId::parse(&s)
    }
}

impl std::fmt::Display for IssuerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<IssuerId> for String {
    fn from(id: IssuerId) -> String {
        id.0
    }
}

/// A sub-brand's or a partner brand's id: `[a-z0-9][a-z0-9-]{0,31}`, the issuer id's rule, so
/// `subbrand-<id>` and `partner-<id>` are valid stream names.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BrandId(String);

super::string_schema!(
    BrandId,
    "^[a-z0-9][a-z0-9-]{0,31}$",
    "A sub-brand's or partner brand's id."
);

impl BrandId {
    pub fn parse(s: &str) -> Result<BrandId, IssuerError> {
        IssuerId::parse(s)
            .map(|id| BrandId(id.0))
            .map_err(|_| IssuerError::BrandId(s.chars().take(40).collect()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn sub_brand_stream(&self) -> String {
        format!("subbrand-{}", self.0)
    }

    pub fn partner_stream(&self) -> String {
        format!("partner-{}", self.0)
    }
}

impl TryFrom<String> for BrandId {
    type Error = IssuerError;

    fn try_from(s: String) -> Result<BrandId, IssuerError> {
        BrandId::parse(&s)
    }
}

impl From<BrandId> for String {
    fn from(id: BrandId) -> String {
        id.0
    }
}

impl std::fmt::Display for BrandId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Trims and bounds a free-text field.
pub fn text(field: &'static str, value: &str, max: usize) -> Result<String, IssuerError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(IssuerError::Text { field, max });
    }
    Ok(value.to_owned())
}

/// The data of an `IssuerRegistered` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuerRegistered {
    pub issuer_id: IssuerId,
    pub name: String,
    /// 江西绿色生态, or a city or county sub-brand.
    pub brand: String,
    pub region: RegionCode,
    /// The sub-brand (a city or county public brand under the brand) it certifies for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_brand: Option<BrandId>,
}

impl IssuerRegistered {
    pub fn new(
        issuer_id: &str,
        name: &str,
        brand: &str,
        region: RegionCode,
    ) -> Result<IssuerRegistered, IssuerError> {
        Ok(IssuerRegistered {
            issuer_id: IssuerId::parse(issuer_id)?,
            name: text("name", name, 128)?,
            brand: text("brand", brand, 64)?,
            region,
            sub_brand: None,
        })
    }

    /// This issuer, certifying for `sub_brand`.
    pub fn under(self, sub_brand: Option<BrandId>) -> IssuerRegistered {
        IssuerRegistered { sub_brand, ..self }
    }
}

/// The data of an `IssuerSuspended` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerSuspended {
    pub issuer_id: IssuerId,
    pub reason: String,
}

/// The data of an `IssuerReinstated` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerReinstated {
    pub issuer_id: IssuerId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IssuerStatus {
    Active,
    Suspended,
}

impl IssuerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IssuerStatus::Active => "active",
            IssuerStatus::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<IssuerStatus> {
        match s {
            "active" => Some(IssuerStatus::Active),
            "suspended" => Some(IssuerStatus::Suspended),
            _ => None,
        }
    }

    /// The status after `event_type`, for an issuer in this status.
    pub fn after(self, event_type: &str) -> IssuerStatus {
        match event_type {
            ISSUER_SUSPENDED => IssuerStatus::Suspended,
            ISSUER_REINSTATED => IssuerStatus::Active,
            _ => self,
        }
    }

    /// Checks a transition: suspend only an active issuer, reinstate only a suspended one.
    pub fn check(self, id: &IssuerId, event_type: &str) -> Result<(), IssuerError> {
        let (allowed, action) = match event_type {
            ISSUER_SUSPENDED => (self == IssuerStatus::Active, "suspended"),
            _ => (self == IssuerStatus::Suspended, "reinstated"),
        };
        if allowed {
            Ok(())
        } else {
            Err(IssuerError::Transition {
                id: id.as_str().to_owned(),
                status: self,
                action,
            })
        }
    }
}

impl std::fmt::Display for IssuerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_ids_are_short_lowercase_slugs() {
        for good in ["jx-cb1", "0", &"a".repeat(32)] {
            assert!(IssuerId::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", "JX", "a_b", "中", &"a".repeat(33)] {
            assert!(IssuerId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_an_active_issuer_is_suspended_and_only_a_suspended_one_reinstated() {
        let id = IssuerId::parse("jx-cb1").unwrap();
        assert!(IssuerStatus::Active.check(&id, ISSUER_SUSPENDED).is_ok());
        assert!(
            IssuerStatus::Suspended
                .check(&id, ISSUER_REINSTATED)
                .is_ok()
        );
        let err = IssuerStatus::Suspended
            .check(&id, ISSUER_SUSPENDED)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "issuer jx-cb1 is suspended; it cannot be suspended"
        );
        assert!(IssuerStatus::Active.check(&id, ISSUER_REINSTATED).is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        let region = RegionCode::parse("360000").unwrap();
        let ok =
            IssuerRegistered::new("jx-cb1", "  江西省认证中心 ", "江西绿色生态", region).unwrap();
        assert_eq!(ok.name, "江西省认证中心");
        assert!(IssuerRegistered::new("jx-cb1", "   ", "b", region).is_err());
        assert!(IssuerRegistered::new("jx-cb1", "n", &"b".repeat(65), region).is_err());
    }
}
