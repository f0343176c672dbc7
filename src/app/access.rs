//! Access tokens as a service: minting (the token shown once, its hash recorded in a
//! confidential event), revoking for good, listing without secrets, and authenticating a
//! presented bearer token against the `tokens` read model, caught up first, so a token minted
//! a moment ago works and a revoked one stops working at once on every node.

use crate::domain::access::{
    self, Grant, MintedToken, TOKEN_CREATED, TOKEN_REVOKED, TokenCreated, TokenRevoked,
    token_stream,
};
use crate::log::{AppendError, Expected, Log, Metadata, NewEvent, StorageError};
use crate::projections::ReadModels;
use crate::projections::model::TokenRecord;
use crate::projections::tokens::Tokens;

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
}

impl Access {
    pub fn new(log: Log, models: ReadModels) -> Access {
        Access { log, models }
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
        let record = self.models.current(&Tokens).await?.token(token_id).await?;
        Ok(record
            .filter(|r| r.revoked_at.is_none() && access::matches(bearer, &r.token_sha256))
            .map(|r| Caller {
                token_id: r.token_id,
                grant: r.grant,
            }))
    }
}
