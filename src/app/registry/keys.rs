//! Issuer keys in the registry. Every event of an issuer's keys goes to one stream,
//! `issuerkeys-<issuer>`, so a change is checked against the fold of all of them and appended
//! only if nothing changed meanwhile: an issuer never has two active keys. Adding a key also
//! claims `keyid-<id>` in the same atomic append, so a key id names one key in the deployment
//! (SPEC.md "The mark": a colliding id is refused) and leads from a key id to its issuer.

use std::fs;

use ed25519_dalek::{SigningKey, VerifyingKey};

use super::{Registry, RegistryError};
use crate::domain::issuer::IssuerId;
use crate::domain::key::{
    ISSUER_KEY_ACTIVATED, ISSUER_KEY_ADDED, ISSUER_KEY_COMPROMISED, ISSUER_KEY_RETIRED,
    IssuerKeyAdded, IssuerKeyChanged, IssuerKeyError, IssuerKeys, KEY_ID_CLAIMED, KeyId,
    KeyIdClaimed, Validity, issuer_keys_stream, key_id_stream,
};
use crate::log::{
    AppendError, Expected, Log, Metadata, NewEvent, StorageError, StreamAppend, StreamName,
};
use crate::projections::issuer_keys::IssuerKeys as IssuerKeysProjection;
use crate::projections::issuers::Issuers;
use crate::projections::model::IssuerKeyRecord;
use crate::projections::store::KeyFilter;

pub use crate::keys::issuer_key_file;

/// A change of an issuer key's status.
pub enum KeyChange {
    /// New batches use this key; the issuer's previously active key is retired with it.
    Activate,
    /// No new batches; its marks still verify.
    Retire,
    /// No new batches; its marks carry `key_compromised` from now on.
    Compromise(String),
}

/// Generates a key for a registered issuer in the keyring, endorses it with the brand root and
/// records it (status `added`). The private key file is removed again if the append fails, so
/// no key exists that the log does not know.
impl Registry {
    pub async fn add_issuer_key(
        &self,
        issuer: &IssuerId,
        validity: Validity,
        actor: &str,
    ) -> Result<IssuerKeyAdded, RegistryError> {
        if self
            .log
            .read_stream(&issuer.stream(), 1, 1)
            .await?
            .is_empty()
        {
            return Err(RegistryError::NotFound(format!(
                "issuer {}",
                issuer.as_str()
            )));
        }
        let (key, path) = self.keyring.create_issuer_key(issuer)?;
        let registered = register_issuer_key(
            &self.log,
            self.keyring.root(),
            issuer,
            key.verifying_key(),
            validity,
            actor,
        );
        let result = registered.await;
        if result.is_err() {
            let _ = fs::remove_file(&path);
        }
        result
    }
}

/// Records a public key for a registered issuer: checked not to be of small order, endorsed by
/// `root`, and refused if its key id is already taken.
async fn register_issuer_key(
    log: &Log,
    root: &SigningKey,
    issuer: &IssuerId,
    key: VerifyingKey,
    validity: Validity,
    actor: &str,
) -> Result<IssuerKeyAdded, RegistryError> {
    let added = IssuerKeyAdded::endorse(root, issuer, key, validity)?;
    let claim = KeyIdClaimed {
        issuer_id: issuer.clone(),
        key_id: added.key_id,
    };
    let appends = vec![
        StreamAppend {
            stream: StreamName::parse(&issuer_keys_stream(issuer))?,
            expected: Expected::Any,
            events: vec![
                NewEvent::new(ISSUER_KEY_ADDED, &added)?.with_metadata(Metadata::by(actor)),
            ],
        },
        StreamAppend {
            stream: StreamName::parse(&key_id_stream(added.key_id))?,
            expected: Expected::NoStream,
            events: vec![NewEvent::new(KEY_ID_CLAIMED, &claim)?.with_metadata(Metadata::by(actor))],
        },
    ];
    match log.append(appends).await {
        Err(AppendError::Conflict { .. }) => {
            Err(RegistryError::Exists(format!("key id {}", added.key_id)))
        }
        other => other.map(|_| added).map_err(RegistryError::from),
    }
}

