//! Token v1 decoding (SPEC.md "The mark"): every signed body round-trips, its bytes are the
//! layout SPEC.md gives, built here field by field, and its signature verifies under a second
//! Ed25519 implementation; decoding is strict, so every other spelling of the same bytes
//! (padding, whitespace, the standard alphabet, non-zero unused bits), text over 200
//! characters and trailing bytes are refused, and a text that decodes is the one canonical
//! base64url spelling of its bytes, judged by a codec written here from RFC 4648 §5; nothing
//! panics.

use ed25519_dalek::SigningKey;
use marktrace::domain::gtin::Gtin;
use marktrace::domain::key::KeyId;
use marktrace::mark::token::{Defect, MarkBody, Token, TokenError, sign};
use proptest::prelude::*;

/// RFC 4648 §5, "base 64 encoding with URL and filename safe alphabet".
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url, written out: each 3 bytes become 4 characters; a final 1 or 2 bytes
/// become 2 or 3 characters whose unused low bits are zero.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0_u32, |n, &b| n << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(BASE64URL[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// The bytes of canonical unpadded base64url text, or `None` for anything else.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let values: Vec<u32> = text
        .bytes()
        .map(|c| BASE64URL.iter().position(|&a| a == c).map(|v| v as u32))
        .collect::<Option<_>>()?;
    if values.len() % 4 == 1 {
        return None;
    }
    let mut bytes = Vec::new();
    for chunk in values.chunks(4) {
        let n = chunk.iter().fold(0_u32, |n, &v| n << 6 | v) << (6 * (4 - chunk.len()));
        bytes.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    // Canonical: re-encoding gives the same text, so the unused bits were zero.
    (encode(&bytes) == text).then_some(bytes)
}

/// The body SPEC.md lays out, byte by byte.
fn layout(key_id: [u8; 8], serial: u64, certificate: &str, gtin: Option<u64>) -> Vec<u8> {
    let mut body = vec![0x01];
    body.extend_from_slice(&key_id);
    body.extend_from_slice(&serial.to_be_bytes());
    body.push(certificate.len() as u8);
    body.extend_from_slice(certificate.as_bytes());
    match gtin {
        None => body.push(0),
        Some(gtin) => {
            body.push(1);
            body.extend_from_slice(&gtin.to_be_bytes());
        }
    }
    body
}

/// A version 1 token read as SPEC.md describes it, independently of the crate: canonical
/// unpadded base64url of at most 200 characters; version 1; key id; serial >= 1; cert_len
/// 1..=32 and the code `^[A-Z0-9]+(-[A-Z0-9]+)*$`; has_gtin 0 or 1; a GTIN-14 below 10^14,
/// non-zero, with a valid GS1 check digit; then exactly 64 signature bytes.
fn read(text: &str) -> Option<([u8; 8], u64, String, Option<u64>)> {
    if text.len() > 200 {
        return None;
    }
    let bytes = decode(text)?;
    let (&version, rest) = bytes.split_first()?;
    let (key_id, rest) = rest.split_first_chunk::<8>()?;
    let (serial, rest) = rest.split_first_chunk::<8>()?;
    let (&cert_len, rest) = rest.split_first()?;
    let (certificate, rest) = rest.split_at_checked(cert_len.into())?;
    let (&has_gtin, rest) = rest.split_first()?;
    let (gtin, rest) = match has_gtin {
        0 => (None, rest),
        1 => {
            let (gtin, rest) = rest.split_first_chunk::<8>()?;
            (Some(u64::from_be_bytes(*gtin)), rest)
        }
        _ => return None,
    };
    let certificate = String::from_utf8(certificate.to_vec()).ok()?;
    let code_ok = (1..=32).contains(&certificate.len())
        && certificate.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        });
    let serial = u64::from_be_bytes(*serial);
    let ok =
        version == 1 && serial >= 1 && code_ok && gtin.is_none_or(gtin_valid) && rest.len() == 64;
    ok.then_some((*key_id, serial, certificate, gtin))
}

/// GS1 §7.9 on the 14 digits of `value`.
fn gtin_valid(value: u64) -> bool {
    let digits = format!("{value:014}");
    let sum: u32 = digits[..13]
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| c.to_digit(10).unwrap() * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    value > 0 && digits.len() == 14 && (10 - sum % 10) % 10 == (value % 10) as u32
}

/// A GTIN-14 with a valid check digit (GS1 §7.9), below 10^14 and non-zero.
fn gtin() -> impl Strategy<Value = Gtin> {
    (1_u64..10_000_000_000_000).prop_map(|data| {
        let mut sum = 0;
        let (mut rest, mut weight) = (data, 3);
        while rest > 0 {
            sum += rest % 10 * weight;
            weight = 4 - weight;
            rest /= 10;
        }
        Gtin::from_u64(data * 10 + (10 - sum % 10) % 10).expect("a valid GTIN-14")
    })
}

