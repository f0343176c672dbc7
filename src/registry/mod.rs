//! Registry operations: validated changes to the trust registry, appended to the log with
//! optimistic concurrency on the entity's stream. Everything here is events; the read side is
//! the projections. Rules live in `domain`; this module applies them to the log ([`keys`]
//! holds the issuer keys' part).

pub mod batches;
pub mod keys;

use crate::domain::certificate::{
    Applied, CERTIFICATE_APPLIED, CERTIFICATE_EVALUATED, CERTIFICATE_ISSUED,
    CERTIFICATE_REINSTATED, CERTIFICATE_REVOKED, CERTIFICATE_SUSPENDED, CertificateError,
    CertificateState, Evaluated, Issued, Reason,
};
use crate::domain::enterprise::{
    ENTERPRISE_REGISTERED, EnterpriseError, EnterpriseRegistered, licensee_stream,
};
use crate::domain::issuer::{
    ISSUER_REGISTERED, ISSUER_REINSTATED, ISSUER_SUSPENDED, IssuerError, IssuerId,
    IssuerRegistered, IssuerReinstated, IssuerStatus, IssuerSuspended,
};
use crate::log::{
    AppendError, Expected, InvalidEvent, Log, Metadata, NewEvent, StreamAppend, StreamName,
};
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    #[error(transparent)]
    Invalid(#[from] IssuerError),
    #[error(transparent)]
    Key(#[from] crate::domain::key::IssuerKeyError),
    #[error(transparent)]
    KeyFile(#[from] crate::keys::KeyError),
    #[error(transparent)]
    Batch(#[from] crate::domain::batch::BatchError),
    /// The caller may act, but its issuer may not do this now (it is suspended).
    #[error("{0}")]
    Forbidden(String),
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

/// Registers an enterprise as a licensee of the issuer whose client it is. Another issuer's
/// licence for the same code is another stream, so it neither blocks this one nor shows
/// through it; the same issuer's second registration is refused, never overwritten.
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
            "enterprise {} as a licensee of issuer {}",
            registered.uscc,
            registered.registered_by.as_str()
        ))),
        other => Ok(other.map(drop)?),
    }
}

/// `issuer`'s licence for the enterprise `uscc`; an enterprise registered nowhere and another
/// issuer's licensee get the same answer. A licence is never withdrawn, so what this finds
/// stays true for an append that relies on it.
pub async fn licensee(
    log: &Log,
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
    let events = log.read_stream(stream.as_str(), 1, 1).await?;
    events
        .first()
        .and_then(|e| serde_json::from_str(&e.data).ok())
        .ok_or_else(|| not_licensee().into())
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

/// The next step in a certificate's life.
pub enum CertificateStep {
    Evaluate(Evaluated),
    Issue(Issued),
    Suspend(Reason),
    Reinstate,
    Revoke(Reason),
}

pub fn certificate_stream(id: &str) -> String {
    format!("certificate-{id}")
}

/// Records a licensee's application to its issuer; returns the new certificate's id. An
/// issuer applies only for its own licensees.
pub async fn apply_certificate(
    log: &Log,
    applied: Applied,
    actor: &str,
) -> Result<String, RegistryError> {
    licensee(log, &applied.issuer, &applied.enterprise_uscc).await?;
    let id = applied.certificate_id.clone();
    let event = NewEvent::new(CERTIFICATE_APPLIED, &applied)?.with_metadata(Metadata::by(actor));
    log.append_to(&certificate_stream(&id), Expected::NoStream, vec![event])
        .await?;
    Ok(id)
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

/// Reads and folds a certificate of `issuer`; another issuer's certificate is not found.
pub async fn certificate_history(
    log: &Log,
    id: &str,
    issuer: &IssuerId,
) -> Result<CertificateHistory, RegistryError> {
    let missing = || RegistryError::NotFound(format!("certificate {id}"));
    let stream = StreamName::parse(&certificate_stream(id)).map_err(|_| missing())?;
    let events = log.read_stream(stream.as_str(), 1, u32::MAX).await?;
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

/// Takes a certificate one step, if its issuer is `issuer` and its current state allows it.
/// Issuing also claims the certificate code in its own stream, in the same atomic append, so
/// two certificates can never share a code.
pub async fn advance_certificate(
    log: &Log,
    id: &str,
    issuer: &IssuerId,
    step: CertificateStep,
    actor: &str,
) -> Result<(), RegistryError> {
    let CertificateHistory {
        stream,
        state,
        version,
        ..
    } = certificate_history(log, id, issuer).await?;
    let (event_type, event) = match &step {
        CertificateStep::Evaluate(d) => (
            CERTIFICATE_EVALUATED,
            NewEvent::new(CERTIFICATE_EVALUATED, d)?,
        ),
        CertificateStep::Issue(d) => (CERTIFICATE_ISSUED, NewEvent::new(CERTIFICATE_ISSUED, d)?),
        CertificateStep::Suspend(d) => (
            CERTIFICATE_SUSPENDED,
            NewEvent::new(CERTIFICATE_SUSPENDED, d)?,
        ),
        CertificateStep::Reinstate => (
            CERTIFICATE_REINSTATED,
            NewEvent::new(CERTIFICATE_REINSTATED, &())?,
        ),
        CertificateStep::Revoke(d) => (CERTIFICATE_REVOKED, NewEvent::new(CERTIFICATE_REVOKED, d)?),
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
        let claim = NewEvent::new(
            "CertificateCodeClaimed",
            &serde_json::json!({"certificate_id": id}),
        )?;
        let code_stream = format!("certcode-{}", code.to_ascii_lowercase());
        appends.push(StreamAppend {
            stream: StreamName::parse(&code_stream)?,
            expected: Expected::NoStream,
            events: vec![claim.with_metadata(Metadata::by(actor))],
        });
    }
    match (log.append(appends).await, code) {
        (Err(AppendError::Conflict { stream, .. }), Some(code))
            if stream.starts_with("certcode-") =>
        {
            Err(RegistryError::Exists(format!("certificate code {code}")))
        }
        (other, _) => Ok(other.map(drop)?),
    }
}
