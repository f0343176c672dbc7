//! Events as they enter and leave the log: what a writer hands in ([`NewEvent`]), what the log
//! keeps ([`StoredEvent`]), and the canonical envelope whose RFC 6962 leaf hash commits to each
//! entry. This module does not store or order anything; `log::commit` does.

use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::merkle::{Hash, leaf_hash};
use crate::hex::hex;

/// Who may read an event's data. Envelopes are always public; the data of a confidential event
/// (consumer reports, case work, access tokens) is served only to roles entitled to it, and
/// carries a random salt (see [`NewEvent::confidential`]) so that its public `data_sha256`
/// confirms no guess.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Public,
    Confidential,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Confidential => "confidential",
        }
    }

    pub fn parse(s: &str) -> Option<Visibility> {
        match s {
            "public" => Some(Visibility::Public),
            "confidential" => Some(Visibility::Confidential),
            _ => None,
        }
    }
}

/// Who caused an event and in answer to what. Not part of the envelope: metadata is operational
/// context, not the public record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The authenticated principal, e.g. `admin:3f2a…` or `cli`.
    pub actor: Option<String>,
    /// Groups the events of one business operation across streams.
    pub correlation_id: Option<Uuid>,
    /// The event or request this one answers.
    pub causation_id: Option<Uuid>,
}

impl Metadata {
    /// Metadata naming only who acted.
    pub fn by(actor: &str) -> Metadata {
        Metadata {
            actor: Some(actor.to_owned()),
            ..Metadata::default()
        }
    }
}

/// A stream name, `[a-z0-9][a-z0-9._:-]{0,127}` (SPEC.md), so envelopes never need escaping.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct StreamName(String);

impl StreamName {
    pub fn parse(s: &str) -> Result<StreamName, InvalidEvent> {
        let bytes = s.as_bytes();
        let ok = !bytes.is_empty()
            && bytes.len() <= 128
            && matches!(bytes[0], b'a'..=b'z' | b'0'..=b'9')
            && bytes[1..]
                .iter()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b':' | b'-'));
        if ok {
            Ok(StreamName(s.to_owned()))
        } else {
            Err(InvalidEvent::StreamName(s.chars().take(140).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why an event was refused before it reached storage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEvent {
    #[error("stream name {0:?} does not match [a-z0-9][a-z0-9._:-]{{0,127}}")]
    StreamName(String),
    #[error("event type {0:?} does not match [A-Za-z][A-Za-z0-9_.]{{0,63}}")]
    EventType(String),
    #[error("event data is not serialisable as JSON: {0}")]
    Data(String),
    #[error("an append carries {0} events; it must carry 1 to 10000")]
    Count(usize),
    #[error("event id {0} appears twice in one append")]
    DuplicateId(Uuid),
    #[error(
        "the data of a confidential event must be a JSON object without a \"{SALT_KEY}\" key, \
         so that its salt can be stored in it"
    )]
    Unsalted,
}

/// The key under which a confidential event's data holds its salt.
pub const SALT_KEY: &str = "salt";

/// Random bytes of salt in a confidential event's data: 128 bits, too many to guess, so the
/// public hash of a report cannot be matched by trying every phone number it might hold.
pub const SALT_BYTES: usize = 16;

fn check_event_type(s: &str) -> Result<(), InvalidEvent> {
    let bytes = s.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_alphabetic()
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(InvalidEvent::EventType(s.chars().take(70).collect()))
    }
}

/// An event to append. Its data is serialised here, once: those exact bytes are what the log
/// stores, hashes and serves, so no later re-serialisation can change a committed hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    pub(crate) event_id: Uuid,
    pub(crate) event_type: String,
    pub(crate) schema: u32,
    pub(crate) data: String,
    pub(crate) visibility: Visibility,
    pub(crate) metadata: Metadata,
}