/// A certificate code of SPEC.md's shape `^[A-Z0-9]+(-[A-Z0-9]+)*$`, 1 to 32 characters.
fn certificate() -> impl Strategy<Value = String> {
    "[A-Z0-9]{1,8}(-[A-Z0-9]{1,7}){0,3}"
}

prop_compose! {
    /// A key, a body it may sign, and the token text.
    fn signed()(
        seed in any::<[u8; 32]>(),
        serial in prop_oneof![1_u64..1000, 1_u64.., Just(u64::MAX)],
        certificate in certificate(),
        gtin in prop::option::of(gtin()),
    ) -> (SigningKey, MarkBody, String) {
        let key = SigningKey::from_bytes(&seed);
        let body = MarkBody::new(KeyId::of(&key.verifying_key()), serial, &certificate, gtin)
            .expect("a valid body");
        let text = sign(&key, &body);
        (key, body, text)
    }
}

/// Text a token decoder meets: arbitrary strings, base64url of arbitrary bytes, texts made
/// from a genuine token by one small edit, and base64url of bodies with the right shape whose
/// fields are sometimes out of range (so that many decode, and the comparison with [`read`]
/// is not only about refusals).
fn hostile_text() -> impl Strategy<Value = String> {
    let alphabet = prop::sample::select(BASE64URL.map(char::from).to_vec());
    let edited = (
        signed(),
        any::<prop::sample::Index>(),
        prop_oneof![alphabet, any::<char>()],
        0..4_u8,
    )
        .prop_map(|((_, _, text), at, c, edit)| {
            let mut chars: Vec<char> = text.chars().collect();
            let at = at.index(chars.len());
            match edit {
                0 => chars[at] = c,
                1 => chars.insert(at, c),
                2 => {
                    chars.remove(at);
                }
                _ => chars.truncate(at),
            }
            chars.into_iter().collect()
        });
    prop_oneof![
        1 => any::<String>(),
        1 => "[A-Za-z0-9_=+/ -]{0,220}",
        1 => prop::collection::vec(any::<u8>(), 0..170).prop_map(|b| encode(&b)),
        2 => edited,
        3 => near_token().prop_map(|b| encode(&b)),
    ]
}

/// Token bytes of the right shape, each field sometimes out of range.
fn near_token() -> impl Strategy<Value = Vec<u8>> {
    let version = prop_oneof![8 => Just(1_u8), 1 => any::<u8>()];
    let serial = prop_oneof![1 => Just(0_u64), 8 => any::<u64>()];
    let certificate = prop_oneof![
        6 => certificate().prop_map(String::into_bytes),
        1 => prop::collection::vec(prop::sample::select(b"AZ09-a\xc3".to_vec()), 0..36),
    ];
    let cert_len_off = prop_oneof![8 => Just(0_i16), 1 => -2..=2_i16];
    let gtin = prop_oneof![
        3 => Just(vec![0]),
        3 => gtin().prop_map(|g| [&[1][..], &g.as_u64().to_be_bytes()].concat()),
        1 => (0..3_u8, any::<u64>()).prop_map(|(f, g)| [&[f][..], &g.to_be_bytes()].concat()),
    ];
    let signature = prop_oneof![
        8 => prop::collection::vec(any::<u8>(), 64),
        1 => prop::collection::vec(any::<u8>(), 60..=68),
    ];
    (
        version,
        any::<[u8; 8]>(),
        serial,
        certificate,
        cert_len_off,
        gtin,
        signature,
    )
        .prop_map(
            |(version, key_id, serial, certificate, off, gtin, signature)| {
                let cert_len = (certificate.len() as i16 + off).clamp(0, 255) as u8;
                [
                    &[version][..],
                    &key_id,
                    &serial.to_be_bytes(),
                    &[cert_len],
                    &certificate,
                    &gtin,
                    &signature,
                ]
                .concat()
            },
        )
}

/// The decode error of `text`, which must not decode.
fn refused(text: &str) -> Result<TokenError, TestCaseError> {
    match Token::decode(text) {
        Ok(token) => Err(TestCaseError::fail(format!(
            "{text:?} decoded to {:?}",
            token.body()
        ))),
        Err(error) => Ok(error),
    }
}

