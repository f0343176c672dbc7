//! Access tokens as a service: minting (the token shown once, its hash recorded in a
//! confidential event), revoking for good, listing without secrets, and authenticating a
//! presented bearer token against the `tokens` read model, caught up first, so a token minted
//! a moment ago works and a revoked one stops working at once on every node. A console
//! session stands for a token in a browser and is authenticated the same way, through its
//! token, on every request.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::clock;
use crate::domain::access::{
    self, Grant, MintedToken, TOKEN_CREATED, TOKEN_REVOKED, TokenCreated, TokenRevoked,
    session_sha256, token_stream,
};
use crate::log::{AppendError, Expected, Log, Metadata, NewEvent, StorageError};
use crate::projections::ReadModels;
use crate::projections::model::TokenRecord;
use crate::projections::tokens::Tokens;
use crate::sessions::{SessionStore, StoredSession};

/// Who an authenticated token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub token_id: String,
    pub grant: Grant,
}

/// Access tokens: what the CLI mints and revokes and every request is checked against.
#[derive(Clone)]
pub struct Access {
    log: Log,
    models: ReadModels,
    sessions: Arc<dyn SessionStore>,
}

impl Access {
    pub fn new(log: Log, models: ReadModels, sessions: Arc<dyn SessionStore>) -> Access {
        Access {
            log,
            models,
            sessions,
        }
    }

    /// Mints a token for a grant and records it (its hash only) in the log. The bearer token in
    /// the answer exists nowhere else: show it once.
    pub async fn create(
        &self,
        grant: Grant,
        note: Option<String>,
        actor: &str,
    ) -> Result<MintedToken, AppendError> {
        let minted = MintedToken::generate();
        let created = TokenCreated {
            token_id: minted.token_id.clone(),
            grant,
            note,
            token_sha256: minted.sha256(),
        };
        let event = NewEvent::new(TOKEN_CREATED, &created)?
            .confidential()?
            .with_metadata(Metadata::by(actor));
        self.log
            .append_to(
                &token_stream(&minted.token_id),
                Expected::NoStream,
                vec![event],
            )
            .await?;
        Ok(minted)
    }

    /// Revokes a token for good; a token id that was never created is a conflict naming it.
    pub async fn revoke(&self, token_id: &str, actor: &str) -> Result<(), AppendError> {
        let revoked = TokenRevoked {
            token_id: token_id.to_owned(),
        };
        let event = NewEvent::new(TOKEN_REVOKED, &revoked)?
            .confidential()?
            .with_metadata(Metadata::by(actor));
        self.log
            .append_to(&token_stream(token_id), Expected::StreamExists, vec![event])
            .await?;
        Ok(())
    }

    /// Every token, oldest first, without secrets.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, StorageError> {
        self.models.current(&Tokens).await?.tokens().await
    }

    /// The caller a presented bearer token names, if it is a valid, unrevoked token: the id
    /// inside it finds the record without a secret-dependent lookup, and the whole token is
    /// compared with the stored hash in constant time.
    pub async fn authenticate(&self, bearer: &str) -> Result<Option<Caller>, StorageError> {
        let Some(token_id) = access::token_id(bearer) else {
            return Ok(None);
        };
        self.caller(token_id, |r| access::matches(bearer, &r.token_sha256))
            .await
    }

    /// The caller a token id names if its token is current (created, not revoked) and passes
    /// `check`.
    async fn caller(
        &self,
        token_id: &str,
        check: impl FnOnce(&TokenRecord) -> bool,
    ) -> Result<Option<Caller>, StorageError> {
        let record = self.models.current(&Tokens).await?.token(token_id).await?;
        Ok(record
            .filter(|r| r.revoked_at.is_none() && check(r))
            .map(|r| Caller {
                token_id: r.token_id,
                grant: r.grant,
            }))
    }

    /// Signs a valid bearer token in for `lifetime`: a new session whose id (the cookie's
    /// value, returned once and stored only as a hash) then stands for the token. `None` when
    /// the token is not valid.
    pub async fn sign_in(
        &self,
        bearer: &str,
        lifetime: Duration,
    ) -> Result<Option<(String, Caller)>, StorageError> {
        let Some(caller) = self.authenticate(bearer).await? else {
            return Ok(None);
        };
        let id = access::new_session_id();
        let now = OffsetDateTime::now_utc();
        self.sessions
            .insert_session(&StoredSession {
                session_sha256: session_sha256(&id),
                token_id: caller.token_id.clone(),
                created_at: clock::format_micros(now),
                expires_at: clock::format_micros(now + lifetime),
            })
            .await?;
        Ok(Some((id, caller)))
    }

    /// The caller a session id stands for: a session that has not ended, whose token is still
    /// current. A revoked token's sessions end here, on every node, at its revocation.
    pub async fn session(&self, session_id: &str) -> Result<Option<Caller>, StorageError> {
        let stored = self
            .sessions
            .session(&session_sha256(session_id), &clock::now_micros())
            .await?;
        match stored {
            Some(session) => self.caller(&session.token_id, |_| true).await,
            None => Ok(None),
        }
    }

    /// Ends a session (sign-out).
    pub async fn sign_out(&self, session_id: &str) -> Result<(), StorageError> {
        self.sessions
            .delete_session(&session_sha256(session_id))
            .await
    }

    /// Forgets the sessions that have ended; returns how many.
    pub async fn purge_sessions(&self) -> Result<u64, StorageError> {
        self.sessions.purge_sessions(&clock::now_micros()).await
    }
}
