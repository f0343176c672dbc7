//! The registry as GS1 EPCIS 2.0 events (JSON-LD binding), for traceability partners: what an
//! issued batch, a range report and a day of scans of one mark are as `ObjectEvent`s, and the
//! `EPCISDocument` that carries them. Pure mapping from registry facts to JSON; `app::epcis`
//! reads the log, the mark index and the scan totals and calls it.
//!
//! | registry | action | bizStep | disposition | what |
//! |---|---|---|---|---|
//! | `MarkBatchIssued` | `ADD` | `commissioning` | `active` | `quantityList`: the batch's class, quantity = count |
//! | `MarkRangeReported` voided | `DELETE` | `destroying` | `destroyed` | the range's class and size |
//! | `MarkRangeReported` stolen | `OBSERVE` | — | `stolen` | the range's class and size |
//! | `MarkRangeReported` lost | `OBSERVE` | — | `unknown` | the range's class and size |
//! | scans of one serial in one region on one day | `OBSERVE` | `inspecting` | — | `epcList`: the mark; `readPoint`: the region |
//!
//! A lost label is `unknown`: CBV 2.0 has no "lost", and of its dispositions only `unknown`
//! ("the disposition is not known") says what the brand knows of it; `stolen` would accuse
//! someone, `destroyed` would tell partners the label can never turn up, and a lost label that
//! turns up is exactly what the verdict `void`/`lost` is for. Revoked, suspended and reinstated
//! marks are no physical event and no CBV disposition fits them; they are left out, and their
//! status is what verification answers.
//!
//! Identifiers: a batch with a GTIN is the GS1 Digital Link class `https://id.gs1.org/01/{gtin14}`
//! and its marks `https://id.gs1.org/01/{gtin14}/21/{serial}` (the canonical form EPCIS 2.0
//! uses); without a GTIN there is no GS1 key, so `urn:marktrace:batch:{id}` and
//! `urn:marktrace:mark:{serial}`. A region is `urn:marktrace:region:{GB/T 2260 code}`. The
//! facts EPCIS has no field for ride as extensions in the `marktrace:` namespace
//! (`urn:marktrace:epcis:`): the batch, its serial range, the lot, a scan count and day.

use serde_json::{Map, Value, json};

use super::batch::{BatchIssued, MarkStatus, RangeReported};
use super::gtin::Gtin;
use super::region::RegionCode;

/// The EPCIS 2.0 JSON-LD context (GS1, EPCIS 2.0 §9 and the standard's artefacts).
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// The namespace of this registry's extension fields.
pub const NAMESPACE: &str = "urn:marktrace:epcis:";

/// Where the marks are: Jiangxi keeps China Standard Time, so every event's local offset is
/// +08:00 (the times themselves are UTC).
pub const TIME_ZONE_OFFSET: &str = "+08:00";

/// When and as which log event a registry fact was recorded.
#[derive(Clone, Copy, Debug)]
pub struct Recorded<'a> {
    /// The log event's id, which becomes the EPCIS `eventID` (`urn:uuid:…`).
    pub event_id: uuid::Uuid,
    /// RFC 3339 UTC, as the log records it.
    pub at: &'a str,
}

/// The class of a batch's marks: its GTIN's Digital Link class, or the batch itself.
pub fn class_of(batch: &BatchIssued) -> String {
    match batch.gtin {
        Some(gtin) => format!("https://id.gs1.org/01/{gtin}"),
        None => format!("urn:marktrace:batch:{}", batch.batch_id),
    }
}

/// The public page of a certificate, by its code (`GET /api/v1/public/certificates/{code}`):
/// the events' `certificationInfo` and the resolver's `gs1:certificationInfo` link.
pub fn certificate_page(public_url: &str, code: &str) -> String {
    format!("{public_url}/api/v1/public/certificates/{code}")
}

/// One mark: its GS1 Digital Link URI (GTIN and serial), or the serial alone.
pub fn mark_id(gtin: Option<Gtin>, serial: u64) -> String {
    match gtin {
        Some(gtin) => format!("https://id.gs1.org/01/{gtin}/21/{serial}"),
        None => format!("urn:marktrace:mark:{serial}"),
    }
}

/// A region as a read point.
pub fn region_id(region: RegionCode) -> String {
    format!("urn:marktrace:region:{region}")
}

/// The fields every event of a batch has: times, certificate, batch.
fn event(
    action: &str,
    event_id: String,
    at: &str,
    recorded: Option<&str>,
    batch: &BatchIssued,
    certification_info: &str,
) -> Map<String, Value> {
    let mut event = Map::new();
    event.insert("type".into(), json!("ObjectEvent"));
    event.insert("eventID".into(), json!(event_id));
    event.insert("eventTime".into(), json!(at));
    if let Some(recorded) = recorded {
        event.insert("recordTime".into(), json!(recorded));
    }
    event.insert("eventTimeZoneOffset".into(), json!(TIME_ZONE_OFFSET));
    event.insert("action".into(), json!(action));
    event.insert("certificationInfo".into(), json!(certification_info));
    event.insert("marktrace:batch".into(), json!(batch.batch_id));
    event
}

