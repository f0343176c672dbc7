//! `KeyMisuseDetected`: a registered issuer key signed a mark body the registry never issued,
//! so the key is compromised or misused. A critical public event, recorded once per (key,
//! serial) however often the token is scanned: its stream can be created only once.

use serde::Serialize;

use crate::domain::key::KeyId;
use crate::log::{AppendError, Expected, Log, Metadata, NewEvent};

pub const KEY_MISUSE_DETECTED: &str = "KeyMisuseDetected";

#[derive(Serialize)]
struct KeyMisuseDetected {
    key_id: KeyId,
    serial: u64,
    severity: &'static str,
}

/// Records the misuse unless it was recorded before.
pub async fn record_misuse(log: &Log, key_id: KeyId, serial: u64) -> Result<(), AppendError> {
    let data = KeyMisuseDetected {
        key_id,
        serial,
        severity: "critical",
    };
    let event =
        NewEvent::new(KEY_MISUSE_DETECTED, &data)?.with_metadata(Metadata::by("verification"));
    let stream = format!("keymisuse-{key_id}-{serial}");
    match log
        .append_to(&stream, Expected::NoStream, vec![event])
        .await
    {
        Ok(_) | Err(AppendError::Conflict { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}
