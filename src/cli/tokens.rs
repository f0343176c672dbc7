//! `marktrace token create | revoke | list`: access tokens, minted on the host (the bearer
//! token is printed once and exists nowhere else), revoked for good, listed without secrets.

use anyhow::Context;

use super::args::TokenCommand;
use crate::app::services::Services;
use crate::domain::access::Grant;

pub async fn run(services: &Services, command: TokenCommand) -> anyhow::Result<()> {
    let access = &services.access;
    match command {
        TokenCommand::Create {
            role,
            issuer,
            regions,
            note,
        } => {
            let grant = Grant::new(role, issuer, regions)?;
            let minted = access.create(grant, note, "cli").await?;
            println!("token id: {}", minted.token_id);
            println!("bearer token (shown once, store it now): {}", minted.bearer);
        }
        TokenCommand::Revoke { token_id } => {
            access
                .revoke(&token_id, "cli")
                .await
                .with_context(|| format!("no token {token_id} to revoke"))?;
            println!("revoked {token_id}");
        }
        TokenCommand::List => {
            for token in access.tokens().await? {
                println!("{}", serde_json::to_string(&token)?);
            }
        }
    }
    Ok(())
}
