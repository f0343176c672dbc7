//! Credit records (双公示): the in-memory read model [`Credit`] folded from the public
//! `credit-<id>` streams, their corrections and withdrawals, the feed the credit platforms
//! ingest with a proof per entry, the CSV export in the platforms' column codes, and the
//! public lookup by enterprise.
//!
//! A record is published by closing a case with a penalty (`cases`), and changed only by later
//! events: `CreditRecordCorrected` replaces the decision, `CreditRecordWithdrawn` takes the
//! record out of publication. The log keeps every version, so a correction never hides what
//! was published before it.
//!
//! CSV columns (`records.csv`), the administrative-penalty codes of the credit platforms:
//!
//! | column | 双公示 item | field |
//! |---|---|---|
//! | `CF_XDR_MC` | 行政相对人名称 | `name` |
//! | `CF_XDR_SHXYM` | 统一社会信用代码 | `uscc` |
//! | `CF_FRDB` | 法定代表人 | `legal_representative` |
//! | `CF_WSH` | 处罚决定书文号 | `decision_number` |
//! | `CF_WFXW` | 违法行为类型 | `violation_type` |
//! | `CF_SY` | 违法事实 | `facts` |
//! | `CF_YJ` | 处罚依据 | `basis` |
//! | `CF_CFLB` | 处罚类别 | `category` |
//! | `CF_NR` | 处罚内容 | `content` |
//! | `CF_NR_FK` | 罚款金额（万元） | `fine_wan` |
//! | `CF_NR_WFFF` | 没收违法所得、没收非法财物的金额（万元） | `confiscated_wan` |
//! | `CF_JDRQ` | 处罚决定日期 | `decided_on`, as `YYYY/MM/DD` |
//! | `CF_GSJZQ` | 公示截止期 | `publish_until`, as `YYYY/MM/DD` |
//! | `CF_CFJG` | 处罚机关 | `authority` |
//! | `CF_CFJGDM` | 处罚机关统一社会信用代码 | `authority_uscc` |
//! | `CF_SJLY` | 数据来源单位 | `data_source` |
//! | `LOG_INDEX` | — | the log index of the event that set this version of the record |
//!
//! One row per record that stands (withdrawn ones are left out), as it stands now, in the
//! order records were published; RFC 4180: CRLF line ends, fields with a comma, quote or line
//! break quoted, quotes doubled. A cell that starts with `=`, `+`, `-`, `@`, tab or CR gets a
//! leading `'` first, so a spreadsheet shows it as text instead of running it as a formula.

use std::fmt::Write as _;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::app::enforcement::EnforcementError;
use crate::domain::access::Grant;
use crate::domain::penalty::{
    CREDIT_RECORD_CORRECTED, CREDIT_RECORD_WITHDRAWN, CreditRecord, CreditRecordWithdrawn,
    DecisionFields, PenaltyDecision, credit_stream,
};
use crate::domain::uscc::Uscc;
use crate::log::event::EnvelopeFields;
use crate::log::proofs::{ProofError, proof_bundle_text};
use crate::log::{Expected, Log, Metadata, NewEvent, StorageError};
use crate::projections::cases::Cases;
use crate::projections::credit::{Credit, RecordEntry, RecordStatus};
use crate::projections::memory::Folded;

/// The CSV header: the platforms' column codes, then the log index.
pub const CSV_HEADER: &str = "CF_XDR_MC,CF_XDR_SHXYM,CF_FRDB,CF_WSH,CF_WFXW,CF_SY,CF_YJ,CF_CFLB,\
                              CF_NR,CF_NR_FK,CF_NR_WFFF,CF_JDRQ,CF_GSJZQ,CF_CFJG,CF_CFJGDM,\
                              CF_SJLY,LOG_INDEX";

