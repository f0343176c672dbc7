//! The read models' SQL: projection positions, the rows each projection writes, and the
//! queries of the [`ProjectionStore`](crate::projections::store::ProjectionStore) port.

use sqlx::Pool;
use time::Date;

use super::sql::Page;
use crate::domain::access::{Grant, Role};
use crate::domain::certificate::{Applied, CertificateState};
use crate::domain::enterprise::EnterpriseRegistered;
use crate::domain::issuer::{BrandId, IssuerId, IssuerRegistered, IssuerStatus};
use crate::domain::key::KeyStatus;
use crate::domain::region::RegionCode;
use crate::log::StorageError;
use crate::projections::model::{
    CertificateRecord, EnterpriseRecord, IssuerKeyRecord, IssuerRecord, ProjectionWrite,
    TokenRecord,
};
use crate::projections::store::{CertificateFilter, EnterpriseFilter, IssuerFilter, KeyFilter};

const ENSURE_PROJECTION: &str = "INSERT INTO projection_positions (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING";

const PROJECTION_POSITION: &str = "SELECT position FROM projection_positions WHERE name = $1";

const ADVANCE_PROJECTION: &str = "UPDATE projection_positions SET position = $1 \
     WHERE name = $2 AND position = $3 RETURNING position";

const RESET_PROJECTION: &str = "UPDATE projection_positions SET position = 0 WHERE name = $1";

const COUNT_EVENT_TYPE: &str = "INSERT INTO projection_event_types (type, count) VALUES ($1, $2) \
     ON CONFLICT (type) DO UPDATE SET count = projection_event_types.count + excluded.count";

const PUT_TOKEN: &str = "INSERT INTO projection_tokens \
     (token_id, token_sha256, role, issuer, regions, note, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (token_id) DO NOTHING";

const REVOKE_TOKEN: &str = "UPDATE projection_tokens SET revoked_at = $1 \
     WHERE token_id = $2 AND revoked_at IS NULL";

const SELECT_TOKENS: &str = "SELECT token_id, token_sha256, role, issuer, regions, note, \
     created_at, revoked_at FROM projection_tokens";

const PUT_ISSUER: &str = "INSERT INTO projection_issuers \
     (issuer_id, name, brand, region, status, registered_at, updated_at, sub_brand) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (issuer_id) DO NOTHING";

const SET_ISSUER_STATUS: &str =
    "UPDATE projection_issuers SET status = $1, updated_at = $2 WHERE issuer_id = $3";

const SELECT_ISSUERS: &str = "SELECT issuer_id, name, brand, region, status, registered_at, \
     updated_at, sub_brand FROM projection_issuers";

const PUT_ISSUER_KEY: &str = "INSERT INTO projection_issuer_keys (key_id, issuer_id, \
     public_key, not_before, not_after, endorsement, status, added_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (key_id) DO NOTHING";

const SET_ISSUER_KEY_STATUS: &str =
    "UPDATE projection_issuer_keys SET status = $1, updated_at = $2 WHERE key_id = $3";

const SELECT_ISSUER_KEYS: &str = "SELECT k.key_id, k.issuer_id, k.public_key, k.not_before, \
     k.not_after, k.endorsement, k.status, k.added_at, k.updated_at, i.brand \
     FROM projection_issuer_keys k JOIN projection_issuers i ON i.issuer_id = k.issuer_id";

const PUT_ENTERPRISE: &str = "INSERT INTO projection_enterprises \
     (licence, uscc, legacy_code, name, region, registered_by, registered_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (licence) DO NOTHING";

const SELECT_ENTERPRISES: &str = "SELECT uscc, legacy_code, name, region, registered_by, \
     registered_at FROM projection_enterprises";

const PUT_CERTIFICATE: &str = "INSERT INTO projection_certificates (certificate_id, issuer, \
     enterprise_uscc, product_name, product_category, standard, scope, state, applied_at, \
     updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (certificate_id) DO NOTHING";

const SET_CERTIFICATE_STATE: &str = "UPDATE projection_certificates SET state = $1, \
     updated_at = $2 WHERE certificate_id = $3";

