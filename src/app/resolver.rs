//! The GS1 Digital Link resolver ([`Resolver`]): the links a GTIN (`/01/{gtin}`) or one of
//! our marks (`/01/{gtin}/21/{serial}`) resolves to, per the GS1-Conformant Resolver standard,
//! and the public page of a certificate they point to. It decides which links exist; the HTTP
//! edge decides between the linkset (RFC 9264), a redirect and the verdict page.
//!
//! Links, each under its GS1 Web Vocabulary link type:
//! - `gs1:certificationInfo`: the public page of each certificate the GTIN's batches (or the
//!   mark's batch) were issued under, `GET /api/v1/public/certificates/{code}`;
//! - `gs1:verificationService`: `POST /api/v1/verify`, which checks a mark's token;
//! - `gs1:pip`: the product information page, when `pip_url_template` is configured;
//! - `gs1:defaultLink`: where a plain request goes. For a mark whose token came with the
//!   request, its label URL (the verdict page); otherwise the product page if configured,
//!   else the first certificate's page.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::app::epcis::TraceError;
use crate::app::registry::Registry;
use crate::domain::certificate::{CertificateCodeClaimed, certificate_code_stream, parse_code};
use crate::domain::epcis::certificate_page;
use crate::domain::gtin::Gtin;
use crate::log::Log;
use crate::projections::marks::MarkIndex;

/// The GS1 Web Vocabulary link types this resolver serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkType {
    CertificationInfo,
    VerificationService,
    Pip,
    DefaultLink,
}

impl LinkType {
    const ALL: [LinkType; 4] = [
        LinkType::CertificationInfo,
        LinkType::VerificationService,
        LinkType::Pip,
        LinkType::DefaultLink,
    ];

    fn name(self) -> &'static str {
        match self {
            LinkType::CertificationInfo => "certificationInfo",
            LinkType::VerificationService => "verificationService",
            LinkType::Pip => "pip",
            LinkType::DefaultLink => "defaultLink",
        }
    }

    /// The link relation type as a linkset names it: the vocabulary term's URI.
    pub fn uri(self) -> String {
        format!("https://gs1.org/voc/{}", self.name())
    }

    /// A `linkType` query value: the compact form `gs1:pip` or the term's URI (with or
    /// without `www.`, or at `ref.gs1.org`, which GS1 serves the vocabulary from too).
    pub fn parse(value: &str) -> Option<LinkType> {
        let term = [
            "gs1:",
            "https://gs1.org/voc/",
            "https://www.gs1.org/voc/",
            "https://ref.gs1.org/voc/",
        ]
        .iter()
        .find_map(|prefix| value.strip_prefix(prefix))?;
        LinkType::ALL.into_iter().find(|t| t.name() == term)
    }
}

/// One link target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    pub href: String,
    pub title: String,
    /// The media type of what `href` serves.
    #[serde(rename = "type")]
    pub media: &'static str,
}

/// What one GS1 Digital Link URI resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Links {
    /// The URI resolved, on this host, without a query.
    pub anchor: String,
    links: Vec<(LinkType, Target)>,
}

impl Links {
    /// The first target of a link type.
    pub fn target(&self, link_type: LinkType) -> Option<&Target> {
        self.links
            .iter()
            .find(|(t, _)| *t == link_type)
            .map(|(_, target)| target)
    }

    /// The RFC 9264 JSON linkset: one link context object, the anchor, and each link relation
    /// type with the array of its targets.
    pub fn linkset(&self) -> Value {
        let mut context = Map::new();
        context.insert("anchor".into(), json!(self.anchor));
        for (link_type, target) in &self.links {
            let targets = context
                .entry(link_type.uri())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(targets) = targets {
                targets.push(json!(target));
            }
        }
        json!({"linkset": [context]})
    }
}

/// A certificate's public facts: what the page a `gs1:certificationInfo` link points to shows.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PublicCertificate {
    pub code: String,
    /// `issued`, `suspended`, `revoked`, or `expired` once its validity has ended.
    pub status: String,
    pub valid_from: Option<time::Date>,
    pub valid_until: Option<time::Date>,
    /// The certification body.
    pub issuer: String,
    /// The licensee's unified social credit code.
    pub enterprise_uscc: String,
    pub product_name: String,
    pub product_category: String,
    /// The standard the product was evaluated against.
    pub standard: String,
    pub scope: String,
}

/// The resolver: links of GTINs and marks, and certificates' public pages.
#[derive(Clone)]
pub struct Resolver {
    log: Log,
    index: Arc<MarkIndex>,
    registry: Registry,
    public_url: String,
    /// The product information page of a GTIN: a URL with `{gtin}` for the GTIN-14.
    pip_template: Option<String>,
}

impl Resolver {
    pub fn new(
        log: Log,
        index: Arc<MarkIndex>,
        registry: Registry,
        public_url: String,
        pip_template: Option<String>,
    ) -> Resolver {
        Resolver {
            log,
            index,
            registry,
            public_url,
            pip_template,
        }
    }

