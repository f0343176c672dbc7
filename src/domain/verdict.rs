//! What a verification answers (SPEC.md "Verdicts"): one verdict with a stable machine reason,
//! the registered facts where the serial is registered, and the risk flags known for it. These
//! are the types the JSON answer, the HTML page and the scan record share; the rules that pick
//! a verdict live in `verify::check`.

use serde::{Deserialize, Serialize};

/// The verdicts, most severe first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Forged,
    Altered,
    Void,
    Revoked,
    Suspended,
    Genuine,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Forged => "forged",
            Verdict::Altered => "altered",
            Verdict::Void => "void",
            Verdict::Revoked => "revoked",
            Verdict::Suspended => "suspended",
            Verdict::Genuine => "genuine",
        }
    }
}

/// The machine reasons, stable: clients match on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The token does not decode.
    Malformed,
    /// A token version other than 1.
    UnsupportedVersion,
    /// No issuer key has the token's key id.
    UnknownKey,
    /// A registered key signed a body the registry never issued.
    UnregisteredSignedMark,
    /// The signature is valid over neither the presented nor the registered body.
    BadSignature,
    /// A genuine mark's body was changed (变造).
    BodyMismatch,
    /// The label URL's GTIN or serial differs from the genuine token's.
    UrlMismatch,
    /// What the inspector read off the label disagrees with the registry.
    ClaimsMismatch,
    Voided,
    Lost,
    Stolen,
    MarkRevoked,
    CertificateRevoked,
    MarkSuspended,
    CertificateSuspended,
    /// The sub-brand the mark's issuer certifies for is suspended as a whole.
    BrandSuspended,
    /// Registered, signed, in good standing.
    Registered,
}

/// Risk flags: they ride beside any verdict and never change it.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    Cloned,
    ExcessiveScans,
    Diverted,
    Leaked,
    Traded,
    KeyCompromised,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Cloned => "cloned",
            Flag::ExcessiveScans => "excessive_scans",
            Flag::Diverted => "diverted",
            Flag::Leaked => "leaked",
            Flag::Traded => "traded",
            Flag::KeyCompromised => "key_compromised",
        }
    }
}

/// The certificate's status beside a verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CertificateStatus {
    Valid,
    Expired,
    Suspended,
    Revoked,
}

impl CertificateStatus {
    /// A certificate's status beside a verdict, from its state and validity as of `today`.
    pub fn of(
        state: crate::domain::certificate::CertificateState,
        valid_until: Option<time::Date>,
        today: time::Date,
    ) -> CertificateStatus {
        use crate::domain::certificate::CertificateState;
        match state.on(today, valid_until) {
            CertificateState::Issued => CertificateStatus::Valid,
            CertificateState::Expired => CertificateStatus::Expired,
            CertificateState::Suspended => CertificateStatus::Suspended,
            // Revoked, and states a certificate with a batch cannot be in: never show them
            // valid.
            _ => CertificateStatus::Revoked,
        }
    }
}

/// What the registry says about a registered serial.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Facts {
    pub serial: u64,
    pub brand: String,
    pub issuer_id: String,
    pub issuer_name: String,
    pub enterprise_name: String,
    pub enterprise_uscc: String,
    pub product_name: String,
    pub product_category: String,
    pub certificate_code: String,
    pub certificate_status: CertificateStatus,
    /// ISO dates.
    pub valid_from: String,
    pub valid_until: String,
    pub batch_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
}

/// One verification's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Answer {
    pub verdict: Verdict,
    pub reason: Reason,
    /// Present where the serial is registered (also for `altered`, to show what is genuine).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts: Option<Facts>,
    pub flags: Vec<Flag>,
    /// Present for a recognised partner brand's mark (品牌互认): whose it is. Never present for
    /// this brand's own marks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recognised: Option<Recognised>,
}

/// A partner brand's mark, as this brand recognises it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Recognised {
    /// The partner brand's name (上海品牌, 江苏精品…).
    pub brand: String,
    /// The partner's transparency log origin, which this node witnesses.
    pub origin: String,
    /// The partner's issuer that holds the signing key, and the brand its directory names.
    pub issuer_id: String,
    pub issuer_brand: String,
    /// Where the mark's status (revoked, void, suspended) came from: `live`, the partner's
    /// own answer just now (or within the last minute); `unknown`, the partner could not be
    /// asked, so only the signature is vouched for.
    pub status: StatusSource,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusSource {
    Live,
    Unknown,
}