const ISSUE_CERTIFICATE: &str = "UPDATE projection_certificates SET state = 'issued', \
     code = $1, valid_from = $2, valid_until = $3, updated_at = $4 WHERE certificate_id = $5";

const SELECT_CERTIFICATES: &str = "SELECT certificate_id, issuer, enterprise_uscc, \
     product_name, product_category, standard, scope, state, code, valid_from, valid_until, \
     applied_at, updated_at FROM projection_certificates";

const EVENT_TYPE_COUNTS: &str = "SELECT type, count FROM projection_event_types ORDER BY type";

/// The page key of a licence: by USCC, then issuer. Neither holds a `:`.
fn licence(uscc: &str, issuer: &str) -> String {
    format!("{uscc}:{issuer}")
}

/// The page key to resume after: `uscc:issuer` as given, or a plain USCC, which resumes after
/// every licence of that code (`~` sorts after every issuer id byte by byte).
fn after_licence(after: &str) -> String {
    if after.contains(':') {
        after.to_owned()
    } else {
        licence(after, "~")
    }
}

// Rows and their mapping; a stored value that does not fit its type is
// `StorageError::Corrupt`, never a panic.

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
    sub_brand: Option<String>,
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
                sub_brand: r
                    .sub_brand
                    .as_deref()
                    .map(BrandId::parse)
                    .transpose()
                    .map_err(|e| corrupt(e.to_string()))?,
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

/// Dates as stored: ISO 8601 calendar dates, as `Date`'s `Display` writes them.
const DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// The tables each projection owns, emptied by
/// `ProjectionStore::reset_projection`.
fn projection_tables(name: &str) -> &'static [&'static str] {
    use crate::projections::{
        certificates, enterprises, event_types, issuer_keys, issuers, tokens,
    };
    match name {
        event_types::NAME => &["projection_event_types"],
        tokens::NAME => &["projection_tokens"],
        issuers::NAME => &["projection_issuers"],
        issuer_keys::NAME => &["projection_issuer_keys"],
        enterprises::NAME => &["projection_enterprises"],
        certificates::NAME => &["projection_certificates"],
        _ => &[],
    }
}

