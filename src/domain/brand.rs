//! Brands beside 江西绿色生态's own issuers (品牌互认): **sub-brands**, the city and county
//! public brands brought under it, each with its own name and suspended or reinstated as a
//! whole; and **partner brands**, other regions' public brands whose marks verify here as
//! theirs, trusted through their key directory (a root key endorsing issuer keys) and watched
//! through their transparency log's verifier key. Pure rules: the identifiers, the event data,
//! the transitions and the check of a partner's key directory; `registry` appends them.

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

#[cfg(test)]
use super::issuer::IssuerId;
use super::issuer::{BrandId, IssuerError, text};
use super::key::{
    ENDORSEMENT_CONTEXT, IssuerKeyAdded, KeyId, KeyStatus, LATEST_UNIX_SECONDS, Validity,
};
use super::region::RegionCode;

pub const SUB_BRAND_REGISTERED: &str = "SubBrandRegistered";
pub const SUB_BRAND_SUSPENDED: &str = "SubBrandSuspended";
pub const SUB_BRAND_REINSTATED: &str = "SubBrandReinstated";
pub const PARTNER_BRAND_REGISTERED: &str = "PartnerBrandRegistered";
pub const PARTNER_KEYS_IMPORTED: &str = "PartnerKeysImported";
/// This deployment's witness refused a partner's validly signed checkpoint: the evidence.
pub const PARTNER_CHECKPOINT_REFUSED: &str = "PartnerCheckpointRefused";
/// Claims a key id for a partner's key, in the same stream (`keyid-<id>`, created once) that
/// claims our own issuers' key ids: one id names one key, ours or a partner's.
pub const PARTNER_KEY_ID_CLAIMED: &str = "PartnerKeyIdClaimed";

/// The most keys one directory document may carry.
pub const MAX_DIRECTORY_KEYS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrandError {
    #[error(transparent)]
    Id(#[from] IssuerError),
    #[error("{0}")]
    Text(String),
    #[error("sub-brand {id} is {status}; it cannot be {action}")]
    Transition {
        id: String,
        status: &'static str,
        action: &'static str,
    },
    #[error("the key directory is refused: {0}")]
    Directory(String),
}

fn bounded(field: &'static str, value: &str, max: usize) -> Result<String, BrandError> {
    text(field, value, max).map_err(|e| BrandError::Text(e.to_string()))
}

/// The data of `SubBrandRegistered`: a city or county public brand under 江西绿色生态.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubBrandRegistered {
    pub sub_brand_id: BrandId,
    /// Its own name, shown after the brand's: "江西绿色生态 · <name>".
    pub name: String,
    /// The GB/T 2260 region it covers.
    pub region: RegionCode,
}

impl SubBrandRegistered {
    pub fn new(id: &str, name: &str, region: RegionCode) -> Result<Self, BrandError> {
        Ok(SubBrandRegistered {
            sub_brand_id: BrandId::parse(id)?,
            name: bounded("name", name, 64)?,
            region,
        })
    }
}

/// The data of `SubBrandSuspended` (with a reason) and `SubBrandReinstated` (without).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubBrandChanged {
    pub sub_brand_id: BrandId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl SubBrandChanged {
    pub fn new(id: &BrandId, reason: Option<&str>) -> Result<SubBrandChanged, BrandError> {
        Ok(SubBrandChanged {
            sub_brand_id: id.clone(),
            reason: reason.map(|r| bounded("reason", r, 500)).transpose()?,
        })
    }
}

/// Whether a sub-brand's marks are in good standing: after `event_type`, from `suspended`.
pub fn suspended_after(suspended: bool, event_type: &str) -> bool {
    match event_type {
        SUB_BRAND_SUSPENDED => true,
        SUB_BRAND_REINSTATED => false,
        _ => suspended,
    }
}

/// Checks a sub-brand's transition: suspend an active one, reinstate a suspended one.
pub fn check_transition(id: &BrandId, suspended: bool, event_type: &str) -> Result<(), BrandError> {
    let (allowed, action) = match event_type {
        SUB_BRAND_SUSPENDED => (!suspended, "suspended"),
        _ => (suspended, "reinstated"),
    };
    if allowed {
        Ok(())
    } else {
        Err(BrandError::Transition {
            id: id.to_string(),
            status: if suspended { "suspended" } else { "active" },
            action,
        })
    }
}

/// A partner's issuer key as its directory endorses it, with the partner's own status for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PartnerKey {
    #[serde(flatten)]
    pub added: IssuerKeyAdded,
    /// The brand the partner's directory names for the key's issuer.
    pub brand: String,
    pub status: KeyStatus,
}

/// The root of a key directory document: the key that endorses every issuer key in it.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct DirectoryRoot {
    pub key_id: KeyId,
    /// Standard base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
}

