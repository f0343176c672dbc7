//! Enterprises as licensees: the legal entities whose products carry marks, each registered
//! by the certification body whose client it is. The relationship, not the legal entity, is
//! the registry's unit: one enterprise (one Unified Social Credit Code) may be the client of
//! several bodies, each of which registers it in a stream of its own
//! (`licensee-<issuer>.<uscc>`) and may certify only its own licensees, so no body can act on,
//! or learn of, another's. A code that fails the GB 32100 check is refused unless the caller
//! says it is a legacy registration number, and then it stays marked legacy. This module owns
//! the event data; `registry` appends it.

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
    /// Said alike of an enterprise that is registered nowhere and of another body's licensee,
    /// so the answer reveals no other body's clients.
    #[error("enterprise {uscc} is not a licensee of issuer {issuer}")]
    NotLicensee { uscc: String, issuer: String },
}

/// The data of an `EnterpriseRegistered` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

    /// The licence's stream.
    pub fn stream(&self) -> String {
        licensee_stream(&self.registered_by, &self.uscc)
    }
}

/// The stream of `issuer`'s licence for the enterprise `uscc` (stream names are lower-case;
/// neither an issuer id nor a code holds a `.`, so no two licences share a stream).
pub fn licensee_stream(issuer: &IssuerId, uscc: &str) -> String {
    format!(
        "licensee-{}.{}",
        issuer.as_str(),
        uscc.trim().to_ascii_lowercase()
    )
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
        assert_eq!(ok.stream(), "licensee-jx-cb1.110108001234567");
    }
}