#[test]
fn the_codec_written_here_agrees_with_rfc_4648_test_vectors() {
    // RFC 4648 §10 (the base64 vectors; no byte here encodes to '+' or '/').
    for (bytes, text) in [
        ("", ""),
        ("f", "Zg"),
        ("fo", "Zm8"),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg"),
        ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(encode(bytes.as_bytes()), text);
        assert_eq!(decode(text).unwrap(), bytes.as_bytes());
    }
    assert_eq!(encode(&[0xfb, 0xff]), "-_8");
    assert_eq!(decode("Zh"), None, "unused bits set");
    assert_eq!(decode("Zg=="), None, "padding");
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn every_signed_body_decodes_to_itself_in_the_layout_spec_md_gives(
        (key, body, text) in signed(),
    ) {
        prop_assert!(text.len() <= 200);
        let token = Token::decode(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(token.body(), &body);
        prop_assert!(token.verify(&key.verifying_key()));
        prop_assert!(token.verifies_over(&key.verifying_key(), &body));

        let public = key.verifying_key().to_bytes();
        let key_id: [u8; 8] = sha2_prefix(&public);
        let expected = layout(key_id, body.serial(), body.certificate(), body.gtin().map(Gtin::as_u64));
        let bytes = decode(&text).expect("canonical base64url");
        let (presented, signature) = bytes.split_at(bytes.len() - 64);
        prop_assert_eq!(presented, &expected[..]);
        let message = [&b"marktrace/mark/v1\x00"[..], presented].concat();
        let verified = ed25519_compact::PublicKey::new(public)
            .verify(&message, &ed25519_compact::Signature::from_slice(signature).unwrap());
        prop_assert!(verified.is_ok());
    }

    #[test]
    fn decode_accepts_exactly_the_canonical_tokens_read_here(text in hostile_text()) {
        let decoded = Token::decode(&text);
        let expected = read(&text);
        prop_assert_eq!(decoded.is_ok(), expected.is_some(), "{:?}: {:?}", text, decoded.as_ref().map(Token::body));
        if let (Ok(token), Some((key_id, serial, certificate, gtin))) = (decoded, expected) {
            let body = token.body();
            prop_assert_eq!(body.key_id(), KeyId(key_id));
            prop_assert_eq!(body.serial(), serial);
            prop_assert_eq!(body.certificate(), certificate);
            prop_assert_eq!(body.gtin().map(Gtin::as_u64), gtin);
        }
    }

    #[test]
    fn every_other_spelling_of_a_tokens_bytes_is_refused(
        (_, _, text) in signed(),
        at in any::<prop::sample::Index>(),
        blank in prop::sample::select(vec![" ", "\t", "\n", "\r\n", "\u{a0}", "\u{3000}", "%20"]),
        extra in prop::collection::vec(any::<u8>(), 1..8),
        junk_bits in 1..16_u32,
    ) {
        let bytes = decode(&text).unwrap();
        let malformed = |e: TokenError| matches!(e, TokenError::Malformed(_));

        // Padding to a multiple of 4.
        let padded = format!("{text}{}", "=".repeat((4 - text.len() % 4) % 4 + 4 * usize::from(text.len() % 4 == 0)));
        prop_assert!(malformed(refused(&padded)?));

        // Whitespace anywhere: before, inside, after.
        let at = at.index(text.len() + 1);
        let spaced = format!("{}{blank}{}", &text[..at], &text[at..]);
        prop_assert!(malformed(refused(&spaced)?));

        // The standard alphabet, where it differs.
        let standard = text.replace('-', "+").replace('_', "/");
        if standard != text {
            prop_assert!(malformed(refused(&standard)?));
        }

        // Non-zero unused bits in the last character: the same bytes to a lenient decoder.
        let unused = match bytes.len() % 3 { 1 => 4, 2 => 2, _ => 0 };
        if unused > 0 {
            let last = BASE64URL.iter().position(|&c| c == *text.as_bytes().last().unwrap()).unwrap();
            let other = last | (junk_bits as usize & ((1 << unused) - 1)).max(1);
            let mut respelled = text.clone();
            respelled.pop();
            respelled.push(char::from(BASE64URL[other]));
            prop_assert_eq!(refused(&respelled)?, TokenError::Malformed(Defect::NotBase64url));
        }

        // Bytes after the signature.
        let longer = encode(&[&bytes[..], &extra].concat());
        prop_assert_eq!(
            refused(&longer)?,
            TokenError::Malformed(Defect::SignatureLength(64 + extra.len()))
        );
    }

    #[test]
    fn text_over_200_characters_is_refused_unread(text in "[A-Za-z0-9_-]{201,400}") {
        prop_assert_eq!(refused(&text)?, TokenError::Malformed(Defect::TooLong));
    }

    #[test]
    fn decoding_never_panics(
        text in hostile_text(),
        bytes in prop::collection::vec(any::<u8>(), 0..260),
    ) {
        let _ = Token::decode(&text);
        let _ = Token::decode(&String::from_utf8_lossy(&bytes));
    }
}

/// The key id SPEC.md defines: the first 8 bytes of SHA-256 of the public key.
fn sha2_prefix(public: &[u8; 32]) -> [u8; 8] {
    use sha2::Digest;
    sha2::Sha256::digest(public)[..8].try_into().unwrap()
}
