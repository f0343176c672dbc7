//! The verdict rules of SPEC.md "Verdicts", in their order, first match wins. Cheap rejections
//! come first and cost no signature work: a token that does not decode, another version, a key
//! id no issuer key has. The signature outcome for a token (genuine, altered, signed but never
//! issued, bad) depends only on the token text and the batch that holds its serial, both
//! immutable, so it is cached; everything that can change (mark and certificate status, key
//! compromise) is read from the index on every check, so a cached entry never outlives a
//! revocation.

use std::sync::Arc;

use ed25519_dalek::VerifyingKey;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::Date;

use crate::domain::batch::{BatchIssued, MarkStatus};
use crate::domain::brand::PartnerBrandRegistered;
use crate::domain::gtin::Gtin;
use crate::domain::key::{KeyId, KeyStatus};
use crate::domain::verdict::{Answer, CertificateStatus, Facts, Flag, Reason, Verdict};
use crate::mark::batch::BatchKey;
use crate::mark::label::LabelUrl;
use crate::mark::token::{MarkBody, Token, TokenError};
use crate::projections::brands::PartnerKeyEntry;
use crate::projections::marks::{KeyEntry, MarkIndex, Registered};

use super::partner;

/// What an inspector read off the physical label or product.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    pub certificate_code: Option<String>,
    pub enterprise_uscc: Option<String>,
    pub gtin: Option<Gtin>,
}

/// What was presented: the token and, from a GS1 Digital Link URL, the path's GTIN and serial
/// segments exactly as they stood (a label whose path was changed must not match by parsing),
/// and whether a label URL named a host the brand does not print labels for.
pub struct Presented<'a> {
    pub token: &'a str,
    pub url_path: Option<(&'a str, &'a str)>,
    pub foreign_host: bool,
    pub claims: Option<&'a Claims>,
}

impl<'a> Presented<'a> {
    /// A bare token, as sent to `POST /verify` or typed in: it names no host and no path.
    pub fn token(token: &'a str, claims: Option<&'a Claims>) -> Presented<'a> {
        Presented {
            token,
            url_path: None,
            foreign_host: false,
            claims,
        }
    }

    /// What a label URL presents.
    pub fn label(url: &LabelUrl<'a>, claims: Option<&'a Claims>) -> Presented<'a> {
        Presented {
            token: url.token,
            url_path: url.gs1_path,
            foreign_host: url.foreign_host,
            claims,
        }
    }
}

/// A check's outcome: the answer, the serial of a decodable token (the scan record's key),
/// and, when a registered key signed a body the registry never issued, that key and serial.
pub struct Checked {
    pub answer: Answer,
    pub serial: Option<u64>,
    pub misuse: Option<(KeyId, u64)>,
    /// The partner brand whose key signed the token, when it is a partner's mark.
    pub partner: Option<Arc<PartnerBrandRegistered>>,
}

/// What the signature says, given the batch that holds the serial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signature {
    /// Valid over the presented body, which is the registered one.
    Genuine,
    /// Valid over the registered body, which differs from the presented one.
    Altered,
    /// Valid over a presented body that no batch issued.
    Unregistered,
    Bad,
}

/// Signature outcomes by token, with the first serial of the batch they were decided against
/// (0: none), since a serial in no batch may be issued later. Bounded by bytes: an entry is
/// keyed by 128 bits of the token's SHA-256 (a token is up to 200 characters; a collision
/// would take 2⁶⁴ tokens), so every entry costs the same, [`ENTRY_BYTES`] with the cache's
/// own overhead (measured: 1,000,000 entries take 62 MiB).
pub struct Signatures {
    cache: quick_cache::sync::Cache<[u8; 16], (Signature, u64)>,
}

/// Memory one cached outcome takes, the cache's bookkeeping included.
pub const ENTRY_BYTES: u64 = 66;

impl Signatures {
    /// A cache of at most `bytes` of outcomes.
    pub fn new(bytes: u64) -> Signatures {
        let entries = usize::try_from(bytes / ENTRY_BYTES)
            .unwrap_or(usize::MAX)
            .max(1);
        Signatures {
            cache: quick_cache::sync::Cache::new(entries),
        }
    }