/// Every standing record as the CSV the platforms import (see the module documentation).
fn csv(credit: &Credit) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push_str("\r\n");
    for record in credit.standing() {
        let d: &DecisionFields = record.decision.fields();
        let slash = |date: time::Date| {
            format!(
                "{:04}/{:02}/{:02}",
                date.year(),
                u8::from(date.month()),
                date.day()
            )
        };
        let row = [
            d.name.as_str(),
            &d.uscc,
            &d.legal_representative,
            &d.decision_number,
            &d.violation_type,
            &d.facts,
            &d.basis,
            &d.category,
            &d.content,
            &d.fine_wan,
            &d.confiscated_wan,
            &slash(record.decision.decided_on()),
            &slash(record.decision.publish_until()),
            &d.authority,
            &d.authority_uscc,
            &d.data_source,
            &record.index.to_string(),
        ];
        let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        let _ = write!(out, "{}\r\n", fields.join(","));
    }
    out
}

/// Characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection").
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One cell. The platforms' staff open this file in spreadsheets, and decision text comes from
/// users, so a cell starting with a formula character is neutralised first: a leading `'`
/// makes the spreadsheet show it as text. Then RFC 4180: quoted when it holds a comma, quote
/// or line break, quotes doubled.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(FORMULA_STARTS) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// One entry of the credit feed: a credit event with everything needed to check offline that
/// it is in the log (data → `data_sha256` in the envelope → leaf hash → inclusion proof in the
/// bundle → signed checkpoint), and the record as it stands now.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CreditFeedEntry)]
pub struct FeedEntry {
    pub index: u64,
    /// Standard base64 (with padding) of the RFC 6962 leaf hash, as `/log/entries` serves it.
    pub leaf_hash: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub record_id: String,
    /// The record's current status, which later entries may have changed.
    pub status: RecordStatus,
    /// The record as it stands now.
    pub record: RecordEntry,
    /// The canonical envelope, byte for byte as hashed.
    #[schema(value_type = EnvelopeFields)]
    pub envelope: Box<RawValue>,
    /// This event's data exactly as stored.
    #[schema(value_type = Object)]
    pub data: Box<RawValue>,
    /// C2SP `tlog-proof@v1` text against the latest checkpoint.
    pub proof: String,
}

/// A change to a published record.
pub enum RecordChange {
    Correct(Box<DecisionFields>),
    Withdraw { reason: String },
}

/// Credit records: the platforms' feed and CSV, corrections and withdrawals, the public lookup.
#[derive(Clone)]
pub struct CreditRecords {
    log: Log,
    credit: Arc<Folded<Credit>>,
    /// The cases that published the records: who may change one.
    cases: Arc<Folded<Cases>>,
}

impl CreditRecords {
    pub fn new(log: Log, credit: Arc<Folded<Credit>>, cases: Arc<Folded<Cases>>) -> CreditRecords {
        CreditRecords { log, credit, cases }
    }

    /// Every standing record as the CSV the platforms import (see the module documentation).
    pub async fn csv(&self) -> Result<String, StorageError> {
        self.credit.catch_up(&self.log).await?;
        Ok(csv(&self.credit.read()))
    }

    /// The standing records of one enterprise, in publication order: what anyone may look up.
    pub async fn standing_for(&self, uscc: &Uscc) -> Result<Vec<RecordEntry>, StorageError> {
        self.credit.catch_up(&self.log).await?;
        Ok(self.credit.read().standing_for(uscc.as_str()))
    }

