//! The verdict rules of SPEC.md "Verdicts", in their order, first match wins. Cheap rejections
//! come first and cost no signature work: a token that does not decode, another version, a key
//! id no issuer key has. The signature outcome for a token (genuine, altered, signed but never
//! issued, bad) depends only on the token text and the batch that holds its serial, both
//! immutable, so it is cached; everything that can change (mark and certificate status, key
//! compromise) is read from the index on every check, so a cached entry never outlives a
//! revocation.

use std::str::FromStr;
use std::sync::Arc;

use axum::http::uri::Authority;
use serde::Deserialize;
use time::Date;

use super::verdict::{Answer, CertificateStatus, Facts, Flag, Reason, Verdict};
use crate::domain::batch::{BatchIssued, MarkStatus};
use crate::domain::certificate::CertificateState;
use crate::domain::gtin::Gtin;
use crate::domain::key::{KeyId, KeyStatus};
use crate::mark::index::{KeyEntry, MarkIndex, Registered};
use crate::mark::token::{MarkBody, Token, TokenError};

/// What an inspector read off the physical label or product.
#[derive(Clone, Debug, Default, Deserialize)]
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

/// A check's outcome: the answer, the serial of a decodable token (the scan record's key),
/// and, when a registered key signed a body the registry never issued, that key and serial.
pub struct Checked {
    pub answer: Answer,
    pub serial: Option<u64>,
    pub misuse: Option<(KeyId, u64)>,
}

/// What the signature says, given the batch that holds the serial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Signature {
    /// Valid over the presented body, which is the registered one.
    Genuine,
    /// Valid over the registered body, which differs from the presented one.
    Altered,
    /// Valid over a presented body that no batch issued.
    Unregistered,
    Bad,
}

/// Signature outcomes by token text, with the first serial of the batch they were decided
/// against (0: none), since a serial in no batch may be issued later.
pub struct Signatures {
    cache: moka::sync::Cache<Arc<str>, (Signature, u64)>,
}

impl Signatures {
    pub fn new(capacity: u64) -> Signatures {
        Signatures {
            cache: moka::sync::Cache::new(capacity),
        }
    }

    /// The outcome for a token, and whether it was decided now (not cached).
    fn outcome(
        &self,
        text: &str,
        token: &Token,
        key: &KeyEntry,
        batch: Option<&BatchIssued>,
    ) -> (Signature, bool) {
        let against = batch.map_or(0, |b| b.first_serial);
        if let Some((outcome, seen)) = self.cache.get(text) {
            if seen == against {
                return (outcome, false);
            }
        }
        let outcome = decide(token, key, batch);
        self.cache.insert(Arc::from(text), (outcome, against));
        (outcome, true)
    }
}

fn decide(token: &Token, key: &KeyEntry, batch: Option<&BatchIssued>) -> Signature {
    let body = token.body();
    let rebuilt = batch
        .and_then(|b| MarkBody::new(b.key_id, body.serial(), &b.certificate_code, b.gtin).ok());
    match rebuilt {
        Some(rebuilt) if rebuilt == *body => {
            if token.verify(&key.public) {
                Signature::Genuine
            } else {
                Signature::Bad
            }
        }
        Some(rebuilt) if token.verifies_over(&key.public, &rebuilt) => Signature::Altered,
        _ if token.verify(&key.public) => Signature::Unregistered,
        _ => Signature::Bad,
    }
}

/// The hosts the brand prints label URLs on (SPEC.md "Label URL"): the public URL's host, with
/// its port as the public URL has it, and any configured extra label hosts, for a deployment
/// that moved domain. Hosts compare case-insensitively (they are stored lowercase).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelHosts(Vec<(String, Option<u16>)>);

/// A label host that is not `host` or `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a host or host:port")]
pub struct InvalidLabelHost(pub String);