    /// Decodes what was presented and looks its outcome up, once per verification: the
    /// caller asks the result for a [`Pending`] check and hands both to [`check`].
    pub fn prepare(&self, text: &str) -> Prepared {
        let token = Token::decode(text);
        // Junk never reaches the hash.
        let id = token.as_ref().ok().map(|_| token_id(text));
        let cached = id.and_then(|id| self.cache.get(&id));
        Prepared { token, id, cached }
    }

    /// The outcome for a token, and whether it was decided now (not cached).
    fn outcome(
        &self,
        prepared: &Prepared,
        token: &Token,
        key: &KeyEntry,
        batch: Option<&BatchIssued>,
        own: Option<bool>,
    ) -> (Signature, bool) {
        let against = batch.map_or(0, |b| b.first_serial);
        if let Some((outcome, seen)) = prepared.cached {
            if seen == against {
                return (outcome, false);
            }
        }
        let rebuilt = batch.and_then(|b| rebuilt(token, b.key_id, &b.certificate_code, b.gtin));
        let outcome = decide(token, &key.public, rebuilt, own);
        if let Some(id) = prepared.id {
            self.cache.insert(id, (outcome, against));
        }
        (outcome, true)
    }

    /// Whether a partner's token is validly signed by its key, cached like our own marks'
    /// outcomes (against [`PARTNER`]).
    fn partner_valid(
        &self,
        prepared: &Prepared,
        token: &Token,
        entry: &PartnerKeyEntry,
        own: Option<bool>,
    ) -> bool {
        if let Some((outcome, PARTNER)) = prepared.cached {
            return outcome == Signature::Genuine;
        }
        let valid = own.unwrap_or_else(|| token.verify(&entry.key.added.public_key));
        if let Some(id) = prepared.id {
            let outcome = if valid {
                Signature::Genuine
            } else {
                Signature::Bad
            };
            self.cache.insert(id, (outcome, PARTNER));
        }
        valid
    }
}

/// What a partner's token's cached outcome was decided against: no batch of ours, since a
/// partner's key id is never one of our keys' (both are claimed in `keyid-<id>`).
const PARTNER: u64 = u64::MAX;

/// What was presented, decoded, with its cache key and cached outcome.
pub struct Prepared {
    token: Result<Token, TokenError>,
    id: Option<[u8; 16]>,
    cached: Option<(Signature, u64)>,
}

impl Prepared {
    /// The signature check the outcome needs, when it is not cached and the token names a
    /// registered key: its signature over its own body, which the caller checks in a batch
    /// with others and hands to [`check`].
    pub fn pending(&self, index: &MarkIndex) -> Option<Pending> {
        let token = self.token.as_ref().ok().filter(|_| self.cached.is_none())?;
        let key_id = token.body().key_id();
        let key = match index.key(key_id) {
            Some(key) => key.batch,
            None => index.partner_key(key_id)?.batch,
        };
        Some(Pending {
            key,
            message: token.signed_message().as_ref().to_vec(),
            signature: *token.signature(),
        })
    }
}

/// The cache key of a token: the first 128 bits of the SHA-256 of its text.
fn token_id(text: &str) -> [u8; 16] {
    let digest = Sha256::digest(text.as_bytes());
    let mut id = [0; 16];
    id.copy_from_slice(&digest[..16]);
    id
}

/// A token's signature check over its own body, to be done ahead of [`check`].
pub struct Pending {
    pub key: Arc<BatchKey>,
    pub message: Vec<u8>,
    pub signature: ed25519_dalek::Signature,
}

/// The body the registry issued for the token's serial, from its batch's key, certificate
/// code and GTIN.
pub fn rebuilt(token: &Token, key_id: KeyId, code: &str, gtin: Option<Gtin>) -> Option<MarkBody> {
    MarkBody::new(key_id, token.body().serial(), code, gtin).ok()
}

/// The signature outcome (SPEC.md "Verdicts", steps 2 and 3) under the token's key, given the
/// body the registry issued for its serial (`None`: no batch of this key holds it); `own`,
/// when given, is whether the token's signature over its own body is valid, as checked ahead
/// by the caller.
pub fn decide(
    token: &Token,
    public: &VerifyingKey,
    rebuilt: Option<MarkBody>,
    own: Option<bool>,
) -> Signature {
    let own_valid = || own.unwrap_or_else(|| token.verify(public));
    match rebuilt {
        Some(rebuilt) if rebuilt == *token.body() => {
            if own_valid() {
                Signature::Genuine
            } else {
                Signature::Bad
            }
        }
        Some(rebuilt) if token.verifies_over(public, &rebuilt) => Signature::Altered,
        _ if own_valid() => Signature::Unregistered,
        _ => Signature::Bad,
    }
}

