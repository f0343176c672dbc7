//! Row types and their mapping to the log's types, shared by both engines. A stored value
//! that does not fit its type (a negative index, a hash of the wrong length) is a
//! [`StorageError::Corrupt`], never a panic.

use uuid::Uuid;

use super::{StorageError, StoredCheckpoint};
use crate::access::{Grant, Role, TokenRecord};
use time::Date;

use crate::domain::certificate::{Applied, CertificateState};
use crate::domain::enterprise::EnterpriseRegistered;
use crate::domain::issuer::{IssuerId, IssuerRegistered, IssuerStatus};
use crate::domain::key::KeyStatus;
use crate::domain::region::RegionCode;
use crate::log::commit::{Existing, Position};
use crate::log::event::{Metadata, StoredEvent, Visibility};
use crate::log::merkle::{Frontier, Hash};
use crate::projections::certificates::CertificateRecord;
use crate::projections::enterprises::EnterpriseRecord;
use crate::projections::issuer_keys::IssuerKeyRecord;
use crate::projections::issuers::IssuerRecord;
use crate::scans::{Scan, StoredScan};
use crate::verify::verdict::Verdict;

#[derive(sqlx::FromRow)]
pub struct EventRow {
    idx: i64,
    event_id: Uuid,
    stream: String,
    version: i64,
    #[sqlx(rename = "type")]
    event_type: String,
    schema: i32,
    data: String,
    data_sha256: String,
    actor: Option<String>,
    correlation_id: Option<Uuid>,
    causation_id: Option<Uuid>,
    recorded_at: String,
    visibility: String,
    leaf_hash: Vec<u8>,
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = StorageError;

    fn try_from(r: EventRow) -> Result<StoredEvent, StorageError> {
        let corrupt = |what: &str| StorageError::Corrupt(format!("event {}: {what}", r.idx));
        Ok(StoredEvent {
            index: u64::try_from(r.idx).map_err(|_| corrupt("negative index"))?,
            event_id: r.event_id,
            version: u64::try_from(r.version).map_err(|_| corrupt("negative version"))?,
            schema: u32::try_from(r.schema).map_err(|_| corrupt("negative schema"))?,
            visibility: Visibility::parse(&r.visibility)
                .ok_or_else(|| corrupt("bad visibility"))?,
            leaf_hash: r
                .leaf_hash
                .as_slice()
                .try_into()
                .map_err(|_| corrupt("leaf hash is not 32 bytes"))?,
            stream: r.stream,
            event_type: r.event_type,
            data: r.data,
            data_sha256: r.data_sha256,
            metadata: Metadata {
                actor: r.actor,
                correlation_id: r.correlation_id,
                causation_id: r.causation_id,
            },
            recorded_at: r.recorded_at,
        })
    }
}

pub fn into_events(rows: Vec<EventRow>) -> Result<Vec<StoredEvent>, StorageError> {
    rows.into_iter().map(StoredEvent::try_from).collect()
}

#[derive(sqlx::FromRow)]
pub struct ExistingRow {
    event_id: Uuid,
    idx: i64,
    stream: String,
    version: i64,
    #[sqlx(rename = "type")]
    event_type: String,
    data_sha256: String,
}

impl From<ExistingRow> for (Uuid, Existing) {
    fn from(r: ExistingRow) -> (Uuid, Existing) {
        (
            r.event_id,
            Existing {
                position: Position {
                    index: r.idx as u64,
                    stream: r.stream,
                    version: r.version as u64,
                },
                event_type: r.event_type,
                data_sha256: r.data_sha256,
            },
        )
    }
}

pub fn hash_from(bytes: &[u8], what: &str) -> Result<Hash, StorageError> {
    bytes
        .try_into()
        .map_err(|_| StorageError::Corrupt(format!("{what} is not 32 bytes")))
}