impl LabelHosts {
    /// The public URL's host and port, then each of `extra` (`host` or `host:port`).
    pub fn new(public_url: &str, extra: &[String]) -> Result<LabelHosts, InvalidLabelHost> {
        let public = split_url(public_url)
            .and_then(|(scheme, authority, _)| host_port(authority, default_port(scheme)))
            .ok_or_else(|| InvalidLabelHost(public_url.to_owned()))?;
        let mut hosts = vec![public];
        for host in extra {
            // A bare authority: no user information, which would hide the real host.
            let parsed = (!host.contains('@'))
                .then(|| host_port(host, None))
                .flatten()
                .ok_or_else(|| InvalidLabelHost(host.clone()))?;
            hosts.push(parsed);
        }
        Ok(LabelHosts(hosts))
    }

    fn contains(&self, scheme: &str, authority: &str) -> bool {
        host_port(authority, default_port(scheme)).is_some_and(|label| self.0.contains(&label))
    }
}

/// `(host, port)` of an authority, the host lowercase and the port `None` when it is absent
/// or the scheme's `default` (`https://host:443/` is `https://host/`); any user information is
/// dropped, since a browser goes to the host after it (`http://ours.example@evil.example/`
/// is evil.example).
fn host_port(authority: &str, default: Option<u16>) -> Option<(String, Option<u16>)> {
    let authority = Authority::from_str(authority).ok()?;
    let host = authority.host();
    let port = authority.port_u16().filter(|&p| Some(p) != default);
    (!host.is_empty()).then(|| (host.to_ascii_lowercase(), port))
}

fn default_port(scheme: &str) -> Option<u16> {
    if scheme.eq_ignore_ascii_case("https") {
        Some(443)
    } else {
        Some(80)
    }
}

/// An `http(s)` URL's scheme, authority and the rest (path, query, fragment).
fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(end);
    Some((scheme, authority, rest))
}

/// A label URL taken apart.
#[derive(Debug, PartialEq, Eq)]
pub struct LabelUrl<'a> {
    pub token: &'a str,
    /// The GS1 form's GTIN and serial path segments, exactly as they stood.
    pub gs1_path: Option<(&'a str, &'a str)>,
    /// The URL's host is not one the brand prints: a genuine token copied onto a label that
    /// sends consumers elsewhere is a changed label (`altered`, `url_mismatch`).
    pub foreign_host: bool,
}

impl<'a> LabelUrl<'a> {
    /// What verifying this label URL presents.
    pub fn presented(&self, claims: Option<&'a Claims>) -> Presented<'a> {
        Presented {
            token: self.token,
            url_path: self.gs1_path,
            foreign_host: self.foreign_host,
            claims,
        }
    }
}

/// An `http(s)` label URL: `…/v/{token}` or `…/01/{gtin}/21/{serial}?t={token}`, on any host
/// (whether it is a label host is part of the answer, decided after the token's signature).
///
/// The path is read from its end, segment by segment. The public URL before the label's own
/// segments may have a path of its own, which may hold a `v`, `01` or `21` segment too
/// (`https://brand.example/v` prints `https://brand.example/v/01/…`), so searching the text
/// for `/v/` or `/01/` is not enough.
pub fn parse_label_url<'a>(url: &'a str, hosts: &LabelHosts) -> Option<LabelUrl<'a>> {
    let (scheme, authority, rest) = split_url(url)?;
    let foreign_host = !hosts.contains(scheme, authority);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut segments = path.rsplit('/');
    let last = segments.next()?;
    let (token, gs1_path) = match segments.next()? {
        "v" if query.is_empty() => (last, None),
        "21" => {
            let gtin = segments.next()?;
            if segments.next()? != "01" {
                return None;
            }
            let token = query.split('&').find_map(|pair| pair.strip_prefix("t="))?;
            (token, Some((gtin, last)))
        }
        _ => return None,
    };
    Some(LabelUrl {
        token,
        gs1_path,
        foreign_host,
    })
}

fn forged(reason: Reason) -> Answer {
    Answer {
        verdict: Verdict::Forged,
        reason,
        facts: None,
        flags: Vec::new(),
    }
}