/// What the rules read about one of our registered serials besides its signature: its
/// batch's content and its standing. The mark index gives it on the server, a status
/// snapshot offline.
pub struct Standing<'a> {
    pub certificate_code: &'a str,
    pub gtin: Option<Gtin>,
    pub enterprise_uscc: &'a str,
    pub mark: Option<MarkStatus>,
    /// `None` where the registry lacks the certificate.
    pub certificate: Option<CertificateStatus>,
    pub brand_suspended: bool,
}

/// SPEC.md "Verdicts", steps 3 to 7, for a genuine signature: the label URL, the claims, then
/// the mark's, the certificate's and the sub-brand's standing. Returns the verdict, its reason
/// and the flags they raise (`traded`, `leaked`).
pub fn rules(
    standing: &Standing,
    serial: u64,
    presented: &Presented,
) -> (Verdict, Reason, Vec<Flag>) {
    let mut flags = Vec::new();
    let url_mismatch = presented.foreign_host
        || presented.url_path.is_some_and(|(gtin, path_serial)| {
            path_serial != serial.to_string() || standing.gtin.is_none_or(|g| gtin != g.to_string())
        });
    if url_mismatch {
        return (Verdict::Altered, Reason::UrlMismatch, flags);
    }
    if let Some(claims) = presented.claims {
        if claims
            .certificate_code
            .as_deref()
            .is_some_and(|c| c.trim() != standing.certificate_code)
        {
            return (Verdict::Altered, Reason::ClaimsMismatch, flags);
        }
        let other_enterprise = claims
            .enterprise_uscc
            .as_deref()
            .is_some_and(|u| !u.trim().eq_ignore_ascii_case(standing.enterprise_uscc));
        let other_gtin = claims.gtin.is_some_and(|g| Some(g) != standing.gtin);
        if other_enterprise || other_gtin {
            flags.push(Flag::Traded);
        }
    }
    let (verdict, reason) = match (standing.mark, standing.certificate) {
        (Some(MarkStatus::Voided), _) => (Verdict::Void, Reason::Voided),
        (Some(MarkStatus::Lost), _) => (Verdict::Void, Reason::Lost),
        (Some(MarkStatus::Stolen), _) => (Verdict::Void, Reason::Stolen),
        (Some(MarkStatus::Revoked), _) => (Verdict::Revoked, Reason::MarkRevoked),
        (_, Some(CertificateStatus::Revoked)) => (Verdict::Revoked, Reason::CertificateRevoked),
        (Some(MarkStatus::Suspended), _) => (Verdict::Suspended, Reason::MarkSuspended),
        (_, Some(CertificateStatus::Suspended)) => {
            (Verdict::Suspended, Reason::CertificateSuspended)
        }
        _ if standing.brand_suspended => (Verdict::Suspended, Reason::BrandSuspended),
        _ => (Verdict::Genuine, Reason::Registered),
    };
    if verdict == Verdict::Void {
        flags.push(Flag::Leaked);
    }
    (verdict, reason, flags)
}

fn forged(reason: Reason) -> Answer {
    Answer {
        verdict: Verdict::Forged,
        reason,
        facts: None,
        flags: Vec::new(),
        recognised: None,
    }
}