impl NewEvent {
    /// A public event of schema version 1 with a fresh time-ordered id, or, inside
    /// [`repeatable`], the next id that scope derives.
    pub fn new(event_type: &str, data: &impl Serialize) -> Result<NewEvent, InvalidEvent> {
        check_event_type(event_type)?;
        let data = serde_json::to_string(data).map_err(|e| InvalidEvent::Data(e.to_string()))?;
        Ok(NewEvent {
            event_id: next_event_id(),
            event_type: event_type.to_owned(),
            schema: 1,
            data,
            visibility: Visibility::Public,
            metadata: Metadata::default(),
        })
    }

    /// Uses a client-supplied id, so that re-sending the same request appends nothing twice.
    pub fn with_id(mut self, event_id: Uuid) -> NewEvent {
        self.event_id = event_id;
        self
    }

    pub fn with_schema(mut self, schema: u32) -> NewEvent {
        self.schema = schema;
        self
    }

    /// Makes the event confidential and salts its data (SPEC.md "Log and transparency"): the
    /// envelope, which anyone reads, commits to the SHA-256 of the data, and data such as a
    /// phone number has few enough values to be confirmed by hashing each guess. A fresh
    /// 128-bit salt, stored as the data's first key, makes every guess miss, and is erased
    /// with the data. Readers deserialise into types that ignore the key.
    ///
    /// Salted here, at construction, not when the log commits: a client that re-sends the same
    /// event (same id) re-sends the same bytes, so the idempotent replay still recognises it.
    pub fn confidential(mut self) -> Result<NewEvent, InvalidEvent> {
        self.data = salted(&self.data)?;
        self.visibility = Visibility::Confidential;
        Ok(self)
    }

    pub fn with_metadata(mut self, metadata: Metadata) -> NewEvent {
        self.metadata = metadata;
        self
    }

    pub fn event_id(&self) -> Uuid {
        self.event_id
    }
}

tokio::task_local! {
    static REPEATABLE: Repeatable;
}

/// The ids of a repeatable request's events: the n-th event it makes gets the id derived
/// from the request's seed and n.
struct Repeatable {
    seed: [u8; 32],
    made: std::cell::Cell<u32>,
}

/// Runs `work` so that the events it makes (in this task) get ids derived from `seed`, in the
/// order it makes them, instead of fresh ones. Running the same work again with the same
/// seed, say a client's retry of a request whose answer was lost when a node died, makes the
/// same ids, and the log's idempotent append recognises them: the events are not appended
/// twice (see `log::commit`'s replay).
pub async fn repeatable<F: Future>(seed: [u8; 32], work: F) -> F::Output {
    let ids = Repeatable {
        seed,
        made: std::cell::Cell::new(0),
    };
    REPEATABLE.scope(ids, work).await
}

/// The next id of the current repeatable scope (a UUIDv8 from SHA-256 of the seed and the
/// event's ordinal), else a fresh UUIDv7.
fn next_event_id() -> Uuid {
    REPEATABLE
        .try_with(|ids| {
            let n = ids.made.get();
            ids.made.set(n + 1);
            let digest = Sha256::new()
                .chain_update(b"marktrace event id\0")
                .chain_update(ids.seed)
                .chain_update(n.to_be_bytes())
                .finalize();
            let mut bytes = [0; 16];
            bytes.copy_from_slice(&digest[..16]);
            uuid::Builder::from_custom_bytes(bytes).into_uuid()
        })
        .unwrap_or_else(|_| Uuid::now_v7())
}

/// `data` with a random salt as its first key. `data` is `serde_json`'s compact text of an
/// object, so the salt is spliced in after the `{` and every other byte stays as serialised.
fn salted(data: &str) -> Result<String, InvalidEvent> {
    let fields: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(data).map_err(|_| InvalidEvent::Unsalted)?;
    let Some(rest) = data.strip_prefix('{') else {
        return Err(InvalidEvent::Unsalted);
    };
    if fields.contains_key(SALT_KEY) {
        return Err(InvalidEvent::Unsalted);
    }
    let mut salt = [0u8; SALT_BYTES];
    OsRng.fill_bytes(&mut salt);
    let separator = if fields.is_empty() { "" } else { "," };
    Ok(format!(
        r#"{{"{SALT_KEY}":"{}"{separator}{rest}"#,
        hex(&salt)
    ))
}