/// A key directory document: a marktrace instance's `GET /api/v1/keys` answer, or the same
/// JSON written by hand for a brand that does not run marktrace. Fields other than these
/// (`added_at`, `updated_at`) are ignored.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct Directory {
    pub root: DirectoryRoot,
    /// When present, must be `marktrace/key-endorsement/v1`.
    pub endorsement_context: Option<String>,
    pub keys: Vec<PartnerKey>,
}

impl Directory {
    /// The root key, checked against its stated id and refused if of small order.
    pub fn root_key(&self) -> Result<VerifyingKey, BrandError> {
        use base64::Engine;
        let refuse = |why: &str| BrandError::Directory(why.to_owned());
        let bytes: [u8; 32] = base64::engine::general_purpose::STANDARD
            .decode(&self.root.public_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| refuse("the root public key is not 32 bytes of base64"))?;
        let root = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| refuse("the root public key is not an Ed25519 point"))?;
        if root.is_weak() {
            return Err(refuse("the root public key is of small order"));
        }
        if KeyId::of(&root) != self.root.key_id {
            return Err(refuse("the root's key_id is not the id of its public key"));
        }
        Ok(root)
    }

    /// Checks every key against `root`: the endorsement context, each key's id, order,
    /// validity and the root's endorsement. One failure refuses the document whole, naming
    /// the key.
    pub fn check(&self, root: &VerifyingKey) -> Result<(), BrandError> {
        let context = std::str::from_utf8(ENDORSEMENT_CONTEXT).expect("ASCII");
        if self
            .endorsement_context
            .as_deref()
            .is_some_and(|c| c != context)
        {
            return Err(BrandError::Directory(format!(
                "endorsement_context must be {context:?}"
            )));
        }
        if self.keys.is_empty() || self.keys.len() > MAX_DIRECTORY_KEYS {
            return Err(BrandError::Directory(format!(
                "it must list 1 to {MAX_DIRECTORY_KEYS} keys, not {}",
                self.keys.len()
            )));
        }
        for key in &self.keys {
            let added = &key.added;
            let refuse = |why: &str| {
                BrandError::Directory(format!(
                    "key {} of issuer {}: {why}",
                    added.key_id, added.issuer_id
                ))
            };
            if KeyId::of(&added.public_key) != added.key_id {
                return Err(refuse("key_id is not the id of its public key"));
            }
            if added.public_key.is_weak() {
                return Err(refuse("the public key is of small order"));
            }
            if added.not_after > LATEST_UNIX_SECONDS
                || Validity::new(added.not_before, added.not_after).is_err()
            {
                return Err(refuse("not_before must be earlier than not_after"));
            }
            if !added.endorsed_by(root) {
                return Err(refuse("the root's endorsement does not verify"));
            }
            bounded("brand", &key.brand, 64)
                .map_err(|_| refuse("brand must be 1 to 64 characters"))?;
            let mut ids = self.keys.iter().filter(|k| k.added.key_id == added.key_id);
            if ids.nth(1).is_some() {
                return Err(refuse("listed twice"));
            }
        }
        Ok(())
    }
}

/// The data of `PartnerBrandRegistered`: another region's public brand whose marks verify
/// here as its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PartnerBrandRegistered {
    pub partner_id: BrandId,
    /// The partner's name as consumers know it (上海品牌, 江苏精品, 品字标, 圳品…).
    pub name: String,
    /// The partner log's C2SP verifier key (`origin+keyid+base64(0x01‖pub)`): this node
    /// witnesses that log, and a verifier checks the partner's checkpoints with it.
    pub log_vkey: String,
    /// The partner log's origin: the key name of `log_vkey`.
    pub origin: String,
    /// Standard base64 of the partner's root public key, which endorses its issuer keys.
    pub root_public_key: String,
    /// Where the partner answers `POST /api/v1/verify` for the live status of its marks;
    /// absent for a brand that does not run marktrace, whose marks' status is then unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_url: Option<String>,
}

/// The data of `PartnerCheckpointRefused`: a checkpoint the partner's log signed that this
/// deployment's witness would not cosign, kept as evidence that the log showed two histories.
/// Anyone holding the partner's log key can check both notes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PartnerCheckpointRefused {
    pub partner_id: BrandId,
    pub origin: String,
    /// `fork` (the same size with another root than the one cosigned) or `inconsistent` (a
    /// consistency proof from the cosigned checkpoint that does not hold).
    pub reason: RefusalReason,
    /// The `add-checkpoint` request body, verbatim: old size, proof, the signed checkpoint.
    pub request: String,
    /// The checkpoint this witness had cosigned, as the log submitted it then.
    pub cosigned: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    Fork,
    Inconsistent,
}

