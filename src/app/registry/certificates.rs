//! Certificates: 企业申请 → 第三方评价 → issued ⇄ suspended → revoked, each certificate in
//! its stream `certificate-<id>`, for the issuer's own licensees only; and the
//! `certificates` read model (states as of today: an issued certificate past its validity
//! reads `expired`).

use time::{Date, OffsetDateTime};

use super::{Registry, RegistryError};
use crate::domain::certificate::{
    Applied, CERTIFICATE_APPLIED, CERTIFICATE_CODE_CLAIMED, CERTIFICATE_EVALUATED,
    CERTIFICATE_ISSUED, CERTIFICATE_REINSTATED, CERTIFICATE_REVOKED, CERTIFICATE_SUSPENDED,
    CertificateCodeClaimed, CertificateState, Evaluated, Issued, Reason, certificate_code_stream,
    certificate_stream,
};
use crate::domain::issuer::{IssuerId, IssuerStatus};
use crate::log::{
    AppendError, Expected, Metadata, NewEvent, StorageError, StreamAppend, StreamName,
};
use crate::projections::certificates::Certificates;
use crate::projections::model::CertificateRecord;
use crate::projections::store::CertificateFilter;

/// The next step in a certificate's life.
pub enum CertificateStep {
    Evaluate(Evaluated),
    Issue(Issued),
    Suspend(Reason),
    Reinstate,
    Revoke(Reason),
}

/// A certificate folded from its stream.
pub struct CertificateHistory {
    pub stream: StreamName,
    pub applied: Applied,
    pub state: CertificateState,
    /// The code and validity, once issued.
    pub issued: Option<Issued>,
    pub version: u64,
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

impl Registry {
    /// Records a licensee's application to its issuer. An issuer applies only for its own
    /// licensees.
    pub async fn apply_certificate(
        &self,
        applied: Applied,
        actor: &str,
    ) -> Result<CertificateRecord, RegistryError> {
        self.licensee(&applied.issuer, &applied.enterprise_uscc)
            .await?;
        let id = applied.certificate_id.clone();
        let issuer = applied.issuer.clone();
        let event =
            NewEvent::new(CERTIFICATE_APPLIED, &applied)?.with_metadata(Metadata::by(actor));
        self.log
            .append_to(&certificate_stream(&id), Expected::NoStream, vec![event])
            .await?;
        self.certificate(Some(issuer.as_str()), &id).await
    }

    /// Reads and folds a certificate of `issuer` from the log; another issuer's certificate
    /// is not found.
    pub async fn certificate_history(
        &self,
        id: &str,
        issuer: &IssuerId,
    ) -> Result<CertificateHistory, RegistryError> {
        let missing = || RegistryError::NotFound(format!("certificate {id}"));
        let stream = StreamName::parse(&certificate_stream(id)).map_err(|_| missing())?;
        let events = self.log.read_stream(stream.as_str(), 1, u32::MAX).await?;
        let applied: Applied = events
            .first()
            .and_then(|e| serde_json::from_str(&e.data).ok())
            .ok_or_else(missing)?;
        if &applied.issuer != issuer {
            return Err(missing());
        }
        let state = events.iter().fold(CertificateState::Applied, |state, e| {
            state.after(&e.event_type, &e.data)
        });
        let issued = events
            .iter()
            .filter(|e| e.event_type == CERTIFICATE_ISSUED)
            .find_map(|e| serde_json::from_str(&e.data).ok());
        Ok(CertificateHistory {
            stream,
            applied,
            state,
            issued,
            version: events.last().map_or(0, |e| e.version),
        })
    }

