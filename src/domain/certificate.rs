//! Certificates under the brand's scheme 企业申请 + 第三方评价 + 政府监管: an enterprise applies,
//! a certification body evaluates, and only a passed evaluation can be issued. This module
//! owns the event data, the state a certificate's events fold to, and which transitions each
//! state allows; `registry` appends them. `expired` is not an event: an issued certificate is
//! expired once its validity has ended, whatever the clock says when it is asked.

use serde::{Deserialize, Serialize};
use time::Date;

use super::issuer::{IssuerId, text};

pub const CERTIFICATE_APPLIED: &str = "CertificateApplied";
pub const CERTIFICATE_EVALUATED: &str = "CertificateEvaluated";
pub const CERTIFICATE_ISSUED: &str = "CertificateIssued";
pub const CERTIFICATE_SUSPENDED: &str = "CertificateSuspended";
pub const CERTIFICATE_REINSTATED: &str = "CertificateReinstated";
pub const CERTIFICATE_REVOKED: &str = "CertificateRevoked";
/// Claims a certificate code, in the stream `certcode-<code>` (created once), in the same
/// append that issues the certificate: two certificates never share a code.
pub const CERTIFICATE_CODE_CLAIMED: &str = "CertificateCodeClaimed";

/// The data of `CertificateCodeClaimed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateCodeClaimed {
    pub certificate_id: String,
}

/// The stream of one certificate's life.
pub fn certificate_stream(id: &str) -> String {
    format!("certificate-{id}")
}

/// The stream claiming a certificate code (stream names are lower-case).
pub fn certificate_code_stream(code: &str) -> String {
    format!("certcode-{}", code.to_ascii_lowercase())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("{0}")]
    Invalid(String),
    #[error("certificate {id} is {state}; it cannot be {action}")]
    Transition {
        id: String,
        state: CertificateState,
        action: &'static str,
    },
}

fn invalid(message: impl Into<String>) -> CertificateError {
    CertificateError::Invalid(message.into())
}

fn bounded(field: &'static str, value: &str, max: usize) -> Result<String, CertificateError> {
    text(field, value, max).map_err(|e| invalid(e.to_string()))
}

/// A date of the common era with a four-digit year. JSON dates are read by `time`, whose year
/// may carry a sign (`"-2026-03-02"`: a certificate of 2027 BC), and such a date would be
/// written back as `-2026-03-02`, which no reader of `YYYY-MM-DD` expects.
fn calendar_date(field: &'static str, date: Date) -> Result<Date, CertificateError> {
    if (1..=9999).contains(&date.year()) {
        Ok(date)
    } else {
        Err(invalid(format!(
            "{field} must be a date from 0001-01-01 to 9999-12-31"
        )))
    }
}

/// A certificate code as printed on labels: `^[A-Z0-9]+(-[A-Z0-9]+)*$`, 1 to 32 characters
/// (SPEC.md "The mark"), so it fits a mark token byte for byte.
pub fn parse_code(code: &str) -> Result<String, CertificateError> {
    let ok = (1..=32).contains(&code.len())
        && code.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        });
    if ok {
        Ok(code.to_owned())
    } else {
        Err(invalid(format!(
            "certificate code {code:?} must be 1 to 32 of A-Z and 0-9 in groups joined by single '-'"
        )))
    }
}

/// `CertificateApplied`: the enterprise's application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Applied {
    pub certificate_id: String,
    pub issuer: IssuerId,
    pub enterprise_uscc: String,
    pub product_name: String,
    pub product_category: String,
    pub standard: String,
    pub scope: String,
}

