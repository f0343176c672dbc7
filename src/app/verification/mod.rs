//! Verification as a service: the whole flow of a scan in one place, [`Verifier::scan`], for
//! the label URLs, `POST /verify` and the CLI alike: catch up with the log, one [`check`], the
//! `KeyMisuseDetected` event when a registered key signed what the registry never issued, the
//! `traded` flag when an inspector's claims disagree, and the scan record. Also a consumer's
//! report of a suspected fake.

pub mod batcher;
pub mod check;
pub mod live;
pub mod offline;
pub mod partner;

use std::net::IpAddr;
use std::sync::Arc;

use time::OffsetDateTime;

use super::detection::Detector;
use crate::clock;
use crate::domain::detection::Finding;
use crate::domain::key::{KEY_MISUSE_DETECTED, KeyId, KeyMisuseDetected, key_misuse_stream};
use crate::domain::region::RegionCode;
use crate::domain::report::{CONSUMER_REPORT_FILED, ConsumerReport};
use crate::domain::verdict::{Answer, Flag, Reason};
use crate::log::{AppendError, Expected, Log, Metadata, NewEvent, StorageError};
use crate::mark::label::{LabelHosts, LabelUrl, parse_label_url};
use crate::projections::marks::MarkIndex;
use crate::scans::{ClientHasher, Scan, ScanRecorder};
use batcher::Batcher;
use check::{Checked, Presented, Signatures};
use live::LiveStatus;

/// Where scans are recorded: the recorder and the client hash. A verifier without one (the
/// CLI's) answers without recording.
#[derive(Clone)]
pub struct ScanSink {
    pub recorder: ScanRecorder,
    pub clients: Arc<ClientHasher>,
}

/// Verifies marks against the registry as this node knows it.
#[derive(Clone)]
pub struct Verifier {
    log: Log,
    index: Arc<MarkIndex>,
    signatures: Arc<Signatures>,
    batcher: Arc<Batcher>,
    detector: Detector,
    label_hosts: Arc<LabelHosts>,
    scans: Option<ScanSink>,
    /// Partner brands' own answers for their marks.
    live: Arc<LiveStatus>,
}

impl Verifier {
    pub fn new(
        log: Log,
        index: Arc<MarkIndex>,
        signatures: Arc<Signatures>,
        batcher: Arc<Batcher>,
        detector: Detector,
        label_hosts: Arc<LabelHosts>,
    ) -> Verifier {
        Verifier {
            log,
            index,
            signatures,
            batcher,
            detector,
            label_hosts,
            scans: None,
            live: Arc::default(),
        }
    }

    /// This verifier, recording the scans it answers into `sink`.
    pub fn recording(mut self, sink: ScanSink) -> Verifier {
        self.scans = Some(sink);
        self
    }