super::sql::per_engine! {
    pub async fn projection_position(
        pool: &Pool<DB>,
        name: &str,
    ) -> Result<u64, StorageError> {
        sqlx::query(ENSURE_PROJECTION)
            .bind(name)
            .execute(pool)
            .await?;
        let (position,): (i64,) = sqlx::query_as(PROJECTION_POSITION)
            .bind(name)
            .fetch_one(pool)
            .await?;
        Ok(position as u64)
    }

    /// One token by id, or all tokens (`None`), from the `tokens` projection.
    pub async fn tokens(
        pool: &Pool<DB>,
        token_id: Option<&str>,
    ) -> Result<Vec<TokenRecord>, StorageError> {
        let rows: Vec<TokenRow> = match token_id {
            Some(id) => {
                let sql = format!("{SELECT_TOKENS} WHERE token_id = $1");
                sqlx::query_as(&sql).bind(id).fetch_all(pool).await?
            }
            None => {
                let sql = format!("{SELECT_TOKENS} ORDER BY created_at, token_id");
                sqlx::query_as(&sql).fetch_all(pool).await?
            }
        };
        rows.into_iter().map(TokenRecord::try_from).collect()
    }

    /// Issuers matching a filter, by id, one page.
    pub async fn issuers(
        pool: &Pool<DB>,
        filter: &IssuerFilter,
    ) -> Result<Vec<IssuerRecord>, StorageError> {
        let rows: Vec<IssuerRow> = Page::new(SELECT_ISSUERS)
            .and("issuer_id =", filter.id.clone())
            .and("status =", filter.status.map(|s| s.as_str().to_owned()))
            .and(
                "region LIKE",
                filter.region.map(|r| format!("{}%", r.covered_prefix())),
            )
            .fetch(pool, "issuer_id", filter.after.clone(), filter.limit)
            .await?;
        rows.into_iter().map(IssuerRecord::try_from).collect()
    }

    /// Issuer keys matching a filter, by key id, one page.
    pub async fn issuer_keys(
        pool: &Pool<DB>,
        filter: &KeyFilter,
    ) -> Result<Vec<IssuerKeyRecord>, StorageError> {
        let rows: Vec<IssuerKeyRow> = Page::new(SELECT_ISSUER_KEYS)
            .and("k.key_id =", filter.key_id.map(|id| id.to_string()))
            .and("k.issuer_id =", filter.issuer.clone())
            .and("k.status =", filter.status.map(|s| s.as_str().to_owned()))
            .fetch(pool, "k.key_id", filter.after.clone(), filter.limit)
            .await?;
        rows.into_iter().map(IssuerKeyRecord::try_from).collect()
    }

    /// Licensees matching a filter, by USCC then issuer, one page.
    pub async fn enterprises(
        pool: &Pool<DB>,
        filter: &EnterpriseFilter,
    ) -> Result<Vec<EnterpriseRecord>, StorageError> {
        let rows: Vec<EnterpriseRow> = Page::new(SELECT_ENTERPRISES)
            .and("uscc =", filter.uscc.clone())
            .and("registered_by =", filter.registered_by.clone())
            .and(
                "region LIKE",
                filter.region.map(|r| format!("{}%", r.covered_prefix())),
            )
            .fetch(
                pool,
                "licence",
                filter.after.as_deref().map(after_licence),
                filter.limit,
            )
            .await?;
        rows.into_iter().map(EnterpriseRecord::try_from).collect()
    }

    /// Certificates matching a filter, by id, one page.
    pub async fn certificates(
        pool: &Pool<DB>,
        filter: &CertificateFilter,
    ) -> Result<Vec<CertificateRecord>, StorageError> {
        let rows: Vec<CertificateRow> = Page::new(SELECT_CERTIFICATES)
            .and("certificate_id =", filter.id.clone())
            .and("issuer =", filter.issuer.clone())
            .fetch(pool, "certificate_id", filter.after.clone(), filter.limit)
            .await?;
        rows.into_iter().map(CertificateRecord::try_from).collect()
    }

    pub async fn event_type_counts(
        pool: &Pool<DB>,
    ) -> Result<Vec<(String, u64)>, StorageError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(EVENT_TYPE_COUNTS).fetch_all(pool).await?;
        Ok(rows.into_iter().map(|(t, n)| (t, n as u64)).collect())
    }

    /// Applies a projection's writes and moves its position from `from` to `to`, inside the
    /// caller's transaction; false (and nothing written) when the position is no longer `from`.
    pub async fn apply_projection(
        conn: &mut Conn,
        name: &str,
        from: u64,
        to: u64,
        writes: &[ProjectionWrite],
    ) -> Result<bool, StorageError> {
        let moved: Option<(i64,)> = sqlx::query_as(ADVANCE_PROJECTION)
            .bind(to as i64)
            .bind(name)
            .bind(from as i64)
            .fetch_optional(&mut *conn)
            .await?;
        if moved.is_none() {
            return Ok(false);
        }
        for write in writes {
            match write {
                ProjectionWrite::CountEvents { event_type, count } => {
                    sqlx::query(COUNT_EVENT_TYPE)
                        .bind(event_type.as_str())
                        .bind(*count as i64)
                        .execute(&mut *conn)
                        .await?;
                }
                ProjectionWrite::PutToken(token) => {
                    sqlx::query(PUT_TOKEN)
                        .bind(token.token_id.as_str())
                        .bind(token.token_sha256.as_str())
                        .bind(token.grant.role.as_str())
                        .bind(token.grant.issuer.as_deref())
                        .bind(
                            token
                                .grant
                                .regions
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(","),
                        )
                        .bind(token.note.as_deref())
                        .bind(token.created_at.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
                ProjectionWrite::PutIssuer(issuer) => {
                    let r = &issuer.registered;
                    sqlx::query(PUT_ISSUER)
                        .bind(r.issuer_id.as_str())
                        .bind(r.name.as_str())
                        .bind(r.brand.as_str())
                        .bind(r.region.to_string())
                        .bind(issuer.status.as_str())
                        .bind(issuer.registered_at.as_str())
                        .bind(issuer.updated_at.as_str())
                        .bind(r.sub_brand.as_ref().map(BrandId::as_str))
                        .execute(&mut *conn)
                        .await?;
                }
                ProjectionWrite::PutIssuerKey { added, added_at } => {
                    use base64::Engine;
                    let b64 = &base64::engine::general_purpose::STANDARD;
                    sqlx::query(PUT_ISSUER_KEY)
                        .bind(added.key_id.to_string())
                        .bind(added.issuer_id.as_str())
                        .bind(b64.encode(added.public_key.as_bytes()))
                        .bind(added.not_before as i64)
                        .bind(added.not_after as i64)
                        .bind(b64.encode(added.endorsement.to_bytes()))
                        .bind(KeyStatus::Added.as_str())
                        .bind(added_at.as_str())
                        .bind(added_at.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
                ProjectionWrite::SetIssuerKeyStatus {
                    key_id,
                    status,
                    updated_at,
                } => {
                    sqlx::query(SET_ISSUER_KEY_STATUS)
                        .bind(status.as_str())
                        .bind(updated_at.as_str())
                        .bind(key_id.to_string())
                        .execute(&mut *conn)
                        .await?;
                }
                ProjectionWrite::PutEnterprise(enterprise) => {
                    let r = &enterprise.registered;
                    sqlx::query(PUT_ENTERPRISE)
                        .bind(licence(&r.uscc, r.registered_by.as_str()))
                        .bind(r.uscc.as_str())
                        .bind(r.legacy_code)
                        .bind(r.name.as_str())
                        .bind(r.region.to_string())
                        .bind(r.registered_by.as_str())
                        .bind(enterprise.registered_at.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
                ProjectionWrite::PutCertificate(c) => {
                    let a = &c.applied;
                    sqlx::query(PUT_CERTIFICATE)
                        .bind(a.certificate_id.as_str())
                        .bind(a.issuer.as_str())
                        .bind(a.enterprise_uscc.as_str())
                        .bind(a.product_name.as_str())
                        .bind(a.product_category.as_str())
                        .bind(a.standard.as_str())
                        .bind(a.scope.as_str())
                        .bind(c.state.as_str())
                        .bind(c.applied_at.as_str())
                        .bind(c.updated_at.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
                ProjectionWrite::SetCertificateState {
                    certificate_id,
                    state,
                    updated_at,
                } => {
                    sqlx::query(SET_CERTIFICATE_STATE)
                        .bind(state.as_str())
                        .bind(updated_at.as_str())
                        .bind(certificate_id.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
                ProjectionWrite::IssueCertificate {
                    certificate_id,
                    issued,
                    updated_at,
                } => {
                    sqlx::query(ISSUE_CERTIFICATE)
                        .bind(issued.code.as_str())
                        .bind(issued.valid_from.to_string())
                        .bind(issued.valid_until.to_string())
                        .bind(updated_at.as_str())
                        .bind(certificate_id.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
                ProjectionWrite::SetIssuerStatus {
                    issuer_id,
                    status,
                    updated_at,
                } => {
                    sqlx::query(SET_ISSUER_STATUS)
                        .bind(status.as_str())
                        .bind(updated_at.as_str())
                        .bind(issuer_id.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
                ProjectionWrite::RevokeToken {
                    token_id,
                    revoked_at,
                } => {
                    sqlx::query(REVOKE_TOKEN)
                        .bind(revoked_at.as_str())
                        .bind(token_id.as_str())
                        .execute(&mut *conn)
                        .await?;
                }
            }
        }
        Ok(true)
    }

    /// Empties a projection's tables and sets its position to 0, inside the caller's transaction.
    pub async fn reset_projection(
        conn: &mut Conn,
        name: &str,
    ) -> Result<(), StorageError> {
        for table in projection_tables(name) {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *conn)
                .await?;
        }
        sqlx::query(RESET_PROJECTION)
            .bind(name)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}
