//! Brands in the registry (品牌互认). Sub-brands: registered by the brand authority in their
//! own stream `subbrand-<id>`, suspended and reinstated there. Partner brands: registered from
//! their key directory document and log verifier key in `partner-<id>`, every key checked
//! against the partner's root before anything is written, and each new key's id claimed in
//! `keyid-<id>` in the same atomic append, so a partner's key id never shadows one of ours or
//! another partner's. Reads come from the mark index, caught up first, so a caller reads its
//! own writes.

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{Registry, RegistryError};
use crate::domain::brand::{
    BrandError, Directory, PARTNER_BRAND_REGISTERED, PARTNER_KEY_ID_CLAIMED, PARTNER_KEYS_IMPORTED,
    PartnerBrandRegistered, PartnerKeyIdClaimed, PartnerKeysImported, SUB_BRAND_REGISTERED,
    SUB_BRAND_REINSTATED, SUB_BRAND_SUSPENDED, SubBrandChanged, SubBrandRegistered,
    check_transition, status_url, suspended_after,
};
use crate::domain::issuer::BrandId;
use crate::domain::key::key_id_stream;
use crate::log::note::NoteVerifier;
use crate::log::{AppendError, Expected, Metadata, NewEvent, StreamAppend, StreamName};
use crate::projections::brands::{PartnerEntry, SubBrandEntry};

/// What the brand authority sends to register a partner brand.
pub struct NewPartner<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub log_vkey: &'a str,
    pub status_url: Option<&'a str>,
    pub directory: Directory,
}

impl Registry {
    /// Registers a sub-brand; an id already taken is refused.
    pub async fn register_sub_brand(
        &self,
        registered: SubBrandRegistered,
        actor: &str,
    ) -> Result<SubBrandEntry, RegistryError> {
        let id = registered.sub_brand_id.clone();
        let event =
            NewEvent::new(SUB_BRAND_REGISTERED, &registered)?.with_metadata(Metadata::by(actor));
        match self
            .log
            .append_to(&id.sub_brand_stream(), Expected::NoStream, vec![event])
            .await
        {
            Err(AppendError::Conflict { .. }) => {
                return Err(RegistryError::Exists(format!("sub-brand {id}")));
            }
            other => other?,
        };
        self.sub_brand(&id).await
    }

    /// Suspends an active sub-brand (`reason` given) or reinstates a suspended one: every
    /// mark of its issuers answers `suspended` (`brand_suspended`) meanwhile.
    pub async fn set_sub_brand_status(
        &self,
        id: &BrandId,
        reason: Option<&str>,
        actor: &str,
    ) -> Result<SubBrandEntry, RegistryError> {
        let events = self
            .log
            .read_stream(&id.sub_brand_stream(), 1, u32::MAX)
            .await?;
        let Some(last) = events.last() else {
            return Err(RegistryError::NotFound(format!("sub-brand {id}")));
        };
        let suspended = events
            .iter()
            .fold(false, |s, e| suspended_after(s, &e.event_type));
        let kind = if reason.is_some() {
            SUB_BRAND_SUSPENDED
        } else {
            SUB_BRAND_REINSTATED
        };
        check_transition(id, suspended, kind)?;
        let event = NewEvent::new(kind, &SubBrandChanged::new(id, reason)?)?
            .with_metadata(Metadata::by(actor));
        self.log
            .append_to(
                &id.sub_brand_stream(),
                Expected::Exact(last.version),
                vec![event],
            )
            .await?;
        self.sub_brand(id).await
    }

    pub async fn sub_brand(&self, id: &BrandId) -> Result<SubBrandEntry, RegistryError> {
        self.index.catch_up(&self.log).await?;
        self.index
            .sub_brand(id.as_str())
            .ok_or_else(|| RegistryError::NotFound(format!("sub-brand {id}")))
    }

    pub async fn sub_brands(&self) -> Result<Vec<SubBrandEntry>, RegistryError> {
        self.index.catch_up(&self.log).await?;
        Ok(self.index.sub_brands())
    }

