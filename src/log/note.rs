//! C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and the checkpoint text they
//! carry (c2sp.org/tlog-checkpoint). It owns the wire formats: key names, key ids, verifier
//! keys, signature lines and checkpoint bodies, byte for byte as golang.org/x/mod/sumdb/note
//! writes them. It does not own where keys are kept, which keys a client trusts, or witness
//! policy: a caller opens a note with the one key it trusts, and lines signed by other keys
//! (cosignatures) pass through unread.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::merkle::Hash;

/// The signature type byte for Ed25519, hashed into key ids and leading the key in verifier
/// keys (signed-note, "Signature types").
const ALG_ED25519: u8 = 0x01;

/// The largest note [`open`] reads, so a hostile note costs bounded memory and time.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// The spec requires accepting at least 16 signatures; the Go reference stops at 100, as we do,
/// which also caps the Ed25519 verifications a note stuffed with lines for our key can cost.
const MAX_SIGNATURES: usize = 100;

/// Each signature line opens with an em dash (U+2014) and a space.
pub(super) const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Why a key, note or checkpoint was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("key name {0:?} is empty or holds a '+', a space or a control character")]
    InvalidKeyName(String),
    #[error("verifier key is malformed: {0}")]
    MalformedVerifierKey(&'static str),
    #[error("verifier key states key id {stated:08x} but the key's id is {actual:08x}")]
    KeyIdMismatch { stated: u32, actual: u32 },
    #[error("signature type {found:#04x} is not supported here, only {expected:#04x}")]
    UnsupportedKeyType { found: u8, expected: u8 },
    #[error("note text is malformed: {0}")]
    MalformedText(&'static str),
    #[error("note of {len} bytes is over the limit of {MAX_NOTE_BYTES}")]
    TooLarge { len: usize },
    #[error("note is malformed: {0}")]
    MalformedNote(&'static str),
    #[error("note has no signature by {name}+{key_id:08x}")]
    NotSigned { name: String, key_id: u32 },
    #[error("the signature by {name}+{key_id:08x} does not verify")]
    InvalidSignature { name: String, key_id: u32 },
    #[error("checkpoint is malformed: {0}")]
    MalformedCheckpoint(&'static str),
}

/// Signs note texts with one named Ed25519 key.
pub struct NoteSigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl fmt::Debug for NoteSigner {
    // Written out so that no future change to the key type's Debug can print the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer for `name`, which must be a valid key name.
    pub fn new(name: &str, key: SigningKey) -> Result<NoteSigner, NoteError> {
        check_name(name)?;
        Ok(NoteSigner {
            name: name.to_owned(),
            key_id: key_id_of(name, ALG_ED25519, &key.verifying_key()),
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `SHA-256(name || 0x0A || 0x01 || public key)[:4]`, big-endian.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// `name+keyid+base64(0x01 || public key)`, the string verifiers are configured with.
    pub fn verifier_key(&self) -> String {
        format_vkey(&self.name, ALG_ED25519, &self.key.verifying_key())
    }

    /// An Ed25519 signature by this key over `context || message`: for documents other than
    /// notes that the same key vouches for (the status snapshot), kept apart from note texts by
    /// a context that no note text starts with (it ends in a NUL, which notes refuse).
    pub fn sign_detached(&self, context: &[u8], message: &[u8]) -> [u8; 64] {
        let mut signed = context.to_vec();
        signed.extend_from_slice(message);
        self.key.sign(&signed).to_bytes()
    }

    /// The signed note: `text`, a blank line, and one signature line. `text` must be non-empty,
    /// end in a newline and hold no control character but newlines.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let mut signature = self.key_id.to_be_bytes().to_vec();
        signature.extend_from_slice(&self.key.sign(text.as_bytes()).to_bytes());
        let note = format!(
            "{text}\n{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(signature)
        );
        // A note we could not open ourselves is no use to anyone who trusts our reader.
        if note.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge { len: note.len() });
        }
        Ok(note)
    }
}

/// Checks signatures by one named Ed25519 key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses a verifier key `name+keyid+base64(0x01 || public key)`. The stated key id must
    /// be the key's own, so a mistyped key fails here rather than on every note.
    pub fn parse(vkey: &str) -> Result<NoteVerifier, NoteError> {
        let (name, key_id, key) = parse_vkey(vkey, ALG_ED25519)?;
        Ok(NoteVerifier { name, key_id, key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Whether `signature` is this key's over `context || message` (see
    /// [`NoteSigner::sign_detached`]).
    pub fn verify_detached(&self, context: &[u8], message: &[u8], signature: &[u8; 64]) -> bool {
        let mut signed = context.to_vec();
        signed.extend_from_slice(message);
        self.key
            .verify_strict(&signed, &Signature::from_bytes(signature))
            .is_ok()
    }
}

/// Returns the text of `note` if it carries a valid signature by `verifier`'s key.
///
/// Lines signed by any other name or key id are skipped, as the spec requires, so witnesses
/// can add cosignatures. Every line with this key's name and id must verify: one bad line
/// rejects the note, where the Go reference checks only the first. Verification is strict
/// (RFC 8032 canonical encodings), which every honest Ed25519 signer satisfies.
pub fn open<'a>(note: &'a str, verifier: &NoteVerifier) -> Result<&'a str, NoteError> {
    let (text, lines) = split(note)?;
    let mut verified = false;
    for line in lines
        .iter()
        .filter(|l| l.is_by(&verifier.name, verifier.key_id))
    {
        let invalid = || NoteError::InvalidSignature {
            name: verifier.name.clone(),
            key_id: verifier.key_id,
        };
        let signature = Signature::from_slice(&line.signature).map_err(|_| invalid())?;
        verifier
            .key
            .verify_strict(text.as_bytes(), &signature)
            .map_err(|_| invalid())?;
        verified = true;
    }
    if !verified {
        return Err(NoteError::NotSigned {
            name: verifier.name.clone(),
            key_id: verifier.key_id,
        });
    }
    Ok(text)
}

/// One signature line of a note, decoded but not verified.
pub(super) struct SignatureLine<'a> {
    pub name: &'a str,
    pub key_id: u32,
    /// What follows the key id: the signature, for a cosignature its timestamp first.
    pub signature: Vec<u8>,
}

impl SignatureLine<'_> {
    pub fn is_by(&self, name: &str, key_id: u32) -> bool {
        self.name == name && self.key_id == key_id
    }
}

/// Splits a signed note into its text and its signature lines, refusing a malformed note
/// before any signature is checked.
pub(super) fn split(note: &str) -> Result<(&str, Vec<SignatureLine<'_>>), NoteError> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(NoteError::TooLarge { len: note.len() });
    }
    if has_control_char(note) {
        return Err(NoteError::MalformedNote(
            "holds a control character other than newline",
        ));
    }
    // The text may itself hold blank lines; the last one separates it from the signatures.
    let Some(split) = note.rfind("\n\n") else {
        return Err(NoteError::MalformedNote(
            "no blank line before the signatures",
        ));
    };
    let (text, signatures) = (&note[..split + 1], &note[split + 2..]);
    let Some(signatures) = signatures.strip_suffix('\n') else {
        return Err(NoteError::MalformedNote(
            "the signatures do not end with a newline",
        ));
    };
    if signatures.is_empty() {
        return Err(NoteError::MalformedNote("no signature lines"));
    }
    // Counted before any decoding, so an oversized note costs no work.
    let lines = signatures.split('\n');
    if lines.clone().count() > MAX_SIGNATURES {
        return Err(NoteError::MalformedNote("more than 100 signature lines"));
    }
    let lines = lines
        .map(|line| {
            let Some((name, b64)) = line
                .strip_prefix(SIGNATURE_PREFIX)
                .and_then(|rest| rest.split_once(' '))
            else {
                return Err(NoteError::MalformedNote(
                    "a signature line is not an em dash, a space, a name, a space and a signature",
                ));
            };
            if !is_valid_name(name) {
                return Err(NoteError::MalformedNote(
                    "a signature line has an invalid key name",
                ));
            }
            let raw = STANDARD
                .decode(b64)
                .map_err(|_| NoteError::MalformedNote("a signature is not base64"))?;
            let Some((id, signature)) = raw
                .split_first_chunk::<4>()
                .filter(|(_, signature)| !signature.is_empty())
            else {
                return Err(NoteError::MalformedNote(
                    "a signature is no longer than a key id",
                ));
            };
            Ok(SignatureLine {
                name,
                key_id: u32::from_be_bytes(*id),
                signature: signature.to_vec(),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((text, lines))
}

/// The signed body of a transparency log checkpoint: a tree head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, one non-empty line with no control characters.
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// `origin\nsize\nbase64(root)\n`, with no extension lines: they are not auditable by
    /// monitors, and tlog-checkpoint recommends against them.
    pub fn to_text(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    /// Parses a checkpoint note text. Extension lines after the root are allowed, as the spec
    /// requires, and ignored.
    pub fn parse(text: &str) -> Result<Checkpoint, NoteError> {
        let Some(body) = text.strip_suffix('\n') else {
            return Err(NoteError::MalformedCheckpoint(
                "does not end with a newline",
            ));
        };
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|line| !line.is_empty())
            .ok_or(NoteError::MalformedCheckpoint("the origin line is empty"))?;
        let size = lines
            .next()
            .ok_or(NoteError::MalformedCheckpoint("no tree size line"))
            .and_then(parse_size)?;
        let root = lines
            .next()
            .ok_or(NoteError::MalformedCheckpoint("no root hash line"))
            .and_then(parse_root)?;
        if lines.any(str::is_empty) {
            return Err(NoteError::MalformedCheckpoint("an extension line is empty"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

/// ASCII decimal with no leading zero and no sign, as tlog-checkpoint requires: each size has
/// exactly one text, so equal tree heads are equal bytes.
fn parse_size(line: &str) -> Result<u64, NoteError> {
    let canonical = !line.is_empty()
        && line.bytes().all(|b| b.is_ascii_digit())
        && (line == "0" || !line.starts_with('0'));
    if !canonical {
        return Err(NoteError::MalformedCheckpoint(
            "the tree size is not a decimal number without leading zeros",
        ));
    }
    line.parse()
        .map_err(|_| NoteError::MalformedCheckpoint("the tree size does not fit 64 bits"))
}

fn parse_root(line: &str) -> Result<Hash, NoteError> {
    let raw = STANDARD
        .decode(line)
        .map_err(|_| NoteError::MalformedCheckpoint("the root hash is not base64"))?;
    Hash::try_from(raw.as_slice())
        .map_err(|_| NoteError::MalformedCheckpoint("the root hash is not 32 bytes"))
}

/// Parses a verifier key `name+keyid+base64(alg || public key)` of signature type `alg` with
/// an Ed25519 public key. The stated key id must be the key's own, so a mistyped key fails
/// here rather than on every note.
pub(super) fn parse_vkey(vkey: &str, alg: u8) -> Result<(String, u32, VerifyingKey), NoteError> {
    // The key's base64 may itself hold '+', so only the first two split.
    let mut parts = vkey.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(NoteError::MalformedVerifierKey("expected name+keyid+key"));
    };
    check_name(name)?;
    // from_str_radix alone would also take a leading '+'.
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(NoteError::MalformedVerifierKey(
            "key id is not 8 hex digits",
        ));
    }
    let stated = u32::from_str_radix(id_hex, 16)
        .map_err(|_| NoteError::MalformedVerifierKey("key id is not 8 hex digits"))?;
    let raw = STANDARD
        .decode(key_b64)
        .map_err(|_| NoteError::MalformedVerifierKey("key is not base64"))?;
    let Some((&found, key_bytes)) = raw.split_first() else {
        return Err(NoteError::MalformedVerifierKey("key is empty"));
    };
    if found != alg {
        return Err(NoteError::UnsupportedKeyType {
            found,
            expected: alg,
        });
    }
    let key_bytes: &[u8; 32] = key_bytes
        .try_into()
        .map_err(|_| NoteError::MalformedVerifierKey("an Ed25519 key is 32 bytes"))?;
    let key = VerifyingKey::from_bytes(key_bytes)
        .map_err(|_| NoteError::MalformedVerifierKey("not an Ed25519 public key"))?;
    // A small-order key would accept signatures anyone can make.
    if key.is_weak() {
        return Err(NoteError::MalformedVerifierKey("weak Ed25519 key"));
    }
    let actual = key_id_of(name, alg, &key);
    if stated != actual {
        return Err(NoteError::KeyIdMismatch { stated, actual });
    }
    Ok((name.to_owned(), actual, key))
}

/// `name+keyid+base64(alg || public key)`.
pub(super) fn format_vkey(name: &str, alg: u8, key: &VerifyingKey) -> String {
    let mut raw = vec![alg];
    raw.extend_from_slice(key.as_bytes());
    format!(
        "{name}+{:08x}+{}",
        key_id_of(name, alg, key),
        STANDARD.encode(raw)
    )
}

/// `SHA-256(name || 0x0A || alg || public key)[:4]`, big-endian.
pub(super) fn key_id_of(name: &str, alg: u8, key: &VerifyingKey) -> u32 {
    let digest = Sha256::new()
        .chain_update(name)
        .chain_update([b'\n', alg])
        .chain_update(key.as_bytes())
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Key names are non-empty with no '+' and no Unicode space (Rust's and Go's White_Space
/// agree). Control characters are refused too: they may appear nowhere in a note.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c == '+' || c.is_whitespace() || c < ' ')
}

/// Checks a key name (for the log, its origin) before anything is signed under it.
pub fn check_name(name: &str) -> Result<(), NoteError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidKeyName(name.to_owned()))
    }
}

/// The signed-note rule: no ASCII control character other than newline. DEL and C1 controls
/// are not ASCII controls in the spec's sense (below U+0020) and are allowed.
fn has_control_char(text: &str) -> bool {
    text.chars().any(|c| c < ' ' && c != '\n')
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() {
        return Err(NoteError::MalformedText("it is empty"));
    }
    if !text.ends_with('\n') {
        return Err(NoteError::MalformedText("it does not end with a newline"));
    }
    if has_control_char(text) {
        return Err(NoteError::MalformedText(
            "it holds a control character other than newline",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: &str) -> NoteSigner {
        NoteSigner::new(name, SigningKey::from_bytes(&[7; 32])).unwrap()
    }

    fn verifier_of(signer: &NoteSigner) -> NoteVerifier {
        NoteVerifier::parse(&signer.verifier_key()).unwrap()
    }

    #[test]
    fn a_key_name_with_a_plus_a_space_or_a_control_character_is_refused() {
        for name in [
            "",
            "a+b",
            "a b",
            "a\u{a0}b",
            "a\u{3000}b",
            "a\tb",
            "a\u{1}b",
        ] {
            assert_eq!(
                NoteSigner::new(name, SigningKey::from_bytes(&[7; 32])).err(),
                Some(NoteError::InvalidKeyName(name.to_owned())),
                "{name:?}"
            );
        }
        assert!(NoteSigner::new("example.com/log", SigningKey::from_bytes(&[7; 32])).is_ok());
    }

    #[test]
    fn a_signed_note_opens_with_its_own_verifier_key() {
        let signer = signer("example.com/log");
        let note = signer.sign("hello\n").unwrap();
        assert!(note.starts_with("hello\n\n\u{2014} example.com/log "));
        assert_eq!(open(&note, &verifier_of(&signer)), Ok("hello\n"));
    }

    #[test]
    fn text_that_is_empty_lacks_a_final_newline_or_holds_a_control_character_is_not_signed() {
        let signer = signer("example.com/log");
        for text in ["", "abc", "a\rb\n", "a\u{0}\n"] {
            assert!(
                matches!(signer.sign(text), Err(NoteError::MalformedText(_))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn text_with_blank_lines_survives_signing_and_opening() {
        let signer = signer("example.com/log");
        let text = "a\n\nb\n\n";
        let note = signer.sign(text).unwrap();
        assert_eq!(open(&note, &verifier_of(&signer)), Ok(text));
    }

    #[test]
    fn a_note_over_one_mebibyte_is_refused_unread() {
        let signer = signer("example.com/log");
        let text = "a".repeat(MAX_NOTE_BYTES) + "\n";
        assert!(matches!(
            signer.sign(&text),
            Err(NoteError::TooLarge { .. })
        ));
        let huge = text + "\n";
        assert_eq!(
            open(&huge, &verifier_of(&signer)),
            Err(NoteError::TooLarge { len: huge.len() })
        );
    }

    #[test]
    fn a_note_signed_only_by_other_keys_is_not_signed() {
        let ours = signer("example.com/log");
        let theirs = NoteSigner::new("example.com/log", SigningKey::from_bytes(&[8; 32])).unwrap();
        let note = theirs.sign("hello\n").unwrap();
        assert_eq!(
            open(&note, &verifier_of(&ours)),
            Err(NoteError::NotSigned {
                name: "example.com/log".to_owned(),
                key_id: ours.key_id()
            })
        );
    }

    #[test]
    fn more_than_a_hundred_signature_lines_are_refused() {
        let ours = signer("example.com/log");
        let witness = signer("witness.example/w1");
        let line = |s: &NoteSigner| s.sign("hello\n").unwrap()["hello\n\n".len()..].to_owned();
        let full = format!("hello\n\n{}{}", line(&witness).repeat(99), line(&ours));
        assert_eq!(open(&full, &verifier_of(&ours)), Ok("hello\n"));
        let stuffed = format!("{full}{}", line(&witness));
        assert_eq!(
            open(&stuffed, &verifier_of(&ours)),
            Err(NoteError::MalformedNote("more than 100 signature lines"))
        );
    }

    #[test]
    fn a_verifier_key_with_another_key_type_is_refused() {
        let vkey = signer("n").verifier_key();
        let (prefix, key) = vkey.rsplit_once('+').unwrap();
        let mut raw = STANDARD.decode(key).unwrap();
        raw[0] = 0x04;
        let other = format!("{prefix}+{}", STANDARD.encode(raw));
        assert_eq!(
            NoteVerifier::parse(&other),
            Err(NoteError::UnsupportedKeyType {
                found: 0x04,
                expected: 0x01
            })
        );
    }

    #[test]
    fn a_checkpoint_survives_a_round_trip_through_text() {
        let checkpoint = Checkpoint {
            origin: "example.com/log".to_owned(),
            size: 0,
            root: [0xab; 32],
        };
        assert_eq!(Checkpoint::parse(&checkpoint.to_text()), Ok(checkpoint));
    }

    #[test]
    fn a_checkpoint_size_beyond_64_bits_is_refused() {
        let text = "o\n18446744073709551616\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
        assert_eq!(
            Checkpoint::parse(text),
            Err(NoteError::MalformedCheckpoint(
                "the tree size does not fit 64 bits"
            ))
        );
    }
}
