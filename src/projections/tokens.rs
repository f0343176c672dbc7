//! The `tokens` read model: every access token's grant and state, for authenticating requests
//! and for `marktrace token list`. Built from the confidential `AccessTokenCreated` and
//! `AccessTokenRevoked` events; a revocation is final.

use super::model::{Projection, ProjectionWrite, TokenRecord};
use crate::domain::access::{TOKEN_CREATED, TOKEN_REVOKED, TokenCreated, TokenRevoked};
use crate::log::event::StoredEvent;

pub const NAME: &str = "tokens";

pub struct Tokens;

impl Projection for Tokens {
    fn name(&self) -> &'static str {
        NAME
    }

    fn project(&self, events: &[StoredEvent]) -> Vec<ProjectionWrite> {
        events
            .iter()
            .filter_map(|event| match event.event_type.as_str() {
                TOKEN_CREATED => {
                    let created: TokenCreated = serde_json::from_str(&event.data).ok()?;
                    Some(ProjectionWrite::PutToken(TokenRecord {
                        token_id: created.token_id,
                        grant: created.grant,
                        note: created.note,
                        created_at: event.recorded_at.clone(),
                        revoked_at: None,
                        token_sha256: created.token_sha256,
                    }))
                }
                TOKEN_REVOKED => {
                    let revoked: TokenRevoked = serde_json::from_str(&event.data).ok()?;
                    Some(ProjectionWrite::RevokeToken {
                        token_id: revoked.token_id,
                        revoked_at: event.recorded_at.clone(),
                    })
                }
                _ => None,
            })
            .collect()
    }
}