pub fn frontier_from(size: i64, bytes: &[u8]) -> Result<Frontier, StorageError> {
    Frontier::from_parts(size as u64, bytes).map_err(|e| StorageError::Corrupt(e.to_string()))
}

pub fn into_checkpoints(
    rows: Vec<(i64, Vec<u8>, String)>,
) -> Result<Vec<StoredCheckpoint>, StorageError> {
    rows.into_iter()
        .map(|(size, root, note)| {
            Ok(StoredCheckpoint {
                size: size as u64,
                root: hash_from(&root, "a checkpoint root")?,
                note,
            })
        })
        .collect()
}

#[derive(sqlx::FromRow)]
pub struct TokenRow {
    token_id: String,
    token_sha256: String,
    role: String,
    issuer: Option<String>,
    regions: String,
    note: Option<String>,
    created_at: String,
    revoked_at: Option<String>,
}

impl TryFrom<TokenRow> for TokenRecord {
    type Error = StorageError;

    fn try_from(r: TokenRow) -> Result<TokenRecord, StorageError> {
        let role = Role::parse(&r.role).ok_or_else(|| {
            StorageError::Corrupt(format!("token {}: role {:?}", r.token_id, r.role))
        })?;
        let regions = r
            .regions
            .split(',')
            .filter(|c| !c.is_empty())
            .map(|c| {
                RegionCode::parse(c)
                    .map_err(|e| StorageError::Corrupt(format!("token {}: {e}", r.token_id)))
            })
            .collect::<Result<_, _>>()?;
        Ok(TokenRecord {
            grant: Grant {
                role,
                issuer: r.issuer,
                regions,
            },
            token_id: r.token_id,
            note: r.note,
            created_at: r.created_at,
            revoked_at: r.revoked_at,
            token_sha256: r.token_sha256,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct IssuerRow {
    issuer_id: String,
    name: String,
    brand: String,
    region: String,
    status: String,
    registered_at: String,
    updated_at: String,
}

impl TryFrom<IssuerRow> for IssuerRecord {
    type Error = StorageError;

    fn try_from(r: IssuerRow) -> Result<IssuerRecord, StorageError> {
        let corrupt =
            |what: String| StorageError::Corrupt(format!("issuer {}: {what}", r.issuer_id));
        Ok(IssuerRecord {
            registered: IssuerRegistered {
                issuer_id: IssuerId::parse(&r.issuer_id).map_err(|e| corrupt(e.to_string()))?,
                region: RegionCode::parse(&r.region).map_err(|e| corrupt(e.to_string()))?,
                name: r.name,
                brand: r.brand,
            },
            status: IssuerStatus::parse(&r.status).ok_or_else(|| corrupt(r.status.clone()))?,
            registered_at: r.registered_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct IssuerKeyRow {
    key_id: String,
    issuer_id: String,
    public_key: String,
    not_before: i64,
    not_after: i64,
    endorsement: String,
    status: String,
    added_at: String,
    updated_at: String,
    brand: String,
}

impl TryFrom<IssuerKeyRow> for IssuerKeyRecord {
    type Error = StorageError;

    fn try_from(r: IssuerKeyRow) -> Result<IssuerKeyRecord, StorageError> {
        let corrupt =
            |what: String| StorageError::Corrupt(format!("issuer key {}: {what}", r.key_id));
        // The row holds the event's fields as the event spells them; decode them the same way.
        let added = serde_json::from_value(serde_json::json!({
            "issuer_id": r.issuer_id,
            "key_id": r.key_id,
            "public_key": r.public_key,
            "not_before": r.not_before,
            "not_after": r.not_after,
            "endorsement": r.endorsement,
        }))
        .map_err(|e| corrupt(e.to_string()))?;
        Ok(IssuerKeyRecord {
            added,
            brand: r.brand,
            status: KeyStatus::parse(&r.status).ok_or_else(|| corrupt(r.status.clone()))?,
            added_at: r.added_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct EnterpriseRow {
    uscc: String,
    legacy_code: bool,
    name: String,
    region: String,
    registered_by: String,
    registered_at: String,
}

impl TryFrom<EnterpriseRow> for EnterpriseRecord {
    type Error = StorageError;

    fn try_from(r: EnterpriseRow) -> Result<EnterpriseRecord, StorageError> {
        let corrupt =
            |what: String| StorageError::Corrupt(format!("enterprise {}: {what}", r.uscc));
        Ok(EnterpriseRecord {
            registered: EnterpriseRegistered {
                region: RegionCode::parse(&r.region).map_err(|e| corrupt(e.to_string()))?,
                registered_by: IssuerId::parse(&r.registered_by)
                    .map_err(|e| corrupt(e.to_string()))?,
                uscc: r.uscc,
                legacy_code: r.legacy_code,
                name: r.name,
            },
            registered_at: r.registered_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct CertificateRow {
    certificate_id: String,
    issuer: String,
    enterprise_uscc: String,
    product_name: String,
    product_category: String,
    standard: String,
    scope: String,
    state: String,
    code: Option<String>,
    valid_from: Option<String>,
    valid_until: Option<String>,
    applied_at: String,
    updated_at: String,
}

impl TryFrom<CertificateRow> for CertificateRecord {
    type Error = StorageError;

    fn try_from(r: CertificateRow) -> Result<CertificateRecord, StorageError> {
        let id = r.certificate_id.clone();
        let corrupt = |what: String| StorageError::Corrupt(format!("certificate {id}: {what}"));
        let date = |value: Option<String>| -> Result<Option<Date>, StorageError> {
            value
                .map(|v| Date::parse(&v, DATE).map_err(|e| corrupt(format!("{v:?}: {e}"))))
                .transpose()
        };
        Ok(CertificateRecord {
            state: CertificateState::parse(&r.state).ok_or_else(|| corrupt(r.state.clone()))?,
            valid_from: date(r.valid_from)?,
            valid_until: date(r.valid_until)?,
            applied: Applied {
                issuer: IssuerId::parse(&r.issuer).map_err(|e| corrupt(e.to_string()))?,
                certificate_id: r.certificate_id,
                enterprise_uscc: r.enterprise_uscc,
                product_name: r.product_name,
                product_category: r.product_category,
                standard: r.standard,
                scope: r.scope,
            },
            code: r.code,
            applied_at: r.applied_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct ScanRow {
    scan_id: i64,
    serial: i64,
    scanned_at: String,
    region: Option<String>,
    verdict: String,
    client: String,
}

impl TryFrom<ScanRow> for StoredScan {
    type Error = StorageError;

    fn try_from(r: ScanRow) -> Result<StoredScan, StorageError> {
        let corrupt = |what: String| StorageError::Corrupt(format!("scan {}: {what}", r.scan_id));
        Ok(StoredScan {
            scan_id: u64::try_from(r.scan_id).map_err(|_| corrupt("negative id".into()))?,
            scan: Scan {
                // The serial's bits, as `insert_scans` stored them.
                serial: r.serial as u64,
                region: r
                    .region
                    .map(|c| RegionCode::parse(&c).map_err(|e| corrupt(e.to_string())))
                    .transpose()?,
                verdict: verdict_from(&r.verdict).ok_or_else(|| corrupt(r.verdict.clone()))?,
                scanned_at: r.scanned_at,
                client: r.client,
            },
        })
    }
}

/// A verdict from its stored name. `Verdict` only serialises, so its names are matched here
/// against the one spelling it writes.
fn verdict_from(name: &str) -> Option<Verdict> {
    [
        Verdict::Forged,
        Verdict::Altered,
        Verdict::Void,
        Verdict::Revoked,
        Verdict::Suspended,
        Verdict::Genuine,
    ]
    .into_iter()
    .find(|v| v.as_str() == name)
}

/// Dates as stored: ISO 8601 calendar dates, as `Date`'s `Display` writes them.
const DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");