/// Decides the verdict for what was presented, as of `today`.
pub fn check(
    index: &MarkIndex,
    signatures: &Signatures,
    presented: &Presented,
    today: Date,
) -> Checked {
    let token = match Token::decode(presented.token) {
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
            };
        }
    };
    let body = token.body();
    let serial = body.serial();
    let done = |answer| Checked {
        answer,
        serial: Some(serial),
        misuse: None,
    };
    let Some(key) = index.key(body.key_id()) else {
        return done(forged(Reason::UnknownKey));
    };
    let registered = index
        .registered(serial)
        .filter(|r| r.mark.batch.key_id == body.key_id());
    let batch = registered.as_ref().map(|r| r.mark.batch.as_ref());
    let (outcome, fresh) = signatures.outcome(presented.token, &token, &key, batch);
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
            };
        }
        _ => return done(forged(Reason::BadSignature)),
    };
    let batch = &registered.mark.batch;
    let url_mismatch = presented.foreign_host
        || presented.url_path.is_some_and(|(gtin, path_serial)| {
            path_serial != serial.to_string() || batch.gtin.is_none_or(|g| gtin != g.to_string())
        });
    if url_mismatch {
        return done(answer(
            Verdict::Altered,
            Reason::UrlMismatch,
            &registered,
            &key,
            today,
            Vec::new(),
        ));
    }
    let mut flags = Vec::new();
    if let Some(claims) = presented.claims {
        if claims
            .certificate_code
            .as_deref()
            .is_some_and(|c| c.trim() != batch.certificate_code)
        {
            return done(answer(
                Verdict::Altered,
                Reason::ClaimsMismatch,
                &registered,
                &key,
                today,
                flags,
            ));
        }
        let other_enterprise = claims
            .enterprise_uscc
            .as_deref()
            .is_some_and(|u| !u.trim().eq_ignore_ascii_case(&batch.enterprise_uscc));
        let other_gtin = claims.gtin.is_some_and(|g| Some(g) != batch.gtin);
        if other_enterprise || other_gtin {
            flags.push(Flag::Traded);
        }
    }
    let certificate = certificate_status(&registered, today);
    let (verdict, reason) = match (registered.mark.status, certificate) {
        (Some(MarkStatus::Voided), _) => (Verdict::Void, Reason::Voided),
        (Some(MarkStatus::Lost), _) => (Verdict::Void, Reason::Lost),
        (Some(MarkStatus::Stolen), _) => (Verdict::Void, Reason::Stolen),
        (Some(MarkStatus::Revoked), _) => (Verdict::Revoked, Reason::MarkRevoked),
        (_, Some(CertificateStatus::Revoked)) => (Verdict::Revoked, Reason::CertificateRevoked),
        (Some(MarkStatus::Suspended), _) => (Verdict::Suspended, Reason::MarkSuspended),
        (_, Some(CertificateStatus::Suspended)) => {
            (Verdict::Suspended, Reason::CertificateSuspended)
        }
        _ => (Verdict::Genuine, Reason::Registered),
    };
    if verdict == Verdict::Void {
        flags.push(Flag::Leaked);
    }
    done(answer(verdict, reason, &registered, &key, today, flags))
}

/// The certificate's status as of `today`; `None` if the index lacks the certificate.
fn certificate_status(registered: &Registered, today: Date) -> Option<CertificateStatus> {
    let certificate = registered.certificate.as_ref()?;
    let until = certificate.issued.as_ref().map(|i| i.valid_until);
    Some(match certificate.state.on(today, until) {
        CertificateState::Issued => CertificateStatus::Valid,
        CertificateState::Expired => CertificateStatus::Expired,
        CertificateState::Suspended => CertificateStatus::Suspended,
        // Revoked, and states a certificate with a batch cannot be in: never show them valid.
        _ => CertificateStatus::Revoked,
    })
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
    }
}

