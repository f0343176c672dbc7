//! Mark batches as a service: issuing one (a contiguous serial range allocated under
//! optimistic concurrency on the `batches` stream, recorded as one event), choosing and
//! checking the key that signs its marks, reporting ranges of it voided, lost, stolen,
//! revoked, suspended or reinstated, and giving the issuer its marks: one with its label URLs
//! and QR code, or a whole batch as a CSV export signed on every core. Every check reads the
//! log (or the index folded from it) just before the append that depends on it, and the
//! append fails if anything moved between. An issuer sees its own batches and marks only.

use std::num::NonZeroUsize;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::app::registry::keys::issuer_keys;
use crate::app::registry::{Registry, RegistryError};
use crate::clock;
use crate::domain::batch::{
    BATCHES_STREAM, BatchError, BatchIssued, BatchRequest, MARK_BATCH_ISSUED, MARK_RANGE_REPORTED,
    MarkStatus, RangeReported, batch_stream,
};
use crate::domain::certificate::CertificateState;
use crate::domain::gtin::Gtin;
use crate::domain::issuer::IssuerId;
use crate::domain::key::{IssuerKeyAdded, KeyId, KeyStatus};
use crate::domain::region::RegionCode;
use crate::keys::Keyring;
use crate::log::{AppendError, Expected, Log, Metadata, NewEvent, StorageError};
use crate::mark::export::{CsvExport, ExportSpec, gs1_url, label_url};
use crate::mark::qr::Label;
use crate::mark::token::{MarkBody, sign};
use crate::projections::marks::{BatchEntry, MarkIndex};

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

/// What a report asks: serials `first..=last` get `status`.
pub struct Report<'a> {
    pub first: u64,
    pub last: u64,
    pub status: MarkStatus,
    pub reason: Option<&'a str>,
}

/// Which label URL a QR code carries.
#[derive(serde::Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UrlForm {
    /// `{public_url}/v/{token}`.
    #[default]
    Short,
    /// The GS1 Digital Link form, for batches with a GTIN.
    Gs1,
}

/// One serial as its issuer sees it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Mark)]
pub struct MarkRecord {
    pub serial: u64,
    pub batch_id: String,
    pub certificate_code: String,
    /// `good`, or the status the latest report gave it.
    pub status: String,
    pub token: String,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gs1_url: Option<String>,
}

/// Batches and marks.
#[derive(Clone)]
pub struct Marks {
    log: Log,
    index: Arc<MarkIndex>,
    registry: Registry,
    keyring: Arc<Keyring>,
    /// The public base URL, without trailing slash: label URLs start with it.
    public_url: String,
    /// Most marks one batch may hold.
    max_batch_marks: u64,
    /// Threads that sign marks during an export.
    export_threads: NonZeroUsize,
}

impl Marks {
    pub fn new(
        log: Log,
        index: Arc<MarkIndex>,
        registry: Registry,
        keyring: Arc<Keyring>,
        public_url: String,
        max_batch_marks: u64,
        export_threads: NonZeroUsize,
    ) -> Marks {
        Marks {
            log,
            index,
            registry,
            keyring,
            public_url,
            max_batch_marks,
            export_threads,
        }
    }

    /// A batch request checked against this deployment's bounds.
    pub fn request(
        &self,
        certificate_id: &str,
        count: u64,
        gtin: Option<Gtin>,
        regions: Vec<RegionCode>,
        lot: Option<&str>,
        notes: Option<&str>,
    ) -> Result<BatchRequest, RegistryError> {
        Ok(BatchRequest::new(
            certificate_id,
            count,
            self.max_batch_marks,
            gtin,
            regions,
            lot,
            notes,
        )?)
    }

    /// Issues a batch of `issuer`: the certificate must be the issuer's, issued and current
    /// today; the issuer must be active and have an active key. Returns the recorded batch.
    pub async fn issue(
        &self,
        issuer: &IssuerId,
        request: BatchRequest,
        actor: &str,
    ) -> Result<BatchEntry, RegistryError> {
        let at = (OffsetDateTime::now_utc().date(), clock::unix_now());
        self.issue_at(issuer, request, at, actor).await
    }

