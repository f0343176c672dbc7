//! The keys directory: Ed25519 private keys as PKCS#8 PEM files (v1, RFC 8410), mode 0600.
//! This module loads and creates them, refuses any private key file that others could read,
//! and names the files: `log.pem` signs checkpoints, `root.pem` (the brand root) endorses
//! issuer keys, and `issuer-<issuer>-<key id>.pem` sign marks. A private key never leaves this
//! module except as a [`SigningKey`] in memory, which prints no secret. What a key may do is
//! `domain::key`'s business and what it did is the log's.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, KeypairBytes};
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::OsRng;

use crate::domain::issuer::IssuerId;
use crate::domain::key::KeyId;

/// The transparency log's checkpoint key, inside the keys directory.
pub const LOG_KEY: &str = "log.pem";

/// The key this deployment cosigns its partner brands' checkpoints with, as their witness.
pub const WITNESS_KEY: &str = "witness.pem";

/// The brand root key, which endorses issuer keys.
pub const ROOT_KEY: &str = "root.pem";

/// The file of one issuer key.
pub fn issuer_key_file(issuer: &IssuerId, key_id: KeyId) -> String {
    format!("issuer-{}-{key_id}.pem", issuer.as_str())
}

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

/// Loads a private key, refusing a file that group or others may read. Reads PKCS#8 v1
/// (RFC 8410, what [`create`] and `openssl genpkey` write) and v2 (RFC 5958 with the public
/// key, what earlier versions wrote; the public key must match the private one).
pub fn load(path: &Path) -> Result<SigningKey, KeyError> {
    let format = |message: String| KeyError::Format {
        path: path.display().to_string(),
        message,
    };
    let pem = String::from_utf8(read_secret(path)?).map_err(|e| format(e.to_string()))?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| format(e.to_string()))
}

/// Reads a secret file (a key, the client salt), refusing one that group or others may read.
pub fn read_secret(path: &Path) -> Result<Vec<u8>, KeyError> {
    refuse_exposed(path)?;
    fs::read(path).map_err(io(path))
}

/// Writes a new secret file with mode 0600 (its directory 0700 if new) and syncs it; never
/// overwrites: an existing file is [`KeyError::Exists`].
pub fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            fs::create_dir_all(dir).map_err(io(dir))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
        }
    }
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
    file.write_all(bytes).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

