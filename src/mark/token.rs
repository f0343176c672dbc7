//! Token v1, the signed text a label carries (SPEC.md "The mark"): the body's byte layout, the
//! signature's domain separation, and the strict decoding that gives every token exactly one
//! spelling, so caches and scan records keyed by the text are sound. This module decides whether
//! text is a well-formed token and whether a key signed it; it does not know which keys are
//! registered, which serials were issued, or what verdict a token earns: verification does, from
//! the registry.
//!
//! ```text
//! body      = 0x01 | key_id [8] | serial u64 BE (>= 1) | cert_len u8 (1..=32) | cert
//!             | has_gtin u8 (0 or 1) | gtin u64 BE (only when has_gtin = 1)
//! signature = Ed25519(K, "marktrace/mark/v1" || 0x00 || body)
//! token     = base64url-no-pad(body || signature)
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::domain::certificate::parse_code;
use crate::domain::gtin::Gtin;
use crate::domain::key::KeyId;

/// The only version this crate reads or writes.
const VERSION: u8 = 1;

/// Domain separation: a mark signature can never be replayed as a signature over anything else
/// the same key might sign, nor over a later version's layout.
const CONTEXT: &[u8] = b"marktrace/mark/v1";

/// Longest token text accepted (SPEC.md); anything longer is refused before decoding.
const MAX_TEXT_LEN: usize = 200;

/// Bytes that 200 base64 characters can carry: the decode buffer, so no length read from the
/// input ever sizes an allocation.
const MAX_DECODED_LEN: usize = MAX_TEXT_LEN / 4 * 3;

const MAX_CERTIFICATE_LEN: u8 = 32;

/// Version, key id, serial, cert_len, the longest certificate, has_gtin, GTIN.
const MAX_BODY_LEN: usize = 1 + 8 + 8 + 1 + MAX_CERTIFICATE_LEN as usize + 1 + 8;

const SIGNATURE_LEN: usize = 64;

const MAX_TOKEN_LEN: usize = MAX_BODY_LEN + SIGNATURE_LEN;

const MAX_MESSAGE_LEN: usize = CONTEXT.len() + 1 + MAX_BODY_LEN;

/// Why text is not a token. Verification reports [`TokenError::Malformed`] as reason
/// `malformed` and [`TokenError::UnsupportedVersion`] as `unsupported_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    Malformed(Defect),
    #[error("token version {0} is not supported; only version 1 is")]
    UnsupportedVersion(u8),
}

/// What is wrong with a malformed token, or with a body that could not be one. Copy and
/// allocation-free: decoding refuses untrusted input at the rate it arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Defect {
    #[error("a token has at most 200 characters")]
    TooLong,
    #[error("a token is canonical base64url without padding or whitespace")]
    NotBase64url,
    #[error("the token ends inside its body")]
    Truncated,
    #[error("serial is 0; serials start at 1")]
    ZeroSerial,
    #[error("certificate length {0} is outside 1..=32")]
    CertificateLength(u8),
    #[error("the certificate code is not A-Z and 0-9 in groups joined by single '-'")]
    CertificateCode,
    #[error("has_gtin is {0}; it must be 0 or 1")]
    GtinFlag(u8),
    #[error("GTIN {0} is not a GTIN-14 with a valid check digit")]
    Gtin(u64),
    #[error("{0} bytes follow the body; an Ed25519 signature is exactly 64")]
    SignatureLength(usize),
}

impl From<Defect> for TokenError {
    fn from(defect: Defect) -> TokenError {
        TokenError::Malformed(defect)
    }
}

/// What a mark says: issuer key id, serial, certificate code and optional GTIN. Only
/// [`MarkBody::new`] makes one, and [`Token::decode`] goes through it, so a body that can be made
/// is exactly a body that can be read.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MarkBody {
    key_id: KeyId,
    serial: u64,
    certificate: String,
    gtin: Option<Gtin>,
}

impl MarkBody {
    pub fn new(
        key_id: KeyId,
        serial: u64,
        certificate: &str,
        gtin: Option<Gtin>,
    ) -> Result<MarkBody, TokenError> {
        if serial == 0 {
            return Err(Defect::ZeroSerial.into());
        }
        let certificate = parse_code(certificate).map_err(|_| Defect::CertificateCode)?;
        Ok(MarkBody {
            key_id,
            serial,
            certificate,
            gtin,
        })
    }

    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub fn serial(&self) -> u64 {
        self.serial
    }

