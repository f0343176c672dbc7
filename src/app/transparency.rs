//! The transparency log as a service (SPEC.md "Log and transparency"): the latest signed
//! checkpoint, the verifier key, entries (a confidential event shows only its envelope),
//! RFC 9162 proofs, `tlog-proof` bundles and C2SP tiles, for anyone; and the audit that
//! recomputes the whole tree (`marktrace log verify`).

use std::sync::{Arc, Mutex};

use crate::clock;

use crate::log::audit::{self, AuditError, AuditReport};
use crate::log::merkle::Hash;
use crate::log::note::NoteVerifier;
use crate::log::proofs::ProofError;
use crate::log::records::StoredCheckpoint;
use crate::log::tiles::TilePath;
use crate::log::{Log, LogStore, StorageError, Visibility};

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
}

/// When an audit ran and what it found: the report, or the first inconsistency.
#[derive(Clone, Debug)]
pub struct LogAudit {
    /// In the log's timestamp format.
    pub at: String,
    pub outcome: Result<AuditReport, String>,
}

impl Transparency {
    pub fn new(log: Log, auditor: Auditor) -> Transparency {
        Transparency {
            log,
            auditor: Arc::new(auditor),
            last_audit: Arc::default(),
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

    /// A C2SP `tlog-proof@v1` of `index` against the latest checkpoint.
    pub async fn proof_bundle(&self, index: u64) -> Result<String, ProofError> {
        self.log.proof_bundle(index).await
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
/// the tree, every checkpoint's signature and root, and the stored tiles. It reads the
/// store itself, not a running log, so it needs no log key.
pub struct Auditor {
    store: Arc<dyn LogStore>,
}

impl Auditor {
    pub fn new(store: Arc<dyn LogStore>) -> Auditor {
        Auditor { store }
    }

    pub async fn verify(
        &self,
        verifier: &NoteVerifier,
        from: u64,
    ) -> Result<AuditReport, AuditError> {
        audit::verify(self.store.as_ref(), verifier, from).await
    }
}