    /// The feed page after `after`, with proofs against one checkpoint for the whole page.
    pub async fn feed(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<FeedEntry>, ProofError> {
        let (log, credit) = (&self.log, &self.credit);
        credit.catch_up(log).await?;
        let page = credit.read().feed(after, limit);
        let checkpoint = log.latest_checkpoint().await?;
        let mut entries = Vec::with_capacity(page.len());
        for (event, record) in page {
            // An event committed after the checkpoint was read waits for the next page.
            if event.index >= checkpoint.size {
                break;
            }
            let proof = log.inclusion_proof(event.index, checkpoint.size).await?;
            let raw = |json: String| {
                RawValue::from_string(json).map_err(|e| StorageError::Corrupt(e.to_string()))
            };
            entries.push(FeedEntry {
                index: event.index,
                leaf_hash: STANDARD.encode(event.leaf_hash),
                event_type: event.event_type.clone(),
                record_id: record.record_id.clone(),
                status: record.status,
                envelope: raw(event.envelope())?,
                data: raw(event.data.clone())?,
                proof: proof_bundle_text(event.index, &proof, &checkpoint.note),
                record,
            });
        }
        Ok(entries)
    }

    /// Corrects or withdraws a record. Only a supervisor covering the owner region of the case
    /// that published it may; to anyone else the record's case does not exist (the record itself
    /// is public, its case is not).
    pub async fn change_record(
        &self,
        grant: &Grant,
        actor: &str,
        record_id: &str,
        change: RecordChange,
    ) -> Result<RecordEntry, EnforcementError> {
        let (log, cases, credit) = (&self.log, &self.cases, &self.credit);
        cases.catch_up(log).await?;
        credit.catch_up(log).await?;
        let id: String = record_id.chars().take(64).collect();
        let not_yours = || {
            EnforcementError::NotFound(format!(
                "credit record {id} does not exist or was not published from this token's regions"
            ))
        };
        let owner = cases.read().record_owner(record_id).ok_or_else(not_yours)?;
        if !grant.regions.iter().any(|r| r.covers(owner)) {
            return Err(not_yours());
        }
        let record = credit
            .read()
            .record(record_id)
            .cloned()
            .ok_or_else(not_yours)?;
        if record.status == RecordStatus::Withdrawn {
            return Err(EnforcementError::Conflict(format!(
                "credit record {id} is withdrawn; a withdrawn record takes no more changes"
            )));
        }
        let event = match change {
            RecordChange::Correct(fields) => {
                let corrected = CreditRecord {
                    record_id: record.record_id.clone(),
                    decision: PenaltyDecision::new(*fields)?,
                };
                NewEvent::new(CREDIT_RECORD_CORRECTED, &corrected)?
            }
            RecordChange::Withdraw { reason } => {
                let withdrawn = CreditRecordWithdrawn::new(record.record_id.clone(), &reason)?;
                NewEvent::new(CREDIT_RECORD_WITHDRAWN, &withdrawn)?
            }
        };
        let event = event.with_metadata(Metadata::by(actor));
        log.append_to(
            &credit_stream(&record.record_id),
            Expected::Exact(record.version),
            vec![event],
        )
        .await?;
        credit.catch_up(log).await?;
        let updated = credit.read().record(record_id).cloned();
        Ok(updated.unwrap_or(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_per_rfc_4180() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    /// OWASP "CSV injection": a cell starting with `=`, `+`, `-`, `@`, tab or CR is a formula
    /// to a spreadsheet; a leading `'` makes it text, and RFC 4180 quoting still applies.
    #[test]
    fn cells_a_spreadsheet_would_run_are_neutralised() {
        assert_eq!(csv_field("=1+2"), "'=1+2");
        assert_eq!(csv_field("+86 138"), "'+86 138");
        assert_eq!(csv_field("-2+3"), "'-2+3");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("\tx"), "'\tx");
        assert_eq!(csv_field("\rx"), "\"'\rx\"");
        assert_eq!(
            csv_field("=HYPERLINK(\"http://e.example\",\"x\")"),
            "\"'=HYPERLINK(\"\"http://e.example\"\",\"\"x\"\")\""
        );
        for safe in ["1+2", "a=b", "罚款", "0.35", "2026/03/02", ""] {
            assert_eq!(csv_field(safe), safe);
        }
    }

    #[test]
    fn the_header_has_the_platform_codes_then_the_log_index() {
        let columns: Vec<&str> = CSV_HEADER.split(',').collect();
        assert_eq!(columns.len(), 17);
        assert_eq!(columns[0], "CF_XDR_MC");
        assert_eq!(columns[15], "CF_SJLY");
        assert_eq!(columns[16], "LOG_INDEX");
    }
}
