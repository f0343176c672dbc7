//! Known-answer tests for `marktrace::log::note`.
//!
//! Sources: golang.org/x/mod/sumdb/note, note_test.go (TestNewVerifier, TestSign, TestOpen;
//! BSD-style licence): the PeterNeumann and EnochRoot keys, the note text and its signature
//! lines, verbatim. The checkpoint example is the one in c2sp.org/tlog-checkpoint.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use marktrace::log::note::{Checkpoint, NoteError, NoteSigner, NoteVerifier, open};
use rand_core::OsRng;

const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";

const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

/// Reads Go's signer key `PRIVATE+KEY+name+keyid+base64(0x01 || seed)`. Only tests need it:
/// the project keeps its keys in its own format.
fn go_signer_key(skey: &str) -> (&str, u32, SigningKey) {
    let parts: Vec<&str> = skey.splitn(5, '+').collect();
    assert_eq!(parts[..2], ["PRIVATE", "KEY"]);
    let raw = STANDARD.decode(parts[4]).unwrap();
    assert_eq!(raw[0], 0x01, "Ed25519");
    let seed: [u8; 32] = raw[1..].try_into().unwrap();
    let id = u32::from_str_radix(parts[3], 16).unwrap();
    (parts[2], id, SigningKey::from_bytes(&seed))
}

fn peter() -> NoteVerifier {
    NoteVerifier::parse(PETER_VKEY).unwrap()
}

fn enoch() -> NoteVerifier {
    NoteVerifier::parse(ENOCH_VKEY).unwrap()
}

/// Splices `insert` into `s` at byte `at`, as TestOpen does to corrupt a signature.
fn splice(s: &str, at: usize, insert: &str) -> String {
    format!("{}{insert}{}", &s[..at], &s[at..])
}

#[test]
fn signing_reproduces_the_reference_note_byte_for_byte() {
    let (name, id, key) = go_signer_key(PETER_SKEY);
    let signer = NoteSigner::new(name, key).unwrap();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_id(), 0xc74f20a3);
    assert_eq!(signer.key_id(), id);
    assert_eq!(signer.verifier_key(), PETER_VKEY);
    assert_eq!(signer.sign(TEXT).unwrap(), format!("{TEXT}\n{PETER_SIG}"));
    assert!(matches!(
        signer.sign("abc"),
        Err(NoteError::MalformedText(_))
    ));
}

#[test]
fn the_reference_verifier_keys_parse_with_their_names_and_key_ids() {
    let peter = peter();
    assert_eq!((peter.name(), peter.key_id()), ("PeterNeumann", 0xc74f20a3));
    let enoch = enoch();
    assert_eq!((enoch.name(), enoch.key_id()), ("EnochRoot", 0xaf0cfe78));
}

#[test]
fn every_proper_substring_and_every_one_byte_change_of_a_verifier_key_is_refused() {
    let key = PETER_VKEY.as_bytes();
    let mut tried = 0;
    for i in 0..=key.len() {
        for j in i + 1..=key.len() {
            if (i, j) != (0, key.len()) {
                let sub = std::str::from_utf8(&key[i..j]).unwrap();
                assert!(NoteVerifier::parse(sub).is_err(), "{sub:?}");
                tried += 1;
            }
        }
    }
    for i in 0..key.len() {
        let mut changed = key.to_vec();
        changed[i] += 1;
        let changed = String::from_utf8(changed).unwrap();
        assert!(NoteVerifier::parse(&changed).is_err(), "{changed:?}");
        tried += 1;
    }
    // 66 * 67 / 2 - 1 substrings and 66 changed bytes of the 66-byte key.
    assert_eq!(tried, 2276);

    // A key of the wrong length and a key of an unknown type, each with its key id adjusted.
    assert!(
        NoteVerifier::parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
        .is_err()
    );
    assert_eq!(
        NoteVerifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(NoteError::UnsupportedKeyType {
            found: 0x65,
            expected: 0x01
        })
    );
}

#[test]
fn a_verifier_key_whose_key_id_does_not_match_is_refused() {
    assert_eq!(
        NoteVerifier::parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(NoteError::KeyIdMismatch {
            stated: 0xc74f20a4,
            actual: 0xc74f20a3
        })
    );
}

#[test]
fn the_reference_note_opens_and_a_cosignature_by_another_key_is_ignored() {
    let note = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    assert_eq!(open(&note, &peter()), Ok(TEXT));
    // The same note read by a client that trusts the cosigner instead.
    assert_eq!(open(&note, &enoch()), Ok(TEXT));
}

#[test]
fn repeated_signature_lines_and_a_corrupt_line_by_an_unknown_key_are_ignored() {
    let corrupt_enoch = splice(ENOCH_SIG, 60, "ABCD");
    let note = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{corrupt_enoch}");
    assert_eq!(open(&note, &peter()), Ok(TEXT));
}

#[test]
fn a_corrupt_signature_by_the_trusted_key_rejects_the_note() {
    let note = format!("{TEXT}\n{}", splice(PETER_SIG, 60, "ABCD"));
    assert_eq!(
        open(&note, &peter()),
        Err(NoteError::InvalidSignature {
            name: "PeterNeumann".to_owned(),
            key_id: 0xc74f20a3
        })
    );
}