/// A range of a batch's marks by class and count, with the serials as an extension.
fn range(event: &mut Map<String, Value>, batch: &BatchIssued, first: u64, last: u64) {
    event.insert(
        "quantityList".into(),
        json!([{"epcClass": class_of(batch), "quantity": last - first + 1}]),
    );
    event.insert("marktrace:firstSerial".into(), json!(first));
    event.insert("marktrace:lastSerial".into(), json!(last));
}

/// `MarkBatchIssued`: the batch's marks commissioned, counted under their class.
pub fn batch_issued(
    batch: &BatchIssued,
    recorded: Recorded<'_>,
    certification_info: &str,
) -> Value {
    let id = format!("urn:uuid:{}", recorded.event_id);
    let mut event = event(
        "ADD",
        id,
        recorded.at,
        Some(recorded.at),
        batch,
        certification_info,
    );
    event.insert("bizStep".into(), json!("commissioning"));
    event.insert("disposition".into(), json!("active"));
    range(&mut event, batch, batch.first_serial, batch.last_serial());
    if let Some(lot) = &batch.lot {
        event.insert("marktrace:lot".into(), json!(lot));
    }
    Value::Object(event)
}

/// `MarkRangeReported`: voided marks destroyed, stolen ones stolen, lost ones unknown; `None`
/// for the statuses that are no EPCIS event (see the module documentation).
pub fn range_reported(
    batch: &BatchIssued,
    report: &RangeReported,
    recorded: Recorded<'_>,
    certification_info: &str,
) -> Option<Value> {
    let (action, biz_step, disposition) = match report.status {
        MarkStatus::Voided => ("DELETE", Some("destroying"), "destroyed"),
        MarkStatus::Stolen => ("OBSERVE", None, "stolen"),
        MarkStatus::Lost => ("OBSERVE", None, "unknown"),
        MarkStatus::Revoked | MarkStatus::Suspended | MarkStatus::Reinstated => return None,
    };
    let id = format!("urn:uuid:{}", recorded.event_id);
    let mut event = event(
        action,
        id,
        recorded.at,
        Some(recorded.at),
        batch,
        certification_info,
    );
    if let Some(biz_step) = biz_step {
        event.insert("bizStep".into(), json!(biz_step));
    }
    event.insert("disposition".into(), json!(disposition));
    range(&mut event, batch, report.first, report.last);
    Some(Value::Object(event))
}

/// One mark's scans in one region (or none given) on one UTC day, counted: an inspection
/// observed there, timed at the day's last scan. Nothing about who scanned.
pub struct ScansOfDay<'a> {
    pub serial: u64,
    pub region: Option<RegionCode>,
    /// `YYYY-MM-DD`.
    pub day: &'a str,
    pub scans: u64,
    /// The last scan's time, RFC 3339 UTC.
    pub last_at: &'a str,
}

pub fn scans_observed(
    batch: &BatchIssued,
    scans: &ScansOfDay<'_>,
    certification_info: &str,
) -> Value {
    let region = scans.region.map_or("none".to_owned(), |r| r.to_string());
    let id = format!(
        "urn:marktrace:scans:{}:{}:{region}",
        scans.day, scans.serial
    );
    let mut event = event(
        "OBSERVE",
        id,
        scans.last_at,
        None,
        batch,
        certification_info,
    );
    event.insert("epcList".into(), json!([mark_id(batch.gtin, scans.serial)]));
    event.insert("bizStep".into(), json!("inspecting"));
    if let Some(region) = scans.region {
        event.insert("readPoint".into(), json!({"id": region_id(region)}));
    }
    event.insert("marktrace:day".into(), json!(scans.day));
    event.insert("marktrace:scans".into(), json!(scans.scans));
    Value::Object(event)
}