    /// A label URL taken apart, with whether its host is one the brand prints.
    pub fn label_url<'a>(&self, url: &'a str) -> Option<LabelUrl<'a>> {
        parse_label_url(url, &self.label_hosts)
    }

    /// Verifies what was presented and records the scan of a decodable token: the answer a
    /// consumer or inspector gets.
    pub async fn scan(
        &self,
        presented: &Presented<'_>,
        region: Option<RegionCode>,
        client: IpAddr,
    ) -> Result<Answer, StorageError> {
        let checked = self.verify(presented, region).await?;
        // A partner's serial is its own, not one of ours: its scans are the partner's to keep.
        let ours = checked.serial.filter(|_| checked.partner.is_none());
        if let (Some(serial), Some(sink)) = (ours, &self.scans) {
            sink.recorder.record(Scan {
                serial,
                scanned_at: clock::now_micros(),
                region,
                verdict: checked.answer.verdict,
                client: sink.clients.hash(client),
            });
        }
        Ok(checked.answer)
    }

    /// Verifies many presentations at once (a platform's listings, customs sampling): one
    /// answer each, in order, their first signatures checked in batches together. Scans are
    /// recorded only when a region is given, since a listing checked from an office is no
    /// scan of a label in a market.
    pub async fn verify_many(
        &self,
        presented: &[Presented<'_>],
        region: Option<RegionCode>,
        client: IpAddr,
    ) -> Result<Vec<Answer>, StorageError> {
        let each = presented.iter().map(|p| async move {
            match region {
                Some(_) => self.scan(p, region, client).await,
                None => Ok(self.verify(p, None).await?.answer),
            }
        });
        futures_util::future::try_join_all(each).await
    }

    /// Verifies what was presented, having first caught up with every event committed more
    /// than [`MAX_STALENESS`](crate::log::MAX_STALENESS) ago on any node (and every event this node acknowledged: a
    /// revocation answered here is never followed by a `genuine` from here), and records what
    /// the verification revealed: a key's misuse, a traded mark. When the log's head cannot be
    /// confirmed (the database is unreachable), it answers nothing rather than a possibly
    /// stale verdict: [`StorageError::Unavailable`].
    pub async fn verify(
        &self,
        presented: &Presented<'_>,
        region: Option<RegionCode>,
    ) -> Result<Checked, StorageError> {
        self.log.ensure_current().await?;
        if self.index.position() < self.log.size() {
            self.index.catch_up(&self.log).await?;
        }
        let today = OffsetDateTime::now_utc().date();
        let prepared = self.signatures.prepare(presented.token);
        // A first scan's signature is checked in a batch with other first scans.
        let own = match prepared.pending(&self.index) {
            Some(p) => Some(self.batcher.verify(p.key, p.message, p.signature).await),
            None => None,
        };
        let check = |prepared| {
            check::check(
                &self.index,
                &self.signatures,
                presented,
                prepared,
                today,
                own,
            )
        };
        let mut checked = check(&prepared);
        if checked.answer.reason == Reason::UnregisteredSignedMark {
            // Before calling a registered key's signature misuse, read the log itself: another
            // process on the same database (`marktrace issue`) may have issued the batch
            // without this process hearing of it yet, and a false KeyMisuseDetected is a
            // critical alarm.
            self.index.catch_up(&self.log).await?;
            let first = checked.misuse;
            checked = check(&self.signatures.prepare(presented.token));
            // The first check decided the signature (and cached it); still unregistered, it
            // counts.
            if checked.answer.reason == Reason::UnregisteredSignedMark {
                checked.misuse = checked.misuse.or(first);
            }
        }
        if let Some((key_id, serial)) = checked.misuse {
            tracing::error!(%key_id, serial, "a registered key signed a mark the registry never issued");
            if let Err(error) = self.record_misuse(key_id, serial).await {
                tracing::error!(%error, "recording KeyMisuseDetected failed");
            }
        }
        if let Some(partner) = checked.partner.clone() {
            if let Some(live) = self.live.answer(&partner, presented.token).await {
                let uscc = presented.claims.and_then(|c| c.enterprise_uscc.as_deref());
                checked.answer = partner::merge(checked.answer, live, uscc);
            }
        } else if let Some(serial) = checked
            .serial
            .filter(|_| checked.answer.flags.contains(&Flag::Traded))
        {
            self.raise_traded(serial, region).await;
        }
        Ok(checked)
    }

    /// Records the misuse unless it was recorded before.
    async fn record_misuse(&self, key_id: KeyId, serial: u64) -> Result<(), AppendError> {
        let data = KeyMisuseDetected {
            key_id,
            serial,
            severity: "critical".into(),
        };
        let event =
            NewEvent::new(KEY_MISUSE_DETECTED, &data)?.with_metadata(Metadata::by("verification"));
        let stream = key_misuse_stream(key_id, serial);
        match self
            .log
            .append_to(&stream, Expected::NoStream, vec![event])
            .await
        {
            Ok(_) | Err(AppendError::Conflict { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Raises `traded` for a genuine mark presented for another enterprise or GTIN (an
    /// inspector's claims): behaviour, so a flag and never a verdict.
    async fn raise_traded(&self, serial: u64, region: Option<RegionCode>) {
        let finding = Finding {
            flag: Flag::Traded,
            rule: "claims_disagree",
            scan_ids: Vec::new(),
            regions: region.into_iter().collect(),
            detail: "presented for an enterprise or GTIN other than its batch's".into(),
        };
        if let Err(error) = self.detector.raise(serial, finding).await {
            tracing::error!(%error, serial, "raising a traded flag failed");
        }
    }

    /// Files a consumer's report as a confidential event; returns its id.
    pub async fn report(&self, report: ConsumerReport) -> Result<String, AppendError> {
        let event = NewEvent::new(CONSUMER_REPORT_FILED, &report)?
            .confidential()?
            .with_metadata(Metadata::by("consumer"));
        self.log
            .append_to(&report.stream(), Expected::NoStream, vec![event])
            .await?;
        Ok(report.report_id)
    }
}
