//! Enforcement cases (案件) worked by market supervisors and shared across regions for joint
//! enforcement (跨区域联合执法): the events of a case's stream (`case-<id>`, all confidential),
//! the checks on what they carry, and who covers a case. This module does not read or write
//! the log and knows nothing of HTTP; `enforcement` applies these rules.

use serde::{Deserialize, Serialize};

use super::penalty::{DecisionFields, PenaltyDecision};
use super::region::RegionCode;
use super::uscc::Uscc;

pub const CASE_OPENED: &str = "CaseOpened";
pub const CASE_NOTE_ADDED: &str = "CaseNoteAdded";
pub const CASE_EVIDENCE_ADDED: &str = "CaseEvidenceAdded";
pub const CASE_SHARED: &str = "CaseShared";
pub const CASE_TRANSFERRED: &str = "CaseTransferred";
pub const CASE_CLOSED: &str = "CaseClosed";

/// Most serials or flags one case names: a case is about a product line, not a batch export.
const MAX_SUBJECT_ITEMS: usize = 1000;

/// The stream of one case's events.
pub fn case_stream(case_id: &str) -> String {
    format!("case-{case_id}")
}

/// Why case input was refused; shown to the caller as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CaseError(pub String);

/// What a case is about. Every part is optional: a report may name only serials.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = CaseSubject)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise_uscc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub enterprise_name: Option<String>,
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub serials: Vec<u64>,
    /// Ids of the risk flags that led to the case.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub flags: Vec<String>,
}

/// What led to the case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Flags,
    Report,
    Manual,
}

/// `CaseOpened`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseOpened {
    pub case_id: String,
    pub owner_region: RegionCode,
    pub subject: Subject,
    pub origin: Origin,
    pub title: String,
}

impl CaseOpened {
    pub fn new(
        case_id: String,
        owner_region: RegionCode,
        subject: Subject,
        origin: Origin,
        title: &str,
    ) -> Result<CaseOpened, CaseError> {
        let enterprise_uscc = match &subject.enterprise_uscc {
            Some(code) => Some(
                Uscc::parse(code)
                    .map_err(|e| CaseError(format!("subject.enterprise_uscc: {e}")))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        let enterprise_name = match &subject.enterprise_name {
            Some(name) => Some(bounded("subject.enterprise_name", name, 200)?),
            None => None,
        };
        if subject.serials.len() > MAX_SUBJECT_ITEMS || subject.flags.len() > MAX_SUBJECT_ITEMS {
            return Err(CaseError(format!(
                "a case names at most {MAX_SUBJECT_ITEMS} serials and {MAX_SUBJECT_ITEMS} flags"
            )));
        }
        let flags = subject
            .flags
            .iter()
            .map(|f| bounded("subject.flags", f, 128))
            .collect::<Result<_, _>>()?;
        Ok(CaseOpened {
            case_id,
            owner_region,
            subject: Subject {
                enterprise_uscc,
                enterprise_name,
                serials: subject.serials,
                flags,
            },
            origin,
            title: bounded("title", title, 200)?,
        })
    }
}

/// `CaseNoteAdded`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseNoteAdded {
    pub text: String,
    /// The region the author worked the case from.
    pub by_region: RegionCode,
}

impl CaseNoteAdded {
    pub fn new(text: &str, by_region: RegionCode) -> Result<CaseNoteAdded, CaseError> {
        Ok(CaseNoteAdded {
            text: bounded("text", text, 10_000)?,
            by_region,
        })
    }
}

/// `CaseEvidenceAdded`: a description and the hash of a file kept outside the log, so the log
/// proves which file was meant without holding it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEvidenceAdded {
    pub description: String,
    /// Lowercase hex SHA-256 of the file.
    pub file_sha256: String,
    /// The file's size in bytes.
    pub size: u64,
}

impl CaseEvidenceAdded {
    pub fn new(
        description: &str,
        file_sha256: &str,
        size: u64,
    ) -> Result<CaseEvidenceAdded, CaseError> {
        let hash = file_sha256.trim().to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CaseError(
                "file_sha256 must be 64 hex digits (the SHA-256 of the file)".into(),
            ));
        }
        Ok(CaseEvidenceAdded {
            description: bounded("description", description, 2000)?,
            file_sha256: hash,
            size,
        })
    }
}

/// `CaseShared`: another region joins the case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseShared {
    pub region: RegionCode,
}

/// `CaseTransferred`: the case gets a new owner region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseTransferred {
    pub to_region: RegionCode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    NoAction,
    Penalty,
}