    /// The links of `gtin`, or of its mark `serial` with the token the request carried, if
    /// any. A GTIN no batch of ours carries, or a serial no batch with that GTIN holds, is
    /// not found.
    pub async fn links(
        &self,
        gtin: Gtin,
        serial: Option<u64>,
        token: Option<&str>,
    ) -> Result<Links, TraceError> {
        self.index.catch_up(&self.log).await?;
        let codes: Vec<String> = match serial {
            Some(serial) => {
                let batch = self
                    .index
                    .lookup(serial)
                    .map(|view| view.batch)
                    .filter(|batch| batch.gtin == Some(gtin))
                    .ok_or_else(|| {
                        TraceError::NotFound(format!(
                            "no mark {serial} with GTIN {gtin} is registered"
                        ))
                    })?;
                vec![batch.certificate_code.clone()]
            }
            None => {
                let codes = self.index.certificate_codes_of(gtin);
                if codes.is_empty() {
                    return Err(TraceError::NotFound(format!(
                        "no mark with GTIN {gtin} is registered"
                    )));
                }
                codes
            }
        };
        let anchor = match serial {
            Some(serial) => format!("{}/01/{gtin}/21/{serial}", self.public_url),
            None => format!("{}/01/{gtin}", self.public_url),
        };
        let mut links: Vec<(LinkType, Target)> = codes
            .iter()
            .map(|code| {
                let target = Target {
                    href: certificate_page(&self.public_url, code),
                    title: format!("认证证书 Certificate {code}"),
                    media: "application/json",
                };
                (LinkType::CertificationInfo, target)
            })
            .collect();
        links.push((
            LinkType::VerificationService,
            Target {
                href: format!("{}/api/v1/verify", self.public_url),
                title: "验证标识 Verify a mark (POST {token | url})".into(),
                media: "application/json",
            },
        ));
        let pip = self.pip_template.as_ref().map(|template| Target {
            href: template.replace("{gtin}", &gtin.to_string()),
            title: "产品信息 Product information".into(),
            media: "text/html",
        });
        if let Some(pip) = &pip {
            links.push((LinkType::Pip, pip.clone()));
        }
        // Only a token spelled as tokens are (base64url, bounded) goes into a URL we answer.
        let token = token.filter(|t| {
            (1..=200).contains(&t.len())
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        let default = match (serial, token) {
            (Some(_), Some(token)) => Target {
                href: format!("{anchor}?t={token}"),
                title: "验证结果 Verdict".into(),
                media: "text/html",
            },
            _ => pip.unwrap_or_else(|| links[0].1.clone()),
        };
        links.push((LinkType::DefaultLink, default));
        Ok(Links { anchor, links })
    }

    /// A certificate's public facts by its code, as of today.
    pub async fn certificate(&self, code: &str) -> Result<PublicCertificate, TraceError> {
        let missing = || {
            let code: String = code.chars().take(32).collect();
            TraceError::NotFound(format!("no certificate has the code {code:?}"))
        };
        let code = parse_code(code).map_err(|_| missing())?;
        let claims = self
            .log
            .read_stream(&certificate_code_stream(&code), 1, 1)
            .await?;
        let claim: CertificateCodeClaimed = claims
            .first()
            .and_then(|event| serde_json::from_str(&event.data).ok())
            .ok_or_else(missing)?;
        let record = self
            .registry
            .certificate(None, &claim.certificate_id)
            .await
            .map_err(|_| missing())?;
        Ok(PublicCertificate {
            code,
            status: record.state.as_str().to_owned(),
            valid_from: record.valid_from,
            valid_until: record.valid_until,
            issuer: record.applied.issuer.to_string(),
            enterprise_uscc: record.applied.enterprise_uscc,
            product_name: record.applied.product_name,
            product_category: record.applied.product_category,
            standard: record.applied.standard,
            scope: record.applied.scope,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_types_are_read_in_compact_and_full_form() {
        for value in [
            "gs1:certificationInfo",
            "https://gs1.org/voc/certificationInfo",
            "https://ref.gs1.org/voc/certificationInfo",
        ] {
            assert_eq!(
                LinkType::parse(value),
                Some(LinkType::CertificationInfo),
                "{value}"
            );
        }
        assert_eq!(LinkType::parse("gs1:pip"), Some(LinkType::Pip));
        for unknown in ["certificationInfo", "gs1:epil", "linkset", "all", "gs1:"] {
            assert_eq!(LinkType::parse(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn a_linkset_groups_targets_under_their_relation_type() {
        let target = |href: &str| Target {
            href: href.into(),
            title: "t".into(),
            media: "application/json",
        };
        let links = Links {
            anchor: "https://m.example/01/09506000134352".into(),
            links: vec![
                (LinkType::CertificationInfo, target("https://m.example/c/A")),
                (LinkType::CertificationInfo, target("https://m.example/c/B")),
                (LinkType::DefaultLink, target("https://m.example/c/A")),
            ],
        };
        let set = links.linkset();
        let context = &set["linkset"][0];
        assert_eq!(context["anchor"], "https://m.example/01/09506000134352");
        let certificates = context["https://gs1.org/voc/certificationInfo"]
            .as_array()
            .unwrap();
        assert_eq!(certificates.len(), 2);
        assert_eq!(certificates[1]["href"], "https://m.example/c/B");
        assert_eq!(
            context["https://gs1.org/voc/defaultLink"][0]["type"],
            "application/json"
        );
        assert_eq!(
            links.target(LinkType::CertificationInfo).unwrap().href,
            "https://m.example/c/A"
        );
        assert!(links.target(LinkType::Pip).is_none());
    }
}
