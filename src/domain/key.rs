//! Issuer signing keys as the registry knows them: the 8-byte key id, the root endorsement that
//! makes a key usable, and the key's lifecycle (`added` → `active` → `retired`, any of them →
//! `compromised`). Pure rules; `registry` appends the events and `keys` holds the files.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::issuer::{IssuerId, text};
use crate::hex::hex;

pub const ISSUER_KEY_ADDED: &str = "IssuerKeyAdded";
pub const ISSUER_KEY_ACTIVATED: &str = "IssuerKeyActivated";
pub const ISSUER_KEY_RETIRED: &str = "IssuerKeyRetired";
pub const ISSUER_KEY_COMPROMISED: &str = "IssuerKeyCompromised";
/// A registered key signed a mark body the registry never issued: the key is compromised or
/// misused. A critical public event, once per (key, serial): its stream is created once.
pub const KEY_MISUSE_DETECTED: &str = "KeyMisuseDetected";

/// Claims a key id for one key in the deployment, in the stream `keyid-<id>` (created once),
/// in the same append that adds the key: a colliding id is refused.
pub const KEY_ID_CLAIMED: &str = "KeyIdClaimed";

/// The data of `KeyIdClaimed`: which issuer's key the id names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyIdClaimed {
    pub issuer_id: IssuerId,
    pub key_id: KeyId,
}

/// The stream of every key event of one issuer, so an issuer never has two active keys.
pub fn issuer_keys_stream(issuer: &IssuerId) -> String {
    format!("issuerkeys-{}", issuer.as_str())
}

/// The stream claiming a key id.
pub fn key_id_stream(key_id: KeyId) -> String {
    format!("keyid-{key_id}")
}

/// The data of `KeyMisuseDetected`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMisuseDetected {
    pub key_id: KeyId,
    pub serial: u64,
    /// Always `critical`.
    pub severity: String,
}

/// The stream of one misuse: created once, however often the token is scanned.
pub fn key_misuse_stream(key_id: KeyId, serial: u64) -> String {
    format!("keymisuse-{key_id}-{serial}")
}

/// Domain separation tag of a root endorsement (README "Key endorsement").
pub const ENDORSEMENT_CONTEXT: &[u8] = b"marktrace/key-endorsement/v1";

/// First 8 bytes of SHA-256 of a 32-byte Ed25519 public key (SPEC.md "The mark"); shown as 16
/// lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 8]);

super::string_schema!(
    KeyId,
    "^[0-9a-f]{16}$",
    "An Ed25519 key's id: 16 lowercase hex digits."
);

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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssuerKeyError {
    #[error("the public key is of small order; it would verify forged signatures")]
    SmallOrder,
    #[error("not_before ({not_before}) must be earlier than not_after ({not_after})")]
    Validity { not_before: u64, not_after: u64 },
    #[error("{field} ({value}) is after 9999-12-31T23:59:59Z ({LATEST_UNIX_SECONDS} Unix seconds)")]
    BeyondTime { field: &'static str, value: u64 },
    #[error(
        "key {key_id} is valid from {not_before} to {not_after} (Unix seconds), not now; it cannot be activated"
    )]
    OutsideValidity {
        key_id: KeyId,
        not_before: u64,
        not_after: u64,
    },
    #[error("key {key_id} is {status}; it cannot be {action}")]
    Transition {
        key_id: KeyId,
        status: KeyStatus,
        action: &'static str,
    },
    #[error("{0}")]
    Text(String),
}

/// When an issuer key may sign, as Unix seconds: `not_before <= t < not_after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    pub not_before: u64,
    pub not_after: u64,
}

/// The last second a date can name (9999-12-31T23:59:59Z): validity ends no later, so every
/// bound is a time a reader can print and every store can hold.
pub const LATEST_UNIX_SECONDS: u64 = 253_402_300_799;

/// How long a new issuer key is valid when its maker does not say: three years.
pub const DEFAULT_VALIDITY_SECONDS: u64 = 3 * 365 * 24 * 3600;

impl Validity {
    /// From `not_before` to `not_after`, or for the default span.
    pub fn starting(not_before: u64, not_after: Option<u64>) -> Result<Validity, IssuerKeyError> {
        Validity::new(
            not_before,
            not_after.unwrap_or(not_before.saturating_add(DEFAULT_VALIDITY_SECONDS)),
        )
    }

    pub fn new(not_before: u64, not_after: u64) -> Result<Validity, IssuerKeyError> {
        for (field, value) in [("not_before", not_before), ("not_after", not_after)] {
            if value > LATEST_UNIX_SECONDS {
                return Err(IssuerKeyError::BeyondTime { field, value });
            }
        }
        if not_before < not_after {
            Ok(Validity {
                not_before,
                not_after,
            })
        } else {
            Err(IssuerKeyError::Validity {
                not_before,
                not_after,
            })
        }
    }