    /// Registers a partner brand with its keys. The log key must parse, its origin must not
    /// be ours or another partner's, and every key of the directory must be endorsed by its
    /// root; one failure refuses the whole registration.
    pub async fn register_partner(
        &self,
        partner: NewPartner<'_>,
        actor: &str,
    ) -> Result<PartnerEntry, RegistryError> {
        let id = BrandId::parse(partner.id).map_err(BrandError::from)?;
        let name = crate::domain::issuer::text("name", partner.name, 64)?;
        let log = NoteVerifier::parse(partner.log_vkey.trim())
            .map_err(|e| BrandError::Text(format!("log_vkey: {e}")))?;
        let origin = log.name().to_owned();
        if origin == self.log.signer().origin() {
            return Err(BrandError::Text(format!("log_vkey names this log ({origin})")).into());
        }
        self.index.catch_up(&self.log).await?;
        if let Some(other) = self.index.partner_by_origin(&origin) {
            return Err(RegistryError::Exists(format!(
                "a partner brand with log {origin} ({})",
                other.partner_id
            )));
        }
        let root = partner.directory.root_key()?;
        partner.directory.check(&root)?;
        let registered = PartnerBrandRegistered {
            partner_id: id.clone(),
            name,
            log_vkey: partner.log_vkey.trim().to_owned(),
            origin,
            root_public_key: STANDARD.encode(root.as_bytes()),
            status_url: partner.status_url.map(status_url).transpose()?,
        };
        let imported = PartnerKeysImported {
            partner_id: id.clone(),
            keys: partner.directory.keys,
        };
        let mut appends = vec![StreamAppend {
            stream: StreamName::parse(&id.partner_stream())?,
            expected: Expected::NoStream,
            events: vec![
                NewEvent::new(PARTNER_BRAND_REGISTERED, &registered)?
                    .with_metadata(Metadata::by(actor)),
                NewEvent::new(PARTNER_KEYS_IMPORTED, &imported)?.with_metadata(Metadata::by(actor)),
            ],
        }];
        appends.extend(claims(&id, &imported, &HashSet::new(), actor)?);
        self.append_partner(&id, appends).await
    }

    /// Imports a registered partner's directory again: keys it added since, and the
    /// partner's current status of those already known. The directory's root must be the
    /// one registered, and every key endorsed by it; one failure refuses the whole document.
    pub async fn import_partner_keys(
        &self,
        id: &BrandId,
        directory: Directory,
        actor: &str,
    ) -> Result<PartnerEntry, RegistryError> {
        let history = self
            .log
            .read_stream(&id.partner_stream(), 1, u32::MAX)
            .await?;
        let Some(last) = history.last() else {
            return Err(RegistryError::NotFound(format!("partner brand {id}")));
        };
        self.index.catch_up(&self.log).await?;
        let known = self
            .index
            .partner(id.as_str())
            .ok_or_else(|| RegistryError::NotFound(format!("partner brand {id}")))?;
        let root = directory.root_key()?;
        if STANDARD.encode(root.as_bytes()) != known.registered.root_public_key {
            return Err(BrandError::Directory(format!(
                "its root key is not partner {id}'s registered root"
            ))
            .into());
        }
        directory.check(&root)?;
        let imported = PartnerKeysImported {
            partner_id: id.clone(),
            keys: directory.keys,
        };
        let had: HashSet<_> = known.keys.iter().map(|k| k.added.key_id).collect();
        let mut appends = vec![StreamAppend {
            stream: StreamName::parse(&id.partner_stream())?,
            expected: Expected::Exact(last.version),
            events: vec![
                NewEvent::new(PARTNER_KEYS_IMPORTED, &imported)?.with_metadata(Metadata::by(actor)),
            ],
        }];
        appends.extend(claims(id, &imported, &had, actor)?);
        self.append_partner(id, appends).await
    }

    /// Appends a partner's events with their key id claims; a conflict is a taken partner id
    /// or key id, or a concurrent import.
    async fn append_partner(
        &self,
        id: &BrandId,
        appends: Vec<StreamAppend>,
    ) -> Result<PartnerEntry, RegistryError> {
        match self.log.append(appends).await {
            Err(AppendError::Conflict { stream, .. }) => {
                let what = match stream.strip_prefix("keyid-") {
                    Some(key_id) => format!("key id {key_id} (held by another key)"),
                    None => format!("partner brand {id} (or it changed meanwhile)"),
                };
                return Err(RegistryError::Exists(what));
            }
            other => other?,
        };
        self.partner(id).await
    }

    pub async fn partner(&self, id: &BrandId) -> Result<PartnerEntry, RegistryError> {
        self.index.catch_up(&self.log).await?;
        self.index
            .partner(id.as_str())
            .ok_or_else(|| RegistryError::NotFound(format!("partner brand {id}")))
    }

    pub async fn partners(&self) -> Result<Vec<PartnerEntry>, RegistryError> {
        self.index.catch_up(&self.log).await?;
        Ok(self.index.partners())
    }
}

/// The claims of the keys in `imported` not in `had`.
fn claims(
    id: &BrandId,
    imported: &PartnerKeysImported,
    had: &HashSet<crate::domain::key::KeyId>,
    actor: &str,
) -> Result<Vec<StreamAppend>, RegistryError> {
    imported
        .keys
        .iter()
        .filter(|k| !had.contains(&k.added.key_id))
        .map(|k| {
            let claim = PartnerKeyIdClaimed {
                partner_id: id.clone(),
                key_id: k.added.key_id,
            };
            Ok(StreamAppend {
                stream: StreamName::parse(&key_id_stream(k.added.key_id))?,
                expected: Expected::NoStream,
                events: vec![
                    NewEvent::new(PARTNER_KEY_ID_CLAIMED, &claim)?
                        .with_metadata(Metadata::by(actor)),
                ],
            })
        })
        .collect()
}