/// Refuses a file that group or others may read, naming it.
fn refuse_exposed(path: &Path) -> Result<(), KeyError> {
    let mode = fs::metadata(path).map_err(io(path))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(KeyError::Exposed {
            path: path.display().to_string(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

/// Generates a key and writes it to a new file with mode 0600 (its directory 0700 if new).
pub fn create(path: &Path) -> Result<SigningKey, KeyError> {
    let key = SigningKey::generate(&mut OsRng);
    write(path, &key)?;
    Ok(key)
}

/// Loads a key, or on a first start creates a development key and says so loudly: a production
/// key should be made deliberately with `marktrace keygen` and backed up.
pub fn load_or_create(path: &Path, what: &str) -> Result<SigningKey, KeyError> {
    if path.exists() {
        return load(path);
    }
    let key = create(path)?;
    tracing::warn!(
        path = %path.display(),
        "NO {what} FOUND: CREATED A DEVELOPMENT KEY. Back it up, or replace it with \
         `marktrace keygen` before the log holds anything that matters"
    );
    Ok(key)
}

/// Writes a key to a new file with mode 0600 (its directory 0700 if new); never overwrites.
///
/// The file is PKCS#8 v1 in RFC 8410's form: the private key only. `SigningKey`'s own encoder
/// writes v2 (RFC 5958, with the public key), which OpenSSL 3.0 (`unsupported`) and Python's
/// cryptography (`extra data`) refuse, so an operator could not inspect or back up the key
/// with the usual tools. The public key is derived from the private one on loading anyway.
fn write(path: &Path, key: &SigningKey) -> Result<(), KeyError> {
    let v1 = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    let pem = v1
        .to_pkcs8_pem(LineEnding::LF)
        .expect("an Ed25519 key always encodes");
    write_secret(path, pem.as_bytes())
}

/// Refuses the directory if any private key file in it is readable by group or others, naming
/// the first such file; a missing directory holds no keys.
fn check_private(dir: &Path) -> Result<(), KeyError> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|e| e == "pem") {
            refuse_exposed(&path)?;
        }
    }
    Ok(())
}

/// The keys directory of a running service: the brand root, and issuer keys by id.
pub struct Keyring {
    dir: PathBuf,
    root: SigningKey,
}

impl Keyring {
    /// Opens the directory: refuses it if any key file is exposed, and loads the root key,
    /// creating a development root on a first start.
    pub fn open(dir: &Path) -> Result<Keyring, KeyError> {
        check_private(dir)?;
        let root = load_or_create(&dir.join(ROOT_KEY), "BRAND ROOT KEY")?;
        Ok(Keyring {
            dir: dir.to_owned(),
            root,
        })
    }

    /// The brand root, which endorses issuer keys.
    pub fn root(&self) -> &SigningKey {
        &self.root
    }

    pub fn root_public(&self) -> VerifyingKey {
        self.root.verifying_key()
    }

    /// Generates a new issuer key and stores it; returns the key and the file it lives in.
    pub fn create_issuer_key(&self, issuer: &IssuerId) -> Result<(SigningKey, PathBuf), KeyError> {
        let key = SigningKey::generate(&mut OsRng);
        let path = self
            .dir
            .join(issuer_key_file(issuer, KeyId::of(&key.verifying_key())));
        write(&path, &key)?;
        Ok((key, path))
    }

    /// One issuer key's private half, for signing marks.
    pub fn issuer_key(&self, issuer: &IssuerId, key_id: KeyId) -> Result<SigningKey, KeyError> {
        load(&self.dir.join(issuer_key_file(issuer, key_id)))
    }
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
    fn a_keyring_refuses_any_exposed_key_file_and_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let ring = Keyring::open(dir.path()).unwrap();
        let issuer = IssuerId::parse("jx-cb1").unwrap();
        let (key, path) = ring.create_issuer_key(&issuer).unwrap();
        let id = KeyId::of(&key.verifying_key());
        assert_eq!(
            ring.issuer_key(&issuer, id).unwrap().to_bytes(),
            key.to_bytes()
        );
        let reopened = Keyring::open(dir.path()).unwrap();
        assert_eq!(
            reopened.root_public(),
            ring.root_public(),
            "the root is kept"
        );

        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let err = Keyring::open(dir.path()).err().unwrap();
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }

    fn openssl(args: &[&str]) -> String {
        let out = std::process::Command::new("/usr/bin/openssl")
            .args(args)
            .output()
            .expect("/usr/bin/openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn private(path: &Path) {
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// RFC 8410 PKCS#8 v1, which OpenSSL 3.0 and Python's cryptography read; v2 (RFC 5958
    /// with the public key) is refused by both.
    #[test]
    fn a_written_key_is_pkcs8_v1_that_openssl_reads_back() {
        use ed25519_dalek::pkcs8::DecodePublicKey;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOG_KEY);
        let key = create(&path).unwrap();
        let copy = dir.path().join("copy.pem");
        let (p, c) = (path.to_str().unwrap(), copy.to_str().unwrap());
        openssl(&["pkey", "-in", p, "-out", c]);
        let public = openssl(&["pkey", "-in", p, "-pubout"]);
        assert_eq!(
            VerifyingKey::from_public_key_pem(&public).unwrap(),
            key.verifying_key()
        );
        private(&copy);
        assert_eq!(load(&copy).unwrap().to_bytes(), key.to_bytes());
        // RFC 8410's form: 48 bytes of DER (version 0, no public key), 64 of base64.
        let pem = fs::read_to_string(&path).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(body.len(), 64, "48 bytes of DER in base64: {pem}");
    }

    #[test]
    fn a_key_made_by_openssl_loads() {
        use ed25519_dalek::pkcs8::DecodePublicKey;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("made.pem");
        let p = path.to_str().unwrap();
        openssl(&["genpkey", "-algorithm", "ed25519", "-out", p]);
        private(&path);
        let public = openssl(&["pkey", "-in", p, "-pubout"]);
        assert_eq!(
            load(&path).unwrap().verifying_key(),
            VerifyingKey::from_public_key_pem(&public).unwrap()
        );
    }

    /// Keys written before v1 was: PKCS#8 v2 with the public key, which must still match.
    #[test]
    fn a_pkcs8_v2_key_still_loads() {
        use ed25519_dalek::pkcs8::{KeypairBytes, PublicKeyBytes};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.pem");
        let key = SigningKey::from_bytes(&[7; 32]);
        let v2 = KeypairBytes {
            secret_key: key.to_bytes(),
            public_key: Some(PublicKeyBytes(key.verifying_key().to_bytes())),
        };
        fs::write(&path, v2.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes()).unwrap();
        private(&path);
        assert_eq!(load(&path).unwrap().to_bytes(), key.to_bytes());

        let other = SigningKey::from_bytes(&[8; 32]);
        let mismatched = KeypairBytes {
            secret_key: key.to_bytes(),
            public_key: Some(PublicKeyBytes(other.verifying_key().to_bytes())),
        };
        fs::write(
            &path,
            mismatched.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes(),
        )
        .unwrap();
        assert!(matches!(load(&path), Err(KeyError::Format { .. })));
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