    pub fn contains(&self, unix_seconds: u64) -> bool {
        (self.not_before..self.not_after).contains(&unix_seconds)
    }
}

/// The exact bytes the brand root signs to endorse an issuer key:
/// `"marktrace/key-endorsement/v1" || 0x00 || issuer_id || 0x00 || public_key (32) ||
/// not_before (u64 BE) || not_after (u64 BE)`. The issuer id cannot contain 0x00, so the
/// encoding is unambiguous.
pub fn endorsement_message(issuer: &IssuerId, key: &VerifyingKey, validity: Validity) -> Vec<u8> {
    let mut message = Vec::with_capacity(ENDORSEMENT_CONTEXT.len() + issuer.as_str().len() + 50);
    message.extend_from_slice(ENDORSEMENT_CONTEXT);
    message.push(0);
    message.extend_from_slice(issuer.as_str().as_bytes());
    message.push(0);
    message.extend_from_slice(key.as_bytes());
    message.extend_from_slice(&validity.not_before.to_be_bytes());
    message.extend_from_slice(&validity.not_after.to_be_bytes());
    message
}

/// The data of an `IssuerKeyAdded` event: a public key, its validity and the root's
/// endorsement, everything an offline verifier needs to trust the key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IssuerKeyAdded {
    pub issuer_id: IssuerId,
    pub key_id: KeyId,
    /// Standard base64 of the 32-byte Ed25519 public key.
    #[serde(with = "base64_key")]
    #[schema(value_type = String)]
    pub public_key: VerifyingKey,
    pub not_before: u64,
    pub not_after: u64,
    /// Standard base64 of the root's 64-byte Ed25519 signature.
    #[serde(with = "base64_signature")]
    #[schema(value_type = String)]
    pub endorsement: Signature,
}

impl IssuerKeyAdded {
    /// Checks a key for registration (never of small order) and endorses it with the root.
    pub fn endorse(
        root: &SigningKey,
        issuer: &IssuerId,
        key: VerifyingKey,
        validity: Validity,
    ) -> Result<IssuerKeyAdded, IssuerKeyError> {
        if key.is_weak() {
            return Err(IssuerKeyError::SmallOrder);
        }
        Ok(IssuerKeyAdded {
            issuer_id: issuer.clone(),
            key_id: KeyId::of(&key),
            public_key: key,
            not_before: validity.not_before,
            not_after: validity.not_after,
            endorsement: root.sign(&endorsement_message(issuer, &key, validity)),
        })
    }

    pub fn validity(&self) -> Validity {
        Validity {
            not_before: self.not_before,
            not_after: self.not_after,
        }
    }

    /// Whether `root` endorsed exactly this issuer, key and validity (RFC 8032, canonical S).
    pub fn endorsed_by(&self, root: &VerifyingKey) -> bool {
        let message = endorsement_message(&self.issuer_id, &self.public_key, self.validity());
        root.verify_strict(&message, &self.endorsement).is_ok()
    }
}

/// The data of `IssuerKeyActivated`, `IssuerKeyRetired` and `IssuerKeyCompromised`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerKeyChanged {
    pub issuer_id: IssuerId,
    pub key_id: KeyId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl IssuerKeyChanged {
    pub fn new(
        issuer_id: &IssuerId,
        key_id: KeyId,
        reason: Option<&str>,
    ) -> Result<IssuerKeyChanged, IssuerKeyError> {
        let reason = reason
            .map(|r| text("reason", r, 500).map_err(|e| IssuerKeyError::Text(e.to_string())))
            .transpose()?;
        Ok(IssuerKeyChanged {
            issuer_id: issuer_id.clone(),
            key_id,
            reason,
        })
    }
}

/// Where a key is in its life. Only an `active` key signs new batches; `retired` keys' marks
/// still verify; `compromised` keys' marks verify with the `key_compromised` flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    Added,
    Active,
    Retired,
    Compromised,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Added => "added",
            KeyStatus::Active => "active",
            KeyStatus::Retired => "retired",
            KeyStatus::Compromised => "compromised",
        }
    }

    pub fn parse(s: &str) -> Option<KeyStatus> {
        [
            KeyStatus::Added,
            KeyStatus::Active,
            KeyStatus::Retired,
            KeyStatus::Compromised,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }

    /// The status after `event_type`.
    pub fn after(self, event_type: &str) -> KeyStatus {
        match event_type {
            ISSUER_KEY_ACTIVATED => KeyStatus::Active,
            ISSUER_KEY_RETIRED => KeyStatus::Retired,
            ISSUER_KEY_COMPROMISED => KeyStatus::Compromised,
            _ => self,
        }
    }

    /// Checks a transition: activate only an added key, retire an added or active one, and
    /// mark compromised anything not already so (a retired key can still leak).
    pub fn check(self, key_id: KeyId, event_type: &str) -> Result<(), IssuerKeyError> {
        let (allowed, action) = match event_type {
            ISSUER_KEY_ACTIVATED => (self == KeyStatus::Added, "activated"),
            ISSUER_KEY_RETIRED => (
                matches!(self, KeyStatus::Added | KeyStatus::Active),
                "retired",
            ),
            _ => (self != KeyStatus::Compromised, "marked compromised"),
        };
        if allowed {
            Ok(())
        } else {
            Err(IssuerKeyError::Transition {
                key_id,
                status: self,
                action,
            })
        }
    }
}

