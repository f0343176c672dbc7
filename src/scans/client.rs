//! The client hash of the scan record: a salted SHA-256 of the client's address (IPv4, or an
//! IPv6 /64), so scans of one client can be told apart without keeping anything that names it.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::hex::hex;
use crate::keys::{self, KeyError};

/// The client salt's file in the keys directory: secret like a key, and the same on every node
/// that shares a database, or one phone counts as a different client on each node.
pub const SALT_FILE: &str = "client-salt";

const SALT_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum SaltError {
    /// Unreadable, or readable by group or others, like a key.
    #[error(transparent)]
    File(#[from] KeyError),
    #[error("{path}: a client salt is exactly {SALT_LEN} bytes, this file holds {len}")]
    Length { path: String, len: usize },
}

/// Hashes client addresses for the scan table: hex SHA-256 of a 32-byte secret salt followed
/// by the address, so scans of one client can be told apart from another's without keeping
/// anything that names the client. Without the salt, the hash of an IPv4 address would be
/// reversed by trying all 2^32 of them; the salt lives in a file of mode 0600 and never leaves
/// this type (its `Debug` prints nothing of it). Replacing the salt makes every earlier hash
/// unlinkable to later ones, which is also how to forget all clients at once.
///
/// An IPv6 client is hashed by its /64 prefix. A phone's IPv6 privacy address (RFC 8981)
/// changes its interface identifier daily or more often, so hashing the whole address would
/// count one phone as many clients and make "distinct clients" meaningless; a /64 is one
/// subscriber's link (a home network, or a handset's own prefix on a mobile network), which
/// is what an IPv4 address behind NAT identifies too, and it is less personal. An IPv4 address
/// mapped into IPv6 (`::ffff:a.b.c.d`, from a dual-stack socket) is hashed as the IPv4
/// address: its /64 would be the same for every IPv4 client.
#[derive(Clone)]
pub struct ClientHasher {
    salt: [u8; SALT_LEN],
}

impl fmt::Debug for ClientHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientHasher").finish_non_exhaustive()
    }
}

impl ClientHasher {
    /// Loads the salt at `path`, refusing a file that group or others may read; creates it
    /// (mode 0600, its directory 0700 if new) on a first start.
    pub fn open(path: &Path) -> Result<ClientHasher, SaltError> {
        if !path.exists() {
            let mut salt = [0; SALT_LEN];
            OsRng.fill_bytes(&mut salt);
            match keys::write_secret(path, &salt) {
                Ok(()) => {
                    tracing::info!(
                        path = %path.display(),
                        "created the client salt: back it up, and copy it to every node \
                         sharing this database"
                    );
                    return Ok(ClientHasher { salt });
                }
                // Another process created it first: use theirs.
                Err(KeyError::Exists { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let bytes = keys::read_secret(path)?;
        let salt = bytes.as_slice().try_into().map_err(|_| SaltError::Length {
            path: path.display().to_string(),
            len: bytes.len(),
        })?;
        Ok(ClientHasher { salt })
    }

    /// 64 lowercase hex digits naming the client (its /64 for IPv6).
    pub fn hash(&self, client: IpAddr) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.salt);
        match client.to_canonical() {
            IpAddr::V4(v4) => hasher.update(v4.octets()),
            IpAddr::V6(v6) => hasher.update(&v6.octets()[..8]),
        }
        hex(&hasher.finalize())
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn hasher() -> ClientHasher {
        ClientHasher {
            salt: [7; SALT_LEN],
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_ipv6_client_is_one_client_across_its_privacy_addresses_within_its_64() {
        let h = hasher();
        let phone = h.hash(ip("2001:db8:1:2:a1b2:c3d4:e5f6:789"));
        assert_eq!(phone, h.hash(ip("2001:db8:1:2:1111:2222:3333:4444")));
        assert_ne!(phone, h.hash(ip("2001:db8:1:3:a1b2:c3d4:e5f6:789")));
        assert_eq!(phone.len(), 64);
        assert!(
            phone
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn an_ipv4_client_is_hashed_alike_when_mapped_into_ipv6_and_apart_from_its_neighbour() {
        let h = hasher();
        let v4 = h.hash(ip("203.0.113.7"));
        assert_eq!(v4, h.hash(ip("::ffff:203.0.113.7")));
        assert_ne!(v4, h.hash(ip("203.0.113.8")));
        assert_ne!(h.hash(ip("::ffff:203.0.113.8")), v4);
    }

    #[test]
    fn a_created_salt_is_private_and_gives_the_same_hashes_when_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join(SALT_FILE);
        let first = ClientHasher::open(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = ClientHasher::open(&path).unwrap();
        assert_eq!(first.hash(ip("203.0.113.7")), again.hash(ip("203.0.113.7")));
        assert_eq!(format!("{first:?}"), "ClientHasher { .. }");
    }

    #[test]
    fn a_salt_readable_by_others_or_of_the_wrong_length_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SALT_FILE);
        ClientHasher::open(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = ClientHasher::open(&path).unwrap_err();
        assert!(
            matches!(err, SaltError::File(KeyError::Exposed { mode: 0o644, .. })),
            "{err}"
        );

        fs::write(&path, [1; 16]).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let err = ClientHasher::open(&path).unwrap_err();
        assert!(matches!(err, SaltError::Length { len: 16, .. }), "{err}");
    }
}
