//! Mark batches in the registry: issuing one (a contiguous serial range allocated under
//! optimistic concurrency on the `batches` stream, recorded as one event), choosing and
//! checking the key that signs its marks, and reporting ranges of it voided, lost, stolen,
//! revoked, suspended or reinstated. Every check reads the log (or the index folded from it)
//! just before the append that depends on it, and the append fails if anything moved between.

use ed25519_dalek::SigningKey;
use time::Date;

use super::{RegistryError, certificate_history};
use crate::domain::batch::{
    BATCHES_STREAM, BatchError, BatchIssued, BatchRequest, MARK_BATCH_ISSUED, MARK_RANGE_REPORTED,
    MarkStatus, RangeReported, batch_stream,
};
use crate::domain::certificate::CertificateState;
use crate::domain::issuer::{IssuerId, IssuerStatus};
use crate::domain::key::{IssuerKeyAdded, KeyId, KeyStatus};
use crate::keys::Keyring;
use crate::log::{AppendError, Expected, Log, Metadata, NewEvent};
use crate::mark::index::MarkIndex;
use crate::registry::keys::issuer_keys;

/// Appends that lose a race for the `batches` stream are retried this many times, each after
/// catching up with the winner.
const ATTEMPTS: usize = 8;

/// Loads a key's private half and checks it is the key the registry endorsed.
fn private_key(keyring: &Keyring, added: &IssuerKeyAdded) -> Result<SigningKey, RegistryError> {
    if !added.endorsed_by(&keyring.root_public()) {
        return Err(BatchError::Key(format!(
            "key {} is not endorsed by this deployment's brand root",
            added.key_id
        ))
        .into());
    }
    let key = keyring.issuer_key(&added.issuer_id, added.key_id)?;
    if key.verifying_key() != added.public_key {
        return Err(BatchError::Key(format!(
            "the key file of {} holds another key",
            added.key_id
        ))
        .into());
    }
    Ok(key)
}

/// The key a new batch of `issuer` is signed with: its active key, valid at `now` (Unix
/// seconds), endorsed by the root.
pub async fn active_key(
    log: &Log,
    keyring: &Keyring,
    issuer: &IssuerId,
    now: u64,
) -> Result<SigningKey, RegistryError> {
    let (keys, _) = issuer_keys(log, issuer).await?;
    let active = keys.active().ok_or_else(|| {
        BatchError::Key(format!(
            "issuer {} has no active key; add and activate one",
            issuer.as_str()
        ))
    })?;
    if !active.validity().contains(now) {
        return Err(BatchError::Key(format!(
            "key {} is valid from {} to {} (Unix seconds), not now",
            active.key_id, active.not_before, active.not_after
        ))
        .into());
    }
    private_key(keyring, active)
}

/// The key that signed an existing batch, for exporting its marks again: any key but a
/// compromised one (printing more labels with a leaked key would help the forger).
pub async fn batch_key(
    log: &Log,
    keyring: &Keyring,
    batch: &BatchIssued,
) -> Result<SigningKey, RegistryError> {
    let (keys, _) = issuer_keys(log, &batch.issuer_id).await?;
    let (added, status) = keys
        .get(batch.key_id)
        .ok_or_else(|| RegistryError::NotFound(format!("key {}", batch.key_id)))?;
    if *status == KeyStatus::Compromised {
        return Err(BatchError::Key(format!(
            "key {} is compromised; its marks are not exported again",
            added.key_id
        ))
        .into());
    }
    private_key(keyring, added)
}