/// An event as the log keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// Global index: the Merkle leaf index, contiguous from 0 in commit order.
    pub index: u64,
    pub event_id: Uuid,
    pub stream: String,
    /// Position in its stream, from 1.
    pub version: u64,
    pub event_type: String,
    pub schema: u32,
    /// The exact JSON text given at append.
    pub data: String,
    /// Lowercase hex SHA-256 of `data`.
    pub data_sha256: String,
    pub metadata: Metadata,
    /// RFC 3339 UTC with six fractional digits, see [`crate::clock`].
    pub recorded_at: String,
    pub visibility: Visibility,
    pub leaf_hash: Hash,
}

impl StoredEvent {
    /// The canonical envelope (SPEC.md "Log and transparency"): keys byte-sorted, no whitespace,
    /// plain decimal integers. Every string field is restricted to characters JSON never escapes
    /// except through `serde_json`, whose escaping is the RFC 8785 one, so this is the canonical
    /// form for any value the log accepts.
    pub fn envelope(&self) -> String {
        envelope(&self.fields(&self.data_sha256))
    }

    /// The leaf hash recomputed from the stored data itself (not the stored `data_sha256`), so
    /// a changed byte of data, or of any envelope field, shows as a different leaf.
    pub fn recomputed_leaf_hash(&self) -> Hash {
        envelope_leaf_hash(&self.fields(&sha256_hex(self.data.as_bytes())))
    }

    fn fields<'a>(&'a self, data_sha256: &'a str) -> EnvelopeFields<'a> {
        EnvelopeFields {
            data_sha256,
            index: self.index,
            recorded_at: &self.recorded_at,
            schema: self.schema,
            stream: &self.stream,
            event_type: &self.event_type,
            version: self.version,
            visibility: self.visibility,
        }
    }
}

/// The hash-relevant fields of an entry: everything a verifier needs to recompute its leaf.
/// Serialised canonically by [`envelope`] (keys in this order, no whitespace), it is the leaf's
/// preimage.
#[derive(Clone, Copy, Debug, utoipa::ToSchema)]
#[schema(as = Envelope)]
pub struct EnvelopeFields<'a> {
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub data_sha256: &'a str,
    pub index: u64,
    /// RFC 3339 UTC, six fractional digits, Z.
    pub recorded_at: &'a str,
    pub schema: u32,
    #[schema(pattern = "^[a-z0-9][a-z0-9._:-]{0,127}$")]
    pub stream: &'a str,
    #[schema(rename = "type", pattern = "^[A-Za-z][A-Za-z0-9_.]{0,63}$")]
    pub event_type: &'a str,
    #[schema(minimum = 1)]
    pub version: u64,
    pub visibility: Visibility,
}

pub fn envelope(f: &EnvelopeFields<'_>) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("strings always serialise");
    format!(
        r#"{{"data_sha256":{},"index":{},"recorded_at":{},"schema":{},"stream":{},"type":{},"version":{},"visibility":{}}}"#,
        q(f.data_sha256),
        f.index,
        q(f.recorded_at),
        f.schema,
        q(f.stream),
        q(f.event_type),
        f.version,
        q(f.visibility.as_str()),
    )
}

pub fn envelope_leaf_hash(f: &EnvelopeFields<'_>) -> Hash {
    leaf_hash(envelope(f).as_bytes())
}

