//! Certification bodies: registered by the brand authority, suspended and reinstated, each
//! with its own stream `issuer-<id>`; and the `issuers` read model.

use super::{Registry, RegistryError};
use crate::domain::brand::BrandError;
use crate::domain::issuer::{
    ISSUER_REGISTERED, ISSUER_REINSTATED, ISSUER_SUSPENDED, IssuerId, IssuerRegistered,
    IssuerReinstated, IssuerStatus, IssuerSuspended, text,
};
use crate::log::{AppendError, Expected, Metadata, NewEvent, StorageError};
use crate::projections::issuers::Issuers;
use crate::projections::model::IssuerRecord;
use crate::projections::store::IssuerFilter;

impl Registry {
    /// Registers a new issuer; an id already taken is refused, never overwritten.
    pub async fn register_issuer(
        &self,
        registered: IssuerRegistered,
        actor: &str,
    ) -> Result<IssuerRecord, RegistryError> {
        let id = registered.issuer_id.clone();
        if let Some(sub_brand) = &registered.sub_brand {
            self.sub_brand(sub_brand).await.map_err(|e| match e {
                RegistryError::NotFound(what) => {
                    BrandError::Text(format!("sub_brand: {what} is not registered")).into()
                }
                other => other,
            })?;
        }
        let event =
            NewEvent::new(ISSUER_REGISTERED, &registered)?.with_metadata(Metadata::by(actor));
        match self
            .log
            .append_to(&id.stream(), Expected::NoStream, vec![event])
            .await
        {
            Err(AppendError::Conflict { .. }) => {
                return Err(RegistryError::Exists(format!("issuer {}", id.as_str())));
            }
            other => other?,
        };
        self.issuer(&id).await
    }

    /// Suspends an active issuer (`reason` given) or reinstates a suspended one (`reason`
    /// None). The issuer's stream is read, its status folded and checked, and the event
    /// appended only if nothing was appended to the stream meanwhile.
    pub async fn set_issuer_status(
        &self,
        id: &IssuerId,
        reason: Option<String>,
        actor: &str,
    ) -> Result<IssuerRecord, RegistryError> {
        let events = self.log.read_stream(&id.stream(), 1, u32::MAX).await?;
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
                    reason: text("reason", &reason, 500)?,
                };
                NewEvent::new(ISSUER_SUSPENDED, &data)?
            }
            None => {
                status.check(id, ISSUER_REINSTATED)?;
                let data = IssuerReinstated {
                    issuer_id: id.clone(),
                };
                NewEvent::new(ISSUER_REINSTATED, &data)?
            }
        };
        let event = event.with_metadata(Metadata::by(actor));
        self.log
            .append_to(&id.stream(), Expected::Exact(last.version), vec![event])
            .await?;
        self.issuer(id).await
    }

    /// One issuer.
    pub async fn issuer(&self, id: &IssuerId) -> Result<IssuerRecord, RegistryError> {
        let filter = IssuerFilter {
            id: Some(id.as_str().to_owned()),
            limit: 1,
            ..IssuerFilter::default()
        };
        self.issuers(&filter)
            .await?
            .pop()
            .ok_or_else(|| RegistryError::NotFound(format!("issuer {}", id.as_str())))
    }

    /// Issuers matching a filter, one page by id.
    pub async fn issuers(&self, filter: &IssuerFilter) -> Result<Vec<IssuerRecord>, StorageError> {
        self.models.current(&Issuers).await?.issuers(filter).await
    }

    /// The registered issuer an issuer token acts for; an issuer the registry does not know
    /// grants nothing.
    pub async fn acting_issuer(&self, issuer: &str) -> Result<IssuerRecord, RegistryError> {
        let filter = IssuerFilter {
            id: Some(issuer.to_owned()),
            limit: 1,
            ..IssuerFilter::default()
        };
        self.issuers(&filter).await?.pop().ok_or_else(|| {
            RegistryError::Forbidden(format!(
                "this token acts for issuer {issuer:?}, which is not registered"
            ))
        })
    }
}
