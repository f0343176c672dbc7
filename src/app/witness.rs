//! Witnessing between brands (C2SP `tlog-witness`, `tlog-cosignature`), both ways.
//!
//! As a witness, [`Witness`] cosigns the checkpoints of registered partner brands' logs: it
//! checks the partner log's signature with the key registered for it, the consistency proof
//! from the last size it cosigned, moves its record by compare-and-set before answering, and
//! never cosigns a smaller tree or one inconsistent with what it cosigned. A validly signed
//! checkpoint that contradicts the record (a fork, or a proof that does not hold) is kept in
//! the log as a `PartnerCheckpointRefused` event: evidence anyone can check with the
//! partner's key, and the alarm.
//!
//! As a log, [`Cosigning`] sends our newest checkpoint to each configured witness with the
//! consistency proof it needs, at most once a second per witness and only when the log grew,
//! and keeps each cosignature that verifies with the witness's configured key; the
//! transparency service serves them beside the checkpoint.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::clock;
use crate::domain::brand::{
    PARTNER_CHECKPOINT_REFUSED, PartnerBrandRegistered, PartnerCheckpointRefused, RefusalReason,
};
use crate::log::cosignature::{AddCheckpoint, CosignatureVerifier, Cosigner};
use crate::log::merkle::{Hash, verify_consistency};
use crate::log::note::{Checkpoint, NoteError, NoteVerifier, open};
use crate::log::{AppendError, Expected, Log, NewEvent, StorageError};
use crate::projections::marks::MarkIndex;
use crate::witnessing::{Cosignature, WitnessStore, Witnessed};

/// The most a witness may take to answer one `add-checkpoint`.
const SUBMIT_TIMEOUT: Duration = Duration::from_secs(5);
/// A log asks each witness at most this often (tlog-witness clients coalesce checkpoints).
pub const COSIGN_INTERVAL: Duration = Duration::from_secs(1);

/// Why a checkpoint was not cosigned; each is the HTTP status tlog-witness names.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// 400.
    #[error("{0}")]
    Malformed(String),
    /// 404: no registered partner brand has this log.
    #[error("no recognised brand's log has origin {0:?}")]
    UnknownLog(String),
    /// 403.
    #[error("the checkpoint is not signed by the registered key of {0:?}")]
    NotSigned(String),
    /// 409 with the size this witness last cosigned (`text/x.tlog.size`).
    #[error("this witness last cosigned size {0} of this log")]
    OldSize(u64),
    /// 409: the same size as cosigned, another root. Kept as evidence.
    #[error("a checkpoint of size {0} with another root than the one cosigned: kept as evidence")]
    Fork(u64),
    /// 422: the consistency proof does not hold. Kept as evidence when it comes from the
    /// cosigned size.
    #[error("the consistency proof from size {old} to {size} does not verify")]
    Inconsistent { old: u64, size: u64 },
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Append(#[from] AppendError),
}

/// This deployment as a witness of its partners' logs.
#[derive(Clone)]
pub struct Witness {
    log: Log,
    store: Arc<dyn WitnessStore>,
    cosigner: Arc<Cosigner>,
    partners: Arc<MarkIndex>,
}

impl Witness {
    pub fn new(
        log: Log,
        store: Arc<dyn WitnessStore>,
        cosigner: Cosigner,
        partners: Arc<MarkIndex>,
    ) -> Witness {
        Witness {
            log,
            store,
            cosigner: Arc::new(cosigner),
            partners,
        }
    }

    /// The witness's `cosignature/v1` verifier key, for partners to configure.
    pub fn verifier_key(&self) -> String {
        self.cosigner.verifier_key()
    }

    /// tlog-witness `add-checkpoint`: the cosignature line for the submitted checkpoint.
    pub async fn add_checkpoint(&self, body: &str) -> Result<String, WitnessError> {
        let request =
            AddCheckpoint::parse(body).map_err(|e| WitnessError::Malformed(e.to_string()))?;
        let origin = request.checkpoint.split('\n').next().unwrap_or_default();
        let partner = self.partner(origin).await?;
        let verifier = NoteVerifier::parse(&partner.log_vkey)
            .map_err(|e| StorageError::Corrupt(format!("partner log key: {e}")))?;
        let text = match open(&request.checkpoint, &verifier) {
            Ok(text) => text,
            Err(NoteError::NotSigned { .. } | NoteError::InvalidSignature { .. }) => {
                return Err(WitnessError::NotSigned(partner.name.clone()));
            }
            Err(e) => return Err(WitnessError::Malformed(e.to_string())),
        };
        let checkpoint =
            Checkpoint::parse(text).map_err(|e| WitnessError::Malformed(e.to_string()))?;
        if request.old > checkpoint.size {
            return Err(WitnessError::Malformed(format!(
                "old size {} is beyond the checkpoint's size {}",
                request.old, checkpoint.size
            )));
        }
        let current = self.store.witnessed(origin).await?;
        let current_size = current.as_ref().map_or(0, |c| c.size);
        if request.old != current_size {
            return Err(WitnessError::OldSize(current_size));
        }
        let root = base64_root(&checkpoint);
        if let Some(current) = &current {
            self.check_extends(current, &request, &checkpoint, &root, body, &partner)
                .await?;
        } else if !request.proof.is_empty() {
            return Err(WitnessError::Malformed(
                "the proof must be empty from size 0".into(),
            ));
        }
        let next = Witnessed {
            origin: origin.to_owned(),
            size: checkpoint.size,
            root,
            checkpoint: request.checkpoint.clone(),
            updated_at: clock::now_micros(),
        };
        if !self.store.advance_witnessed(request.old, &next).await? {
            // Another request moved the record first: the client asks again from there.
            let moved = self.store.witnessed(origin).await?;
            return Err(WitnessError::OldSize(moved.map_or(0, |c| c.size)));
        }
        Ok(self.cosigner.cosign(text, clock::unix_now()))
    }

