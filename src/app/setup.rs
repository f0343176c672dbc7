//! Setting a deployment up: the brand root key and the log key in the keys directory, made
//! deliberately by an operator (`marktrace keygen`) rather than as the development keys a
//! first `serve` creates. An existing key is kept, never replaced.

use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;

use crate::keys::{self, KeyError, Keyring};
use crate::log::LogSigner;
use crate::log::cosignature::Cosigner;
use crate::log::note::NoteError;

/// What `keygen` found or made.
pub struct Keygen {
    /// Each key file, and whether it was created now (else it was there and is kept).
    pub files: Vec<(PathBuf, bool)>,
    /// The brand root's public key, which endorses issuer keys.
    pub root: VerifyingKey,
    /// The log's origin and C2SP verifier key, for monitors and witnesses.
    pub log_origin: String,
    pub log_verifier_key: String,
    /// The witness's `cosignature/v1` verifier key, for partner brands' logs to configure.
    pub witness_verifier_key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("log_origin: {0}")]
    Origin(#[from] NoteError),
}

/// Creates the root, log and witness keys in `dir` where missing.
pub fn keygen(dir: &Path, log_origin: &str, witness_name: &str) -> Result<Keygen, SetupError> {
    let mut files = Vec::new();
    for name in [keys::ROOT_KEY, keys::LOG_KEY, keys::WITNESS_KEY] {
        let path = dir.join(name);
        let created = !path.exists();
        if created {
            keys::create(&path)?;
        } else {
            keys::load(&path)?;
        }
        files.push((path, created));
    }
    let root = Keyring::open(dir)?.root_public();
    let signer = LogSigner::new(log_origin, keys::load(&dir.join(keys::LOG_KEY))?)?;
    Ok(Keygen {
        files,
        root,
        log_origin: signer.origin().to_owned(),
        log_verifier_key: signer.verifier_key(),
        witness_verifier_key: Cosigner::new(
            witness_name,
            keys::load(&dir.join(keys::WITNESS_KEY))?,
        )?
        .verifier_key(),
    })
}

/// The log's verifier key from the log key in `dir`, for checking checkpoints.
pub fn log_verifier(
    dir: &Path,
    log_origin: &str,
) -> Result<crate::log::note::NoteVerifier, SetupError> {
    let key = keys::load(&dir.join(keys::LOG_KEY))?;
    Ok(LogSigner::new(log_origin, key)?.verifier())
}