impl Applied {
    pub fn new(
        certificate_id: String,
        issuer: IssuerId,
        enterprise_uscc: String,
        product_name: &str,
        product_category: &str,
        standard: &str,
        scope: &str,
    ) -> Result<Applied, CertificateError> {
        Ok(Applied {
            certificate_id,
            issuer,
            // The licensee's code as registered: trimmed and upper-cased like `Uscc`.
            enterprise_uscc: enterprise_uscc.trim().to_ascii_uppercase(),
            product_name: bounded("product_name", product_name, 128)?,
            product_category: bounded("product_category", product_category, 64)?,
            standard: bounded("standard", standard, 128)?,
            scope: bounded("scope", scope, 500)?,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EvaluationResult {
    Pass,
    Fail,
}

/// `CertificateEvaluated`: the third-party evaluation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluated {
    pub evaluator: String,
    pub result: EvaluationResult,
    /// Lowercase hex SHA-256 of the evaluation report; the report stays with the issuer.
    pub report_sha256: String,
    pub date: Date,
}

impl Evaluated {
    pub fn new(
        evaluator: &str,
        result: EvaluationResult,
        report_sha256: &str,
        date: Date,
    ) -> Result<Evaluated, CertificateError> {
        let hex = report_sha256.len() == 64
            && report_sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex {
            return Err(invalid("report_sha256 must be 64 lowercase hex digits"));
        }
        Ok(Evaluated {
            evaluator: bounded("evaluator", evaluator, 128)?,
            result,
            report_sha256: report_sha256.to_owned(),
            date: calendar_date("date", date)?,
        })
    }
}

/// `CertificateIssued`: the certificate code and validity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    pub code: String,
    pub valid_from: Date,
    pub valid_until: Date,
}

impl Issued {
    pub fn new(
        code: &str,
        valid_from: Date,
        valid_until: Date,
    ) -> Result<Issued, CertificateError> {
        let valid_from = calendar_date("valid_from", valid_from)?;
        let valid_until = calendar_date("valid_until", valid_until)?;
        if valid_until < valid_from {
            return Err(invalid("valid_until is before valid_from"));
        }
        Ok(Issued {
            code: parse_code(code)?,
            valid_from,
            valid_until,
        })
    }
}

/// `CertificateSuspended` and `CertificateRevoked`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub reason: String,
}

impl Reason {
    pub fn new(reason: &str) -> Result<Reason, CertificateError> {
        Ok(Reason {
            reason: bounded("reason", reason, 500)?,
        })
    }
}

/// Where a certificate's events have brought it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CertificateState {
    Applied,
    Evaluated,
    Rejected,
    Issued,
    Suspended,
    Revoked,
    /// Issued, with its validity ended: derived from time, never stored.
    Expired,
}

impl CertificateState {
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateState::Applied => "applied",
            CertificateState::Evaluated => "evaluated",
            CertificateState::Rejected => "rejected",
            CertificateState::Issued => "issued",
            CertificateState::Suspended => "suspended",
            CertificateState::Revoked => "revoked",
            CertificateState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<CertificateState> {
        [
            CertificateState::Applied,
            CertificateState::Evaluated,
            CertificateState::Rejected,
            CertificateState::Issued,
            CertificateState::Suspended,
            CertificateState::Revoked,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }

    /// The stored state after an event of `event_type` with data `data` (the JSON text as
    /// logged): an evaluation leads to `evaluated` only if it passed.
    pub fn after(self, event_type: &str, data: &str) -> CertificateState {
        let passed = || {
            serde_json::from_str::<Evaluated>(data)
                .is_ok_and(|e| e.result == EvaluationResult::Pass)
        };
        match event_type {
            CERTIFICATE_APPLIED => CertificateState::Applied,
            CERTIFICATE_EVALUATED if passed() => CertificateState::Evaluated,
            CERTIFICATE_EVALUATED => CertificateState::Rejected,
            CERTIFICATE_ISSUED | CERTIFICATE_REINSTATED => CertificateState::Issued,
            CERTIFICATE_SUSPENDED => CertificateState::Suspended,
            CERTIFICATE_REVOKED => CertificateState::Revoked,
            _ => self,
        }
    }

    /// The state as seen on `today`: an issued certificate past its validity is expired.
    pub fn on(self, today: Date, valid_until: Option<Date>) -> CertificateState {
        match (self, valid_until) {
            (CertificateState::Issued, Some(until)) if today > until => CertificateState::Expired,
            (state, _) => state,
        }
    }

    /// Checks that an event of `event_type` may follow this state.
    pub fn check(self, id: &str, event_type: &str) -> Result<(), CertificateError> {
        use CertificateState::{Applied, Evaluated, Issued, Suspended};
        let (allowed, action) = match event_type {
            CERTIFICATE_EVALUATED => (self == Applied, "evaluated"),
            CERTIFICATE_ISSUED => (self == Evaluated, "issued"),
            CERTIFICATE_SUSPENDED => (self == Issued, "suspended"),
            CERTIFICATE_REINSTATED => (self == Suspended, "reinstated"),
            _ => (matches!(self, Issued | Suspended), "revoked"),
        };
        if allowed {
            Ok(())
        } else {
            Err(CertificateError::Transition {
                id: id.to_owned(),
                state: self,
                action,
            })
        }
    }
}

impl std::fmt::Display for CertificateState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::CertificateState::*;
    use super::*;
    use time::macros::date;

