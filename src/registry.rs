//! Registry operations: validated changes to the trust registry, appended to the log with
//! optimistic concurrency on the entity's stream. Everything here is events; the read side is
//! the projections. Rules live in `domain`; this module applies them to the log.

use crate::domain::enterprise::{ENTERPRISE_REGISTERED, EnterpriseError, EnterpriseRegistered};
use crate::domain::issuer::{
    ISSUER_REGISTERED, ISSUER_REINSTATED, ISSUER_SUSPENDED, IssuerError, IssuerId,
    IssuerRegistered, IssuerReinstated, IssuerStatus, IssuerSuspended,
};
use crate::log::{AppendError, Expected, InvalidEvent, Log, Metadata, NewEvent};
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Invalid(#[from] IssuerError),
    #[error(transparent)]
    InvalidEnterprise(#[from] EnterpriseError),
    #[error("{0} already exists")]
    Exists(String),
    #[error("{0} does not exist")]
    NotFound(String),
    #[error(transparent)]
    Append(AppendError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<InvalidEvent> for RegistryError {
    fn from(error: InvalidEvent) -> RegistryError {
        RegistryError::Append(error.into())
    }
}

impl From<AppendError> for RegistryError {
    fn from(error: AppendError) -> RegistryError {
        RegistryError::Append(error)
    }
}

/// Registers a new issuer; an id already taken is refused, never overwritten.
pub async fn register_issuer(
    log: &Log,
    registered: IssuerRegistered,
    actor: &str,
) -> Result<(), RegistryError> {
    let id = registered.issuer_id.clone();
    let event = NewEvent::new(ISSUER_REGISTERED, &registered)?.with_metadata(Metadata::by(actor));
    match log
        .append_to(&id.stream(), Expected::NoStream, vec![event])
        .await
    {
        Err(AppendError::Conflict { .. }) => {
            Err(RegistryError::Exists(format!("issuer {}", id.as_str())))
        }
        other => Ok(other.map(drop)?),
    }
}

/// Registers an enterprise for the issuer that vouches for it; a code already registered is
/// refused, never overwritten.
pub async fn register_enterprise(
    log: &Log,
    registered: EnterpriseRegistered,
    actor: &str,
) -> Result<(), RegistryError> {
    let event =
        NewEvent::new(ENTERPRISE_REGISTERED, &registered)?.with_metadata(Metadata::by(actor));
    match log
        .append_to(&registered.stream(), Expected::NoStream, vec![event])
        .await
    {
        Err(AppendError::Conflict { .. }) => Err(RegistryError::Exists(format!(
            "enterprise {}",
            registered.uscc
        ))),
        other => Ok(other.map(drop)?),
    }
}

/// Suspends an active issuer (`reason` given) or reinstates a suspended one (`reason` None).
/// The issuer's stream is read, its status folded and checked, and the event appended only
/// if nothing was appended to the stream meanwhile.
pub async fn set_issuer_status(
    log: &Log,
    id: &IssuerId,
    reason: Option<String>,
    actor: &str,
) -> Result<IssuerStatus, RegistryError> {
    let events = log.read_stream(&id.stream(), 1, u32::MAX).await?;
    let Some(last) = events.last() else {
        return Err(RegistryError::NotFound(format!("issuer {}", id.as_str())));
    };
    let status = events
        .iter()
        .fold(IssuerStatus::Active, |s, e| s.after(&e.event_type));
    let event = match reason {
        Some(reason) => {
            status.check(id, ISSUER_SUSPENDED)?;
            let data = IssuerSuspended {
                issuer_id: id.clone(),
                reason: crate::domain::issuer::text("reason", &reason, 500)?,
            };
            NewEvent::new(ISSUER_SUSPENDED, &data)?
        }
        None => {
            status.check(id, ISSUER_REINSTATED)?;
            NewEvent::new(
                ISSUER_REINSTATED,
                &IssuerReinstated {
                    issuer_id: id.clone(),
                },
            )?
        }
    };
    let after = status.after(&event.event_type);
    let event = event.with_metadata(Metadata::by(actor));
    log.append_to(&id.stream(), Expected::Exact(last.version), vec![event])
        .await?;
    Ok(after)
}
