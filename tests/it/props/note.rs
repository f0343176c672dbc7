//! C2SP signed notes and tlog-checkpoint bodies: sign → render → parse → verify round-trips
//! for any key, origin, tree size and root; any single byte flip of a signed note fails to
//! open (or is no longer UTF-8 text); any single character edit fails to open; a checkpoint
//! that parses is its canonical text followed by extension lines; and no text panics the
//! verifier-key, note or checkpoint parsers.

use ed25519_dalek::SigningKey;
use marktrace::log::LogSigner;
use marktrace::log::merkle::{Frontier, leaf_hash};
use marktrace::log::note::{Checkpoint, NoteSigner, NoteVerifier, open};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

/// A key name: non-empty, no '+', no whitespace, no control character (signed-note).
fn key_name() -> impl Strategy<Value = String> {
    "[!-*,-~一-龥Ωé]{1,40}"
}

/// Note text: lines without control characters, each ending in a newline, blank lines
/// included.
fn note_text() -> impl Strategy<Value = String> {
    let line = prop::collection::vec(
        // Control characters moved up to the CJK block rather than filtered out: they are a
        // good share of what `any::<char>()` offers.
        any::<char>().prop_map(|c| {
            if c < ' ' {
                char::from_u32(0x4e00 + c as u32).unwrap()
            } else {
                c
            }
        }),
        0..40,
    )
    .prop_map(|chars| chars.into_iter().collect::<String>());
    prop::collection::vec(line, 1..6).prop_map(|lines| {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        if text == "\n" { "x\n".into() } else { text }
    })
}

fn checkpoint() -> impl Strategy<Value = Checkpoint> {
    (
        key_name(),
        prop_oneof![0_u64..1000, any::<u64>()],
        any::<[u8; 32]>(),
    )
        .prop_map(|(origin, size, root)| Checkpoint { origin, size, root })
}

/// Text shaped like a checkpoint with each line sometimes a little off: sizes with leading
/// zeros, signs or blanks; roots of 31 to 33 bytes, unpadded, with set unused bits or in the
/// URL-safe alphabet; an empty size line; any extension lines.
fn near_checkpoint() -> impl Strategy<Value = String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
    let size = "(0|[1-9][0-9]{0,20}|0[0-9]{1,3}|-1|\\+1| 1|1 |)";
    let root =
        (prop::collection::vec(any::<u8>(), 31..=33), 0..5_u8).prop_map(|(bytes, spelling)| {
            let mut text = match spelling {
                0 => STANDARD_NO_PAD.encode(&bytes),
                1 => URL_SAFE.encode(&bytes),
                _ => STANDARD.encode(&bytes),
            };
            if spelling == 4 && text.ends_with('=') {
                // Set an unused bit of the last character before the padding.
                let at = text.trim_end_matches('=').len() - 1;
                let c = text.as_bytes()[at];
                let other = match c {
                    b'A'..=b'Y' | b'a'..=b'y' | b'0'..=b'8' => c + 1,
                    _ => c,
                };
                text.replace_range(at..=at, &char::from(other).to_string());
            }
            text
        });
    let lines = prop::collection::vec("\\PC{0,10}", 0..4);
    ("\\PC{0,20}", size, root, lines).prop_map(|(origin, size, root, lines)| {
        let extensions: String = lines.iter().map(|l| format!("{l}\n")).collect();
        format!("{origin}\n{size}\n{root}\n{extensions}")
    })
}

/// RFC 6962 §2.1's Merkle Tree Hash of the leaves' data, by its recursive definition.
fn tree_hash(leaves: &[[u8; 4]]) -> [u8; 32] {
    match leaves {
        [] => Sha256::digest([]).into(),
        [leaf] => Sha256::new()
            .chain_update([0])
            .chain_update(leaf)
            .finalize()
            .into(),
        _ => {
            // The largest power of two smaller than the number of leaves.
            let mut k = 1;
            while k * 2 < leaves.len() {
                k *= 2;
            }
            Sha256::new()
                .chain_update([1])
                .chain_update(tree_hash(&leaves[..k]))
                .chain_update(tree_hash(&leaves[k..]))
                .finalize()
                .into()
        }
    }
}