/// `CaseClosed`. A penalty names its decision and the public credit record published with it;
/// that link lives only here, in confidential data, so public records never name a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CaseClosed {
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<DecisionFields>)]
    pub decision: Option<PenaltyDecision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
}

impl CaseClosed {
    /// A penalty needs a decision and no-action must not carry one.
    pub fn new(
        outcome: Outcome,
        decision: Option<PenaltyDecision>,
        record_id: String,
    ) -> Result<CaseClosed, CaseError> {
        match (outcome, decision) {
            (Outcome::Penalty, Some(decision)) => Ok(CaseClosed {
                outcome,
                decision: Some(decision),
                record_id: Some(record_id),
            }),
            (Outcome::Penalty, None) => Err(CaseError(
                "decision is required when the outcome is penalty".into(),
            )),
            (Outcome::NoAction, Some(_)) => Err(CaseError(
                "decision must be absent when the outcome is no_action".into(),
            )),
            (Outcome::NoAction, None) => Ok(CaseClosed {
                outcome,
                decision: None,
                record_id: None,
            }),
        }
    }
}

/// Whether a caller with `regions` covers a case owned by `owner` and shared with `shared`:
/// any of its regions covers the owner or any shared region.
pub fn covers(regions: &[RegionCode], owner: RegionCode, shared: &[RegionCode]) -> bool {
    regions
        .iter()
        .any(|r| r.covers(owner) || shared.iter().any(|s| r.covers(*s)))
}

/// The first of `regions` that covers the case, for recording where a note came from.
pub fn covering_region(
    regions: &[RegionCode],
    owner: RegionCode,
    shared: &[RegionCode],
) -> Option<RegionCode> {
    regions
        .iter()
        .copied()
        .find(|r| r.covers(owner) || shared.iter().any(|s| r.covers(*s)))
}

fn bounded(field: &str, value: &str, max_chars: usize) -> Result<String, CaseError> {
    let value = value.trim();
    let length = value.chars().count();
    if length == 0 {
        return Err(CaseError(format!("{field} must not be empty")));
    }
    if length > max_chars {
        return Err(CaseError(format!(
            "{field} has {length} characters; at most {max_chars} are allowed"
        )));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::penalty::tests::fields;

    fn r(code: &str) -> RegionCode {
        RegionCode::parse(code).unwrap()
    }

    #[test]
    fn a_region_covers_a_case_it_owns_or_is_shared_with_or_contains() {
        let owner = r("360100");
        assert!(covers(&[r("360100")], owner, &[]));
        assert!(covers(&[r("360000")], owner, &[]));
        assert!(!covers(&[r("360700")], owner, &[]));
        assert!(covers(&[r("360700")], owner, &[r("360700")]));
        assert!(covers(&[r("361100"), r("360000")], owner, &[]));
        assert!(
            !covers(&[r("360102")], owner, &[]),
            "a district not the city"
        );
        assert_eq!(
            covering_region(&[r("361100"), r("360700")], owner, &[r("360700")]),
            Some(r("360700"))
        );
    }

    #[test]
    fn a_penalty_needs_a_decision_and_no_action_takes_none() {
        let decision = PenaltyDecision::new(fields()).unwrap();
        assert!(CaseClosed::new(Outcome::Penalty, None, "r".into()).is_err());
        assert!(CaseClosed::new(Outcome::NoAction, Some(decision.clone()), "r".into()).is_err());
        let closed = CaseClosed::new(Outcome::Penalty, Some(decision), "r".into()).unwrap();
        assert_eq!(closed.record_id.as_deref(), Some("r"));
        let none = CaseClosed::new(Outcome::NoAction, None, "r".into()).unwrap();
        assert_eq!(
            serde_json::to_string(&none).unwrap(),
            r#"{"outcome":"no_action"}"#
        );
    }

    #[test]
    fn evidence_names_a_sha256_and_a_subject_uscc_is_checked() {
        assert!(CaseEvidenceAdded::new("照片", "AB".repeat(32).as_str(), 10).is_ok());
        let err = CaseEvidenceAdded::new("照片", "abc", 10).unwrap_err();
        assert!(err.0.starts_with("file_sha256"), "{err}");
        let subject = Subject {
            enterprise_uscc: Some("91330000704202479A".into()),
            ..Subject::default()
        };
        let err =
            CaseOpened::new("c".into(), r("360100"), subject, Origin::Manual, "t").unwrap_err();
        assert!(err.0.starts_with("subject.enterprise_uscc: "), "{err}");
        let err = CaseOpened::new(
            "c".into(),
            r("360100"),
            Subject::default(),
            Origin::Manual,
            " ",
        )
        .unwrap_err();
        assert_eq!(err.0, "title must not be empty");
    }
}
