//! Signed status snapshots (`GET /api/v1/status/snapshot`): the statuses folded from the log,
//! as of this node's position, encoded as `domain::snapshot` lays them out, with the signed
//! checkpoint that covers them, and signed with the log key; or the delta since an earlier
//! snapshot. [`open`] is the other side: what an offline verifier does with a document and
//! the log's verifier key before it trusts anything in it.

use std::sync::Arc;

use crate::domain::snapshot::{SIGNATURE_CONTEXT, Snapshot, SnapshotError};
use crate::log::note::{Checkpoint, NoteVerifier, open as open_note};
use crate::log::{Log, StorageError};
use crate::mark::label::LabelHosts;
use crate::projections::status::StatusIndex;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotServiceError {
    /// A `since` beyond what this node has folded.
    #[error("since={since} is beyond this snapshot's size {size}")]
    SinceBeyond { since: u64, size: u64 },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Serves signed snapshots.
#[derive(Clone)]
pub struct Snapshots {
    log: Log,
    statuses: Arc<StatusIndex>,
    label_hosts: Arc<LabelHosts>,
}

impl Snapshots {
    pub fn new(log: Log, statuses: Arc<StatusIndex>, label_hosts: Arc<LabelHosts>) -> Snapshots {
        Snapshots {
            log,
            statuses,
            label_hosts,
        }
    }

    /// The signed document: the whole snapshot, or the delta from the snapshot of size
    /// `since`.
    pub async fn document(&self, since: Option<u64>) -> Result<Vec<u8>, SnapshotServiceError> {
        self.statuses.catch_up(&self.log).await?;
        let mut snapshot = {
            let statuses = self.statuses.read();
            let size = statuses.next();
            if let Some(since) = since.filter(|s| *s > size) {
                return Err(SnapshotServiceError::SinceBeyond { since, size });
            }
            statuses.snapshot(size, since, self.label_hosts.written())
        };
        // Read after the fold, so it covers at least what the snapshot holds.
        snapshot.checkpoint = self.log.latest_checkpoint().await?.note;
        let mut document = snapshot.encode_body();
        let signature = self
            .log
            .signer()
            .sign_detached(SIGNATURE_CONTEXT, &document);
        document.extend_from_slice(&signature);
        Ok(document)
    }
}

/// Why a snapshot document was not trusted.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Format(#[from] SnapshotError),
    #[error("the signature is not the log key's")]
    Signature,
    #[error("its checkpoint: {0}")]
    Checkpoint(String),
}

/// Checks a document against the log's verifier key: its signature, and that its checkpoint
/// is signed by the same log and covers the snapshot's size. Only then is it decoded.
pub fn open(document: &[u8], log_key: &NoteVerifier) -> Result<Snapshot, OpenError> {
    let (snapshot, body, signature) = Snapshot::decode(document)?;
    if !log_key.verify_detached(SIGNATURE_CONTEXT, body, &signature) {
        return Err(OpenError::Signature);
    }
    let text = open_note(&snapshot.checkpoint, log_key)
        .map_err(|e| OpenError::Checkpoint(e.to_string()))?;
    let checkpoint = Checkpoint::parse(text).map_err(|e| OpenError::Checkpoint(e.to_string()))?;
    if checkpoint.size < snapshot.size {
        return Err(OpenError::Checkpoint(format!(
            "size {} does not cover the snapshot's {}",
            checkpoint.size, snapshot.size
        )));
    }
    Ok(snapshot)
}
