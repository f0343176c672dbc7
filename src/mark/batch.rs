//! Ed25519 batch verification that decides each signature as
//! [`VerifyingKey::verify_strict`] does, for checking many tokens at once (with
//! [`Token::signed_message`](super::token::Token::signed_message) and
//! [`Token::signature`](super::token::Token::signature)). It answers one verdict per item; it
//! does not know which key a token names or what verdict a mark earns.
//!
//! # What verify_strict accepts
//!
//! `verify_strict(M, (R, S))` under key A accepts iff S is canonical (below ℓ), R's bytes
//! decompress, neither R nor A is of small order, and the canonical encoding of
//! `[s]B − [h]A`, h = SHA-512(R‖A‖M) mod ℓ, equals R's bytes. So R's bytes must be canonical
//! too, and then, compression being injective, the last condition is `D = R − [s]B + [h]A = 0`
//! exactly: a cofactorless check that takes no torsion on trust.
//!
//! # How the batch decides the same
//!
//! - An item failing a cheap pre-check gets `false` without batching, as verify_strict
//!   decides it: S not canonical, R's bytes not decompressing or not canonical, R of small order.
//! - An item whose key is of small order or has a torsion component ([`BatchKey::new`] finds
//!   out once per key) takes verify_strict itself: for such a key `[h]A` carries torsion that
//!   the weights could cancel between items. A key not canonically encoded goes the same way;
//!   the equation would hash its bytes as given, as verify_strict does, but no key generator
//!   spells a key so, and the batch's argument is kept to keys with one spelling.
//! - The rest are checked together: `Σ zᵢRᵢ + Σₖ(Σ_{i∈k} zᵢhᵢ)Aₖ − (Σ zᵢsᵢ)B = 0`, one
//!   multiscalar multiplication with one A term per key, which is `Σ zᵢDᵢ = 0`. The weights zᵢ
//!   are fresh from the OS for each batch, never derived from the inputs, 128 bits with the low
//!   bit set. If the equation fails the group is halved and each half decided the same way; a
//!   failing group of at most four items, or a lone item, is decided by verify_strict.
//!
//! Every item verify_strict accepts is accepted, always: its Dᵢ is 0, so every group of such
//! items passes, and single items are verify_strict. The converse, for a rejected item j
//! (Dⱼ ≠ 0): write Dᵢ = Pᵢ + Tᵢ, Pᵢ in the prime-order subgroup, Tᵢ in the 8-torsion. A and B
//! are torsion-free, so Tᵢ is R's torsion component. A group passes only if `Σ zᵢPᵢ = 0` and
//! `Σ zᵢTᵢ = 0`. If Pⱼ ≠ 0, at most one value of zⱼ mod ℓ satisfies the first whatever the
//! others are, so the group passes with probability at most 2⁻¹²⁷. If Pⱼ = 0 and Tⱼ ≠ 0 while
//! every other item in the group has no torsion, the sum is zⱼTⱼ, and an odd zⱼ is a unit
//! mod 8, so zⱼTⱼ ≠ 0: such a signature among honest ones is rejected every time.
//!
//! # The residual case
//!
//! Two or more items with Pᵢ = 0 and Tᵢ ≠ 0 in one group can cancel: their torsion sums to
//! `Σ zᵢtᵢ · T₈` (T₈ generating the 8-torsion), and it vanishes whenever `Σ zᵢtᵢ ≡ 0 (mod 8)`.
//! For two signatures whose R both carry the point of order 2 (tᵢ = 4) that holds for every
//! odd z, so such a pair is accepted whenever both land in the same group, although
//! verify_strict rejects each; other combinations pass with probability 1/2 or 1/4 per batch.
//! No choice of weights avoids this: odd weights are what makes a lone one always fail, and
//! weights that are even half the time would let a lone order-2 one pass half the time.
//! Making such a signature, `R = [r]B + T` with `S = r + h·a` over that R, needs the key's
//! secret scalar (without it, Pᵢ = 0 is a forgery), and honest signers never make one. So
//! the divergence is one a key holder can choose: a pair of signatures a strict verifier
//! elsewhere rejects but this one accepts, when it sees them in the same batch. For marks this
//! means an issuer could make labels verified as genuine here and refused by a strict offline
//! verifier; it gains no signature the issuer could not make honestly.
//!
//! Ruling it out would mean checking each R for torsion, `[ℓ]R = 0`: about 20 µs even in
//! variable time, which would bring the batch to some 28 µs a signature against
//! verify_strict's 31 to 33, hardly faster. As it is, `cargo bench --bench verify -- batch`
//! measured 64 signatures of one key at 8.3 µs a signature, against 32.6 µs for verify_strict.
//!
//! Bad items cost more than verify_strict alone: each failing group is checked again in halves,
//! so a batch that is mostly bad costs a few multiscalar passes over its items on top of one
//! verify_strict per bad item. Batching pays when most signatures are genuine.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity as _, VartimeMultiscalarMul as _};
use ed25519_dalek::{Signature, VerifyingKey};
use rand_core::{OsRng, RngCore as _};
use sha2::{Digest as _, Sha512};

