//! Who is calling. [`Principal`] reads `Authorization: Bearer <token>` and has the access
//! service authenticate it (the token's record found by the id inside it, the whole token
//! checked against the stored hash in constant time, the `tokens` read model caught up first),
//! so a token minted a moment ago works and a revoked one stops working at once, whichever
//! process or node wrote the event.
//!
//! Missing or unknown credentials are a 401; a valid token whose role does not fit is a 403
//! (handlers call [`Principal::require`]). Neither says which check failed.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::error::ApiError;
use super::state::AppState;
use crate::app::IssuerRecord;
use crate::domain::access::{Grant, Role};

/// The authenticated caller.
#[derive(Clone, Debug)]
pub struct Principal {
    pub token_id: String,
    pub grant: Grant,
}

impl Principal {
    /// Refuses any role but `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.grant.role == role {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this requires the {role} role; the token's role is {}",
                self.grant.role
            )))
        }
    }

    /// The registered issuer an issuer token acts for; 403 for other roles or an issuer the
    /// registry does not know.
    pub async fn acting_issuer(&self, state: &AppState) -> Result<IssuerRecord, ApiError> {
        self.require(Role::Issuer)?;
        let issuer = self.grant.issuer.as_deref().unwrap_or_default();
        Ok(state.services.registry.acting_issuer(issuer).await?)
    }

    /// For reads of an issuer's own records: `Some(issuer)` for an issuer token, `None` (all)
    /// for the brand authority, 403 for other roles.
    pub fn own_issuer_or_all(&self) -> Result<Option<String>, ApiError> {
        match self.grant.role {
            Role::Admin => Ok(None),
            Role::Issuer => Ok(self.grant.issuer.clone()),
            _ => self.require(Role::Issuer).map(|()| None),
        }
    }

    /// Refuses every role but supervisor and enforcement (cases, the flag queue).
    pub fn require_case_worker(&self) -> Result<(), ApiError> {
        match self.grant.role {
            Role::Supervisor | Role::Enforcement => Ok(()),
            other => Err(ApiError::Forbidden(format!(
                "this requires the supervisor or enforcement role; the token's role is {other}"
            ))),
        }
    }

    /// The actor recorded in the metadata of the events this caller causes.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.grant.role, self.token_id)
    }
}

/// An admin caller. As an extractor it refuses every other role (403) before the request body
/// is read, so a caller without the right learns nothing from validation errors.
pub struct Admin(pub Principal);

/// An issuer caller, refused likewise before the body; handlers then find its registered
/// issuer with [`Principal::acting_issuer`].
pub struct IssuerCaller(pub Principal);

/// A case worker: a supervisor or an enforcement team (cases, the flag queue). Region
/// checks follow where the resource is known.
pub struct CaseWorker(pub Principal);

/// A supervisor, the only role that opens, shares, transfers and closes cases and changes
/// credit records.
pub struct SupervisorCaller(pub Principal);

/// The credit platform; its token carries no scope.
pub struct CreditCaller;

/// Each role extractor: built from an authenticated [`Principal`] by its role rule
/// (`TryFrom`, which the console uses too), and as an extractor it applies the rule before the
/// request body is read.
macro_rules! role_extractors {
    ($($caller:ident: |$principal:ident| $rule:expr => $build:expr;)*) => {$(
        impl TryFrom<Principal> for $caller {
            type Error = ApiError;

            fn try_from($principal: Principal) -> Result<$caller, ApiError> {
                $rule?;
                Ok($build)
            }
        }

        impl FromRequestParts<AppState> for $caller {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, ApiError> {
                Principal::from_request_parts(parts, state).await?.try_into()
            }
        }
    )*};
}

role_extractors! {
    Admin: |p| p.require(Role::Admin) => Admin(p);
    IssuerCaller: |p| p.require(Role::Issuer) => IssuerCaller(p);
    CaseWorker: |p| p.require_case_worker() => CaseWorker(p);
    SupervisorCaller: |p| p.require(Role::Supervisor) => SupervisorCaller(p);
    CreditCaller: |p| p.require(Role::Credit) => CreditCaller;
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    /// Authenticates once per request: the principal is kept in the request's extensions, so
    /// a layer that needed the caller first (`idempotency::keyed`) and the handler after it
    /// check the token once between them.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        let unauthorized = || {
            ApiError::Unauthorized(
                "send a valid access token as `Authorization: Bearer <token>`".to_owned(),
            )
        };
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(unauthorized)?;
        let caller = state
            .services
            .access
            .authenticate(bearer)
            .await?
            .ok_or_else(unauthorized)?;
        let principal = Principal {
            token_id: caller.token_id,
            grant: caller.grant,
        };
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}