#[test]
fn a_tampered_text_does_not_open() {
    let tampered = format!("{}\n{PETER_SIG}", TEXT.replace("answer", "answers"));
    assert!(matches!(
        open(&tampered, &peter()),
        Err(NoteError::InvalidSignature { .. })
    ));
}

#[test]
fn a_note_signed_by_another_key_under_the_same_name_does_not_open() {
    let impostor = NoteSigner::new("PeterNeumann", SigningKey::generate(&mut OsRng)).unwrap();
    let note = impostor.sign(TEXT).unwrap();
    assert_eq!(
        open(&note, &peter()),
        Err(NoteError::NotSigned {
            name: "PeterNeumann".to_owned(),
            key_id: 0xc74f20a3
        })
    );
    // Neither does one whose only line names another key or carries another key id.
    for line in [
        PETER_SIG.replace("PeterNeumann", "CarmenSandiego"),
        PETER_SIG.replace("x08g", "xxxx"),
    ] {
        assert!(matches!(
            open(&format!("{TEXT}\n{line}"), &peter()),
            Err(NoteError::NotSigned { .. })
        ));
    }
}

#[test]
fn an_extra_line_by_an_unknown_signer_is_ignored() {
    let witness = NoteSigner::new("witness.example/w1", SigningKey::generate(&mut OsRng)).unwrap();
    let cosigned = witness.sign(TEXT).unwrap();
    let witness_line = &cosigned[TEXT.len() + 1..];
    let note = format!("{TEXT}\n{PETER_SIG}{witness_line}");
    assert_eq!(open(&note, &peter()), Ok(TEXT));
}

#[test]
fn the_reference_malformed_notes_are_refused() {
    // TestOpen's list, less "\xff" + text, which is not UTF-8 and so cannot be a &str.
    let peter_sig_unterminated = &PETER_SIG[..PETER_SIG.len() - 1];
    let bad = [
        TEXT.to_owned(),
        format!("{TEXT}\n"),
        format!("{TEXT}\n{peter_sig_unterminated}"),
        format!("\x01{TEXT}\n{PETER_SIG}"),
        format!(
            "{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
        ),
        format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
        format!("{TEXT}\n{}", PETER_SIG.repeat(101)),
    ];
    for note in &bad {
        assert!(
            matches!(open(note, &peter()), Err(NoteError::MalformedNote(_))),
            "{note:?} gave {:?}",
            open(note, &peter())
        );
    }
}

/// The example in c2sp.org/tlog-checkpoint.
const SPEC_CHECKPOINT: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

#[test]
fn the_spec_checkpoint_parses_and_prints_back_identically() {
    let checkpoint = Checkpoint::parse(SPEC_CHECKPOINT).unwrap();
    assert_eq!(checkpoint.origin, "example.com/behind-the-sofa");
    assert_eq!(checkpoint.size, 20852163);
    assert_eq!(
        STANDARD.encode(checkpoint.root),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert_eq!(checkpoint.to_text(), SPEC_CHECKPOINT);
}

#[test]
fn extension_lines_are_accepted_and_ignored() {
    let with_extensions = format!("{SPEC_CHECKPOINT}ext one\next two\n");
    assert_eq!(
        Checkpoint::parse(&with_extensions),
        Checkpoint::parse(SPEC_CHECKPOINT)
    );
}

#[test]
fn the_empty_tree_has_size_zero() {
    let empty = "log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
    assert_eq!(Checkpoint::parse(empty).unwrap().size, 0);
}

#[test]
fn malformed_checkpoints_are_refused() {
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    let bad = [
        // Leading zeros, signs and other non-canonical sizes.
        format!("log\n020852163\n{root}\n"),
        format!("log\n00\n{root}\n"),
        format!("log\n+5\n{root}\n"),
        format!("log\n-1\n{root}\n"),
        format!("log\n 5\n{root}\n"),
        format!("log\n\n{root}\n"),
        // Roots that are not 32 bytes of canonical base64.
        "log\n5\nnot base64!\n".to_owned(),
        "log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n".to_owned(),
        "log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==\n".to_owned(),
        "log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n".to_owned(),
        // Missing or empty lines.
        String::new(),
        "log\n".to_owned(),
        "log\n5\n".to_owned(),
        format!("\n5\n{root}\n"),
        format!("log\n5\n{root}"),
        format!("log\n5\n{root}\n\n"),
        format!("log\n5\n{root}\next\n\n"),
    ];
    for text in &bad {
        assert!(
            matches!(
                Checkpoint::parse(text),
                Err(NoteError::MalformedCheckpoint(_))
            ),
            "{text:?} gave {:?}",
            Checkpoint::parse(text)
        );
    }
}

#[test]
fn a_signed_checkpoint_opens_and_parses_back() {
    let (name, _, key) = go_signer_key(PETER_SKEY);
    let signer = NoteSigner::new(name, key).unwrap();
    let checkpoint = Checkpoint {
        origin: "PeterNeumann".to_owned(),
        size: 42,
        root: [7; 32],
    };
    let note = signer.sign(&checkpoint.to_text()).unwrap();
    let text = open(&note, &peter()).unwrap();
    assert_eq!(Checkpoint::parse(text), Ok(checkpoint));
}