/// Issues a batch of `issuer`: the certificate must be the issuer's, issued and current on
/// `today`; the issuer must be active and have an active key. Returns the recorded batch.
pub async fn issue_batch(
    log: &Log,
    index: &MarkIndex,
    keyring: &Keyring,
    issuer: &IssuerId,
    request: BatchRequest,
    (today, now): (Date, u64),
    actor: &str,
) -> Result<BatchIssued, RegistryError> {
    let issuer_events = log.read_stream(&issuer.stream(), 1, u32::MAX).await?;
    if issuer_events.is_empty() {
        return Err(RegistryError::NotFound(format!(
            "issuer {}",
            issuer.as_str()
        )));
    }
    let status = issuer_events
        .iter()
        .fold(IssuerStatus::Active, |s, e| s.after(&e.event_type));
    if status == IssuerStatus::Suspended {
        return Err(RegistryError::Forbidden(format!(
            "issuer {} is suspended and may not issue",
            issuer.as_str()
        )));
    }
    let certificate = certificate_history(log, &request.certificate_id, issuer).await?;
    let issued = certificate.issued.as_ref();
    let state = certificate.state.on(today, issued.map(|i| i.valid_until));
    let not_yet = issued.filter(|i| today < i.valid_from);
    if state != CertificateState::Issued || not_yet.is_some() {
        let detail = match (state, issued) {
            (CertificateState::Expired, Some(i)) => format!(" (valid until {})", i.valid_until),
            (_, Some(i)) if not_yet.is_some() => format!(" but valid only from {}", i.valid_from),
            _ => String::new(),
        };
        return Err(BatchError::Certificate {
            id: request.certificate_id,
            state: state.to_string(),
            detail,
        }
        .into());
    }
    let code = issued.map(|i| i.code.clone()).unwrap_or_default();
    let uscc = certificate.applied.enterprise_uscc.clone();
    // Marks name the licensee as their issuer registered it, so it must be one.
    let enterprise = super::licensee(log, issuer, &uscc).await?;
    let regions = if request.regions.is_empty() {
        vec![enterprise.region.province()]
    } else {
        request.regions
    };
    let key = active_key(log, keyring, issuer, now).await?;
    for _ in 0..ATTEMPTS {
        index.catch_up(log).await?;
        let (first_serial, version) = index.next_serial();
        if first_serial.checked_add(request.count).is_none() {
            return Err(
                BatchError::Invalid("no serials left for a batch this large".into()).into(),
            );
        }
        let batch = BatchIssued {
            batch_id: uuid::Uuid::now_v7().simple().to_string(),
            issuer_id: issuer.clone(),
            certificate_id: request.certificate_id.clone(),
            certificate_code: code.clone(),
            enterprise_uscc: uscc.clone(),
            key_id: KeyId::of(&key.verifying_key()),
            first_serial,
            count: request.count,
            gtin: request.gtin,
            regions: regions.clone(),
            lot: request.lot.clone(),
            notes: request.notes.clone(),
        };
        let event = NewEvent::new(MARK_BATCH_ISSUED, &batch)?.with_metadata(Metadata::by(actor));
        match log
            .append_to(BATCHES_STREAM, Expected::Exact(version), vec![event])
            .await
        {
            Err(AppendError::Conflict { .. }) => continue,
            other => return other.map(|_| batch).map_err(RegistryError::from),
        }
    }
    Err(RegistryError::Append(AppendError::Unavailable(
        "too many concurrent batches; try again".into(),
    )))
}

/// What a report asks: serials `first..=last` get `status`.
pub struct Report<'a> {
    pub first: u64,
    pub last: u64,
    pub status: MarkStatus,
    pub reason: Option<&'a str>,
}

/// Reports a range of a batch of `issuer` with a new status.
pub async fn report_range(
    log: &Log,
    index: &MarkIndex,
    issuer: &IssuerId,
    batch_id: &str,
    asked: Report<'_>,
    actor: &str,
) -> Result<RangeReported, RegistryError> {
    for _ in 0..ATTEMPTS {
        index.catch_up(log).await?;
        let entry = index
            .batch(batch_id)
            .filter(|b| &b.issued.issuer_id == issuer)
            .ok_or_else(|| RegistryError::NotFound(format!("batch {batch_id}")))?;
        let report = RangeReported::new(
            &entry.issued,
            asked.first,
            asked.last,
            asked.status,
            asked.reason,
        )?;
        report.check_against(&entry.reports)?;
        let event = NewEvent::new(MARK_RANGE_REPORTED, &report)?.with_metadata(Metadata::by(actor));
        match log
            .append_to(
                &batch_stream(batch_id),
                Expected::Exact(entry.version),
                vec![event],
            )
            .await
        {
            Err(AppendError::Conflict { .. }) => continue,
            other => return other.map(|_| report).map_err(RegistryError::from),
        }
    }
    Err(RegistryError::Append(AppendError::Unavailable(
        "too many concurrent reports on this batch; try again".into(),
    )))
}