prop_compose! {
    /// A signer, the verifier built from its verifier key, and a signed checkpoint note.
    fn signed_checkpoint()(seed in any::<[u8; 32]>(), checkpoint in checkpoint())
        -> (NoteVerifier, Checkpoint, String)
    {
        let signer = NoteSigner::new(&checkpoint.origin, SigningKey::from_bytes(&seed)).unwrap();
        let verifier = NoteVerifier::parse(&signer.verifier_key()).unwrap();
        let note = signer.sign(&checkpoint.to_text()).unwrap();
        (verifier, checkpoint, note)
    }
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn a_signed_checkpoint_opens_and_parses_back(
        (verifier, checkpoint, note) in signed_checkpoint(),
    ) {
        let text = open(&note, &verifier).map_err(|e| TestCaseError::fail(format!("{note:?}: {e}")))?;
        prop_assert_eq!(text, checkpoint.to_text());
        prop_assert_eq!(Checkpoint::parse(text), Ok(checkpoint.clone()));
        // The note is the text, a blank line and one signature line by the origin.
        let signature_line = &note[text.len()..];
        let prefix = format!("\n\u{2014} {} ", checkpoint.origin);
        prop_assert!(signature_line.starts_with(&prefix), "{:?}", signature_line);
    }

    #[test]
    fn the_log_signer_signs_the_checkpoint_of_its_frontier(
        seed in any::<[u8; 32]>(),
        origin in key_name(),
        leaves in prop::collection::vec(any::<[u8; 4]>(), 0..40),
    ) {
        let signer = LogSigner::new(&origin, SigningKey::from_bytes(&seed)).unwrap();
        let mut frontier = Frontier::default();
        for leaf in &leaves {
            frontier.push(leaf_hash(leaf));
        }
        let signed = signer.sign(&frontier);
        let verifier = NoteVerifier::parse(&signer.verifier_key()).unwrap();
        prop_assert_eq!(verifier.name(), origin.as_str());
        let checkpoint = Checkpoint::parse(open(&signed.note, &verifier).unwrap()).unwrap();
        prop_assert_eq!(checkpoint.origin, origin);
        prop_assert_eq!(checkpoint.size, leaves.len() as u64);
        prop_assert_eq!(checkpoint.root, tree_hash(&leaves));
        prop_assert_eq!((signed.size, signed.root), (checkpoint.size, checkpoint.root));
    }

    #[test]
    fn any_note_text_round_trips_through_signing(
        seed in any::<[u8; 32]>(),
        name in key_name(),
        text in note_text(),
    ) {
        let signer = NoteSigner::new(&name, SigningKey::from_bytes(&seed)).unwrap();
        let verifier = NoteVerifier::parse(&signer.verifier_key()).unwrap();
        prop_assert_eq!((verifier.name(), verifier.key_id()), (signer.name(), signer.key_id()));
        let note = signer.sign(&text).unwrap();
        prop_assert_eq!(open(&note, &verifier), Ok(text.as_str()));
    }

    #[test]
    fn any_single_byte_flip_of_a_signed_note_fails(
        (verifier, _, note) in signed_checkpoint(),
        at in any::<prop::sample::Index>(),
        mask in 1..=255_u8,
    ) {
        let mut bytes = note.into_bytes();
        let at = at.index(bytes.len());
        bytes[at] ^= mask;
        // A flip that leaves UTF-8 is refused before any parser sees it (HTTP bodies and
        // database text are UTF-8): that is a failure to parse too.
        if let Ok(flipped) = String::from_utf8(bytes) {
            let opened = open(&flipped, &verifier);
            prop_assert!(opened.is_err(), "byte {} ^ {:#04x} opened: {:?}", at, mask, flipped);
        }
    }

    #[test]
    fn any_single_character_edit_of_a_signed_note_fails(
        (verifier, _, note) in signed_checkpoint(),
        at in any::<prop::sample::Index>(),
        c in any::<char>(),
        edit in 0..3_u8,
    ) {
        let mut chars: Vec<char> = note.chars().collect();
        let at = at.index(chars.len());
        match edit {
            0 if chars[at] != c => chars[at] = c,
            0 | 1 => chars.insert(at, c),
            _ => {
                chars.remove(at);
            }
        }
        let edited: String = chars.into_iter().collect();
        prop_assert!(open(&edited, &verifier).is_err(), "{:?} opened", edited);
    }

    #[test]
    fn a_checkpoint_that_parses_is_its_canonical_text_and_extension_lines(
        text in prop_oneof![
            near_checkpoint(),
            checkpoint().prop_map(|c| c.to_text()),
            any::<String>(),
        ],
    ) {
        if let Ok(checkpoint) = Checkpoint::parse(&text) {
            let canonical = checkpoint.to_text();
            prop_assert!(text.starts_with(&canonical), "{:?} parsed as {:?}", text, checkpoint);
            let extensions = &text[canonical.len()..];
            prop_assert!(extensions.split_terminator('\n').all(|line| !line.is_empty()), "{:?}", text);
            prop_assert!(extensions.is_empty() || extensions.ends_with('\n'));
        }
    }

    #[test]
    fn no_text_panics_the_parsers(
        (verifier, _, note) in signed_checkpoint(),
        text in prop_oneof![
            any::<String>(),
            "(\\PC{0,30}\n){0,6}(\u{2014} [!-~]{0,10} [A-Za-z0-9+/=]{0,100}\n){0,3}",
        ],
        vkey in prop_oneof![any::<String>(), "[!-~]{1,10}\\+[0-9a-f]{8}\\+[A-Za-z0-9+/=]{0,60}"],
    ) {
        let _ = open(&text, &verifier);
        let _ = open(&format!("{note}{text}"), &verifier);
        let _ = Checkpoint::parse(&text);
        let _ = NoteVerifier::parse(&vkey);
    }
}