    pub fn certificate(&self) -> &str {
        &self.certificate
    }

    pub fn gtin(&self) -> Option<Gtin> {
        self.gtin
    }

    fn encode(&self) -> Bytes<MAX_BODY_LEN> {
        let mut body = Bytes::new();
        body.put(&[VERSION]);
        body.put(&self.key_id.0);
        body.put(&self.serial.to_be_bytes());
        // `parse_code` held, so the code is ASCII of 1..=32 bytes and its length fits a u8.
        body.put(&[self.certificate.len() as u8]);
        body.put(self.certificate.as_bytes());
        match self.gtin {
            None => body.put(&[0]),
            Some(gtin) => {
                body.put(&[1]);
                body.put(&gtin.as_u64().to_be_bytes());
            }
        }
        body
    }
}

/// A decoded token: its body and the signature it presents, not yet checked against any key.
#[derive(Clone, Debug)]
pub struct Token {
    body: MarkBody,
    /// The body bytes as presented, which is what the signature is checked over.
    presented: Bytes<MAX_BODY_LEN>,
    signature: Signature,
}

impl Token {
    /// Decodes token text strictly: at most 200 characters of canonical unpadded base64url,
    /// version 1, every field in range, and exactly a 64-byte signature after the body. The
    /// version is read before any other field, so any other version is reported as such and never
    /// as malformed.
    pub fn decode(text: &str) -> Result<Token, TokenError> {
        if text.len() > MAX_TEXT_LEN {
            return Err(Defect::TooLong.into());
        }
        // The engine refuses padding, characters outside the URL-safe alphabet (whitespace and
        // non-ASCII included) and non-zero unused trailing bits, so one byte string has one text.
        let mut buffer = [0; MAX_DECODED_LEN];
        let len = URL_SAFE_NO_PAD
            .decode_slice(text, &mut buffer)
            .map_err(|_| Defect::NotBase64url)?;
        let mut reader = Reader(&buffer[..len]);

        let version = reader.byte()?;
        if version != VERSION {
            return Err(TokenError::UnsupportedVersion(version));
        }
        let key_id = KeyId(reader.array()?);
        let serial = u64::from_be_bytes(reader.array()?);
        let cert_len = reader.byte()?;
        if !(1..=MAX_CERTIFICATE_LEN).contains(&cert_len) {
            return Err(Defect::CertificateLength(cert_len).into());
        }
        let certificate = std::str::from_utf8(reader.take(cert_len.into())?)
            .map_err(|_| Defect::CertificateCode)?;
        let gtin = match reader.byte()? {
            0 => None,
            1 => {
                let value = u64::from_be_bytes(reader.array()?);
                Some(Gtin::from_u64(value).ok_or(Defect::Gtin(value))?)
            }
            flag => return Err(Defect::GtinFlag(flag).into()),
        };
        let body = MarkBody::new(key_id, serial, certificate, gtin)?;

        let signature = reader.0;
        let presented = &buffer[..len - signature.len()];
        let signature: &[u8; SIGNATURE_LEN] = signature
            .try_into()
            .map_err(|_| Defect::SignatureLength(signature.len()))?;
        Ok(Token {
            body,
            presented: Bytes::from(presented),
            signature: Signature::from_bytes(signature),
        })
    }

    pub fn body(&self) -> &MarkBody {
        &self.body
    }

    /// The signature the token presents, not yet checked.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The exact bytes [`Token::verify`] checks the signature over: the context, 0x00 and the
    /// body as presented. With [`Token::signature`] it lets a caller check many tokens at once
    /// with [`super::batch::verify_each`], which decides each as [`Token::verify`] would.
    pub fn signed_message(&self) -> impl AsRef<[u8]> + use<> {
        message(self.presented.as_slice())
    }

