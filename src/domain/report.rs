//! A consumer's report of a suspected fake (SPEC.md "Users": a consumer "reports a suspected
//! fake"): the event that records it, confidential since it may hold a contact. Its stream is
//! `report-<id>`, created once.

use serde::{Deserialize, Serialize};

use super::issuer::{IssuerError, text};
use super::region::RegionCode;

pub const CONSUMER_REPORT_FILED: &str = "ConsumerReportFiled";

/// The data of `ConsumerReportFiled`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerReport {
    pub report_id: String,
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<RegionCode>,
    pub note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
}

impl ConsumerReport {
    /// A new report with a fresh id; every text trimmed, non-blank and bounded (a blank
    /// contact is no contact).
    pub fn new(
        token: &str,
        region: Option<RegionCode>,
        note: &str,
        contact: Option<&str>,
    ) -> Result<ConsumerReport, IssuerError> {
        let contact = match contact.filter(|c| !c.trim().is_empty()) {
            Some(contact) => Some(text("contact", contact, 200)?),
            None => None,
        };
        Ok(ConsumerReport {
            report_id: uuid::Uuid::now_v7().simple().to_string(),
            token: text("token", token, 400)?,
            region,
            note: text("note", note, 1000)?,
            contact,
        })
    }

    pub fn stream(&self) -> String {
        format!("report-{}", self.report_id)
    }
}
