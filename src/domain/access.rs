//! Access tokens: what a bearer token is, how it is minted and checked, and the roles and
//! scopes it carries (SPEC.md "HTTP API"). A token is `mt_<id>_<secret>`: the id finds the
//! token's record without a secret-dependent lookup, and only the SHA-256 of the whole token
//! is ever stored, in a confidential log event. Checking compares that hash in constant time.
//!
//! This module decides what a token is and what it may do; `app::access` mints, revokes and
//! checks tokens against the log, and the HTTP edge reads the header and turns refusals into
//! 401 and 403.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::region::RegionCode;
use crate::hex::hex;

/// The event types of a token's stream.
pub const TOKEN_CREATED: &str = "AccessTokenCreated";
pub const TOKEN_REVOKED: &str = "AccessTokenRevoked";

/// What a token may do. Nothing else grants access.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The brand authority: registry administration, tokens, audit.
    Admin,
    /// A certification body, scoped to one issuer.
    Issuer,
    /// A market supervisor, scoped to one region.
    Supervisor,
    /// A cross-region enforcement team, scoped to a set of regions.
    Enforcement,
    /// The credit platform.
    Credit,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Issuer => "issuer",
            Role::Supervisor => "supervisor",
            Role::Enforcement => "enforcement",
            Role::Credit => "credit",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [
            Role::Admin,
            Role::Issuer,
            Role::Supervisor,
            Role::Enforcement,
            Role::Credit,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a token could not be minted with the scope asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("an issuer token needs --issuer, and only an issuer token may have one")]
    Issuer,
    #[error("a supervisor token needs exactly one --region")]
    SupervisorRegion,
    #[error("an enforcement token needs at least one --region")]
    EnforcementRegions,
    #[error("only supervisor and enforcement tokens have regions")]
    UnexpectedRegions,
}

/// What a token grants: its role and the issuer or regions it is limited to. A region code
/// covers every code below it (`360000` all of Jiangxi, `360100` only Nanchang).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Grant {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<RegionCode>,
}

impl Grant {
    /// Checks that the scope fits the role: exactly what SPEC.md's roles carry, no more.
    pub fn new(
        role: Role,
        issuer: Option<String>,
        regions: Vec<RegionCode>,
    ) -> Result<Grant, ScopeError> {
        match role {
            Role::Issuer if issuer.is_none() => return Err(ScopeError::Issuer),
            Role::Admin | Role::Supervisor | Role::Enforcement | Role::Credit
                if issuer.is_some() =>
            {
                return Err(ScopeError::Issuer);
            }
            Role::Supervisor if regions.len() != 1 => return Err(ScopeError::SupervisorRegion),
            Role::Enforcement if regions.is_empty() => return Err(ScopeError::EnforcementRegions),
            Role::Admin | Role::Issuer | Role::Credit if !regions.is_empty() => {
                return Err(ScopeError::UnexpectedRegions);
            }
            _ => {}
        }
        Ok(Grant {
            role,
            issuer,
            regions,
        })
    }
}

/// The data of an `AccessTokenCreated` event (confidential).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCreated {
    pub token_id: String,
    #[serde(flatten)]
    pub grant: Grant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Lowercase hex SHA-256 of the whole bearer token.
    pub token_sha256: String,
}

/// The data of an `AccessTokenRevoked` event (confidential).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRevoked {
    pub token_id: String,
}

/// The stream of one token's events.
pub fn token_stream(token_id: &str) -> String {
    format!("token-{token_id}")
}

/// A freshly minted bearer token: shown once, then only its hash exists.
pub struct MintedToken {
    pub token_id: String,
    pub bearer: String,
}

impl MintedToken {
    /// 16 random bytes of id (hex) and 32 of secret (base64url): unguessable either way, and
    /// the id alone grants nothing.
    pub fn generate() -> MintedToken {
        let mut id = [0u8; 8];
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut id);
        OsRng.fill_bytes(&mut secret);
        let token_id = hex(&id);
        let bearer = format!("mt_{token_id}_{}", URL_SAFE_NO_PAD.encode(secret));
        MintedToken { token_id, bearer }
    }

    pub fn sha256(&self) -> String {
        token_sha256(&self.bearer)
    }
}

/// Lowercase hex SHA-256 of a bearer token, the only form in which it is stored.
pub fn token_sha256(bearer: &str) -> String {
    hex(&Sha256::digest(bearer.as_bytes()))
}