/// Decides the verdict for what was presented (and [`Signatures::prepare`]d), as of `today`.
/// `own` is the outcome of the [`Prepared::pending`] check, when the caller made it.
pub fn check(
    index: &MarkIndex,
    signatures: &Signatures,
    presented: &Presented,
    prepared: &Prepared,
    today: Date,
    own: Option<bool>,
) -> Checked {
    let token = match &prepared.token {
        Ok(token) => token,
        Err(error) => {
            let reason = match error {
                TokenError::UnsupportedVersion(_) => Reason::UnsupportedVersion,
                TokenError::Malformed(_) => Reason::Malformed,
            };
            return Checked {
                answer: forged(reason),
                serial: None,
                misuse: None,
                partner: None,
            };
        }
    };
    let body = token.body();
    let serial = body.serial();
    let done = |answer| Checked {
        answer,
        serial: Some(serial),
        misuse: None,
        partner: None,
    };
    let Some(key) = index.key(body.key_id()) else {
        let Some(entry) = index.partner_key(body.key_id()) else {
            return done(forged(Reason::UnknownKey));
        };
        let valid = signatures.partner_valid(prepared, token, &entry, own);
        let claims = presented.claims;
        let beside = partner::Beside {
            url_path: presented.url_path,
            certificate_code: claims.and_then(|c| c.certificate_code.as_deref()),
            gtin: claims.and_then(|c| c.gtin),
        };
        let answer = partner::check(&entry, token, &beside, valid);
        return Checked {
            partner: answer.recognised.as_ref().map(|_| entry.partner.clone()),
            ..done(answer)
        };
    };
    let registered = index
        .registered(serial)
        .filter(|r| r.mark.batch.key_id == body.key_id());
    let batch = registered.as_ref().map(|r| r.mark.batch.as_ref());
    let (outcome, fresh) = signatures.outcome(prepared, token, &key, batch, own);
    let registered = match (outcome, registered) {
        (Signature::Genuine, Some(registered)) => registered,
        (Signature::Altered, Some(registered)) => {
            let answer = answer(
                Verdict::Altered,
                Reason::BodyMismatch,
                &registered,
                &key,
                today,
                Vec::new(),
            );
            return done(answer);
        }
        (Signature::Unregistered, _) => {
            return Checked {
                answer: forged(Reason::UnregisteredSignedMark),
                serial: Some(serial),
                // Reported when first decided; the cache answers repeats without a new event.
                misuse: fresh.then_some((body.key_id(), serial)),
                partner: None,
            };
        }
        _ => return done(forged(Reason::BadSignature)),
    };
    let batch = &registered.mark.batch;
    let standing = Standing {
        certificate_code: &batch.certificate_code,
        gtin: batch.gtin,
        enterprise_uscc: &batch.enterprise_uscc,
        mark: registered.mark.status,
        certificate: certificate_status(&registered, today),
        brand_suspended: registered.sub_brand.as_ref().is_some_and(|b| b.suspended()),
    };
    let (verdict, reason, flags) = rules(&standing, serial, presented);
    done(answer(verdict, reason, &registered, &key, today, flags))
}

/// The certificate's status as of `today`; `None` if the index lacks the certificate.
fn certificate_status(registered: &Registered, today: Date) -> Option<CertificateStatus> {
    let certificate = registered.certificate.as_ref()?;
    let until = certificate.issued.as_ref().map(|i| i.valid_until);
    Some(CertificateStatus::of(certificate.state, until, today))
}

fn answer(
    verdict: Verdict,
    reason: Reason,
    registered: &Registered,
    key: &KeyEntry,
    today: Date,
    mut flags: Vec<Flag>,
) -> Answer {
    if key.status == KeyStatus::Compromised {
        flags.push(Flag::KeyCompromised);
    }
    flags.extend(&registered.flags);
    flags.sort();
    flags.dedup();
    Answer {
        verdict,
        reason,
        facts: facts(registered, today),
        flags,
        recognised: None,
    }
}

fn facts(registered: &Registered, today: Date) -> Option<Facts> {
    let serial = registered.serial;
    let batch = &registered.mark.batch;
    let certificate = registered.certificate.as_ref()?;
    let issued = certificate.issued.as_ref()?;
    let issuer = registered.issuer.as_ref()?;
    let enterprise = registered.enterprise.as_ref()?;
    let brand = match &registered.sub_brand {
        Some(sub_brand) => format!("{} · {}", issuer.brand, sub_brand.registered.name),
        None => issuer.brand.clone(),
    };
    Some(Facts {
        serial,
        brand,
        issuer_id: issuer.issuer_id.as_str().to_owned(),
        issuer_name: issuer.name.clone(),
        enterprise_name: enterprise.name.clone(),
        enterprise_uscc: enterprise.uscc.clone(),
        product_name: certificate.applied.product_name.clone(),
        product_category: certificate.applied.product_category.clone(),
        certificate_code: batch.certificate_code.clone(),
        certificate_status: certificate_status(registered, today)?,
        valid_from: issued.valid_from.to_string(),
        valid_until: issued.valid_until.to_string(),
        batch_id: batch.batch_id.clone(),
        gtin: batch.gtin.map(|g| g.to_string()),
        lot: batch.lot.clone(),
    })
}
