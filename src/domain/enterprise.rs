//! Enterprises: the licensees whose products carry marks, identified by their Unified Social
//! Credit Code. A code that fails the GB 32100 check is refused unless the caller says it is a
//! legacy registration number, and then it stays marked legacy. This module owns the event
//! data; `registry` appends it.

use serde::{Deserialize, Serialize};

use super::issuer::{IssuerError, IssuerId, text};
use super::region::RegionCode;
use super::uscc::{Uscc, UsccError};

pub const ENTERPRISE_REGISTERED: &str = "EnterpriseRegistered";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnterpriseError {
    #[error("uscc: {0}")]
    Uscc(#[from] UsccError),
    #[error(transparent)]
    Text(#[from] IssuerError),
}

/// The data of an `EnterpriseRegistered` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterpriseRegistered {
    pub uscc: String,
    /// True for a pre-2015 registration number accepted without the GB 32100 check.
    pub legacy_code: bool,
    pub name: String,
    pub region: RegionCode,
    /// The certification body that registered the enterprise.
    pub registered_by: IssuerId,
}

impl EnterpriseRegistered {
    pub fn new(
        uscc: &str,
        legacy_code: bool,
        name: &str,
        region: RegionCode,
        registered_by: IssuerId,
    ) -> Result<EnterpriseRegistered, EnterpriseError> {
        let uscc = if legacy_code {
            Uscc::parse_legacy(uscc)?
        } else {
            Uscc::parse(uscc)?
        };
        Ok(EnterpriseRegistered {
            uscc: uscc.as_str().to_owned(),
            legacy_code,
            name: text("name", name, 128)?,
            region,
            registered_by,
        })
    }

    /// The enterprise's stream; stream names are lower-case.
    pub fn stream(&self) -> String {
        enterprise_stream(&self.uscc)
    }
}

pub fn enterprise_stream(uscc: &str) -> String {
    format!("enterprise-{}", uscc.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jiangxi() -> RegionCode {
        RegionCode::parse("360100").unwrap()
    }

    fn issuer() -> IssuerId {
        IssuerId::parse("jx-cb1").unwrap()
    }

    #[test]
    fn a_valid_code_is_normalised_and_a_bad_check_character_refused() {
        let ok =
            EnterpriseRegistered::new(" 91110108795101314g ", false, "某公司", jiangxi(), issuer());
        assert_eq!(ok.unwrap().uscc, "91110108795101314G");
        let err =
            EnterpriseRegistered::new("91110108795101314H", false, "某公司", jiangxi(), issuer());
        assert!(
            err.unwrap_err()
                .to_string()
                .starts_with("uscc: check character is H")
        );
    }

    #[test]
    fn a_legacy_code_needs_the_flag_and_stays_marked() {
        let legacy = "110108001234567";
        assert!(EnterpriseRegistered::new(legacy, false, "某公司", jiangxi(), issuer()).is_err());
        let ok = EnterpriseRegistered::new(legacy, true, "某公司", jiangxi(), issuer()).unwrap();
        assert!(ok.legacy_code);
        assert_eq!(ok.stream(), "enterprise-110108001234567");
    }
}