/// The document: the events in order, created at `created` (RFC 3339 UTC), and `next_after`,
/// the cursor a partner passes as `after` for the next page (absent when there was nothing to
/// read).
pub fn document(created: &str, events: Vec<Value>, next_after: Option<u64>) -> Value {
    let mut document = json!({
        "@context": [EPCIS_CONTEXT, {"marktrace": NAMESPACE}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": created,
        "epcisBody": {"eventList": events},
    });
    if let Some(next) = next_after {
        document["marktrace:nextAfter"] = json!(next);
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::issuer::IssuerId;
    use crate::domain::key::KeyId;

    fn batch(gtin: Option<Gtin>) -> BatchIssued {
        BatchIssued {
            batch_id: "b1".into(),
            issuer_id: IssuerId::parse("jx-cb1").unwrap(),
            certificate_id: "c1".into(),
            certificate_code: "JXGE-2026-001".into(),
            enterprise_uscc: "91330000704202479R".into(),
            key_id: KeyId([1; 8]),
            first_serial: 101,
            count: 100,
            gtin,
            regions: vec![RegionCode::parse("360000").unwrap()],
            lot: Some("2026-11".into()),
            notes: None,
        }
    }

    const AT: &str = "2026-11-29T03:40:00.123456Z";

    fn recorded() -> Recorded<'static> {
        Recorded {
            event_id: uuid::Uuid::from_u128(7),
            at: AT,
        }
    }

    /// The example GTIN of the GS1 Digital Link URI Syntax standard, 09506000134352.
    fn gtin() -> Gtin {
        Gtin::parse("09506000134352").unwrap()
    }

    #[test]
    fn a_batch_with_a_gtin_is_commissioned_under_its_digital_link_class() {
        let event = batch_issued(&batch(Some(gtin())), recorded(), "https://c.example/C1");
        assert_eq!(
            event,
            json!({
                "type": "ObjectEvent",
                "eventID": "urn:uuid:00000000-0000-0000-0000-000000000007",
                "eventTime": AT,
                "recordTime": AT,
                "eventTimeZoneOffset": "+08:00",
                "action": "ADD",
                "certificationInfo": "https://c.example/C1",
                "marktrace:batch": "b1",
                "bizStep": "commissioning",
                "disposition": "active",
                "quantityList": [{"epcClass": "https://id.gs1.org/01/09506000134352", "quantity": 100}],
                "marktrace:firstSerial": 101,
                "marktrace:lastSerial": 200,
                "marktrace:lot": "2026-11",
            })
        );
    }

    #[test]
    fn a_batch_without_a_gtin_is_its_own_class_and_its_marks_are_serials() {
        assert_eq!(class_of(&batch(None)), "urn:marktrace:batch:b1");
        assert_eq!(mark_id(None, 7), "urn:marktrace:mark:7");
        assert_eq!(
            mark_id(Some(gtin()), 7),
            "https://id.gs1.org/01/09506000134352/21/7"
        );
    }

    #[test]
    fn voided_stolen_and_lost_ranges_map_to_cbv_dispositions_and_the_rest_to_nothing() {
        let b = batch(Some(gtin()));
        let report = |status| RangeReported::new(&b, 110, 119, status, Some("r")).unwrap();
        let mapped = |status| range_reported(&b, &report(status), recorded(), "https://c/x");
        let voided = mapped(MarkStatus::Voided).unwrap();
        assert_eq!(
            (
                &voided["action"],
                &voided["bizStep"],
                &voided["disposition"]
            ),
            (&json!("DELETE"), &json!("destroying"), &json!("destroyed"))
        );
        assert_eq!(voided["quantityList"][0]["quantity"], 10);
        assert_eq!(voided["marktrace:firstSerial"], 110);
        let stolen = mapped(MarkStatus::Stolen).unwrap();
        assert_eq!(
            (&stolen["action"], &stolen["disposition"]),
            (&json!("OBSERVE"), &json!("stolen"))
        );
        assert!(stolen.get("bizStep").is_none());
        assert_eq!(mapped(MarkStatus::Lost).unwrap()["disposition"], "unknown");
        for status in [
            MarkStatus::Revoked,
            MarkStatus::Suspended,
            MarkStatus::Reinstated,
        ] {
            assert!(mapped(status).is_none(), "{status}");
        }
    }

    #[test]
    fn a_day_of_scans_is_an_inspection_at_the_region_with_no_client_data() {
        let scans = ScansOfDay {
            serial: 150,
            region: Some(RegionCode::parse("360102").unwrap()),
            day: "2026-11-28",
            scans: 3,
            last_at: "2026-11-28T09:00:00.000000Z",
        };
        let event = scans_observed(&batch(Some(gtin())), &scans, "https://c/x");
        assert_eq!(
            event["eventID"],
            "urn:marktrace:scans:2026-11-28:150:360102"
        );
        assert_eq!(
            event["epcList"],
            json!(["https://id.gs1.org/01/09506000134352/21/150"])
        );
        assert_eq!(
            event["readPoint"],
            json!({"id": "urn:marktrace:region:360102"})
        );
        assert_eq!(
            (&event["action"], &event["bizStep"]),
            (&json!("OBSERVE"), &json!("inspecting"))
        );
        assert_eq!(event["marktrace:scans"], 3);
        let unplaced = ScansOfDay {
            region: None,
            ..scans
        };
        let event = scans_observed(&batch(None), &unplaced, "https://c/x");
        assert!(event.get("readPoint").is_none());
        assert_eq!(event["eventID"], "urn:marktrace:scans:2026-11-28:150:none");
    }
}
