//! `marktrace epcis export`: one EPCIS 2.0 document from the local registry, the same
//! `app::epcis` service and paging as `GET /api/v1/epcis/events` and `/scans` (the brand
//! authority's view: scans of every region), written to a file or standard output.

use std::io::Write;

use anyhow::Context;

use super::args::EpcisCommand;
use crate::app::services::Services;

pub async fn run(services: &Services, command: EpcisCommand) -> anyhow::Result<()> {
    let EpcisCommand::Export {
        after,
        limit,
        scans_day,
        out,
    } = command;
    let traceability = &services.traceability;
    let document = match scans_day {
        Some(day) => traceability.scans(&day, None, after, limit).await,
        None => traceability.events(after, limit as usize).await,
    }
    .context("exporting EPCIS")?;
    let mut text = serde_json::to_string_pretty(&document).context("serialising the document")?;
    text.push('\n');
    match out {
        Some(path) => {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .context("writing to standard output")?,
    }
    Ok(())
}
