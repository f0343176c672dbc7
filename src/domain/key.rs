//! Issuer signing keys as the registry knows them: the 8-byte key id, the root endorsement that
//! makes a key usable, and the key's lifecycle (`added` → `active` → `retired`, any of them →
//! `compromised`). Pure rules; `registry` appends the events and `keys` holds the files.

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::log::event::hex;

/// Domain separation tag of a root endorsement (README "Key endorsement").
pub const ENDORSEMENT_CONTEXT: &[u8] = b"marktrace/key-endorsement/v1";

/// First 8 bytes of SHA-256 of a 32-byte Ed25519 public key (SPEC.md "The mark"); shown as 16
/// lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    pub fn of(key: &VerifyingKey) -> KeyId {
        let digest = Sha256::digest(key.as_bytes());
        KeyId(digest[..8].try_into().expect("SHA-256 is 32 bytes"))
    }

    /// Parses 16 hex digits (either case).
    pub fn parse(s: &str) -> Option<KeyId> {
        if s.len() != 16 || !s.is_ascii() {
            return None;
        }
        let mut id = [0u8; 8];
        for (i, byte) in id.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(KeyId(id))
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl Serialize for KeyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<KeyId, D::Error> {
        let s = String::deserialize(d)?;
        KeyId::parse(&s).ok_or_else(|| serde::de::Error::custom("a key id is 16 hex digits"))
    }
}
