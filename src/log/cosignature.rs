//! Witnessing's wire formats: C2SP `tlog-cosignature` (`cosignature/v1`, Ed25519: signature
//! type 0x04, a timestamp beside each signature) and the C2SP `tlog-witness` `add-checkpoint`
//! request body. It owns the bytes only; which witnesses a log asks, which logs a witness
//! follows and what a quorum is are the callers' (`app::witness`, `app::transparency`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use super::merkle::Hash;
use super::note::{
    self, NoteError, SIGNATURE_PREFIX, check_name, format_vkey, key_id_of, parse_vkey,
};

/// The signature type of Ed25519 `cosignature/v1` keys (tlog-cosignature, "Format").
const ALG_COSIGNATURE_V1: u8 = 0x04;

/// tlog-witness: a client sends at most 63 consistency proof lines.
pub const MAX_PROOF_LINES: usize = 63;

/// Cosigns checkpoints with one named Ed25519 key: a witness's.
pub struct Cosigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl std::fmt::Debug for Cosigner {
    // Written out so that no future change to the key type's Debug can print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cosigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

impl Cosigner {
    pub fn new(name: &str, key: SigningKey) -> Result<Cosigner, NoteError> {
        check_name(name)?;
        Ok(Cosigner {
            name: name.to_owned(),
            key_id: key_id_of(name, ALG_COSIGNATURE_V1, &key.verifying_key()),
            key,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `name+keyid+base64(0x04 || public key)`, the string logs and verifiers configure.
    pub fn verifier_key(&self) -> String {
        format_vkey(&self.name, ALG_COSIGNATURE_V1, &self.key.verifying_key())
    }

    /// The signature line (with its newline) cosigning a checkpoint note's `text` at `time`
    /// (POSIX seconds): `— name base64(key id || u64 time || Ed25519 signature)`.
    pub fn cosign(&self, text: &str, time: u64) -> String {
        let signature = self.key.sign(&message(text, time));
        let mut raw = self.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&time.to_be_bytes());
        raw.extend_from_slice(&signature.to_bytes());
        format!("{SIGNATURE_PREFIX}{} {}\n", self.name, STANDARD.encode(raw))
    }
}

/// Checks cosignatures by one witness key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Parses a cosigner's verifier key, `name+keyid+base64(0x04 || public key)`.
    pub fn parse(vkey: &str) -> Result<CosignatureVerifier, NoteError> {
        let (name, key_id, key) = parse_vkey(vkey, ALG_COSIGNATURE_V1)?;
        Ok(CosignatureVerifier { name, key_id, key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The time of this key's valid cosignature on `note`, if it has one. Lines by other keys
    /// are skipped; a line by this key that does not verify is no cosignature.
    pub fn cosigned(&self, note: &str) -> Result<Option<u64>, NoteError> {
        let (text, lines) = note::split(note)?;
        Ok(lines
            .iter()
            .filter(|line| line.is_by(&self.name, self.key_id))
            .find_map(|line| self.verify(text, &line.signature)))
    }

    /// The time of a timestamped signature over `text`, if it verifies.
    fn verify(&self, text: &str, raw: &[u8]) -> Option<u64> {
        let (time, signature) = raw.split_first_chunk::<8>()?;
        let time = u64::from_be_bytes(*time);
        // tlog-cosignature: a timestamp never exceeds 2^63 - 1.
        if time > i64::MAX as u64 {
            return None;
        }
        let signature = Signature::from_slice(signature).ok()?;
        self.key
            .verify_strict(&message(text, time), &signature)
            .ok()
            .map(|()| time)
    }
}

/// How many of `witnesses` (distinct keys) have a valid cosignature on `note`.
pub fn count_cosigners(note: &str, witnesses: &[CosignatureVerifier]) -> Result<usize, NoteError> {
    let mut count = 0;
    for witness in witnesses {
        if witness.cosigned(note)?.is_some() {
            count += 1;
        }
    }
    Ok(count)
}

/// The signed message: `cosignature/v1`, `time T`, then the checkpoint note's text.
fn message(text: &str, time: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{text}").into_bytes()
}

/// A tlog-witness `add-checkpoint` request: the size the client believes the witness last
/// cosigned, the consistency proof from it, and the signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old: u64,
    pub proof: Vec<Hash>,
    /// The checkpoint note, signatures included.
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// The request body: `old N`, one base64 hash a line, an empty line, the checkpoint.
    pub fn to_body(&self) -> String {
        let mut body = format!("old {}\n", self.old);
        for hash in &self.proof {
            body.push_str(&STANDARD.encode(hash));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&self.checkpoint);
        body
    }

    pub fn parse(body: &str) -> Result<AddCheckpoint, NoteError> {
        let malformed = NoteError::MalformedNote;
        let (head, checkpoint) = body
            .split_once("\n\n")
            .ok_or(malformed("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|line| line.strip_prefix("old "))
            .filter(|n| *n == "0" || (!n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())))
            .and_then(|n| n.parse().ok())
            .ok_or(malformed("the first line is not `old` and a decimal size"))?;
        let proof = lines
            .map(|line| {
                STANDARD
                    .decode(line)
                    .ok()
                    .and_then(|raw| Hash::try_from(raw.as_slice()).ok())
                    .ok_or(malformed("a proof line is not a base64 SHA-256 hash"))
            })
            .collect::<Result<Vec<Hash>, _>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(malformed("more than 63 consistency proof lines"));
        }
        Ok(AddCheckpoint {
            old,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::note::NoteSigner;

    const CHECKPOINT: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    fn cosigner() -> Cosigner {
        Cosigner::new("witness.example.com/w1", SigningKey::from_bytes(&[5; 32])).unwrap()
    }

    fn signed_checkpoint() -> String {
        NoteSigner::new(
            "example.com/behind-the-sofa",
            SigningKey::from_bytes(&[6; 32]),
        )
        .unwrap()
        .sign(CHECKPOINT)
        .unwrap()
    }

    /// The example cosignature of c2sp.org/tlog-cosignature ("Transparency Log
    /// Cosignatures", its opening example), verbatim: its key is not published, so what is
    /// checked is the layout: key id, then the big-endian timestamp the spec's signed-message
    /// example shows (`time 1679315147`), then a 64-byte Ed25519 signature.
    #[test]
    fn the_spec_example_cosignature_has_the_timestamped_layout() {
        let line = "\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
        let b64 = line.rsplit(' ').next().unwrap();
        let raw = STANDARD.decode(b64).unwrap();
        assert_eq!(raw.len(), 4 + 8 + 64);
        assert_eq!(
            u64::from_be_bytes(raw[4..12].try_into().unwrap()),
            1679315147
        );
        // The signed message of the spec's example, byte for byte.
        assert_eq!(
            message(CHECKPOINT, 1679315147),
            b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn a_cosignature_verifies_with_the_served_key_and_only_over_its_checkpoint() {
        let witness = cosigner();
        let verifier = CosignatureVerifier::parse(&witness.verifier_key()).unwrap();
        assert_eq!(verifier.name(), "witness.example.com/w1");
        let note = signed_checkpoint();
        let cosigned = format!("{note}{}", witness.cosign(CHECKPOINT, 1_700_000_000));
        assert_eq!(verifier.cosigned(&cosigned).unwrap(), Some(1_700_000_000));
        assert_eq!(
            count_cosigners(&cosigned, std::slice::from_ref(&verifier)).unwrap(),
            1
        );
        // The log's own signature is no cosignature, and a line moved onto another checkpoint
        // does not verify there.
        assert_eq!(verifier.cosigned(&note).unwrap(), None);
        let other = CHECKPOINT.replace("20852163", "20852164");
        let moved = NoteSigner::new(
            "example.com/behind-the-sofa",
            SigningKey::from_bytes(&[6; 32]),
        )
        .unwrap()
        .sign(&other)
        .unwrap()
            + &witness.cosign(CHECKPOINT, 1_700_000_000);
        assert_eq!(verifier.cosigned(&moved).unwrap(), None);
    }

    #[test]
    fn a_cosigner_key_is_not_a_log_key_nor_the_reverse() {
        let witness = cosigner();
        assert_eq!(
            note::NoteVerifier::parse(&witness.verifier_key()).err(),
            Some(NoteError::UnsupportedKeyType {
                found: 0x04,
                expected: 0x01
            })
        );
        let log = NoteSigner::new("w", SigningKey::from_bytes(&[5; 32])).unwrap();
        assert!(CosignatureVerifier::parse(&log.verifier_key()).is_err());
        // The same name and key under type 0x04 have another key id than under 0x01.
        let same = Cosigner::new("w", SigningKey::from_bytes(&[5; 32])).unwrap();
        assert_ne!(
            same.verifier_key().split('+').nth(1),
            log.verifier_key().split('+').nth(1)
        );
    }

    /// The example request body of c2sp.org/tlog-witness ("add-checkpoint"), verbatim.
    #[test]
    fn the_spec_example_request_parses_and_writes_back_byte_for_byte() {
        let body = "old 20852014\n\
            PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
            jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
            5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
            /6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
            \n\
            example.com/behind-the-sofa\n\
            20852163\n\
            CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
            \n\
            \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
            \u{2014} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";
        let request = AddCheckpoint::parse(body).unwrap();
        assert_eq!(request.old, 20852014);
        assert_eq!(request.proof.len(), 4);
        assert!(
            request
                .checkpoint
                .starts_with("example.com/behind-the-sofa\n20852163\n")
        );
        assert_eq!(request.to_body(), body);
    }

    #[test]
    fn a_malformed_request_is_refused() {
        for body in [
            "old 01\n\nx\n",
            "old -1\n\nx\n",
            "new 1\n\nx\n",
            "old 1\nnot-a-hash\n\nx\n",
            "old 1\nAAAA\n\nx\n",
            "old 1\n",
        ] {
            assert!(AddCheckpoint::parse(body).is_err(), "{body:?}");
        }
        let many = format!(
            "old 1\n{}\nx\n",
            "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n".repeat(64)
        );
        assert!(AddCheckpoint::parse(&many).is_err());
    }
}
