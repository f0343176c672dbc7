//! Sub-brands and partner brands as the mark index holds them: few, read on every
//! verification of their marks, so kept in memory beside the batches and folded from the same
//! log. A partner's keys are indexed by key id, as our own issuers' keys are, so a token's key
//! id finds either in one lookup.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::domain::brand::{
    PARTNER_BRAND_REGISTERED, PARTNER_KEYS_IMPORTED, PartnerBrandRegistered, PartnerKey,
    PartnerKeysImported, SUB_BRAND_REGISTERED, SUB_BRAND_REINSTATED, SUB_BRAND_SUSPENDED,
    SubBrandChanged, SubBrandRegistered, suspended_after,
};
use crate::domain::key::KeyId;
use crate::log::event::StoredEvent;
use crate::mark::batch::BatchKey;

/// A sub-brand with its standing.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = SubBrand)]
pub struct SubBrandEntry {
    #[serde(flatten)]
    pub registered: SubBrandRegistered,
    /// `active` or `suspended`.
    #[schema(pattern = "^(active|suspended)$")]
    pub status: &'static str,
    pub registered_at: String,
    pub updated_at: String,
}

impl SubBrandEntry {
    pub fn suspended(&self) -> bool {
        self.status == "suspended"
    }
}

/// A partner brand with its keys as last imported.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = PartnerBrand)]
pub struct PartnerEntry {
    #[serde(flatten)]
    #[schema(inline, value_type = PartnerBrandRegistered)]
    pub registered: Arc<PartnerBrandRegistered>,
    #[schema(value_type = Vec<PartnerKey>)]
    pub keys: Vec<PartnerKey>,
    pub registered_at: String,
    pub updated_at: String,
}

/// A partner's key as verification needs it.
#[derive(Clone, Debug)]
pub struct PartnerKeyEntry {
    pub partner: Arc<PartnerBrandRegistered>,
    pub key: PartnerKey,
    /// The key as batch verification needs it, worked out once.
    pub batch: Arc<BatchKey>,
}

#[derive(Default)]
pub struct Brands {
    sub_brands: BTreeMap<String, SubBrandEntry>,
    partners: BTreeMap<String, PartnerEntry>,
    partner_keys: HashMap<KeyId, PartnerKeyEntry>,
}

impl Brands {
    /// Folds `event` if it is a brand's; says whether it was.
    pub fn apply(&mut self, event: &StoredEvent) -> bool {
        let at = &event.recorded_at;
        match event.event_type.as_str() {
            SUB_BRAND_REGISTERED => {
                if let Ok(registered) = serde_json::from_str::<SubBrandRegistered>(&event.data) {
                    let id = registered.sub_brand_id.as_str().to_owned();
                    self.sub_brands.insert(
                        id,
                        SubBrandEntry {
                            registered,
                            status: "active",
                            registered_at: at.clone(),
                            updated_at: at.clone(),
                        },
                    );
                }
            }
            kind @ (SUB_BRAND_SUSPENDED | SUB_BRAND_REINSTATED) => {
                let changed = serde_json::from_str::<SubBrandChanged>(&event.data);
                let entry = changed
                    .ok()
                    .and_then(|c| self.sub_brands.get_mut(c.sub_brand_id.as_str()));
                if let Some(entry) = entry {
                    let suspended = suspended_after(entry.suspended(), kind);
                    entry.status = if suspended { "suspended" } else { "active" };
                    entry.updated_at = at.clone();
                }
            }
            PARTNER_BRAND_REGISTERED => {
                if let Ok(registered) = serde_json::from_str::<PartnerBrandRegistered>(&event.data)
                {
                    let id = registered.partner_id.as_str().to_owned();
                    self.partners.insert(
                        id,
                        PartnerEntry {
                            registered: Arc::new(registered),
                            keys: Vec::new(),
                            registered_at: at.clone(),
                            updated_at: at.clone(),
                        },
                    );
                }
            }
            PARTNER_KEYS_IMPORTED => {
                let Ok(imported) = serde_json::from_str::<PartnerKeysImported>(&event.data) else {
                    return true;
                };
                let Some(partner) = self.partners.get_mut(imported.partner_id.as_str()) else {
                    return true;
                };
                partner.updated_at = at.clone();
                for key in imported.keys {
                    let id = key.added.key_id;
                    match partner.keys.iter_mut().find(|k| k.added.key_id == id) {
                        Some(known) => known.status = key.status,
                        None => partner.keys.push(key.clone()),
                    }
                    let entry = self
                        .partner_keys
                        .entry(id)
                        .or_insert_with(|| PartnerKeyEntry {
                            partner: partner.registered.clone(),
                            batch: Arc::new(BatchKey::new(key.added.public_key)),
                            key: key.clone(),
                        });
                    entry.key.status = key.status;
                }
            }
            _ => return false,
        }
        true
    }

    pub fn sub_brand(&self, id: &str) -> Option<&SubBrandEntry> {
        self.sub_brands.get(id)
    }

    pub fn sub_brands(&self) -> Vec<SubBrandEntry> {
        self.sub_brands.values().cloned().collect()
    }

    pub fn partner(&self, id: &str) -> Option<&PartnerEntry> {
        self.partners.get(id)
    }

    pub fn partners(&self) -> Vec<PartnerEntry> {
        self.partners.values().cloned().collect()
    }

    pub fn partner_key(&self, key_id: KeyId) -> Option<&PartnerKeyEntry> {
        self.partner_keys.get(&key_id)
    }

    /// The partner whose log has this origin.
    pub fn partner_by_origin(&self, origin: &str) -> Option<Arc<PartnerBrandRegistered>> {
        self.partners
            .values()
            .find(|p| p.registered.origin == origin)
            .map(|p| p.registered.clone())
    }
}
