//! The registry as a service: validated changes to the trust registry (issuers, their
//! licensees, certificates and signing keys), appended to the log with optimistic concurrency
//! on the entity's stream, and the registry's read models, caught up before each query so a
//! caller reads its own writes. Rules live in `domain`; this service applies them to the log.
//! One file per part: [`issuers`], [`licensees`], [`certificates`], [`keys`], [`brands`].

pub mod brands;
pub mod certificates;
pub mod issuers;
pub mod keys;
pub mod licensees;

use std::sync::Arc;

use crate::domain::batch::BatchError;
use crate::domain::brand::BrandError;
use crate::domain::certificate::CertificateError;
use crate::domain::enterprise::EnterpriseError;
use crate::domain::issuer::IssuerError;
use crate::domain::key::IssuerKeyError;
use crate::keys::{KeyError, Keyring};
use crate::log::{AppendError, InvalidEvent, Log, StorageError};
use crate::projections::ReadModels;
use crate::projections::marks::MarkIndex;

/// The registry: what the brand authority and the certification bodies keep.
#[derive(Clone)]
pub struct Registry {
    log: Log,
    models: ReadModels,
    /// The brand root, which endorses issuer keys, and the issuer keys' files.
    keyring: Arc<Keyring>,
    /// The in-memory index, which holds sub-brands and partner brands.
    index: Arc<MarkIndex>,
}

impl Registry {
    pub fn new(
        log: Log,
        models: ReadModels,
        keyring: Arc<Keyring>,
        index: Arc<MarkIndex>,
    ) -> Registry {
        Registry {
            log,
            models,
            keyring,
            index,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    #[error(transparent)]
    Invalid(#[from] IssuerError),
    #[error(transparent)]
    Key(#[from] IssuerKeyError),
    #[error(transparent)]
    Brand(#[from] BrandError),
    #[error(transparent)]
    KeyFile(#[from] KeyError),
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// The caller may act, but its issuer may not do this now (it is suspended).
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    InvalidEnterprise(#[from] EnterpriseError),
    #[error("{0} already exists")]
    Exists(String),
    #[error("{0} does not exist")]
    NotFound(String),
    /// Something that cannot happen to valid registry data did (a stored batch whose marks do
    /// not encode); logged and answered generically.
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Append(AppendError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<InvalidEvent> for RegistryError {
    fn from(error: InvalidEvent) -> RegistryError {
        RegistryError::Append(error.into())
    }
}

impl From<AppendError> for RegistryError {
    fn from(error: AppendError) -> RegistryError {
        RegistryError::Append(error)
    }
}