    /// The partner brand whose log this is, from the registry as of now.
    async fn partner(&self, origin: &str) -> Result<Arc<PartnerBrandRegistered>, WitnessError> {
        if let Some(partner) = self.partners.partner_by_origin(origin) {
            return Ok(partner);
        }
        // Registered a moment ago, perhaps on another node.
        self.partners.catch_up(&self.log).await?;
        self.partners
            .partner_by_origin(origin)
            .ok_or_else(|| WitnessError::UnknownLog(origin.to_owned()))
    }

    /// Checks that the checkpoint extends the one cosigned; a validly signed one that does
    /// not is evidence, appended before the refusal is answered.
    async fn check_extends(
        &self,
        current: &Witnessed,
        request: &AddCheckpoint,
        checkpoint: &Checkpoint,
        root: &str,
        body: &str,
        partner: &PartnerBrandRegistered,
    ) -> Result<(), WitnessError> {
        if current.size == 0 || (checkpoint.size == current.size && root == current.root) {
            // Every tree extends the empty one; the same tree head again is cosigned again.
            return if request.proof.is_empty() {
                Ok(())
            } else {
                Err(WitnessError::Malformed(format!(
                    "the proof from size {} to {} must be empty",
                    current.size, checkpoint.size
                )))
            };
        }
        let (reason, refusal) = if checkpoint.size == current.size {
            (RefusalReason::Fork, WitnessError::Fork(current.size))
        } else {
            let cosigned_root = STANDARD
                .decode(&current.root)
                .ok()
                .and_then(|raw| Hash::try_from(raw.as_slice()).ok())
                .ok_or_else(|| StorageError::Corrupt("a witnessed root is not a hash".into()))?;
            let consistent = verify_consistency(
                current.size,
                checkpoint.size,
                &request.proof,
                &cosigned_root,
                &checkpoint.root,
            );
            if consistent.is_ok() {
                return Ok(());
            }
            (
                RefusalReason::Inconsistent,
                WitnessError::Inconsistent {
                    old: current.size,
                    size: checkpoint.size,
                },
            )
        };
        let evidence = PartnerCheckpointRefused {
            partner_id: partner.partner_id.clone(),
            origin: current.origin.clone(),
            reason,
            request: body.to_owned(),
            cosigned: current.checkpoint.clone(),
        };
        tracing::error!(
            partner = %partner.partner_id,
            origin = %current.origin,
            ?reason,
            "a partner's log signed a checkpoint inconsistent with the one this witness cosigned"
        );
        self.keep_evidence(&evidence).await?;
        Err(refusal)
    }

    /// Appends the evidence once: its event id is the request's hash, so the same refused
    /// request sent again adds nothing.
    async fn keep_evidence(&self, evidence: &PartnerCheckpointRefused) -> Result<(), AppendError> {
        let digest = Sha256::new()
            .chain_update(evidence.request.as_bytes())
            .chain_update(evidence.cosigned.as_bytes())
            .finalize();
        let id = uuid::Uuid::from_bytes(digest[..16].try_into().expect("16 bytes"));
        let event = NewEvent::new(PARTNER_CHECKPOINT_REFUSED, evidence)?.with_id(id);
        let stream = evidence.partner_id.partner_stream();
        self.log
            .append_to(&stream, Expected::Any, vec![event])
            .await?;
        Ok(())
    }
}

fn base64_root(checkpoint: &Checkpoint) -> String {
    STANDARD.encode(checkpoint.root)
}

/// A configured witness: its key, and where this log asks it for cosignatures.
#[derive(Clone, Debug)]
pub struct WitnessEndpoint {
    /// The configured verifier key, which also names the witness's cosignatures as stored.
    pub vkey: String,
    pub verifier: CosignatureVerifier,
    /// The submission prefix (requests go to `{url}/add-checkpoint`); none for a witness
    /// whose cosignatures are only counted, as `log verify --quorum` does.
    pub url: Option<String>,
}