impl std::fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An issuer's keys folded from its key stream, in the order they were added.
#[derive(Clone, Debug, Default)]
pub struct IssuerKeys {
    pub keys: Vec<(IssuerKeyAdded, KeyStatus)>,
}

impl IssuerKeys {
    /// Folds one event of the issuer's key stream.
    pub fn apply(&mut self, event_type: &str, data: &str) {
        if event_type == ISSUER_KEY_ADDED {
            if let Ok(added) = serde_json::from_str::<IssuerKeyAdded>(data) {
                self.keys.push((added, KeyStatus::Added));
            }
        } else if let Ok(changed) = serde_json::from_str::<IssuerKeyChanged>(data) {
            if let Some((_, status)) = self
                .keys
                .iter_mut()
                .find(|(k, _)| k.key_id == changed.key_id)
            {
                *status = status.after(event_type);
            }
        }
    }

    pub fn get(&self, key_id: KeyId) -> Option<&(IssuerKeyAdded, KeyStatus)> {
        self.keys.iter().find(|(k, _)| k.key_id == key_id)
    }

    /// The key new batches use, if any.
    pub fn active(&self) -> Option<&IssuerKeyAdded> {
        self.keys
            .iter()
            .find(|(_, status)| *status == KeyStatus::Active)
            .map(|(k, _)| k)
    }
}

mod base64_key {
    use super::*;

    pub fn serialize<S: serde::Serializer>(key: &VerifyingKey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(key.as_bytes()))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<VerifyingKey, D::Error> {
        let bytes: [u8; 32] = decode(d)?;
        VerifyingKey::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }

    pub(super) fn decode<'de, D: serde::Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let s = String::deserialize(d)?;
        STANDARD
            .decode(s)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| serde::de::Error::custom(format!("expected {N} bytes in base64")))
    }
}

mod base64_signature {
    use super::*;

