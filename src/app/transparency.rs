//! The transparency log as a service (SPEC.md "Log and transparency"): the latest signed
//! checkpoint, the verifier key, entries (a confidential event shows only its envelope),
//! RFC 9162 proofs, `tlog-proof` bundles and C2SP tiles, for anyone; and the audit that
//! recomputes the whole tree (`marktrace log verify`).

use std::sync::{Arc, Mutex};

use crate::clock;

use crate::log::audit::{self, AuditError, AuditReport};
use crate::log::cosignature::{CosignatureVerifier, count_cosigners};
use crate::log::merkle::Hash;
use crate::log::note::{NoteVerifier, open};
use crate::log::proofs::ProofError;
use crate::log::records::StoredCheckpoint;
use crate::log::tiles::TilePath;
use crate::log::{Log, LogStore, StorageError, Visibility};
use crate::witnessing::WitnessStore;

pub use crate::log::note::check_name as check_log_origin;
pub use crate::log::tiles::TilePathError;

/// One entry as anyone may read it.
pub struct PublicEntry {
    pub index: u64,
    pub leaf_hash: Hash,
    /// The canonical envelope, byte for byte as hashed.
    pub envelope: String,
    /// The data exactly as stored; `None` for a confidential event.
    pub data: Option<String>,
}

/// The log's public read side, and the brand authority's audit of the whole log.
#[derive(Clone)]
pub struct Transparency {
    log: Log,
    auditor: Arc<Auditor>,
    /// The outcome of the last audit this node ran.
    last_audit: Arc<Mutex<Option<LogAudit>>>,
    /// Witnesses' cosignatures on our checkpoints.
    cosignatures: Arc<dyn WitnessStore>,
}

/// When an audit ran and what it found: the report, or the first inconsistency.
#[derive(Clone, Debug)]
pub struct LogAudit {
    /// In the log's timestamp format.
    pub at: String,
    pub outcome: Result<AuditReport, String>,
}

impl Transparency {
    pub fn new(log: Log, auditor: Auditor, cosignatures: Arc<dyn WitnessStore>) -> Transparency {
        Transparency {
            log,
            auditor: Arc::new(auditor),
            last_audit: Arc::default(),
            cosignatures,
        }
    }

    /// Runs `marktrace log verify`'s audit over the whole log against this log's own key, and
    /// keeps its outcome as the last audit. A log that fails it is an outcome, not an error;
    /// the error is storage failing.
    pub async fn audit(&self) -> Result<LogAudit, StorageError> {
        let verifier = NoteVerifier::parse(&self.verifier_key())
            .map_err(|e| StorageError::Corrupt(format!("the log's own verifier key: {e}")))?;
        let outcome = match self.auditor.verify(&verifier, 0).await {
            Ok(report) => Ok(report),
            Err(AuditError::Storage(e)) => return Err(e),
            Err(problem) => Err(problem.to_string()),
        };
        let audit = LogAudit {
            at: clock::now_micros(),
            outcome,
        };
        *self
            .last_audit
            .lock()
            .expect("never poisoned: no panics under it") = Some(audit.clone());
        Ok(audit)
    }

    /// The outcome of the last audit this node ran, if any.
    pub fn last_audit(&self) -> Option<LogAudit> {
        self.last_audit
            .lock()
            .expect("never poisoned: no panics under it")
            .clone()
    }

    /// The latest signed checkpoint.
    pub async fn checkpoint(&self) -> Result<StoredCheckpoint, StorageError> {
        self.log.latest_checkpoint().await
    }

    /// The checkpoint to serve, its note carrying every cosignature gathered for its size:
    /// the latest with `quorum` 0, else the newest with at least `quorum` cosignatures (none
    /// if no checkpoint has that many yet).
    pub async fn cosigned_checkpoint(
        &self,
        quorum: u32,
    ) -> Result<Option<StoredCheckpoint>, StorageError> {
        let checkpoint = if quorum == 0 {
            self.log.latest_checkpoint().await?
        } else {
            let Some(size) = self.cosignatures.newest_cosigned(quorum).await? else {
                return Ok(None);
            };
            self.log.checkpoint_at(size).await?.ok_or_else(|| {
                StorageError::Corrupt(format!(
                    "cosignatures on size {size}, which has no checkpoint"
                ))
            })?
        };
        let mut checkpoint = checkpoint;
        for cosignature in self.cosignatures.cosignatures(checkpoint.size).await? {
            checkpoint.note.push_str(&cosignature.line);
        }
        Ok(Some(checkpoint))
    }

    /// The C2SP verifier key of the checkpoint signatures.
    pub fn verifier_key(&self) -> String {
        self.log.signer().verifier_key()
    }

    /// The log's origin, the checkpoints' first line and the key's name.
    pub fn origin(&self) -> &str {
        self.log.signer().origin()
    }

    /// The number of events this node knows of.
    pub fn size(&self) -> u64 {
        self.log.size()
    }