/// An issuer's keys folded from its key stream, and the stream's version for the next append.
pub async fn issuer_keys(log: &Log, issuer: &IssuerId) -> Result<(IssuerKeys, u64), RegistryError> {
    let history = log
        .read_stream(&issuer_keys_stream(issuer), 1, u32::MAX)
        .await?;
    let mut keys = IssuerKeys::default();
    for event in &history {
        keys.apply(&event.event_type, &event.data);
    }
    Ok((keys, history.last().map_or(0, |e| e.version)))
}

/// The issuer a key id belongs to, from its claim.
async fn key_owner(log: &Log, key_id: KeyId) -> Result<IssuerId, RegistryError> {
    log.read_stream(&key_id_stream(key_id), 1, 1)
        .await?
        .first()
        .and_then(|e| serde_json::from_str::<KeyIdClaimed>(&e.data).ok())
        .map(|claim| claim.issuer_id)
        .ok_or_else(|| RegistryError::NotFound(format!("key {key_id}")))
}

impl Registry {
    /// Records a public key made elsewhere (an HSM, another tool) for a registered issuer,
    /// endorsed by this deployment's root.
    pub async fn register_issuer_key(
        &self,
        issuer: &IssuerId,
        key: VerifyingKey,
        validity: Validity,
        actor: &str,
    ) -> Result<IssuerKeyAdded, RegistryError> {
        register_issuer_key(&self.log, self.keyring.root(), issuer, key, validity, actor).await
    }

    /// Changes a key's status if its lifecycle allows it; activating checks the key is within its
    /// validity at `now` (Unix seconds) and retires the issuer's active key in the same append.
    /// Returns the key's issuer.
    pub async fn change_issuer_key(
        &self,
        key_id: KeyId,
        change: KeyChange,
        now: u64,
        actor: &str,
    ) -> Result<IssuerKeyRecord, RegistryError> {
        let log = &self.log;
        let issuer = key_owner(log, key_id).await?;
        let stream = issuer_keys_stream(&issuer);
        let (keys, version) = issuer_keys(log, &issuer).await?;
        let (added, status) = keys
            .get(key_id)
            .ok_or_else(|| RegistryError::NotFound(format!("key {key_id}")))?;
        let (event_type, reason) = match &change {
            KeyChange::Activate => (ISSUER_KEY_ACTIVATED, None),
            KeyChange::Retire => (ISSUER_KEY_RETIRED, None),
            KeyChange::Compromise(reason) => (ISSUER_KEY_COMPROMISED, Some(reason.as_str())),
        };
        status.check(key_id, event_type)?;
        let mut events = Vec::new();
        if let KeyChange::Activate = change {
            let validity = added.validity();
            if !validity.contains(now) {
                return Err(IssuerKeyError::OutsideValidity {
                    key_id,
                    not_before: validity.not_before,
                    not_after: validity.not_after,
                }
                .into());
            }
            if let Some(old) = keys.active() {
                let replaced = format!("replaced by {key_id}");
                let retired = IssuerKeyChanged::new(&issuer, old.key_id, Some(&replaced))?;
                events.push(NewEvent::new(ISSUER_KEY_RETIRED, &retired)?);
            }
        }
        let changed = IssuerKeyChanged::new(&issuer, key_id, reason)?;
        events.push(NewEvent::new(event_type, &changed)?);
        let events = events
            .into_iter()
            .map(|e| e.with_metadata(Metadata::by(actor)))
            .collect();
        log.append_to(&stream, Expected::Exact(version), events)
            .await?;
        self.key(key_id).await
    }

    /// One issuer key with its status and endorsement.
    pub async fn key(&self, key_id: KeyId) -> Result<IssuerKeyRecord, RegistryError> {
        let filter = KeyFilter {
            key_id: Some(key_id),
            limit: 1,
            ..KeyFilter::default()
        };
        self.keys(&filter)
            .await?
            .pop()
            .ok_or_else(|| RegistryError::NotFound(format!("key {key_id}")))
    }

    /// Keys matching a filter, one page by key id; keys are caught up first, then issuers, so
    /// every key's issuer (and brand) is there.
    pub async fn keys(&self, filter: &KeyFilter) -> Result<Vec<IssuerKeyRecord>, StorageError> {
        self.models.catch_up(&IssuerKeysProjection).await?;
        self.models
            .current(&Issuers)
            .await?
            .issuer_keys(filter)
            .await
    }

    /// The brand root's public key, which endorses every issuer key.
    pub fn root_public(&self) -> VerifyingKey {
        self.keyring.root_public()
    }
}
