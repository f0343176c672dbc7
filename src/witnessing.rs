//! Witnessing as stored, and the storage it needs ([`WitnessStore`]). Two records, one per
//! side of C2SP `tlog-witness`:
//!
//! - as a witness, the latest checkpoint this deployment cosigned for each partner log it
//!   follows ([`Witnessed`]): the size a log must prove consistency from, moved only by a
//!   compare-and-set, so two racing requests can never roll it back;
//! - as a log, the cosignatures witnesses returned on our checkpoints ([`Cosignature`]),
//!   served beside the checkpoint they cosign.

use async_trait::async_trait;

use crate::log::StorageError;

/// The latest checkpoint cosigned for one log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witnessed {
    pub origin: String,
    pub size: u64,
    /// Standard base64 of the root hash, as in the checkpoint.
    pub root: String,
    /// The checkpoint note as the log submitted it, its signatures included.
    pub checkpoint: String,
    /// In the log's timestamp format.
    pub updated_at: String,
}

/// One witness's cosignature on one of our checkpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    pub size: u64,
    /// The witness's verifier key, which names it.
    pub witness: String,
    /// The signature line, with its newline.
    pub line: String,
}

#[async_trait]
pub trait WitnessStore: Send + Sync + 'static {
    /// The latest checkpoint cosigned for `origin`.
    async fn witnessed(&self, origin: &str) -> Result<Option<Witnessed>, StorageError>;

    /// Records `next` as the latest cosigned checkpoint of its origin if the stored one is
    /// still of size `old` (none stored counts as 0); false, writing nothing, if it is not.
    async fn advance_witnessed(&self, old: u64, next: &Witnessed) -> Result<bool, StorageError>;

    /// Keeps a cosignature; a witness's later cosignature of the same size replaces it.
    async fn add_cosignature(&self, cosignature: &Cosignature) -> Result<(), StorageError>;

    /// The cosignatures on our checkpoint of `size`.
    async fn cosignatures(&self, size: u64) -> Result<Vec<Cosignature>, StorageError>;

    /// The largest of our sizes `witness` cosigned.
    async fn last_cosigned(&self, witness: &str) -> Result<Option<u64>, StorageError>;

    /// The largest of our sizes with at least `quorum` cosignatures.
    async fn newest_cosigned(&self, quorum: u32) -> Result<Option<u64>, StorageError>;
}
