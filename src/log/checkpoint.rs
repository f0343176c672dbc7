//! The log's signed checkpoints: C2SP `tlog-checkpoint` bodies (origin, size, root) signed as
//! C2SP signed notes with the log key, whose key name is the origin. [`LogSigner`] is what the
//! writer uses inside each append transaction; the note format itself lives in `note`.

use ed25519_dalek::SigningKey;

use super::merkle::Frontier;
use super::note::{Checkpoint, NoteError, NoteSigner, NoteVerifier};
use super::records::StoredCheckpoint;

/// Signs checkpoints for one log origin.
pub struct LogSigner {
    signer: NoteSigner,
    origin: String,
}

impl LogSigner {
    /// The origin must be a valid note key name (no whitespace, no `+`), since it is both.
    pub fn new(origin: &str, key: SigningKey) -> Result<LogSigner, NoteError> {
        Ok(LogSigner {
            signer: NoteSigner::new(origin, key)?,
            origin: origin.to_owned(),
        })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The C2SP verifier key, `origin+keyid+base64(0x01 || public key)`.
    pub fn verifier_key(&self) -> String {
        self.signer.verifier_key()
    }

    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier::parse(&self.verifier_key()).expect("our own verifier key parses")
    }

    /// The log key's signature over `context || message` (the status snapshot).
    pub fn sign_detached(&self, context: &[u8], message: &[u8]) -> [u8; 64] {
        self.signer.sign_detached(context, message)
    }

    /// The signed checkpoint of the tree a frontier describes.
    pub fn sign(&self, frontier: &Frontier) -> StoredCheckpoint {
        let checkpoint = Checkpoint {
            origin: self.origin.clone(),
            size: frontier.size(),
            root: frontier.root(),
        };
        let note = self
            .signer
            .sign(&checkpoint.to_text())
            .expect("a checkpoint body is always a valid note text");
        StoredCheckpoint {
            size: checkpoint.size,
            root: checkpoint.root,
            note,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::merkle::leaf_hash;
    use crate::log::note::open;

    #[test]
    fn a_signed_checkpoint_opens_with_the_served_verifier_key_and_parses_back() {
        let signer =
            LogSigner::new("marks.example.cn/log", SigningKey::from_bytes(&[9; 32])).unwrap();
        let mut frontier = Frontier::default();
        frontier.push(leaf_hash(b"entry"));
        let signed = signer.sign(&frontier);
        let verifier = NoteVerifier::parse(&signer.verifier_key()).unwrap();
        let text = open(&signed.note, &verifier).unwrap();
        let checkpoint = Checkpoint::parse(text).unwrap();
        assert_eq!(checkpoint.origin, "marks.example.cn/log");
        assert_eq!(checkpoint.size, 1);
        assert_eq!(checkpoint.root, frontier.root());
        assert!(signed.note.starts_with("marks.example.cn/log\n1\n"));
    }

    #[test]
    fn an_origin_that_cannot_be_a_key_name_is_refused() {
        assert!(LogSigner::new("marks example/log", SigningKey::from_bytes(&[9; 32])).is_err());
        assert!(LogSigner::new("a+b/log", SigningKey::from_bytes(&[9; 32])).is_err());
    }
}