    pub fn serialize<S: serde::Serializer>(sig: &Signature, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(sig.to_bytes()))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Signature, D::Error> {
        let bytes: [u8; 64] = base64_key::decode(d)?;
        Ok(Signature::from_bytes(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8032 §7.1 TEST 1.
    const RFC8032_SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const RFC8032_PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const RFC8032_SIGNATURE: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    fn unhex<const N: usize>(s: &str) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    fn rfc8032_key() -> SigningKey {
        SigningKey::from_bytes(&unhex(RFC8032_SECRET))
    }

    #[test]
    fn our_signer_reproduces_rfc8032_test_1_byte_for_byte() {
        let key = rfc8032_key();
        assert_eq!(hex(key.verifying_key().as_bytes()), RFC8032_PUBLIC);
        assert_eq!(hex(&key.sign(b"").to_bytes()), RFC8032_SIGNATURE);
    }

    #[test]
    fn the_endorsement_message_has_exactly_the_documented_bytes() {
        let issuer = IssuerId::parse("jx-cb1").unwrap();
        let key = rfc8032_key().verifying_key();
        let validity = Validity::new(1_767_225_600, 1_861_920_000).unwrap();
        let expected = concat!(
            "6d61726b74726163652f6b65792d656e646f7273656d656e742f7631", // marktrace/key-endorsement/v1
            "00",
            "6a782d636231", // jx-cb1
            "00",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "000000006955b900", // 2026-01-01T00:00:00Z
            "000000006efaa500", // 2029-01-01T00:00:00Z
        );
        assert_eq!(hex(&endorsement_message(&issuer, &key, validity)), expected);
    }

    #[test]
    fn an_endorsement_verifies_with_an_independent_ed25519() {
        let root = rfc8032_key();
        let issuer = IssuerId::parse("jx-cb1").unwrap();
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        let validity = Validity::new(1_767_225_600, 1_861_920_000).unwrap();
        let added = IssuerKeyAdded::endorse(&root, &issuer, key, validity).unwrap();

        let independent =
            ed25519_compact::PublicKey::from_slice(root.verifying_key().as_bytes()).unwrap();
        let signature =
            ed25519_compact::Signature::from_slice(&added.endorsement.to_bytes()).unwrap();
        let message = endorsement_message(&issuer, &key, validity);
        assert!(independent.verify(&message, &signature).is_ok());
        let mut changed = message.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert!(independent.verify(&changed, &signature).is_err());
        assert!(added.endorsed_by(&root.verifying_key()));
        assert!(!added.endorsed_by(&key));
    }

    #[test]
    fn a_changed_endorsed_field_no_longer_verifies() {
        let root = rfc8032_key();
        let issuer = IssuerId::parse("jx-cb1").unwrap();
        let key = SigningKey::from_bytes(&[7; 32]).verifying_key();
        let added =
            IssuerKeyAdded::endorse(&root, &issuer, key, Validity::new(10, 20).unwrap()).unwrap();
        let root = root.verifying_key();
        let mut other = added.clone();
        other.not_after = 21;
        assert!(!other.endorsed_by(&root));
        let mut other = added.clone();
        other.issuer_id = IssuerId::parse("jx-cb2").unwrap();
        assert!(!other.endorsed_by(&root));
        let mut other = added;
        other.public_key = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert!(!other.endorsed_by(&root));
    }

    #[test]
    fn a_small_order_key_is_refused_at_registration() {
        // The identity point (y = 1): every "signature" with R = identity, s = 0 verifies
        // under it with the cofactored equation, so it must never be endorsed.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = VerifyingKey::from_bytes(&identity).unwrap();
        let issuer = IssuerId::parse("jx-cb1").unwrap();
        let result =
            IssuerKeyAdded::endorse(&rfc8032_key(), &issuer, weak, Validity::new(1, 2).unwrap());
        assert_eq!(result.unwrap_err(), IssuerKeyError::SmallOrder);
    }

    #[test]
    fn a_validity_must_not_be_empty() {
        assert!(Validity::new(5, 5).is_err());
        assert!(Validity::new(6, 5).is_err());
        let v = Validity::new(5, 6).unwrap();
        assert!(v.contains(5) && !v.contains(6) && !v.contains(4));
    }

    /// Found by schemathesis: a `not_after` of 2^63 was accepted, logged, and then failed every
    /// read of the key from PostgreSQL's signed 64-bit column with a 500.
    #[test]
    fn a_validity_ends_by_the_last_second_a_date_can_name() {
        let last = LATEST_UNIX_SECONDS;
        assert!(Validity::new(0, last).is_ok());
        for (before, after, field) in [
            (0, last + 1, "not_after"),
            (1 << 63, u64::MAX, "not_before"),
        ] {
            let error = Validity::new(before, after).unwrap_err();
            assert!(matches!(error, IssuerKeyError::BeyondTime { field: f, .. } if f == field));
        }
        assert!(
            Validity::starting(last - 1, None).is_err(),
            "the default span too"
        );
    }

    #[test]
    fn key_ids_are_the_first_eight_bytes_of_the_key_hash_in_hex() {
        let key = rfc8032_key().verifying_key();
        let id = KeyId::of(&key);
        let digest = Sha256::digest(key.as_bytes());
        assert_eq!(id.0, digest[..8]);
        assert_eq!(KeyId::parse(&id.to_string()), Some(id));
        assert_eq!(KeyId::parse(&id.to_string().to_uppercase()), Some(id));
        for bad in ["", "0011", "zz00000000000000", "00000000000000000"] {
            assert_eq!(KeyId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn key_transitions_follow_the_lifecycle() {
        let id = KeyId([1; 8]);
        use KeyStatus::*;
        let legal = [
            (Added, ISSUER_KEY_ACTIVATED, Active),
            (Added, ISSUER_KEY_RETIRED, Retired),
            (Active, ISSUER_KEY_RETIRED, Retired),
            (Added, ISSUER_KEY_COMPROMISED, Compromised),
            (Active, ISSUER_KEY_COMPROMISED, Compromised),
            (Retired, ISSUER_KEY_COMPROMISED, Compromised),
        ];
        for (from, event, to) in legal {
            assert!(from.check(id, event).is_ok(), "{from} {event}");
            assert_eq!(from.after(event), to);
        }
        let illegal = [
            (Active, ISSUER_KEY_ACTIVATED),
            (Retired, ISSUER_KEY_ACTIVATED),
            (Compromised, ISSUER_KEY_ACTIVATED),
            (Retired, ISSUER_KEY_RETIRED),
            (Compromised, ISSUER_KEY_RETIRED),
            (Compromised, ISSUER_KEY_COMPROMISED),
        ];
        for (from, event) in illegal {
            let err = from.check(id, event).unwrap_err();
            assert!(err.to_string().contains(from.as_str()), "{err}");
        }
    }
}
