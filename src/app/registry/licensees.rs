//! Licensees: the enterprises each certification body registers as its clients, one stream
//! per licence (`licensee-<issuer>.<uscc>`), so one enterprise may be the client of several
//! bodies and none of them learns of another's; and the `enterprises` read model.

use super::{Registry, RegistryError};
use crate::domain::enterprise::{
    ENTERPRISE_REGISTERED, EnterpriseError, EnterpriseRegistered, licensee_stream,
};
use crate::domain::issuer::IssuerId;
use crate::log::{AppendError, Expected, Metadata, NewEvent, StorageError, StreamName};
use crate::projections::enterprises::Enterprises;
use crate::projections::model::EnterpriseRecord;
use crate::projections::store::EnterpriseFilter;

impl Registry {
    /// Registers an enterprise as a licensee of the issuer whose client it is. Another
    /// issuer's licence for the same code is another stream, so it neither blocks this one nor
    /// shows through it; the same issuer's second registration is refused, never overwritten.
    pub async fn register_enterprise(
        &self,
        registered: EnterpriseRegistered,
        actor: &str,
    ) -> Result<EnterpriseRecord, RegistryError> {
        let event =
            NewEvent::new(ENTERPRISE_REGISTERED, &registered)?.with_metadata(Metadata::by(actor));
        match self
            .log
            .append_to(&registered.stream(), Expected::NoStream, vec![event])
            .await
        {
            Err(AppendError::Conflict { .. }) => {
                return Err(RegistryError::Exists(format!(
                    "enterprise {} as a licensee of issuer {}",
                    registered.uscc,
                    registered.registered_by.as_str()
                )));
            }
            other => other?,
        };
        self.enterprise(Some(registered.registered_by.as_str()), &registered.uscc)
            .await
    }

    /// `issuer`'s licence for the enterprise `uscc`, read from the log; an enterprise
    /// registered nowhere and another issuer's licensee get the same answer. A licence is
    /// never withdrawn, so what this finds stays true for an append that relies on it.
    pub async fn licensee(
        &self,
        issuer: &IssuerId,
        uscc: &str,
    ) -> Result<EnterpriseRegistered, RegistryError> {
        let not_licensee = || EnterpriseError::NotLicensee {
            // Bounded: the code comes from a request.
            uscc: uscc.chars().take(32).collect(),
            issuer: issuer.as_str().to_owned(),
        };
        let Ok(stream) = StreamName::parse(&licensee_stream(issuer, uscc)) else {
            return Err(not_licensee().into());
        };
        let events = self.log.read_stream(stream.as_str(), 1, 1).await?;
        events
            .first()
            .and_then(|e| serde_json::from_str(&e.data).ok())
            .ok_or_else(|| not_licensee().into())
    }

    /// One licence of the code `uscc`: `issuer`'s (`None`, the brand authority: the first by
    /// issuer); another issuer's licensee is not found, exactly like a missing one.
    pub async fn enterprise(
        &self,
        issuer: Option<&str>,
        uscc: &str,
    ) -> Result<EnterpriseRecord, RegistryError> {
        let uscc = uscc.trim().to_ascii_uppercase();
        let filter = EnterpriseFilter {
            uscc: Some(uscc.clone()),
            registered_by: issuer.map(str::to_owned),
            limit: 1,
            ..EnterpriseFilter::default()
        };
        self.enterprises(&filter)
            .await?
            .pop()
            .ok_or_else(|| RegistryError::NotFound(format!("enterprise {uscc}")))
    }

    /// Licences matching a filter, one page by USCC then issuer.
    pub async fn enterprises(
        &self,
        filter: &EnterpriseFilter,
    ) -> Result<Vec<EnterpriseRecord>, StorageError> {
        self.models
            .current(&Enterprises)
            .await?
            .enterprises(filter)
            .await
    }
}
