//! A recognised partner brand's mark (品牌互认): token v1 under a key the partner's root
//! endorsed. Here is no registry of the partner's batches, so the rules of SPEC.md "Verdicts"
//! apply to what can be decided from the token and the partner's key alone: a signature that
//! fails is `forged` (`bad_signature`); a label URL whose path names another serial or GTIN
//! than the token is `altered` (`url_mismatch`), while its host is the partner's business,
//! not ours (the partner prints its labels on its own hosts); a certificate code read off the label that differs from the token's is
//! `altered` (`claims_mismatch`). Everything else is the partner's to say: its answer for the
//! mark ([`merge`]) brings the status (revoked, void, suspended, or its own `altered` for a
//! changed body) and the registered facts; without it the mark is `genuine` with its status
//! `unknown`. A partner's mark is always answered with `recognised`, never as this brand's.

use crate::domain::gtin::Gtin;
use crate::domain::key::KeyStatus;
use crate::domain::verdict::{Answer, Facts, Flag, Reason, Recognised, StatusSource, Verdict};
use crate::mark::token::Token;
use crate::projections::brands::PartnerKeyEntry;

/// What was presented beside a partner's token: a GS1 label URL's GTIN and serial path
/// segments as they stood, and the certificate code and GTIN an inspector read off the label.
pub struct Beside<'a> {
    pub url_path: Option<(&'a str, &'a str)>,
    pub certificate_code: Option<&'a str>,
    pub gtin: Option<Gtin>,
}

/// The answer from the token and the partner's key alone; `signature_valid` is the token's
/// signature over its own body under the key.
pub fn check(
    entry: &PartnerKeyEntry,
    token: &Token,
    beside: &Beside,
    signature_valid: bool,
) -> Answer {
    if !signature_valid {
        return Answer {
            verdict: Verdict::Forged,
            reason: Reason::BadSignature,
            facts: None,
            flags: Vec::new(),
            recognised: None,
        };
    }
    let body = token.body();
    let path_differs = beside.url_path.is_some_and(|(gtin, serial)| {
        serial != body.serial().to_string() || body.gtin().is_none_or(|g| gtin != g.to_string())
    });
    let (verdict, reason) = if path_differs {
        (Verdict::Altered, Reason::UrlMismatch)
    } else if beside
        .certificate_code
        .is_some_and(|c| c.trim() != body.certificate())
    {
        (Verdict::Altered, Reason::ClaimsMismatch)
    } else {
        (Verdict::Genuine, Reason::Registered)
    };
    let mut flags = Vec::new();
    if beside.gtin.is_some_and(|g| Some(g) != body.gtin()) {
        flags.push(Flag::Traded);
    }
    if entry.key.status == KeyStatus::Compromised {
        flags.push(Flag::KeyCompromised);
    }
    Answer {
        verdict,
        reason,
        facts: None,
        flags,
        recognised: Some(Recognised {
            brand: entry.partner.name.clone(),
            origin: entry.partner.origin.clone(),
            issuer_id: entry.key.added.issuer_id.as_str().to_owned(),
            issuer_brand: entry.key.brand.clone(),
            status: StatusSource::Unknown,
        }),
    }
}

/// What a partner answered for one of its marks.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct PartnerAnswer {
    pub verdict: Verdict,
    pub reason: Reason,
    pub facts: Option<Facts>,
    #[serde(default)]
    pub flags: Vec<Flag>,
}

/// `answer` (from [`check`]) with the partner's own answer for the mark: a genuine mark takes
/// the partner's verdict, reason and flags (its status: revoked, void, suspended, or changed);
/// any answer takes the partner's facts to show, and a USCC read off the label that differs
/// from the partner's licensee raises `traded`. The status is then `live`.
pub fn merge(mut answer: Answer, partner: PartnerAnswer, uscc_claim: Option<&str>) -> Answer {
    let Some(recognised) = answer.recognised.as_mut() else {
        return answer;
    };
    recognised.status = StatusSource::Live;
    if answer.verdict == Verdict::Genuine {
        answer.verdict = partner.verdict;
        answer.reason = partner.reason;
    }
    answer.flags.extend(partner.flags);
    if let (Some(claim), Some(facts)) = (uscc_claim, &partner.facts) {
        if !claim.trim().eq_ignore_ascii_case(&facts.enterprise_uscc) {
            answer.flags.push(Flag::Traded);
        }
    }
    answer.flags.sort();
    answer.flags.dedup();
    answer.facts = partner.facts;
    answer
}