impl WitnessEndpoint {
    /// Parses `VKEY` or `VKEY@URL`: a cosigner verifier key, and the witness's submission
    /// prefix.
    pub fn parse(spec: &str) -> Result<WitnessEndpoint, String> {
        // The vkey is name+keyid+base64: '@' may be in the name, never in the id or key.
        let after_id = spec.find('+').map_or(spec.len(), |plus| plus + 10);
        let at = spec
            .get(after_id..)
            .and_then(|rest| rest.find('@'))
            .map(|i| after_id + i);
        let (vkey, url) = match at {
            Some(at) => (&spec[..at], Some(spec[at + 1..].trim_end_matches('/'))),
            None => (spec, None),
        };
        let verifier = CosignatureVerifier::parse(vkey).map_err(|e| format!("{vkey:?}: {e}"))?;
        if let Some(url) = url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("witness URL {url:?} is not http(s)"));
            }
        }
        Ok(WitnessEndpoint {
            vkey: vkey.to_owned(),
            verifier,
            url: url.map(str::to_owned),
        })
    }
}

/// Why one round of asking a witness failed; the next round tries again.
#[derive(Debug, thiserror::Error)]
enum CosignError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("proof: {0}")]
    Proof(#[from] crate::log::proofs::ProofError),
    #[error("request: {0}")]
    Http(#[from] reqwest::Error),
    #[error("answered {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("answered 200 without a valid cosignature by the configured key")]
    NoCosignature,
}

/// This log asking its witnesses.
#[derive(Clone)]
pub struct Cosigning {
    log: Log,
    store: Arc<dyn WitnessStore>,
    client: reqwest::Client,
}

impl Cosigning {
    pub fn new(log: Log, store: Arc<dyn WitnessStore>) -> Cosigning {
        Cosigning {
            log,
            store,
            client: reqwest::Client::builder()
                .timeout(SUBMIT_TIMEOUT)
                .build()
                .expect("a client with a timeout builds"),
        }
    }

    /// Asks one witness for as long as the service runs: whenever the log grew, at most
    /// once per [`COSIGN_INTERVAL`].
    pub async fn follow(self, witness: WitnessEndpoint, url: String) {
        let mut head = self.log.watch_head();
        // Where the witness stands, as far as we know: none known asks from 0 and learns it
        // from the witness's 409.
        let mut old = match self.store.last_cosigned(&witness.vkey).await {
            Ok(old) => old,
            Err(error) => {
                tracing::warn!(%error, witness = witness.verifier.name(), "reading cosignatures");
                None
            }
        };
        loop {
            let round = tokio::time::Instant::now();
            match self.submit(&witness, &url, &mut old).await {
                Ok(()) => {}
                Err(error) => {
                    tracing::warn!(%error, witness = witness.verifier.name(), "cosigning");
                }
            }
            tokio::time::sleep_until(round + COSIGN_INTERVAL).await;
            let cosigned = old.unwrap_or(0);
            if *head.borrow_and_update() <= cosigned && head.changed().await.is_err() {
                return;
            }
        }
    }

    /// Sends the newest checkpoint once, and once more from the size a 409 names.
    async fn submit(
        &self,
        witness: &WitnessEndpoint,
        url: &str,
        old: &mut Option<u64>,
    ) -> Result<(), CosignError> {
        let checkpoint = self.log.latest_checkpoint().await?;
        if *old == Some(checkpoint.size) {
            return Ok(());
        }
        for _ in 0..2 {
            let from = old.unwrap_or(0).min(checkpoint.size);
            let proof = if from == 0 || from == checkpoint.size {
                Vec::new()
            } else {
                self.log.consistency_proof(from, checkpoint.size).await?
            };
            let request = AddCheckpoint {
                old: from,
                proof,
                checkpoint: checkpoint.note.clone(),
            };
            let response = self
                .client
                .post(format!("{url}/add-checkpoint"))
                .header(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(request.to_body())
                .send()
                .await?;
            let status = response.status();
            let body = response.text().await?;
            if status == http::StatusCode::CONFLICT {
                if let Ok(size) = body.trim_end_matches('\n').parse::<u64>() {
                    if size != from {
                        *old = Some(size);
                        continue;
                    }
                }
            }
            if !status.is_success() {
                return Err(CosignError::Refused {
                    status: status.as_u16(),
                    body,
                });
            }
            let prefix = format!("\u{2014} {} ", witness.verifier.name());
            let line = body
                .split_inclusive('\n')
                .filter(|line| line.starts_with(&prefix))
                .find(|line| {
                    let note = format!("{}{line}", checkpoint.note);
                    matches!(witness.verifier.cosigned(&note), Ok(Some(_)))
                })
                .ok_or(CosignError::NoCosignature)?;
            self.store
                .add_cosignature(&Cosignature {
                    size: checkpoint.size,
                    witness: witness.vkey.clone(),
                    line: line.to_owned(),
                })
                .await?;
            *old = Some(checkpoint.size);
            return Ok(());
        }
        Err(CosignError::Refused {
            status: 409,
            body: "the witness's size moved again while asking".into(),
        })
    }
}