/// A failing group this small is decided item by item with verify_strict: that costs about
/// what halving it again would, and is certain.
const SMALL: usize = 4;

/// A verifying key with what the batch needs of it, worked out once per key: make one per key
/// and keep it beside the key, since finding whether a key is torsion-free costs a scalar
/// multiplication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchKey {
    key: VerifyingKey,
    /// The key's point, when the key may take the batch path: canonically encoded, not of
    /// small order and torsion-free. `None` sends its items to verify_strict.
    batch_point: Option<EdwardsPoint>,
}

impl BatchKey {
    pub fn new(key: VerifyingKey) -> BatchKey {
        let point = key.to_edwards();
        let batchable = point.compress() == CompressedEdwardsY(key.to_bytes())
            && !point.is_small_order()
            && point.is_torsion_free();
        BatchKey {
            key,
            batch_point: batchable.then_some(point),
        }
    }
}

/// One signature to check: `signature` over `message` by `key`.
#[derive(Clone, Copy, Debug)]
pub struct Item<'a> {
    pub key: &'a BatchKey,
    pub message: &'a [u8],
    pub signature: &'a Signature,
}

impl Item<'_> {
    fn verify_strict(&self) -> bool {
        self.key
            .key
            .verify_strict(self.message, self.signature)
            .is_ok()
    }
}

/// Whether each item's signature is valid: `result[i]` is whether
/// `items[i].key`'s `verify_strict(items[i].message, items[i].signature)` accepts, up to the
/// residual case the module doc describes (two or more signatures crafted by a key holder with
/// torsion in R, in one batch).
pub fn verify_each(items: &[Item<'_>]) -> Vec<bool> {
    let mut verdicts = vec![false; items.len()];
    let mut batch = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match item.key.batch_point {
            None => verdicts[index] = item.verify_strict(),
            // An item failing the pre-checks stays false.
            Some(a) => batch.extend(Prepared::new(index, item, a)),
        }
    }
    // Items of one key side by side, so each group's A terms are runs (see `group_holds`).
    batch.sort_unstable_by(|x, y| x.key_bytes().cmp(y.key_bytes()));
    settle(&batch, &mut verdicts);
    verdicts
}

/// An item that passed the pre-checks, under a key that may be batched, with what the batch
/// equation needs of it.
struct Prepared<'a> {
    index: usize,
    item: &'a Item<'a>,
    r: EdwardsPoint,
    s: Scalar,
    h: Scalar,
    a: EdwardsPoint,
}