    /// Whether `key` signed the body as presented. Checked per RFC 8032 strictly: S must be
    /// canonical (below ℓ) and neither R nor the key may be of small order, so no second
    /// signature for the same body can be forged from a first.
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        verify(key, self.presented.as_slice(), &self.signature)
    }

    /// Whether `key` signed `body` (rebuilt from the registry) with this token's signature:
    /// genuine over the registry's body but not over the presented one means a genuine mark whose
    /// content was changed.
    pub fn verifies_over(&self, key: &VerifyingKey, body: &MarkBody) -> bool {
        verify(key, body.encode().as_slice(), &self.signature)
    }
}

fn verify(key: &VerifyingKey, body: &[u8], signature: &Signature) -> bool {
    key.verify_strict(message(body).as_slice(), signature)
        .is_ok()
}

fn message(body: &[u8]) -> Bytes<MAX_MESSAGE_LEN> {
    let mut message = Bytes::new();
    message.put(CONTEXT);
    message.put(&[0]);
    message.put(body);
    message
}

/// Signs `body` with `key` and appends the token text to `out`. Nothing is allocated but `out`'s
/// growth, since an export calls this once per mark, millions of times.
///
/// `key` must be the key `body.key_id()` names; a token signed by another key verifies under none
/// the registry would pick.
pub fn write_token(key: &SigningKey, body: &MarkBody, out: &mut String) {
    debug_assert_eq!(body.key_id, KeyId::of(&key.verifying_key()));
    let encoded = body.encode();
    let signature = key.sign(message(encoded.as_slice()).as_slice());
    let mut token = Bytes::<MAX_TOKEN_LEN>::from(encoded.as_slice());
    token.put(&signature.to_bytes());
    URL_SAFE_NO_PAD.encode_string(token.as_slice(), out);
}

/// The token text of `body` signed by `key`; see [`write_token`].
pub fn sign(key: &SigningKey, body: &MarkBody) -> String {
    let mut out = String::new();
    write_token(key, body, &mut out);
    out
}

/// Reads a token's fields front to back; running out of bytes is a truncated body.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Defect> {
        let (taken, rest) = self.0.split_at_checked(n).ok_or(Defect::Truncated)?;
        self.0 = rest;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8, Defect> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Defect> {
        Ok(self.take(N)?.try_into().expect("take returns N bytes"))
    }
}

/// A byte string of at most `N` bytes on the stack: bodies and signed messages have small fixed
/// bounds, and the hot paths (export, verification) should not allocate for them. Filled only
/// from data whose bound is known, so overflowing is a bug and panics.
#[derive(Clone, Debug)]
struct Bytes<const N: usize> {
    buffer: [u8; N],
    len: usize,
}

impl<const N: usize> Bytes<N> {
    fn new() -> Self {
        Bytes {
            buffer: [0; N],
            len: 0,
        }
    }