    /// Entry `index`, if the log has it.
    pub async fn entry(&self, index: u64) -> Result<Option<PublicEntry>, StorageError> {
        let event = self.log.read(index, 1).await?.into_iter().next();
        Ok(event.filter(|e| e.index == index).map(|e| PublicEntry {
            index,
            leaf_hash: e.leaf_hash,
            envelope: e.envelope(),
            data: match e.visibility {
                Visibility::Public => Some(e.data),
                Visibility::Confidential => None,
            },
        }))
    }

    /// The inclusion proof of `index` in the tree of `size` (default: the latest
    /// checkpoint's), with the size it is for.
    pub async fn inclusion_proof(
        &self,
        index: u64,
        size: Option<u64>,
    ) -> Result<(u64, Vec<Hash>), ProofError> {
        let size = match size {
            Some(size) => size,
            None => self.log.latest_checkpoint().await?.size,
        };
        Ok((size, self.log.inclusion_proof(index, size).await?))
    }

    pub async fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, ProofError> {
        self.log.consistency_proof(from, to).await
    }

    /// A C2SP `tlog-proof@v1` of `index` against the checkpoint [`Self::cosigned_checkpoint`]
    /// serves for `quorum`, cosignatures included; none if no checkpoint has the quorum yet.
    pub async fn proof_bundle(
        &self,
        index: u64,
        quorum: u32,
    ) -> Result<Option<String>, ProofError> {
        let Some(checkpoint) = self.cosigned_checkpoint(quorum).await? else {
            return Ok(None);
        };
        Ok(Some(self.log.proof_bundle(index, &checkpoint).await?))
    }

    /// A C2SP tile, by the part of its URL after `tile/`.
    pub async fn tile(&self, path: &str) -> Result<Vec<u8>, TileError> {
        let tile = TilePath::parse(path)?;
        Ok(self.log.tile(&tile).await?)
    }
}

/// Why a tile was not served.
#[derive(Debug, thiserror::Error)]
pub enum TileError {
    #[error(transparent)]
    Path(#[from] TilePathError),
    #[error(transparent)]
    Proof(#[from] ProofError),
}

/// Recomputes the whole log from its store (`marktrace log verify`): every leaf from its data,
/// the tree, every checkpoint's signature and root, and the stored tiles; and checks that
/// witnesses vouch for it (`--quorum`). It reads the store itself, not a running log, so it
/// needs no log key.
pub struct Auditor {
    store: Arc<dyn LogStore>,
    cosignatures: Arc<dyn WitnessStore>,
}

/// A checkpoint with enough valid witness cosignatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quorum {
    pub size: u64,
    /// Valid cosignatures by distinct configured witnesses.
    pub cosignatures: usize,
}

/// Why `log verify --quorum` refused.
#[derive(Debug, thiserror::Error)]
pub enum QuorumError {
    #[error("no checkpoint has {0} cosignatures")]
    NoneCosigned(usize),
    #[error("the checkpoint of size {size}: {problem}")]
    Checkpoint { size: u64, problem: String },
    #[error(
        "the newest checkpoint with {quorum} cosignatures (size {size}) has {valid} valid by the given witnesses"
    )]
    Short {
        size: u64,
        valid: usize,
        quorum: usize,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Auditor {
    pub fn new(store: Arc<dyn LogStore>, cosignatures: Arc<dyn WitnessStore>) -> Auditor {
        Auditor {
            store,
            cosignatures,
        }
    }

    /// Accepts the newest checkpoint with `quorum` stored cosignatures only if it is signed by
    /// `log` and at least `quorum` of `witnesses` (distinct keys) validly cosigned it.
    pub async fn check_quorum(
        &self,
        log: &NoteVerifier,
        witnesses: &[CosignatureVerifier],
        quorum: usize,
    ) -> Result<Quorum, QuorumError> {
        let wanted = u32::try_from(quorum).unwrap_or(u32::MAX);
        let size = self
            .cosignatures
            .newest_cosigned(wanted)
            .await?
            .ok_or(QuorumError::NoneCosigned(quorum))?;
        let fail = |problem: String| QuorumError::Checkpoint { size, problem };
        let mut note = self
            .store
            .read_checkpoints(size, 1)
            .await?
            .into_iter()
            .find(|c| c.size == size)
            .ok_or_else(|| fail("cosigned, but not stored".into()))?
            .note;
        for cosignature in self.cosignatures.cosignatures(size).await? {
            note.push_str(&cosignature.line);
        }
        open(&note, log).map_err(|e| fail(e.to_string()))?;
        let valid = count_cosigners(&note, witnesses).map_err(|e| fail(e.to_string()))?;
        if valid < quorum {
            return Err(QuorumError::Short {
                size,
                valid,
                quorum,
            });
        }
        Ok(Quorum {
            size,
            cosignatures: valid,
        })
    }

    pub async fn verify(
        &self,
        verifier: &NoteVerifier,
        from: u64,
    ) -> Result<AuditReport, AuditError> {
        audit::verify(self.store.as_ref(), verifier, from).await
    }
}