/// The id part of a presented bearer token, if it has the token shape at all. Bounded: a
/// token is 3 + 16 + 1 + 43 characters.
pub fn token_id(bearer: &str) -> Option<&str> {
    if bearer.len() > 128 {
        return None;
    }
    let rest = bearer.strip_prefix("mt_")?;
    let (id, secret) = rest.split_once('_')?;
    let hex_id = id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit());
    (hex_id && !secret.is_empty()).then_some(id)
}

/// Compares a presented token with a stored hash without an early exit, so response time
/// says nothing about how much of the hash matched.
pub fn matches(bearer: &str, stored_sha256: &str) -> bool {
    constant_time_eq(token_sha256(bearer).as_bytes(), stored_sha256.as_bytes())
}

/// A new console session id: 32 random bytes, base64url. It is the session cookie's value and
/// is stored nowhere; the database keeps [`session_sha256`] of it.
pub fn new_session_id() -> String {
    let mut id = [0u8; 32];
    OsRng.fill_bytes(&mut id);
    URL_SAFE_NO_PAD.encode(id)
}

/// What the session table keys a session by.
pub fn session_sha256(session_id: &str) -> String {
    hex(&Sha256::digest(session_id.as_bytes()))
}

/// The CSRF token every console form of a session carries: derived from the session id, so
/// only the session's holder can know it and the server keeps nothing more, and different for
/// every session.
pub fn csrf_token(session_id: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"marktrace/console/csrf\0");
    digest.update(session_id.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.finalize())
}

/// Whether a form's CSRF token is the session's, compared in constant time.
pub fn csrf_matches(session_id: &str, presented: &str) -> bool {
    constant_time_eq(csrf_token(session_id).as_bytes(), presented.as_bytes())
}

/// Equality whose time depends on the lengths only, not on where the bytes differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_names_its_id_and_matches_only_its_own_hash() {
        let token = MintedToken::generate();
        assert_eq!(token_id(&token.bearer), Some(token.token_id.as_str()));
        assert!(matches(&token.bearer, &token.sha256()));
        let other = MintedToken::generate();
        assert!(!matches(&other.bearer, &token.sha256()));
        let mut tampered = token.bearer.clone();
        tampered.pop();
        assert!(!matches(&tampered, &token.sha256()));
    }

    #[test]
    fn strings_without_the_token_shape_have_no_id() {
        for bad in [
            "",
            "mt_",
            "mt_abc_x",
            "xx_0123456789abcdef_s",
            "mt_0123456789abcdeg_s",
        ] {
            assert_eq!(token_id(bad), None, "{bad:?}");
        }
        assert_eq!(
            token_id(&format!("mt_0123456789abcdef_{}", "s".repeat(200))),
            None
        );
    }

    #[test]
    fn scopes_must_fit_their_roles() {
        let r = |s: &str| vec![RegionCode::parse(s).unwrap()];
        assert!(Grant::new(Role::Admin, None, vec![]).is_ok());
        assert_eq!(
            Grant::new(Role::Issuer, None, vec![]),
            Err(ScopeError::Issuer)
        );
        assert!(Grant::new(Role::Issuer, Some("jx-cb1".into()), vec![]).is_ok());
        assert_eq!(
            Grant::new(Role::Admin, Some("x".into()), vec![]),
            Err(ScopeError::Issuer)
        );
        assert_eq!(
            Grant::new(Role::Supervisor, None, vec![]),
            Err(ScopeError::SupervisorRegion)
        );
        assert!(Grant::new(Role::Supervisor, None, r("360100")).is_ok());
        assert_eq!(
            Grant::new(Role::Enforcement, None, vec![]),
            Err(ScopeError::EnforcementRegions)
        );
        assert_eq!(
            Grant::new(Role::Credit, None, r("360000")),
            Err(ScopeError::UnexpectedRegions)
        );
    }

    #[test]
    fn the_created_event_keeps_the_grant_flat() {
        let created = TokenCreated {
            token_id: "0123456789abcdef".into(),
            grant: Grant::new(
                Role::Supervisor,
                None,
                vec![RegionCode::parse("360100").unwrap()],
            )
            .unwrap(),
            note: None,
            token_sha256: "ab".into(),
        };
        assert_eq!(
            serde_json::to_string(&created).unwrap(),
            r#"{"token_id":"0123456789abcdef","role":"supervisor","regions":["360100"],"token_sha256":"ab"}"#
        );
    }
}
