//! What enforcement's services share: case work across regions (`app::cases`) and the
//! publication of penalty decisions to the credit platforms (`app::credit`) answer with
//! [`EnforcementError`]. Operations check the caller's regions and the current
//! state in the in-memory read models, then append with optimistic concurrency on the entity's
//! stream, so a check and its write cannot be split by another writer. Rules live in
//! `domain::case` and `domain::penalty`; roles are checked at the HTTP edge.

use crate::domain::case::CaseError;
use crate::domain::penalty::PenaltyError;
use crate::log::StorageError;
use crate::log::{AppendError, InvalidEvent};

#[derive(Debug, thiserror::Error)]
pub enum EnforcementError {
    /// Input that breaks a rule; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// Missing, or not covered by the caller: the two are indistinguishable on purpose.
    #[error("{0}")]
    NotFound(String),
    /// The caller sees the entity but may not do this to it.
    #[error("{0}")]
    Forbidden(String),
    /// The entity's state does not allow this (a closed case, a withdrawn record).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Append(#[from] AppendError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<CaseError> for EnforcementError {
    fn from(error: CaseError) -> EnforcementError {
        EnforcementError::Invalid(error.0)
    }
}

impl From<PenaltyError> for EnforcementError {
    fn from(error: PenaltyError) -> EnforcementError {
        EnforcementError::Invalid(error.to_string())
    }
}

impl From<InvalidEvent> for EnforcementError {
    fn from(error: InvalidEvent) -> EnforcementError {
        EnforcementError::Append(error.into())
    }
}