impl<'a> Prepared<'a> {
    /// `None` for an item verify_strict rejects before its equation: S not canonical, R's bytes
    /// not canonical or not a point, R of small order.
    fn new(index: usize, item: &'a Item<'a>, a: EdwardsPoint) -> Option<Prepared<'a>> {
        let s = Option::from(Scalar::from_canonical_bytes(*item.signature.s_bytes()))?;
        let r_bytes = item.signature.r_bytes();
        if !y_is_canonical(r_bytes) {
            return None;
        }
        let r = CompressedEdwardsY(*r_bytes).decompress()?;
        if r.is_small_order() {
            return None;
        }
        let h = Scalar::from_hash(
            Sha512::new()
                .chain_update(r_bytes)
                .chain_update(item.key.key.as_bytes())
                .chain_update(item.message),
        );
        Some(Prepared {
            index,
            item,
            r,
            s,
            h,
            a,
        })
    }

    fn key_bytes(&self) -> &[u8; 32] {
        self.item.key.key.as_bytes()
    }
}

/// Whether the y coordinate a point's bytes encode is below p = 2²⁵⁵ − 19. With the point of
/// small order refused besides, this is exactly "compressing the point gives these bytes back":
/// the only other non-canonical encodings set the sign bit of x = 0, and the points with x = 0
/// (y = ±1) are of order 1 and 2. It spares an inversion per item.
fn y_is_canonical(bytes: &[u8; 32]) -> bool {
    // p, little-endian, is ed ff … ff 7f: y ≥ p only if bytes 1..31 are all ff.
    bytes[31] & 0x7f != 0x7f || bytes[1..31].iter().any(|&b| b != 0xff) || bytes[0] < 0xed
}