/// Lowercase hex SHA-256, the form `data_sha256` takes everywhere.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_is_canonical_json_with_byte_sorted_keys() {
        let fields = EnvelopeFields {
            data_sha256: &sha256_hex(b"{}"),
            index: 7,
            recorded_at: "2026-11-29T03:40:00.123456Z",
            schema: 1,
            stream: "issuer-jx01",
            event_type: "IssuerRegistered",
            version: 1,
            visibility: Visibility::Public,
        };
        assert_eq!(
            envelope(&fields),
            concat!(
                r#"{"data_sha256":"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","#,
                r#""index":7,"recorded_at":"2026-11-29T03:40:00.123456Z","schema":1,"#,
                r#""stream":"issuer-jx01","type":"IssuerRegistered","version":1,"visibility":"public"}"#
            )
        );
    }

    /// The same seed gives the same ids in the same order; another seed, or no scope, others.
    #[tokio::test]
    async fn a_repeatable_scope_derives_the_same_ids_again() {
        let ids = || async {
            let a = NewEvent::new("A", &1).unwrap().event_id();
            let b = NewEvent::new("B", &2).unwrap().event_id();
            [a, b]
        };
        let first = repeatable([7; 32], ids()).await;
        assert_eq!(repeatable([7; 32], ids()).await, first);
        assert_ne!(first[0], first[1]);
        assert_eq!(first[0].get_version_num(), 8);
        let other = repeatable([8; 32], ids()).await;
        assert!(other.iter().all(|id| !first.contains(id)));
        let fresh = ids().await;
        assert!(fresh.iter().all(|id| id.get_version_num() == 7));
    }

    #[test]
    fn stream_names_outside_the_spec_alphabet_are_refused() {
        for bad in ["", "Issuer-1", "-x", "a b", "a/b", &"a".repeat(129), "流"] {
            assert!(StreamName::parse(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "a",
            "issuer-jx01",
            "case-2026:0001",
            "batch.7_x",
            &"a".repeat(128),
        ] {
            assert!(StreamName::parse(good).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn event_types_outside_the_spec_alphabet_are_refused() {
        for bad in ["", "1Issued", "Mark-Issued", "A B", &"A".repeat(65)] {
            assert!(NewEvent::new(bad, &()).is_err(), "{bad:?} accepted");
        }
        assert!(NewEvent::new("MarkBatchIssued.v2", &()).is_ok());
    }

    #[test]
    fn confidential_data_carries_a_fresh_salt_of_128_bits_first() {
        let data = serde_json::json!({"contact": "138-0000-4821", "note": "x"});
        let public = NewEvent::new("Reported", &data).unwrap();
        assert_eq!(public.data, r#"{"contact":"138-0000-4821","note":"x"}"#);
        let a = public.clone().confidential().unwrap();
        let b = public.confidential().unwrap();
        assert_eq!(a.visibility, Visibility::Confidential);
        for event in [&a, &b] {
            let salt = event.data[r#"{"salt":""#.len()..][..2 * SALT_BYTES].to_owned();
            assert!(
                salt.bytes().all(|c| c.is_ascii_hexdigit()),
                "{}",
                event.data
            );
            assert_eq!(
                event.data,
                format!(r#"{{"salt":"{salt}","contact":"138-0000-4821","note":"x"}}"#)
            );
        }
        assert_ne!(a.data, b.data, "a fresh salt per event");
        let empty = NewEvent::new("T", &serde_json::json!({})).unwrap();
        let salted = empty.confidential().unwrap();
        assert_eq!(salted.data.len(), r#"{"salt":""}"#.len() + 2 * SALT_BYTES);
        let readback: serde_json::Value = serde_json::from_str(&salted.data).unwrap();
        assert_eq!(readback.as_object().unwrap().len(), 1);
    }

    #[test]
    fn confidential_data_that_cannot_hold_a_salt_is_refused() {
        for data in [
            serde_json::json!(7),
            serde_json::json!([1]),
            serde_json::json!({"salt": 1}),
        ] {
            let event = NewEvent::new("T", &data).unwrap();
            assert_eq!(event.confidential(), Err(InvalidEvent::Unsalted), "{data}");
        }
        let once = NewEvent::new("T", &serde_json::json!({"a": 1}))
            .unwrap()
            .confidential()
            .unwrap();
        assert_eq!(
            once.confidential(),
            Err(InvalidEvent::Unsalted),
            "salted twice"
        );
    }

    #[test]
    fn data_is_serialised_once_at_creation() {
        let e = NewEvent::new("T", &serde_json::json!({"b": 1, "a": "流"})).unwrap();
        assert_eq!(e.data, r#"{"a":"流","b":1}"#);
    }
}