/// The data of `PartnerKeysImported`: the partner's issuer keys, each checked against its
/// root, as of the import. A key imported again carries the partner's current status for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PartnerKeysImported {
    pub partner_id: BrandId,
    pub keys: Vec<PartnerKey>,
}

/// The data of `PartnerKeyIdClaimed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerKeyIdClaimed {
    pub partner_id: BrandId,
    pub key_id: KeyId,
}

/// A partner's status URL: `http://` or `https://`, no query or fragment, at most 200
/// characters, without a trailing slash.
pub fn status_url(url: &str) -> Result<String, BrandError> {
    let url = url.trim().trim_end_matches('/');
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    let ok = scheme_ok
        && url.len() <= 200
        && !url.contains(['?', '#', ' '])
        && url.split("://").nth(1).is_some_and(|rest| !rest.is_empty());
    if ok {
        Ok(url.to_owned())
    } else {
        Err(BrandError::Text(
            "status_url must be an http:// or https:// URL of at most 200 characters, without query or fragment".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn directory(root: &SigningKey, keys: &[SigningKey]) -> Directory {
        use base64::Engine;
        let issuer = IssuerId::parse("sh-cb").unwrap();
        let validity = Validity::new(1_700_000_000, 1_900_000_000).unwrap();
        Directory {
            root: DirectoryRoot {
                key_id: KeyId::of(&root.verifying_key()),
                public_key: base64::engine::general_purpose::STANDARD
                    .encode(root.verifying_key().as_bytes()),
            },
            endorsement_context: Some("marktrace/key-endorsement/v1".into()),
            keys: keys
                .iter()
                .map(|k| PartnerKey {
                    added: IssuerKeyAdded::endorse(root, &issuer, k.verifying_key(), validity)
                        .unwrap(),
                    brand: "上海品牌".into(),
                    status: KeyStatus::Active,
                })
                .collect(),
        }
    }

    #[test]
    fn a_directory_endorsed_by_its_root_is_accepted() {
        let root = key(1);
        let doc = directory(&root, &[key(2), key(3)]);
        let checked = doc.root_key().unwrap();
        assert_eq!(checked, root.verifying_key());
        assert_eq!(doc.check(&checked), Ok(()));
    }

    #[test]
    fn one_bad_endorsement_refuses_the_whole_document() {
        let root = key(1);
        let mut doc = directory(&root, &[key(2), key(3)]);
        // Key 3 endorsed by someone else's root.
        doc.keys[1] = directory(&key(9), &[key(3)]).keys.remove(0);
        let error = doc.check(&doc.root_key().unwrap()).unwrap_err();
        assert!(
            error.to_string().contains("endorsement does not verify"),
            "{error}"
        );
    }

    #[test]
    fn a_changed_validity_or_stated_id_is_refused() {
        let root = key(1);
        let mut doc = directory(&root, &[key(2)]);
        doc.keys[0].added.not_after += 1;
        assert!(doc.check(&root.verifying_key()).is_err());
        let mut doc = directory(&root, &[key(2)]);
        doc.keys[0].added.key_id = KeyId([0; 8]);
        assert!(doc.check(&root.verifying_key()).is_err());
        let mut doc = directory(&root, &[key(2)]);
        doc.root.key_id = KeyId([0; 8]);
        assert!(doc.root_key().is_err());
    }

    #[test]
    fn another_context_and_duplicate_or_no_keys_are_refused() {
        let root = key(1);
        let mut doc = directory(&root, &[key(2)]);
        doc.endorsement_context = Some("other/v1".into());
        assert!(doc.check(&root.verifying_key()).is_err());
        let doc = directory(&root, &[key(2), key(2)]);
        assert!(
            doc.check(&root.verifying_key())
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        let doc = directory(&root, &[]);
        assert!(doc.check(&root.verifying_key()).is_err());
    }

    #[test]
    fn sub_brand_transitions() {
        let id = BrandId::parse("ganzhou").unwrap();
        assert!(check_transition(&id, false, SUB_BRAND_SUSPENDED).is_ok());
        assert!(check_transition(&id, true, SUB_BRAND_SUSPENDED).is_err());
        assert!(check_transition(&id, true, SUB_BRAND_REINSTATED).is_ok());
        assert!(check_transition(&id, false, SUB_BRAND_REINSTATED).is_err());
        assert!(suspended_after(false, SUB_BRAND_SUSPENDED));
        assert!(!suspended_after(true, SUB_BRAND_REINSTATED));
    }

    #[test]
    fn status_urls() {
        assert_eq!(
            status_url("https://p.example/").unwrap(),
            "https://p.example"
        );
        assert!(status_url("ftp://p.example").is_err());
        assert!(status_url("https://p.example/?x=1").is_err());
        assert!(status_url("https://").is_err());
    }
}