    /// Takes a certificate one step, if its issuer is `issuer` and its current state allows
    /// it; a suspended issuer may not issue. Issuing also claims the certificate code in its
    /// own stream, in the same atomic append, so two certificates can never share a code.
    pub async fn advance_certificate(
        &self,
        id: &str,
        issuer: &IssuerId,
        step: CertificateStep,
        actor: &str,
    ) -> Result<CertificateRecord, RegistryError> {
        if matches!(step, CertificateStep::Issue(_)) {
            self.active_issuer(issuer).await?;
        }
        let CertificateHistory {
            stream,
            state,
            version,
            ..
        } = self.certificate_history(id, issuer).await?;
        let (event_type, event) = match &step {
            CertificateStep::Evaluate(d) => (
                CERTIFICATE_EVALUATED,
                NewEvent::new(CERTIFICATE_EVALUATED, d)?,
            ),
            CertificateStep::Issue(d) => {
                (CERTIFICATE_ISSUED, NewEvent::new(CERTIFICATE_ISSUED, d)?)
            }
            CertificateStep::Suspend(d) => (
                CERTIFICATE_SUSPENDED,
                NewEvent::new(CERTIFICATE_SUSPENDED, d)?,
            ),
            CertificateStep::Reinstate => (
                CERTIFICATE_REINSTATED,
                NewEvent::new(CERTIFICATE_REINSTATED, &())?,
            ),
            CertificateStep::Revoke(d) => {
                (CERTIFICATE_REVOKED, NewEvent::new(CERTIFICATE_REVOKED, d)?)
            }
        };
        state.check(id, event_type)?;
        let mut appends = vec![StreamAppend {
            stream,
            expected: Expected::Exact(version),
            events: vec![event.with_metadata(Metadata::by(actor))],
        }];
        let code = match &step {
            CertificateStep::Issue(issued) => Some(issued.code.clone()),
            _ => None,
        };
        if let Some(code) = &code {
            let claim = CertificateCodeClaimed {
                certificate_id: id.to_owned(),
            };
            let claim = NewEvent::new(CERTIFICATE_CODE_CLAIMED, &claim)?;
            appends.push(StreamAppend {
                stream: StreamName::parse(&certificate_code_stream(code))?,
                expected: Expected::NoStream,
                events: vec![claim.with_metadata(Metadata::by(actor))],
            });
        }
        match (self.log.append(appends).await, code) {
            (Err(AppendError::Conflict { stream, .. }), Some(code))
                if stream.starts_with("certcode-") =>
            {
                return Err(RegistryError::Exists(format!("certificate code {code}")));
            }
            (other, _) => other?,
        };
        self.certificate(Some(issuer.as_str()), id).await
    }

    /// Refuses an issuer that is not registered or is suspended: it may not issue.
    pub async fn active_issuer(&self, issuer: &IssuerId) -> Result<(), RegistryError> {
        let events = self.log.read_stream(&issuer.stream(), 1, u32::MAX).await?;
        if events.is_empty() {
            return Err(RegistryError::NotFound(format!(
                "issuer {}",
                issuer.as_str()
            )));
        }
        let status = events
            .iter()
            .fold(IssuerStatus::Active, |s, e| s.after(&e.event_type));
        if status == IssuerStatus::Suspended {
            return Err(RegistryError::Forbidden(format!(
                "issuer {} is suspended and may not issue",
                issuer.as_str()
            )));
        }
        Ok(())
    }

    /// One certificate of `issuer` (`None`: any, for the brand authority), as of today.
    pub async fn certificate(
        &self,
        issuer: Option<&str>,
        id: &str,
    ) -> Result<CertificateRecord, RegistryError> {
        let filter = CertificateFilter {
            id: Some(id.to_owned()),
            issuer: issuer.map(str::to_owned),
            limit: 1,
            ..CertificateFilter::default()
        };
        self.certificates(&filter)
            .await?
            .pop()
            .ok_or_else(|| RegistryError::NotFound(format!("certificate {id}")))
    }

    /// Certificates matching a filter, one page by id, as of today.
    pub async fn certificates(
        &self,
        filter: &CertificateFilter,
    ) -> Result<Vec<CertificateRecord>, StorageError> {
        let records = self
            .models
            .current(&Certificates)
            .await?
            .certificates(filter)
            .await?;
        let today = today();
        Ok(records.into_iter().map(|r| r.on(today)).collect())
    }
}
