//! An administrative penalty decision (行政处罚决定) in the fields the 双公示 publication of
//! administrative penalties asks for, checked field by field. A [`PenaltyDecision`] is proof
//! that every rule below held; it is built from the [`DecisionFields`] a supervisor sends, and
//! deserialising one re-checks them, so a decision read back from the log is held to the same
//! rules. This module does not decide who may publish, and knows nothing of cases or the log.
//!
//! Amounts in 万元 stay decimal strings (`"0.5"`, `"12.000001"`): the platforms take them as
//! text, and a float would turn `0.1` into something no decision ever said.

use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;

use super::uscc::Uscc;

/// Most digits before the decimal point of an amount in 万元: a trillion 万元 is far beyond
/// any fine, and the bound keeps a typo from becoming a record.
const AMOUNT_INTEGER_DIGITS: usize = 12;
/// Most digits after the decimal point: 0.000001 万元 is one cent.
const AMOUNT_DECIMALS: usize = 6;

/// The fields of a decision as sent and as stored, all text. Field names are the English
/// names of the 双公示 items (see each field); [`PenaltyDecision::new`] checks them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PenaltyDecision)]
pub struct DecisionFields {
    /// 行政相对人名称.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// 统一社会信用代码 of the party (GB 32100).
    pub uscc: String,
    /// 法定代表人.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub legal_representative: String,
    /// 处罚决定书文号.
    #[schema(min_length = 1, max_length = 128, pattern = r"\S")]
    pub decision_number: String,
    /// 违法行为类型.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub violation_type: String,
    /// 违法事实.
    #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
    pub facts: String,
    /// 处罚依据.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub basis: String,
    /// 处罚类别 (警告, 罚款, 没收违法所得, …; several separated by `;`).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub category: String,
    /// 处罚内容.
    #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
    pub content: String,
    /// 罚款金额（万元）, a non-negative decimal with at most six decimals.
    #[schema(pattern = r"^[0-9]{1,12}(\.[0-9]{1,6})?$")]
    pub fine_wan: String,
    /// 没收违法所得、没收非法财物的金额（万元）, likewise.
    #[schema(pattern = r"^[0-9]{1,12}(\.[0-9]{1,6})?$")]
    pub confiscated_wan: String,
    /// 处罚决定日期, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub decided_on: String,
    /// 公示截止期, `YYYY-MM-DD`, after `decided_on`.
    #[schema(format = Date)]
    pub publish_until: String,
    /// 处罚机关.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub authority: String,
    /// 处罚机关统一社会信用代码 (GB 32100).
    pub authority_uscc: String,
    /// 数据来源单位.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub data_source: String,
}

/// Why decision fields were refused. Every message starts with or names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PenaltyError(String);

/// A checked penalty decision. Serialises as its [`DecisionFields`], normalised (trimmed text,
/// upper-case codes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DecisionFields", into = "DecisionFields")]
pub struct PenaltyDecision {
    fields: DecisionFields,
    decided_on: Date,
    publish_until: Date,
}

impl TryFrom<DecisionFields> for PenaltyDecision {
    type Error = PenaltyError;

    fn try_from(fields: DecisionFields) -> Result<PenaltyDecision, PenaltyError> {
        PenaltyDecision::new(fields)
    }
}

impl From<PenaltyDecision> for DecisionFields {
    fn from(decision: PenaltyDecision) -> DecisionFields {
        decision.fields
    }
}

impl PenaltyDecision {
    pub fn new(fields: DecisionFields) -> Result<PenaltyDecision, PenaltyError> {
        let decided_on = date("decided_on", &fields.decided_on)?;
        let publish_until = date("publish_until", &fields.publish_until)?;
        if publish_until <= decided_on {
            return Err(PenaltyError(format!(
                "publish_until must be after decided_on ({} is not after {})",
                fields.publish_until.trim(),
                fields.decided_on.trim()
            )));
        }
        let fields = DecisionFields {
            name: text("name", &fields.name, 200)?,
            uscc: code("uscc", &fields.uscc)?,
            legal_representative: text("legal_representative", &fields.legal_representative, 100)?,
            decision_number: text("decision_number", &fields.decision_number, 128)?,
            violation_type: text("violation_type", &fields.violation_type, 200)?,
            facts: text("facts", &fields.facts, 4000)?,
            basis: text("basis", &fields.basis, 2000)?,
            category: text("category", &fields.category, 200)?,
            content: text("content", &fields.content, 4000)?,
            fine_wan: amount("fine_wan", &fields.fine_wan)?,
            confiscated_wan: amount("confiscated_wan", &fields.confiscated_wan)?,
            decided_on: decided_on.to_string(),
            publish_until: publish_until.to_string(),
            authority: text("authority", &fields.authority, 200)?,
            authority_uscc: code("authority_uscc", &fields.authority_uscc)?,
            data_source: text("data_source", &fields.data_source, 200)?,
        };
        Ok(PenaltyDecision {
            fields,
            decided_on,
            publish_until,
        })
    }