fn facts(registered: &Registered, today: Date) -> Option<Facts> {
    let serial = registered.serial;
    let batch = &registered.mark.batch;
    let certificate = registered.certificate.as_ref()?;
    let issued = certificate.issued.as_ref()?;
    let issuer = registered.issuer.as_ref()?;
    let enterprise = registered.enterprise.as_ref()?;
    Some(Facts {
        serial,
        brand: issuer.brand.clone(),
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

#[cfg(test)]
mod tests {
    use super::{InvalidLabelHost, LabelHosts, LabelUrl, parse_label_url};

    fn hosts() -> LabelHosts {
        LabelHosts::new(
            "https://M.example.cn/marks",
            &["old.example.cn:8443".into()],
        )
        .unwrap()
    }

    fn ours<'a>(token: &'a str, gs1_path: Option<(&'a str, &'a str)>) -> Option<LabelUrl<'a>> {
        Some(LabelUrl {
            token,
            gs1_path,
            foreign_host: false,
        })
    }

    #[test]
    fn label_urls_of_both_forms_are_parsed_and_others_refused() {
        let hosts = hosts();
        assert_eq!(
            parse_label_url("https://m.example.cn/v/AbC_-1", &hosts),
            ours("AbC_-1", None)
        );
        assert_eq!(
            parse_label_url("https://m.example.cn/01/06901234567892/21/17?t=AbC", &hosts),
            ours("AbC", Some(("06901234567892", "17")))
        );
        for bad in [
            "https://m.example.cn/x/AbC",
            "https://m.example.cn/v/a/b",
            "https://m.example.cn/01/069/22/17?t=AbC",
            "https://m.example.cn/01/069/21/17",
            "https://m.example.cn/01/069/21/17/x?t=AbC",
            "m.example.cn/v/AbC",
            "ftp://m.example.cn/v/AbC",
            "/v/AbC",
        ] {
            assert_eq!(parse_label_url(bad, &hosts), None, "{bad}");
        }
    }

    #[test]
    fn label_hosts_are_the_public_url_s_and_the_extra_ones_in_any_case() {
        let hosts = hosts();
        for url in [
            "https://m.example.cn/v/AbC",
            "HTTP://M.EXAMPLE.CN/v/AbC",
            "https://old.example.cn:8443/v/AbC",
            "https://OLD.example.cn:8443/01/06901234567892/21/17?t=AbC",
            "https://evil@m.example.cn/v/AbC",
            "https://m.example.cn:443/v/AbC",
            "http://m.example.cn:80/v/AbC",
        ] {
            let parsed = parse_label_url(url, &hosts).unwrap();
            assert!(!parsed.foreign_host, "{url}");
        }
        for url in [
            "https://evil.example/v/AbC",
            "https://m.example.cn.evil.example/v/AbC",
            "https://m.example.cn:8443/v/AbC",
            "http://m.example.cn:443/v/AbC",
            "https://old.example.cn/v/AbC",
            "https://m.example.cn@evil.example/v/AbC",
            "https://evil.example/01/06901234567892/21/17?t=AbC",
            "https:///v/AbC",
        ] {
            let parsed = parse_label_url(url, &hosts).unwrap();
            assert!(parsed.foreign_host, "{url}");
        }
    }

    #[test]
    fn an_extra_label_host_is_a_bare_host_and_port() {
        for bad in [
            "",
            "https://old.example.cn",
            "old.example.cn/v",
            "a@old.example.cn",
        ] {
            assert_eq!(
                LabelHosts::new("https://m.example.cn", &[bad.into()]),
                Err(InvalidLabelHost(bad.into())),
                "{bad}"
            );
        }
    }

    /// Found by the property tests (`tests/props`): the GS1 form under the public URL
    /// `http://a/v` was searched for `/v/` first and refused.
    #[test]
    fn a_gs1_url_under_a_public_url_whose_path_ends_in_v_is_parsed() {
        let hosts = LabelHosts::new("http://a/v", &[]).unwrap();
        assert_eq!(
            parse_label_url("http://a/v/01/06901234567892/21/1?t=AbC", &hosts),
            ours("AbC", Some(("06901234567892", "1")))
        );
        assert_eq!(
            parse_label_url("http://a/01/21/v/AbC", &hosts),
            ours("AbC", None)
        );
        assert_eq!(
            parse_label_url("http://a/v/21/01/06901234567892/21/1?t=AbC", &hosts),
            ours("AbC", Some(("06901234567892", "1")))
        );
    }
}
