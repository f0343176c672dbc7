//! `marktrace issue` and `marktrace keygen --issuer`: a certification body's work from the
//! command line, through the same services as the API: a batch issued as one event and its
//! marks written for the printing house (CSV, QR PNGs, a label sheet), and a new endorsed
//! issuer key.

use anyhow::Context;

use super::args::IssueArgs;
use crate::app::registry::keys::{KeyChange, issuer_key_file};
use crate::app::services::Services;
use crate::cli::printing::{Outputs, write_outputs};
use crate::clock;
use crate::config::Config;
use crate::domain::issuer::IssuerId;
use crate::domain::key::Validity;

/// Issues a batch as its issuer and writes the printing house's files.
pub async fn issue(services: &Services, args: IssueArgs) -> anyhow::Result<()> {
    let issuer = IssuerId::parse(&args.issuer).context("--issuer")?;
    let marks = &services.marks;
    let request = marks.request(
        &args.certificate,
        args.count,
        args.gtin,
        args.regions,
        args.lot.as_deref(),
        args.notes.as_deref(),
    )?;
    let batch = marks.issue(&issuer, request, "cli").await?;
    println!("batch: {}", serde_json::to_string(&batch.issued)?);
    let export = marks
        .export(Some(issuer.as_str()), &batch.issued.batch_id)
        .await?;
    let outputs = Outputs {
        csv: args
            .out
            .unwrap_or_else(|| format!("marks-{}.csv", batch.issued.batch_id).into()),
        qr_dir: args.qr_dir,
        sheet: args.sheet,
    };
    let total = batch.issued.count;
    let (written, outputs) = tokio::task::spawn_blocking(move || {
        write_outputs(export, total, &outputs).map(|n| (n, outputs))
    })
    .await??;
    println!("wrote {written} marks to {}", outputs.csv.display());
    if let Some(peak) = peak_memory_kib() {
        println!("peak memory: {} MiB", peak / 1024);
    }
    Ok(())
}

/// The process's peak resident memory (`VmHWM`), where the kernel reports it.
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Creates a mark-signing key for a registered issuer, endorsed by the root and recorded in
/// the log; `activate` makes it the issuer's active key.
pub async fn issuer_keygen(
    services: &Services,
    config: &Config,
    issuer: &str,
    not_after: Option<u64>,
    activate: bool,
) -> anyhow::Result<()> {
    let issuer = IssuerId::parse(issuer).context("--issuer")?;
    let registry = &services.registry;
    let validity = Validity::starting(clock::unix_now(), not_after).context("--not-after")?;
    let added = registry.add_issuer_key(&issuer, validity, "cli").await?;
    println!(
        "created {} (mode 0600; back it up offline)",
        config
            .keys_dir
            .join(issuer_key_file(&issuer, added.key_id))
            .display()
    );
    println!("issuer key: {}", serde_json::to_string(&added)?);
    if activate {
        registry
            .change_issuer_key(added.key_id, KeyChange::Activate, clock::unix_now(), "cli")
            .await?;
        println!("activated {}", added.key_id);
    }
    Ok(())
}
