//! Key files in the keys directory: Ed25519 private keys as PKCS#8 PEM, mode 0600. This module
//! loads and creates them and refuses a private key file that others could read; it does not
//! decide what a key is for (the log signs checkpoints with `log.pem`).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rand_core::OsRng;

/// The transparency log's checkpoint key, inside the keys directory.
pub const LOG_KEY: &str = "log.pem";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: readable by group or others (mode {mode:o}); run `chmod 600 {path}`")]
    Exposed { path: String, mode: u32 },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not an Ed25519 PKCS#8 PEM private key ({message})")]
    Format { path: String, message: String },
    #[error("{path}: already exists; refusing to overwrite a key")]
    Exists { path: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Loads a private key, refusing a file that group or others may read.
pub fn load(path: &Path) -> Result<SigningKey, KeyError> {
    let mode = fs::metadata(path).map_err(io(path))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(KeyError::Exposed {
            path: path.display().to_string(),
            mode: mode & 0o777,
        });
    }
    let pem = fs::read_to_string(path).map_err(io(path))?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| KeyError::Format {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Generates a key and writes it to a new file with mode 0600 (its directory 0700 if new).
pub fn create(path: &Path) -> Result<SigningKey, KeyError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            fs::create_dir_all(dir).map_err(io(dir))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
        }
    }
    let key = SigningKey::generate(&mut OsRng);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .expect("an Ed25519 key always encodes");
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => KeyError::Exists {
                path: path.display().to_string(),
            },
            _ => io(path)(e),
        })?;
    file.write_all(pem.as_bytes()).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_is_private_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join(LOG_KEY);
        let key = create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(load(&path).unwrap().to_bytes(), key.to_bytes());
        assert!(matches!(create(&path), Err(KeyError::Exists { .. })));
    }

    #[test]
    fn a_key_readable_by_others_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOG_KEY);
        create(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = load(&path).unwrap_err();
        assert!(matches!(err, KeyError::Exposed { mode: 0o644, .. }));
        assert!(err.to_string().contains(&path.display().to_string()));
    }

    #[test]
    fn a_file_that_is_not_a_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOG_KEY);
        fs::write(&path, "not a key").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(load(&path), Err(KeyError::Format { .. })));
    }
}