    fn put(&mut self, bytes: &[u8]) {
        self.buffer[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn as_slice(&self) -> &[u8] {
        &self.buffer[..self.len]
    }
}

impl<const N: usize> AsRef<[u8]> for Bytes<N> {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<const N: usize> From<&[u8]> for Bytes<N> {
    fn from(bytes: &[u8]) -> Self {
        let mut this = Bytes::new();
        this.put(bytes);
        this
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::alphabet::URL_SAFE;
    use base64::engine::DecodePaddingMode;
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    use proptest::prelude::*;

    /// RFC 8032 §7.1, TEST 1: secret key and public key.
    const RFC8032_TEST1_SECRET: &str =
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const RFC8032_TEST1_PUBLIC: &str =
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    fn unhex<const N: usize>(hex: &str) -> [u8; N] {
        let mut out = [0; N];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    fn rfc8032_key() -> SigningKey {
        SigningKey::from_bytes(&unhex(RFC8032_TEST1_SECRET))
    }

    fn other_key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn body(key: &SigningKey, certificate: &str, gtin: Option<&str>) -> MarkBody {
        let gtin = gtin.map(|g| Gtin::parse(g).unwrap());
        MarkBody::new(
            KeyId::of(&key.verifying_key()),
            1_234_567,
            certificate,
            gtin,
        )
        .unwrap()
    }

    fn encode(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn decode_bytes(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(text).unwrap()
    }

    /// The token's text rebuilt from what was decoded, to show it is the only spelling.
    fn reencode(token: &Token) -> String {
        let mut bytes = token.presented.as_slice().to_vec();
        bytes.extend_from_slice(&token.signature.to_bytes());
        encode(&bytes)
    }

    /// Decodes and verifies under `key`; false for text that does not decode.
    fn accepted(text: &str, key: &VerifyingKey) -> bool {
        Token::decode(text).is_ok_and(|token| token.verify(key))
    }

    fn malformed(text: &str) -> Defect {
        match Token::decode(text) {
            Err(TokenError::Malformed(defect)) => defect,
            other => panic!("{text:?} decoded to {other:?}"),
        }
    }

    #[test]
    fn a_token_round_trips_with_and_without_a_gtin() {
        let key = rfc8032_key();
        for gtin in [None, Some("4006381333931")] {
            let body = body(&key, "JX-GE-2026-001", gtin);
            let text = sign(&key, &body);
            let token = Token::decode(&text).unwrap();
            assert_eq!(token.body(), &body);
            assert!(token.verify(&key.verifying_key()));
            assert!(token.verifies_over(&key.verifying_key(), &body));
            assert_eq!(reencode(&token), text);
        }
    }

    #[test]
    fn write_token_appends_to_what_is_already_there() {
        let key = rfc8032_key();
        let body = body(&key, "A", None);
        let mut out = String::from("https://example.org/v/");
        write_token(&key, &body, &mut out);
        assert_eq!(out, format!("https://example.org/v/{}", sign(&key, &body)));
    }

    /// Known answer: the RFC 8032 TEST 1 key signs serial 1234567 of certificate JX-GE-2026-001
    /// with GTIN 04006381333931. The body's bytes are written out field by field, and the
    /// signature is checked by a second, independent Ed25519 implementation over the exact
    /// message SPEC.md defines.
    #[test]
    fn the_rfc_8032_test_1_key_signs_a_known_token() {
        const TOKEN: &str = "ASH-Md-hVKJhAAAAAAAS1ocOSlgtR0UtMjAyNi0wMDEBAAADpM7vratAdOEtJ5wHBFI_99ILJsIJo64xB8JnFOiW37R3M3UZ40kjOHXloh7IkIyv5Elu8hfaFgGwCja21G1UGlvJvaQH";
        let key = rfc8032_key();
        assert_eq!(key.verifying_key().to_bytes(), unhex(RFC8032_TEST1_PUBLIC));
        let body = body(&key, "JX-GE-2026-001", Some("4006381333931"));
        assert_eq!(sign(&key, &body), TOKEN);

        let bytes = decode_bytes(TOKEN);
        let expected_body: Vec<u8> = [
            &[0x01][..],                     // version
            &unhex::<8>("21fe31dfa154a261"), // SHA-256(public key)[..8]
            &unhex::<8>("000000000012d687"), // serial 1234567
            &[14],                           // cert_len
            b"JX-GE-2026-001",               // cert
            &[1],                            // has_gtin
            &unhex::<8>("000003a4ceefadab"), // GTIN 4006381333931
        ]
        .concat();
        let (presented, signature) = bytes.split_at(expected_body.len());
        assert_eq!(presented, expected_body);
        assert_eq!(signature.len(), 64);

        let message = [&b"marktrace/mark/v1\x00"[..], presented].concat();
        let public =
            ed25519_compact::PublicKey::from_slice(&unhex::<32>(RFC8032_TEST1_PUBLIC)).unwrap();
        let signature = ed25519_compact::Signature::from_slice(signature).unwrap();
        public.verify(&message, &signature).unwrap();
    }

    #[test]
    fn every_single_byte_change_fails_to_decode_or_to_verify() {
        let key = rfc8032_key();
        let verifying = key.verifying_key();
        for gtin in [None, Some("4006381333931")] {
            let bytes = decode_bytes(&sign(&key, &body(&key, "JX-GE-2026-001", gtin)));
            for position in 0..bytes.len() {
                for flip in [0x01, 0x02, 0x10, 0x80, 0xff] {
                    let mut changed = bytes.clone();
                    changed[position] ^= flip;
                    assert!(
                        !accepted(&encode(&changed), &verifying),
                        "byte {position} ^ {flip:#04x} was accepted"
                    );
                }
            }
        }
    }

    #[test]
    fn every_single_character_change_fails_to_decode_or_to_verify() {
        const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let key = rfc8032_key();
        let verifying = key.verifying_key();
        // Without a GTIN the token is 97 bytes, so its last character carries 4 unused bits;
        // with one it is 105 bytes and has none. Both cases are covered.
        for gtin in [None, Some("4006381333931")] {
            let text = sign(&key, &body(&key, "JX-GE-2026-001", gtin));
            for position in 0..text.len() {
                for replacement in ALPHABET.chars().chain("+/= .é".chars()) {
                    if text[position..].starts_with(replacement) {
                        continue;
                    }
                    let mut changed = text.clone();
                    changed.replace_range(
                        position..position + 1,
                        replacement.encode_utf8(&mut [0; 4]),
                    );
                    assert!(
                        !accepted(&changed, &verifying),
                        "{replacement:?} at {position} was accepted"
                    );
                }
            }
        }
    }

    #[test]
    fn non_zero_unused_trailing_bits_are_refused() {
        let key = rfc8032_key();
        let text = sign(&key, &body(&key, "JX-GE-2026-001", None));
        assert_eq!(
            decode_bytes(&text).len() % 3,
            1,
            "the last character has 4 unused bits"
        );
        let last = text.as_bytes()[text.len() - 1];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let value = alphabet.iter().position(|&c| c == last).unwrap();
        let mut spelling = text.clone();
        spelling.pop();
        spelling.push(char::from(alphabet[value | 1]));
        assert_ne!(spelling, text);

        // A lenient decoder reads the same bytes from both spellings, so the refusal is what
        // keeps one token to one text.
        let lenient = GeneralPurpose::new(
            &URL_SAFE,
            GeneralPurposeConfig::new()
                .with_decode_allow_trailing_bits(true)
                .with_decode_padding_mode(DecodePaddingMode::RequireNone),
        );
        assert_eq!(lenient.decode(&spelling).unwrap(), decode_bytes(&text));
        assert_eq!(malformed(&spelling), Defect::NotBase64url);
    }

    #[test]
    fn truncated_padded_oversized_spaced_and_foreign_texts_are_malformed() {
        let key = rfc8032_key();
        let text = sign(&key, &body(&key, "JX-GE-2026-001", None));
        let standard = base64::engine::general_purpose::STANDARD_NO_PAD.encode(decode_bytes(&text));
        assert!(
            standard.contains(['+', '/']),
            "the standard alphabet differs here"
        );
        let cases = [
            ("", Defect::Truncated),
            ("A", Defect::NotBase64url),
            (&text[..text.len() - 1], Defect::NotBase64url),
            (&text[..text.len() - 2], Defect::SignatureLength(63)),
            (&text[..40], Defect::Truncated),
            (&format!("{text}=="), Defect::NotBase64url),
            (&format!("{text}AAAA"), Defect::SignatureLength(67)),
            (&format!("{text} "), Defect::NotBase64url),
            (&format!(" {text}"), Defect::NotBase64url),
            (
                &format!("{}\n{}", &text[..64], &text[64..]),
                Defect::NotBase64url,
            ),
            (&standard, Defect::NotBase64url),
            (
                &format!("{}é", &text[..text.len() - 2]),
                Defect::NotBase64url,
            ),
            (&"A".repeat(201), Defect::TooLong),
            (&"é".repeat(101), Defect::TooLong),
        ];
        for (input, defect) in cases {
            assert_eq!(malformed(input), defect, "{input:?}");
        }
    }

    #[test]
    fn another_version_is_unsupported_whatever_follows_it() {
        assert_eq!(
            Token::decode(&encode(&[2])).unwrap_err(),
            TokenError::UnsupportedVersion(2)
        );
        let key = rfc8032_key();
        let mut bytes = decode_bytes(&sign(&key, &body(&key, "A", None)));
        for version in [0, 2, 0xff] {
            bytes[0] = version;
            assert_eq!(
                Token::decode(&encode(&bytes)).unwrap_err(),
                TokenError::UnsupportedVersion(version)
            );
        }
        assert_eq!(
            TokenError::UnsupportedVersion(2).to_string(),
            "token version 2 is not supported; only version 1 is"
        );
    }

    /// Bytes of a version 1 body with the given fields, for building defective tokens.
    fn raw_body(serial: u64, cert_len: u8, cert: &[u8], gtin: &[u8]) -> Vec<u8> {
        [
            &[1][..],
            &[0xab; 8],
            &serial.to_be_bytes(),
            &[cert_len],
            cert,
            gtin,
        ]
        .concat()
    }

    #[test]
    fn each_defective_field_is_named() {
        let signature = [0; 64];
        let valid_gtin = [&[1][..], &4_006_381_333_931_u64.to_be_bytes()].concat();
        let bad_check = [&[1][..], &4_006_381_333_932_u64.to_be_bytes()].concat();
        let too_big = [&[1][..], &u64::MAX.to_be_bytes()].concat();
        let cases = [
            (raw_body(0, 1, b"A", &[0]), Defect::ZeroSerial),
            (raw_body(1, 0, b"", &[0]), Defect::CertificateLength(0)),
            (
                raw_body(1, 33, &[b'A'; 33], &[0]),
                Defect::CertificateLength(33),
            ),
            (raw_body(1, 2, b"a1", &[0]), Defect::CertificateCode),
            (raw_body(1, 2, b"A-", &[0]), Defect::CertificateCode),
            (raw_body(1, 2, &[0xc3, 0xa9], &[0]), Defect::CertificateCode),
            (raw_body(1, 1, b"A", &[2]), Defect::GtinFlag(2)),
            (
                raw_body(1, 1, b"A", &bad_check),
                Defect::Gtin(4_006_381_333_932),
            ),
            (raw_body(1, 1, b"A", &too_big), Defect::Gtin(u64::MAX)),
            (raw_body(1, 1, b"A", &[0, 0]), Defect::SignatureLength(65)),
        ];
        for (body, defect) in cases {
            let text = encode(&[&body[..], &signature].concat());
            assert_eq!(malformed(&text), defect, "{body:02x?}");
        }
        let truncated = raw_body(1, 1, b"A", &valid_gtin[..5]);
        assert_eq!(malformed(&encode(&truncated)), Defect::Truncated);
        assert_eq!(
            Defect::CertificateLength(0).to_string(),
            "certificate length 0 is outside 1..=32"
        );
        // The same fields, well formed, decode.
        let good = raw_body(1, 1, b"A", &valid_gtin);
        assert!(Token::decode(&encode(&[&good[..], &signature].concat())).is_ok());
    }

    #[test]
    fn mark_body_new_refuses_serial_0_and_bad_certificate_codes() {
        let id = KeyId([0; 8]);
        assert_eq!(
            MarkBody::new(id, 0, "A", None),
            Err(TokenError::Malformed(Defect::ZeroSerial))
        );
        for code in ["", "a", "A--B", &"A".repeat(33)] {
            assert_eq!(
                MarkBody::new(id, 1, code, None),
                Err(TokenError::Malformed(Defect::CertificateCode)),
                "{code:?}"
            );
        }
    }

    #[test]
    fn the_longest_body_fits_in_164_characters() {
        let key = rfc8032_key();
        let body = MarkBody::new(
            KeyId::of(&key.verifying_key()),
            u64::MAX,
            &"Z".repeat(32),
            Some(Gtin::parse("99999999999997").unwrap()),
        )
        .unwrap();
        let text = sign(&key, &body);
        assert_eq!(text.len(), 164);
        assert!(Token::decode(&text).unwrap().verify(&key.verifying_key()));
    }

    /// S + ℓ is the same scalar as S, so a lax verifier accepts it: a second spelling of the same
    /// signature. RFC 8032 requires S < ℓ.
    #[test]
    fn a_signature_with_s_plus_the_group_order_is_refused() {
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let key = rfc8032_key();
        let mut bytes = decode_bytes(&sign(&key, &body(&key, "JX-GE-2026-001", None)));
        let s = bytes.len() - 32;
        let mut carry = 0_u16;
        for (byte, l) in bytes[s..].iter_mut().zip(L) {
            let sum = u16::from(*byte) + u16::from(l) + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0, "S + ℓ fits in 32 bytes since S < ℓ < 2^253");
        let token = Token::decode(&encode(&bytes)).unwrap();
        assert!(!token.verify(&key.verifying_key()));
    }

    #[test]
    fn a_signature_verifies_over_the_body_it_signed_and_under_its_key_only() {
        let key = rfc8032_key();
        let issued = body(&key, "JX-GE-2026-001", None);
        let token = Token::decode(&sign(&key, &issued)).unwrap();
        let changed = body(&key, "JX-GE-2026-002", None);
        assert!(token.verifies_over(&key.verifying_key(), &issued));
        assert!(!token.verifies_over(&key.verifying_key(), &changed));
        assert!(!token.verify(&other_key().verifying_key()));
        assert!(!token.verifies_over(&other_key().verifying_key(), &issued));
    }

    /// Near-valid token bytes: the right shape with each field sometimes out of range, so a good
    /// share of them decode and the one-spelling property is exercised, not just refusals.
    fn near_valid_bytes() -> impl Strategy<Value = Vec<u8>> {
        let version = prop_oneof![4 => Just(1_u8), 1 => any::<u8>()];
        let serial = prop_oneof![1 => Just(0_u64), 4 => 1_u64..];
        let certificate = prop_oneof![
            4 => "[A-Z0-9]{1,8}(-[A-Z0-9]{1,7}){0,3}".prop_map(String::into_bytes),
            1 => prop::collection::vec(prop::sample::select(b"AZ09-a".to_vec()), 0..36),
        ];
        let gtin = prop_oneof![
            2 => Just(vec![0]),
            2 => (0_u64..10_000_000_000_000).prop_map(|data| {
                let gtin = (0..10).find_map(|d| Gtin::from_u64(data * 10 + d));
                [&[1][..], &gtin.map_or(0, Gtin::as_u64).to_be_bytes()].concat()
            }),
            1 => (any::<u8>(), any::<u64>()).prop_map(|(f, g)| [&[f][..], &g.to_be_bytes()].concat()),
        ];
        let signature = prop_oneof![
            4 => prop::collection::vec(any::<u8>(), 64),
            1 => prop::collection::vec(any::<u8>(), 60..=68),
        ];
        let honest_len = prop::bool::weighted(0.8);
        (
            version,
            any::<[u8; 8]>(),
            serial,
            honest_len,
            certificate,
            gtin,
            signature,
        )
            .prop_map(
                |(version, key_id, serial, honest_len, cert, gtin, signature)| {
                    let cert_len = if honest_len {
                        cert.len() as u8
                    } else {
                        cert.len() as u8 ^ 1
                    };
                    [
                        &[version][..],
                        &key_id,
                        &serial.to_be_bytes(),
                        &[cert_len],
                        &cert,
                        &gtin,
                        &signature,
                    ]
                    .concat()
                },
            )
    }

    fn one_spelling(text: &str) -> Result<(), TestCaseError> {
        if let Ok(token) = Token::decode(text) {
            prop_assert_eq!(reencode(&token), text);
            prop_assert!(text.len() <= MAX_TEXT_LEN);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(crate::domain::seeded(ProptestConfig::default().cases))]

        #[test]
        fn decode_never_panics_and_a_decoded_token_has_one_spelling(
            text in "\\PC*|[A-Za-z0-9_=+/ -]{0,220}",
            bytes in prop::collection::vec(any::<u8>(), 0..160),
            near_valid in near_valid_bytes(),
        ) {
            one_spelling(&text)?;
            one_spelling(&encode(&bytes))?;
            one_spelling(&encode(&near_valid))?;
        }

        #[test]
        fn every_signed_body_decodes_to_itself_and_verifies(
            serial in 1_u64..,
            certificate in "[A-Z0-9]{1,8}(-[A-Z0-9]{1,7}){0,3}",
            gtin in prop::option::of(1_u64..10_000_000_000_000),
        ) {
            let key = rfc8032_key();
            let gtin = gtin.and_then(|data| (0..10).find_map(|d| Gtin::from_u64(data * 10 + d)));
            let body = MarkBody::new(KeyId::of(&key.verifying_key()), serial, &certificate, gtin)
                .unwrap();
            let text = sign(&key, &body);
            let token = Token::decode(&text).unwrap();
            prop_assert_eq!(token.body(), &body);
            prop_assert!(token.verify(&key.verifying_key()));
            prop_assert_eq!(reencode(&token), text);
        }
    }
}