    /// [`Marks::issue`] as if on the day `today` at Unix time `now`: the certificate and the
    /// key are checked as of then (a batch issued while a since-expired certificate was valid).
    pub async fn issue_at(
        &self,
        issuer: &IssuerId,
        request: BatchRequest,
        (today, now): (Date, u64),
        actor: &str,
    ) -> Result<BatchEntry, RegistryError> {
        self.registry.active_issuer(issuer).await?;
        let certificate = self
            .registry
            .certificate_history(&request.certificate_id, issuer)
            .await?;
        let issued = certificate.issued.as_ref();
        let state = certificate.state.on(today, issued.map(|i| i.valid_until));
        let not_yet = issued.filter(|i| today < i.valid_from);
        if state != CertificateState::Issued || not_yet.is_some() {
            let detail = match (state, issued) {
                (CertificateState::Expired, Some(i)) => {
                    format!(" (valid until {})", i.valid_until)
                }
                (_, Some(i)) if not_yet.is_some() => {
                    format!(" but valid only from {}", i.valid_from)
                }
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
        let enterprise = self.registry.licensee(issuer, &uscc).await?;
        let regions = if request.regions.is_empty() {
            vec![enterprise.region.province()]
        } else {
            request.regions
        };
        let key = self.active_key(issuer, now).await?;
        for _ in 0..ATTEMPTS {
            self.index.catch_up(&self.log).await?;
            let (first_serial, version) = self.index.next_serial();
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
            let event =
                NewEvent::new(MARK_BATCH_ISSUED, &batch)?.with_metadata(Metadata::by(actor));
            match self
                .log
                .append_to(BATCHES_STREAM, Expected::Exact(version), vec![event])
                .await
            {
                Err(AppendError::Conflict { .. }) => continue,
                other => {
                    other?;
                    return self.batch(Some(issuer.as_str()), &batch.batch_id).await;
                }
            }
        }
        Err(RegistryError::Append(AppendError::Unavailable(
            "too many concurrent batches; try again".into(),
        )))
    }

    /// Reports a range of a batch of `issuer` with a new status.
    pub async fn report(
        &self,
        issuer: &IssuerId,
        batch_id: &str,
        asked: Report<'_>,
        actor: &str,
    ) -> Result<RangeReported, RegistryError> {
        for _ in 0..ATTEMPTS {
            self.index.catch_up(&self.log).await?;
            let entry = self
                .index
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
            let event =
                NewEvent::new(MARK_RANGE_REPORTED, &report)?.with_metadata(Metadata::by(actor));
            match self
                .log
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

    /// One page of batches of `issuer` (`None`: all, for the brand authority), in serial
    /// order, after the batch `after`.
    pub async fn batches(
        &self,
        issuer: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<BatchEntry>, StorageError> {
        self.index.catch_up(&self.log).await?;
        Ok(self.index.batches(issuer, after, limit))
    }

    /// A batch of `issuer` (`None`: any) with its reports; another issuer's is not found.
    pub async fn batch(&self, issuer: Option<&str>, id: &str) -> Result<BatchEntry, RegistryError> {
        self.index.catch_up(&self.log).await?;
        self.index
            .batch(id)
            .filter(|b| issuer.is_none_or(|i| b.issued.issuer_id.as_str() == i))
            .ok_or_else(|| RegistryError::NotFound(format!("batch {id}")))
    }

    /// Every mark of a batch of `issuer` as CSV (`serial,token,url[,gs1_url]`), signed on
    /// every core and read in serial order with bounded memory.
    pub async fn export(&self, issuer: Option<&str>, id: &str) -> Result<CsvExport, RegistryError> {
        let batch = self.batch(issuer, id).await?.issued;
        let spec = ExportSpec {
            key: self.batch_key(&batch).await?,
            first_serial: batch.first_serial,
            count: batch.count,
            certificate: batch.certificate_code.clone(),
            gtin: batch.gtin,
            public_url: self.public_url.clone(),
        };
        CsvExport::start(spec, self.export_threads)
            .map_err(|e| RegistryError::Internal(format!("batch {id}: {e}")))
    }

    /// A mark of one of `issuer`'s batches: its batch, status, token (re-signed: Ed25519 is
    /// deterministic, so this is the token the export printed) and label URLs.
    pub async fn mark(
        &self,
        issuer: Option<&str>,
        serial: u64,
    ) -> Result<MarkRecord, RegistryError> {
        self.index.catch_up(&self.log).await?;
        let view = self
            .index
            .lookup(serial)
            .filter(|v| issuer.is_none_or(|i| v.batch.issuer_id.as_str() == i))
            .ok_or_else(|| RegistryError::NotFound(format!("mark {serial}")))?;
        let batch = view.batch;
        let key = self.batch_key(&batch).await?;
        let body = MarkBody::new(batch.key_id, serial, &batch.certificate_code, batch.gtin)
            .map_err(|e| RegistryError::Internal(format!("batch {}: {e}", batch.batch_id)))?;
        let token = sign(&key, &body);
        Ok(MarkRecord {
            serial,
            batch_id: batch.batch_id.clone(),
            certificate_code: batch.certificate_code.clone(),
            status: view.status.map_or("good", MarkStatus::as_str).to_owned(),
            url: label_url(&self.public_url, &token),
            gs1_url: batch
                .gtin
                .map(|gtin| gs1_url(&self.public_url, gtin, serial, &token)),
            token,
        })
    }

    /// A mark's label QR code, carrying its short URL or its GS1 Digital Link.
    pub async fn label(
        &self,
        issuer: Option<&str>,
        serial: u64,
        form: UrlForm,
    ) -> Result<Label, RegistryError> {
        let mark = self.mark(issuer, serial).await?;
        let url = match (form, mark.gs1_url) {
            (UrlForm::Short, _) => mark.url,
            (UrlForm::Gs1, Some(url)) => url,
            (UrlForm::Gs1, None) => {
                return Err(BatchError::Invalid(format!(
                    "batch {} has no GTIN, so its marks have no GS1 Digital Link form",
                    mark.batch_id
                ))
                .into());
            }
        };
        Label::new(&url).map_err(|e| RegistryError::Internal(format!("mark {serial}: {e}")))
    }

    /// The key a new batch of `issuer` is signed with: its active key, valid at `now` (Unix
    /// seconds), endorsed by the root.
    async fn active_key(&self, issuer: &IssuerId, now: u64) -> Result<SigningKey, RegistryError> {
        let (keys, _) = issuer_keys(&self.log, issuer).await?;
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
        private_key(&self.keyring, active)
    }

    /// The key that signed an existing batch, for exporting its marks again: any key but a
    /// compromised one (printing more labels with a leaked key would help the forger).
    async fn batch_key(&self, batch: &BatchIssued) -> Result<SigningKey, RegistryError> {
        let (keys, _) = issuer_keys(&self.log, &batch.issuer_id).await?;
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
        private_key(&self.keyring, added)
    }
}