    pub fn fields(&self) -> &DecisionFields {
        &self.fields
    }

    /// The party's USCC, normalised.
    pub fn uscc(&self) -> &str {
        &self.fields.uscc
    }

    pub fn decided_on(&self) -> Date {
        self.decided_on
    }

    pub fn publish_until(&self) -> Date {
        self.publish_until
    }
}

fn text(field: &str, value: &str, max_chars: usize) -> Result<String, PenaltyError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(PenaltyError(format!("{field} must not be empty")));
    }
    let length = value.chars().count();
    if length > max_chars {
        return Err(PenaltyError(format!(
            "{field} has {length} characters; at most {max_chars} are allowed"
        )));
    }
    Ok(value.to_owned())
}

fn code(field: &str, value: &str) -> Result<String, PenaltyError> {
    Uscc::parse(value)
        .map(|uscc| uscc.as_str().to_owned())
        .map_err(|e| PenaltyError(format!("{field}: {e}")))
}

/// A calendar date written `YYYY-MM-DD`, four digits of year and nothing else: `[year]` alone
/// would also take a sign (`-2026-03-02`, a decision dated in 2027 BC), and each date is to
/// have one text.
fn date(field: &str, value: &str) -> Result<Date, PenaltyError> {
    let value = value.trim();
    let shaped = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    shaped
        .then(|| Date::parse(value, format_description!("[year]-[month]-[day]")).ok())
        .flatten()
        .ok_or_else(|| {
            PenaltyError(format!(
                "{field} must be a date as YYYY-MM-DD, not {:?}",
                value.chars().take(40).collect::<String>()
            ))
        })
}

/// A non-negative decimal: digits, optionally a point and 1 to 6 digits. No sign, exponent or
/// grouping, so the string is exactly what the decision says.
fn amount(field: &str, value: &str) -> Result<String, PenaltyError> {
    let value = value.trim();
    let (integer, decimals) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let ok = (1..=AMOUNT_INTEGER_DIGITS).contains(&integer.len())
        && digits(integer)
        && digits(decimals)
        && decimals.len() <= AMOUNT_DECIMALS
        && !(decimals.is_empty() && value.contains('.'));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(PenaltyError(format!(
            "{field} must be a non-negative amount in 万元 with at most {AMOUNT_DECIMALS} \
             decimals, not {}",
            value.chars().take(40).collect::<String>()
        )))
    }
}

/// The event types of a credit record's stream (`credit-<record_id>`), all public: the record
/// is published (双公示) and changed only by later events, never edited.
pub const CREDIT_RECORD_PUBLISHED: &str = "CreditRecordPublished";
pub const CREDIT_RECORD_CORRECTED: &str = "CreditRecordCorrected";
pub const CREDIT_RECORD_WITHDRAWN: &str = "CreditRecordWithdrawn";

/// The stream of one credit record's events.
pub fn credit_stream(record_id: &str) -> String {
    format!("credit-{record_id}")
}

/// `CreditRecordPublished` and `CreditRecordCorrected`: the decision as it now stands. No case
/// id: case work is confidential, the record is public.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditRecord {
    pub record_id: String,
    pub decision: PenaltyDecision,
}

/// `CreditRecordWithdrawn`: the record no longer stands (decision revoked on review, say).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditRecordWithdrawn {
    pub record_id: String,
    pub reason: String,
}