    const ALL_EVENTS: [&str; 5] = [
        CERTIFICATE_EVALUATED,
        CERTIFICATE_ISSUED,
        CERTIFICATE_SUSPENDED,
        CERTIFICATE_REINSTATED,
        CERTIFICATE_REVOKED,
    ];

    /// JSON dates as the API reads them: a signed year is refused, not stored as BC.
    #[test]
    fn a_certificate_date_with_a_signed_year_is_refused() {
        let read = |text: &str| serde_json::from_str::<Date>(&format!("{text:?}")).unwrap();
        let sha = "ab".repeat(32);
        let (ok, bc) = (read("2026-03-02"), read("-2026-03-02"));
        assert!(super::Evaluated::new("第三方", EvaluationResult::Pass, &sha, ok).is_ok());
        let refused =
            super::Evaluated::new("第三方", EvaluationResult::Pass, &sha, bc).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("date must be a date from 0001-01-01")
        );
        assert!(super::Issued::new("JX-1", bc, ok).is_err());
        assert!(super::Issued::new("JX-1", ok, read("+2026-03-03")).is_ok());
    }

    #[test]
    fn every_transition_is_allowed_from_exactly_its_states() {
        let allowed = [
            (Applied, CERTIFICATE_EVALUATED),
            (Evaluated, CERTIFICATE_ISSUED),
            (Issued, CERTIFICATE_SUSPENDED),
            (Suspended, CERTIFICATE_REINSTATED),
            (Issued, CERTIFICATE_REVOKED),
            (Suspended, CERTIFICATE_REVOKED),
        ];
        for state in [Applied, Evaluated, Rejected, Issued, Suspended, Revoked] {
            for event in ALL_EVENTS {
                let ok = state.check("c1", event).is_ok();
                assert_eq!(
                    ok,
                    allowed.contains(&(state, event)),
                    "{state} then {event}"
                );
            }
        }
    }

    #[test]
    fn an_illegal_transition_names_the_current_state() {
        let err = Revoked.check("c1", CERTIFICATE_SUSPENDED).unwrap_err();
        assert_eq!(
            err.to_string(),
            "certificate c1 is revoked; it cannot be suspended"
        );
    }

    #[test]
    fn a_failed_evaluation_rejects_and_a_passed_one_allows_issuing() {
        let evaluation = |result| {
            let e = super::Evaluated::new("x", result, &"ab".repeat(32), date!(2026 - 01 - 01));
            serde_json::to_string(&e.unwrap()).unwrap()
        };
        let failed = evaluation(EvaluationResult::Fail);
        let passed = evaluation(EvaluationResult::Pass);
        assert_eq!(
            Applied.after(CERTIFICATE_EVALUATED, &failed),
            CertificateState::Rejected
        );
        assert_eq!(Applied.after(CERTIFICATE_EVALUATED, &passed), Evaluated);
        assert!(Rejected.check("c1", CERTIFICATE_ISSUED).is_err());
    }

    #[test]
    fn an_issued_certificate_expires_the_day_after_its_validity() {
        let until = Some(date!(2026 - 12 - 31));
        assert_eq!(Issued.on(date!(2026 - 12 - 31), until), Issued);
        assert_eq!(Issued.on(date!(2027 - 01 - 01), until), Expired);
        assert_eq!(Suspended.on(date!(2027 - 01 - 01), until), Suspended);
    }

    #[test]
    fn codes_and_dates_are_checked() {
        for good in ["JX-GE-2026-001", "A", &"A".repeat(32)] {
            assert!(parse_code(good).is_ok(), "{good}");
        }
        for bad in ["", "jx-1", "A--B", "-A", "A-", "A B", &"A".repeat(33)] {
            assert!(parse_code(bad).is_err(), "{bad}");
        }
        assert!(super::Issued::new("A", date!(2026 - 02 - 01), date!(2026 - 01 - 01)).is_err());
        assert!(
            super::Evaluated::new("x", EvaluationResult::Pass, "ABC", date!(2026 - 01 - 01))
                .is_err()
        );
    }
}