/// Decides every item of `group` into `verdicts`: all true if the group's equation holds, else
/// each half on its own.
fn settle(group: &[Prepared<'_>], verdicts: &mut [bool]) {
    match group {
        [] => {}
        [one] => verdicts[one.index] = one.item.verify_strict(),
        _ if group_holds(group) => group.iter().for_each(|p| verdicts[p.index] = true),
        _ if group.len() <= SMALL => group
            .iter()
            .for_each(|p| verdicts[p.index] = p.item.verify_strict()),
        _ => {
            let (left, right) = group.split_at(group.len() / 2);
            settle(left, verdicts);
            settle(right, verdicts);
        }
    }
}

/// Whether `Σ zᵢRᵢ + Σₖ(Σ_{i∈k} zᵢhᵢ)Aₖ − (Σ zᵢsᵢ)B = 0` for fresh random odd 128-bit zᵢ.
/// `group` is sorted by key, so each key's A term closes where its run ends.
fn group_holds(group: &[Prepared<'_>]) -> bool {
    let mut randomness = vec![0; 16 * group.len()];
    OsRng.fill_bytes(&mut randomness);
    let mut scalars = Vec::with_capacity(2 * group.len() + 1);
    let mut points = Vec::with_capacity(2 * group.len() + 1);
    let mut b = Scalar::ZERO;
    let mut a = Scalar::ZERO;
    for (i, (item, z)) in group.iter().zip(randomness.chunks_exact(16)).enumerate() {
        let z = u128::from_le_bytes(z.try_into().expect("chunks of 16 bytes")) | 1;
        let z = Scalar::from(z);
        b -= z * item.s;
        a += z * item.h;
        scalars.push(z);
        points.push(item.r);
        if group
            .get(i + 1)
            .is_none_or(|next| next.key_bytes() != item.key_bytes())
        {
            scalars.push(a);
            points.push(item.a);
            a = Scalar::ZERO;
        }
    }
    scalars.push(b);
    points.push(ED25519_BASEPOINT_POINT);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points).is_identity()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::gtin::Gtin;
    use crate::domain::key::KeyId;
    use crate::mark::token::{self, MarkBody, Token};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use curve25519_dalek::constants::EIGHT_TORSION;
    use ed25519_dalek::{Signer as _, SigningKey};
    use proptest::prelude::*;

    /// ℓ, the order of B, little-endian.
    const ELL: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];

    /// A signature to check, owning its message.
    #[derive(Clone)]
    struct Signed<'k> {
        key: &'k BatchKey,
        message: Vec<u8>,
        signature: Signature,
    }

    impl Signed<'_> {
        fn item(&self) -> Item<'_> {
            Item {
                key: self.key,
                message: &self.message,
                signature: &self.signature,
            }
        }
    }

    fn batch(signed: &[Signed<'_>]) -> Vec<bool> {
        let items: Vec<Item<'_>> = signed.iter().map(Signed::item).collect();
        verify_each(&items)
    }

    fn strict(signed: &[Signed<'_>]) -> Vec<bool> {
        signed.iter().map(|s| s.item().verify_strict()).collect()
    }

    fn signing_key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn message(n: usize) -> Vec<u8> {
        format!("marktrace/mark/v1\0 test message {n}").into_bytes()
    }

    /// `n` honest signatures by `key` over distinct messages.
    fn honest<'k>(key: &'k BatchKey, signer: &SigningKey, n: usize) -> Vec<Signed<'k>> {
        (0..n)
            .map(|i| Signed {
                key,
                message: message(i),
                signature: signer.sign(&message(i)),
            })
            .collect()
    }

    /// A signing key's secret scalar a and nonce prefix, as RFC 8032 §5.1.5 expands the seed:
    /// SHA-512(seed), its lower half clamped, its upper half the prefix.
    struct Expanded {
        a: Scalar,
        prefix: [u8; 32],
    }

    fn expand(key: &SigningKey) -> Expanded {
        let hash = Sha512::digest(key.to_bytes());
        let mut lower: [u8; 32] = hash[..32].try_into().unwrap();
        lower[0] &= 248;
        lower[31] &= 127;
        lower[31] |= 64;
        Expanded {
            a: Scalar::from_bytes_mod_order(lower),
            prefix: hash[32..].try_into().unwrap(),
        }
    }

    /// A signature by `secret` over `message` presented under `public`, as RFC 8032 §5.1.6
    /// signs but with R = [r]B + `torsion` and S = r + h·a for h over that R. With no torsion
    /// under the secret's own key it is the honest signature; with torsion in R, one
    /// verify_strict rejects; under a key with torsion, one verify_strict accepts when that
    /// torsion vanishes in [h]A.
    fn sign_raw(
        secret: &Expanded,
        public: &VerifyingKey,
        message: &[u8],
        torsion: EdwardsPoint,
    ) -> Signature {
        let r = Scalar::from_hash(
            Sha512::new()
                .chain_update(secret.prefix)
                .chain_update(message),
        );
        let big_r = (EdwardsPoint::mul_base(&r) + torsion).compress();
        let h = Scalar::from_hash(
            Sha512::new()
                .chain_update(big_r.as_bytes())
                .chain_update(public.as_bytes())
                .chain_update(message),
        );
        Signature::from_components(big_r.to_bytes(), (r + h * secret.a).to_bytes())
    }

    /// `signature` with S replaced by S + ℓ: the same value mod ℓ, not canonical.
    fn s_plus_ell(signature: &Signature) -> Signature {
        let mut s = *signature.s_bytes();
        let mut carry = 0;
        for (byte, ell) in s.iter_mut().zip(ELL) {
            let sum = u16::from(*byte) + u16::from(ell) + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0, "S + ℓ < 2²⁵⁶ since S < ℓ");
        Signature::from_components(*signature.r_bytes(), s)
    }

    fn flip_bit(signature: &Signature, bit: usize) -> Signature {
        let mut bytes = signature.to_bytes();
        bytes[bit / 8] ^= 1 << (bit % 8);
        Signature::from_bytes(&bytes)
    }

    fn unhex<const N: usize>(hex: &str) -> [u8; N] {
        let mut out = [0; N];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    fn unhex_vec(hex: &str) -> Vec<u8> {
        (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[derive(serde::Deserialize)]
    struct SpeccheckCase {
        message: String,
        pub_key: String,
        signature: String,
    }

    /// What `verify_strict` decides for the twelve cases, as the row "Dalek strict" of
    /// ed25519-speccheck's results.md has it: only case 3 (mixed-order A and R, valid without
    /// the cofactor) is accepted.
    const SPECCHECK_STRICT: [bool; 12] = [
        false, false, false, true, false, false, false, false, false, false, false, false,
    ];

    /// The ed25519-speccheck vectors of "Taming the many EdDSAs" (tests/data/ed25519-speccheck),
    /// each decided by the batch as by verify_strict, alone and in a batch of 63 honest
    /// signatures, which all still verify. A key that is not a point is refused by both.
    #[test]
    fn the_speccheck_vectors_are_decided_as_verify_strict_decides_them() {
        let cases: Vec<SpeccheckCase> = serde_json::from_str(include_str!(
            "../../tests/data/ed25519-speccheck/cases.json"
        ))
        .unwrap();
        assert_eq!(cases.len(), 12);
        let signer = signing_key(1);
        let honest_key = BatchKey::new(signer.verifying_key());
        for (n, case) in cases.iter().enumerate() {
            let signature = Signature::from_bytes(&unhex(&case.signature));
            let message = unhex_vec(&case.message);
            let Ok(key) = VerifyingKey::from_bytes(&unhex(&case.pub_key)) else {
                assert!(!SPECCHECK_STRICT[n], "case {n}: its key is not a point");
                continue;
            };
            let key = BatchKey::new(key);
            let case = Signed {
                key: &key,
                message,
                signature,
            };
            let expected = case.item().verify_strict();
            assert_eq!(expected, SPECCHECK_STRICT[n], "case {n}: verify_strict");
            let alone = batch(std::slice::from_ref(&case));
            assert_eq!(alone, [expected], "case {n} alone");

            let position = n * 5;
            let mut mixed = honest(&honest_key, &signer, 63);
            mixed.insert(position, case);
            let mut want = vec![true; 64];
            want[position] = expected;
            assert_eq!(batch(&mixed), want, "case {n} among honest signatures");
        }
    }

    /// A signature whose R has a torsion component under a torsion-free key, made with the
    /// secret key as only a key holder can: verify_strict rejects it, and so does the batch,
    /// alone and among 63 honest signatures, with fresh weights every time.
    #[test]
    fn a_signature_whose_r_has_torsion_is_rejected_alone_and_among_honest_ones() {
        let signer = signing_key(2);
        let a = expand(&signer);
        let key = BatchKey::new(signer.verifying_key());
        assert!(key.batch_point.is_some());
        let honest_ones = honest(&key, &signer, 63);
        assert_eq!(
            sign_raw(&a, &signer.verifying_key(), b"m", EdwardsPoint::default()),
            signer.sign(b"m"),
            "sign_raw without torsion signs as ed25519-dalek does"
        );
        // EIGHT_TORSION[i] is [i]T₈: orders 8, 4 and 2.
        for (order, torsion) in [
            (8, EIGHT_TORSION[1]),
            (4, EIGHT_TORSION[2]),
            (2, EIGHT_TORSION[4]),
        ] {
            let crafted = Signed {
                key: &key,
                message: b"crafted".to_vec(),
                signature: sign_raw(&a, &signer.verifying_key(), b"crafted", torsion),
            };
            assert!(!crafted.item().verify_strict(), "order {order}");
            assert_eq!(
                batch(std::slice::from_ref(&crafted)),
                [false],
                "order {order}"
            );
            let mut mixed = honest_ones.clone();
            mixed.insert(0, crafted);
            for round in 0..50 {
                mixed.swap(0, round % 64);
                let mut want = vec![true; 64];
                want[round % 64] = false;
                assert_eq!(batch(&mixed), want, "order {order}, round {round}");
                mixed.swap(0, round % 64);
            }
        }
    }

    /// A key holder can satisfy the cofactorless equation with R the identity (S = h·a), which
    /// plain `verify` accepts: verify_strict refuses R of small order, and so does the batch,
    /// alone and among honest signatures.
    #[test]
    fn a_signature_with_r_the_identity_is_rejected_as_verify_strict_rejects_it() {
        let signer = signing_key(8);
        let secret = expand(&signer);
        let public = signer.verifying_key();
        let key = BatchKey::new(public);
        let r = EdwardsPoint::default().compress();
        let h = Scalar::from_hash(
            Sha512::new()
                .chain_update(r.as_bytes())
                .chain_update(public.as_bytes())
                .chain_update(b"identity"),
        );
        let signature = Signature::from_components(r.to_bytes(), (h * secret.a).to_bytes());
        assert!(ed25519_dalek::Verifier::verify(&public, b"identity", &signature).is_ok());
        let forged = Signed {
            key: &key,
            message: b"identity".to_vec(),
            signature,
        };
        assert!(!forged.item().verify_strict());
        assert_eq!(batch(std::slice::from_ref(&forged)), [false]);
        let mut mixed = honest(&key, &signer, 63);
        mixed.insert(30, forged);
        let mut want = vec![true; 64];
        want[30] = false;
        assert_eq!(batch(&mixed), want);
    }

    /// The residual case of the module doc: two signatures by one key holder whose R both carry
    /// the point of order 2 cancel in the batch equation for every odd weight, so in one batch
    /// they are accepted although verify_strict rejects each. Pinned so the doc stays true.
    #[test]
    fn two_crafted_signatures_with_order_two_torsion_pass_together_as_the_doc_says() {
        let signer = signing_key(3);
        let a = expand(&signer);
        let key = BatchKey::new(signer.verifying_key());
        let crafted = |m: &[u8]| Signed {
            key: &key,
            message: m.to_vec(),
            signature: sign_raw(&a, &signer.verifying_key(), m, EIGHT_TORSION[4]),
        };
        let mut pair = honest(&key, &signer, 62);
        pair.push(crafted(b"first"));
        pair.push(crafted(b"second"));
        assert_eq!(strict(&pair)[62..], [false, false]);
        assert_eq!(batch(&pair), vec![true; 64]);
        // Apart, each is the lone one of its group and is rejected.
        assert_eq!(batch(&pair[62..63]), [false]);
        assert_eq!(batch(&pair[..63]).iter().filter(|v| !**v).count(), 1);
    }

    #[test]
    fn honest_batches_of_every_size_verify() {
        let signer = signing_key(4);
        let key = BatchKey::new(signer.verifying_key());
        for n in [1, 2, 64, 200] {
            assert_eq!(
                batch(&honest(&key, &signer, n)),
                vec![true; n],
                "{n} signatures"
            );
        }
        assert_eq!(batch(&[]), Vec::<bool>::new());
    }

    /// An altered message, a flipped bit in R, in S, or in S's top byte (S no longer below ℓ)
    /// at position k of 64: exactly item k is false.
    #[test]
    fn one_bad_signature_in_a_batch_is_exactly_the_one_rejected() {
        let signer = signing_key(5);
        let key = BatchKey::new(signer.verifying_key());
        for k in [0, 17, 63] {
            let mut want = vec![true; 64];
            want[k] = false;
            let mut altered = honest(&key, &signer, 64);
            altered[k].message.push(b'!');
            assert_eq!(batch(&altered), want, "altered message at {k}");
            for bit in [5, 255, 300, 509] {
                let mut flipped = honest(&key, &signer, 64);
                flipped[k].signature = flip_bit(&flipped[k].signature, bit);
                assert_eq!(strict(&flipped), want, "bit {bit} at {k}: verify_strict");
                assert_eq!(batch(&flipped), want, "bit {bit} at {k}");
            }
        }
    }

    /// Signatures from several keys, good and bad, in one batch: each key's A term is its own.
    #[test]
    fn a_batch_of_several_keys_decides_each_signature() {
        let signers: Vec<SigningKey> = (10..14).map(signing_key).collect();
        let keys: Vec<BatchKey> = signers
            .iter()
            .map(|s| BatchKey::new(s.verifying_key()))
            .collect();
        let mut signed: Vec<Signed<'_>> = (0..40)
            .map(|i| Signed {
                key: &keys[i % 4],
                message: message(i),
                signature: signers[i % 4].sign(&message(i)),
            })
            .collect();
        // Signed by one key, presented under another.
        signed[7].key = &keys[0];
        assert_eq!(batch(&signed), strict(&signed));
        assert_eq!(batch(&signed).iter().filter(|v| !**v).count(), 1);
    }

    /// A key with a torsion component takes verify_strict, which accepts a signature under it
    /// exactly when [h] kills that torsion (h ≡ 0 mod 8 here, about one message in eight): the
    /// batch agrees item by item, where weighting those items together could cancel the
    /// torsion of several.
    #[test]
    fn signatures_under_a_key_with_torsion_are_decided_by_verify_strict() {
        let signer = signing_key(6);
        let a = expand(&signer);
        let mixed_key = VerifyingKey::from_bytes(
            &(signer.verifying_key().to_edwards() + EIGHT_TORSION[1])
                .compress()
                .to_bytes(),
        )
        .unwrap();
        let key = BatchKey::new(mixed_key);
        assert!(key.batch_point.is_none());
        let signed: Vec<Signed<'_>> = (0..64)
            .map(|i| Signed {
                key: &key,
                message: message(i),
                signature: sign_raw(&a, &mixed_key, &message(i), EdwardsPoint::default()),
            })
            .collect();
        let want = strict(&signed);
        assert!(want.contains(&true) && want.contains(&false));
        assert_eq!(batch(&signed), want);
    }

    /// The byte check of R's y, with small-order points refused, is the compress round trip
    /// verify_strict's comparison amounts to, on every non-canonical encoding (y = p + 0..18,
    /// either sign, and x = 0 with the sign bit set) and on canonical ones.
    #[test]
    fn the_byte_check_of_r_agrees_with_a_compress_round_trip() {
        let mut encodings = Vec::new();
        for excess in 0_u8..19 {
            let mut y = [0xff; 32];
            y[31] = 0x7f;
            y[0] = 0xed + excess;
            encodings.push(y);
        }
        encodings.push(EdwardsPoint::default().compress().to_bytes());
        encodings.push(EIGHT_TORSION[4].compress().to_bytes());
        encodings.extend((0..64).map(|i| signing_key(i).verifying_key().to_bytes()));
        let mut non_canonical = 0;
        for y in encodings {
            for sign in [0, 0x80] {
                let mut bytes = y;
                bytes[31] = y[31] & 0x7f | sign;
                let Some(point) = CompressedEdwardsY(bytes).decompress() else {
                    continue;
                };
                let round_trips = point.compress().to_bytes() == bytes;
                non_canonical += usize::from(!round_trips);
                assert_eq!(
                    y_is_canonical(&bytes) && !point.is_small_order(),
                    round_trips && !point.is_small_order(),
                    "{bytes:02x?}"
                );
            }
        }
        assert!(
            non_canonical > 10,
            "{non_canonical} non-canonical encodings tried"
        );
    }

    /// Tokens decoded and checked together through their signed message and signature: the
    /// verdicts are Token::verify's.
    #[test]
    fn tokens_are_checked_together_as_token_verify_checks_them() {
        let signer = signing_key(7);
        let key = BatchKey::new(signer.verifying_key());
        let gtin = Gtin::parse("4006381333931").unwrap();
        let mut texts: Vec<String> = (1..=16)
            .map(|serial| {
                let body = MarkBody::new(
                    KeyId::of(&signer.verifying_key()),
                    serial,
                    "JXGE-2026-0001",
                    Some(gtin),
                )
                .unwrap();
                token::sign(&signer, &body)
            })
            .collect();
        // Token 5 presents token 6's signature over its own body.
        let mut swapped = URL_SAFE_NO_PAD.decode(&texts[5]).unwrap();
        let other = URL_SAFE_NO_PAD.decode(&texts[6]).unwrap();
        let at = swapped.len() - 64;
        swapped[at..].copy_from_slice(&other[at..]);
        texts[5] = URL_SAFE_NO_PAD.encode(&swapped);
        let tokens: Vec<Token> = texts.iter().map(|t| Token::decode(t).unwrap()).collect();
        let messages: Vec<_> = tokens.iter().map(Token::signed_message).collect();
        let items: Vec<Item<'_>> = tokens
            .iter()
            .zip(&messages)
            .map(|(token, message)| Item {
                key: &key,
                message: message.as_ref(),
                signature: token.signature(),
            })
            .collect();
        let want: Vec<bool> = tokens
            .iter()
            .map(|t| t.verify(&signer.verifying_key()))
            .collect();
        assert_eq!(want.iter().filter(|v| !**v).count(), 1);
        assert_eq!(verify_each(&items), want);
    }

    /// How a test item is made.
    #[derive(Clone, Copy, Debug)]
    enum Make {
        Honest,
        AlteredMessage,
        FlippedBit(usize),
        SPlusEll,
        /// Signed by the other key, presented under the first.
        WrongKey,
        /// Under a key with a torsion component (verify_strict's path).
        TorsionKey,
    }

    fn make() -> impl Strategy<Value = Make> {
        prop_oneof![
            12 => Just(Make::Honest),
            1 => Just(Make::AlteredMessage),
            1 => (0_usize..512).prop_map(Make::FlippedBit),
            1 => Just(Make::SPlusEll),
            1 => Just(Make::WrongKey),
            1 => Just(Make::TorsionKey),
        ]
    }

    proptest! {
        #![proptest_config(crate::domain::seeded(64))]

        /// Random batches with bad items anywhere, and at most one signature with torsion in R
        /// (two may cancel: the residual case): verdicts equal verify_strict's item by item.
        #[test]
        fn verify_each_decides_every_item_as_verify_strict(
            makes in prop::collection::vec(make(), 1..80),
            torsion_r in prop::option::of((any::<prop::sample::Index>(), 1_usize..8)),
        ) {
            let signers = [signing_key(20), signing_key(21)];
            let keys = signers.each_ref().map(|s| BatchKey::new(s.verifying_key()));
            let a = expand(&signers[0]);
            let torsion_public = VerifyingKey::from_bytes(
                &(signers[0].verifying_key().to_edwards() + EIGHT_TORSION[3]).compress().to_bytes(),
            )
            .unwrap();
            let torsion_key = BatchKey::new(torsion_public);
            let mut signed: Vec<Signed<'_>> = makes
                .iter()
                .enumerate()
                .map(|(i, make)| {
                    let m = message(i);
                    let honest = signers[i % 2].sign(&m);
                    let (key, message, signature) = match *make {
                        Make::Honest => (&keys[i % 2], m, honest),
                        Make::AlteredMessage => (&keys[i % 2], message(i + 1000), honest),
                        Make::FlippedBit(bit) => (&keys[i % 2], m, flip_bit(&honest, bit)),
                        Make::SPlusEll => (&keys[i % 2], m, s_plus_ell(&honest)),
                        Make::WrongKey => (&keys[0], m.clone(), signers[1].sign(&m)),
                        Make::TorsionKey => {
                            let signature = sign_raw(&a, &torsion_public, &m, EdwardsPoint::default());
                            (&torsion_key, m, signature)
                        }
                    };
                    Signed { key, message, signature }
                })
                .collect();
            if let Some((position, t)) = torsion_r {
                let position = position.index(signed.len());
                let m = message(position);
                signed[position] = Signed {
                    key: &keys[0],
                    signature: sign_raw(&a, &signers[0].verifying_key(), &m, EIGHT_TORSION[t]),
                    message: m,
                };
            }
            prop_assert_eq!(batch(&signed), strict(&signed));
        }
    }
}