impl CreditRecordWithdrawn {
    pub fn new(record_id: String, reason: &str) -> Result<CreditRecordWithdrawn, PenaltyError> {
        Ok(CreditRecordWithdrawn {
            record_id,
            reason: text("reason", reason, 1000)?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A decision that passes every rule; tests change one field at a time.
    pub(crate) fn fields() -> DecisionFields {
        DecisionFields {
            name: "南昌某米业有限公司".into(),
            uscc: "91330000704202479R".into(),
            legal_representative: "张三".into(),
            decision_number: "洪市监罚〔2026〕12号".into(),
            violation_type: "伪造认证标志".into(),
            facts: "在大米包装上使用伪造的江西绿色生态标识, 共 1200 袋".into(),
            basis: "《认证认可条例》第七十一条".into(),
            category: "罚款;没收违法所得".into(),
            content: "罚款 5 万元, 没收违法所得 0.35 万元".into(),
            fine_wan: "5".into(),
            confiscated_wan: "0.35".into(),
            decided_on: "2026-03-02".into(),
            publish_until: "2029-03-02".into(),
            authority: "南昌市市场监督管理局".into(),
            authority_uscc: "11360100MB1739152L".into(),
            data_source: "南昌市市场监督管理局".into(),
        }
    }

    fn refused(change: impl FnOnce(&mut DecisionFields)) -> String {
        let mut f = fields();
        change(&mut f);
        PenaltyDecision::new(f).unwrap_err().to_string()
    }

    #[test]
    fn a_complete_decision_is_accepted_and_normalised() {
        let mut f = fields();
        f.uscc = " 91330000704202479r ".into();
        f.name = " 南昌某米业有限公司 ".into();
        let decision = PenaltyDecision::new(f).unwrap();
        assert_eq!(decision.uscc(), "91330000704202479R");
        assert_eq!(decision.fields().name, "南昌某米业有限公司");
        assert_eq!(decision.decided_on().to_string(), "2026-03-02");
    }

    #[test]
    fn a_party_uscc_with_a_wrong_check_character_is_refused_by_name() {
        let message = refused(|f| f.uscc = "91330000704202479A".into());
        assert!(message.starts_with("uscc: check character"), "{message}");
        let message = refused(|f| f.authority_uscc = "1136".into());
        assert!(message.starts_with("authority_uscc: "), "{message}");
    }

    #[test]
    fn amounts_are_non_negative_decimals_with_at_most_six_decimals() {
        for good in ["0", "5", "0.000001", "123456789012.5"] {
            let mut f = fields();
            f.fine_wan = good.into();
            assert!(PenaltyDecision::new(f).is_ok(), "{good}");
        }
        for bad in [
            "-1",
            "",
            "1.",
            ".5",
            "1.0000001",
            "1e3",
            "+1",
            "1,000",
            "1234567890123",
        ] {
            let message = refused(|f| f.fine_wan = bad.into());
            assert!(
                message.starts_with("fine_wan must be a non-negative amount in 万元"),
                "{bad}: {message}"
            );
        }
        assert!(refused(|f| f.confiscated_wan = "-0.1".into()).starts_with("confiscated_wan"));
        assert!(refused(|f| f.fine_wan = "-1".into()).ends_with("not -1"));
    }

    #[test]
    fn publication_must_end_after_the_decision() {
        let message = refused(|f| f.publish_until = "2026-03-02".into());
        assert!(
            message.starts_with("publish_until must be after decided_on"),
            "{message}"
        );
        assert!(refused(|f| f.publish_until = "2025-12-31".into()).starts_with("publish_until"));
    }

    #[test]
    fn dates_are_iso_calendar_dates() {
        assert!(refused(|f| f.decided_on = "2026/03/02".into()).starts_with("decided_on must"));
        assert!(refused(|f| f.decided_on = "2026-02-30".into()).starts_with("decided_on must"));
        assert!(refused(|f| f.publish_until = "soon".into()).starts_with("publish_until must"));
    }

    /// Found by the property tests (`tests/it/props`): `-0000-01-01` was read as year 0, and
    /// `-2026-03-02` as a decision of 2027 BC.
    #[test]
    fn a_date_with_a_sign_is_refused() {
        for signed in ["-0000-01-01", "-2026-03-02", "+2026-03-02"] {
            let message = refused(|f| f.decided_on = signed.into());
            assert!(
                message.starts_with("decided_on must be a date"),
                "{signed}: {message}"
            );
        }
    }

    #[test]
    fn required_text_is_non_empty_and_bounded() {
        assert_eq!(
            refused(|f| f.decision_number = "  ".into()),
            "decision_number must not be empty"
        );
        assert!(refused(|f| f.facts = "x".repeat(4001)).starts_with("facts has 4001"));
    }

    #[test]
    fn a_stored_decision_is_checked_again_when_read() {
        let decision = PenaltyDecision::new(fields()).unwrap();
        let json = serde_json::to_string(&decision).unwrap();
        assert_eq!(
            serde_json::from_str::<PenaltyDecision>(&json).unwrap(),
            decision
        );
        let broken = json.replace("\"5\"", "\"-5\"");
        assert!(serde_json::from_str::<PenaltyDecision>(&broken).is_err());
    }
}
