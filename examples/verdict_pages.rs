//! Writes every consumer verdict page for review, from sample answers that look like a real
//! scan: `cargo run --example verdict_pages -- DIR` writes `DIR/<name>.html` for each verdict
//! (the names `docs/screenshots.sh` takes its screenshots from) and `DIR/report-received.html`.
//!
//! The samples are built from the crate's public types, as `app::verification::check` builds answers, and
//! their identifiers pass their check characters (GB 32100-2015, GS1): the screenshots must not
//! show codes that could not exist.

use std::path::PathBuf;

use anyhow::Context as _;
use marktrace::domain::gtin::Gtin;
use marktrace::domain::uscc::Uscc;
use marktrace::domain::verdict::{Answer, CertificateStatus, Facts, Flag, Reason, Verdict};
use marktrace::http::page;

/// The scanned token the report form echoes: a real-looking one (base64url).
const TOKEN: &str = "AR2m5OQfXIoIAAAAAAAAAClKWEdFLTIwMjYtMDAwMQEAAAAAAAAA";
const USCC: &str = "91330000704202479R";
const GTIN: &str = "06901234567892";

fn facts(certificate_status: CertificateStatus) -> Facts {
    Facts {
        serial: 1_000_042,
        brand: "江西绿色生态".into(),
        issuer_id: "jxqcc".into(),
        issuer_name: "江西省质量认证中心".into(),
        enterprise_name: "江西绿源米业有限公司".into(),
        enterprise_uscc: USCC.into(),
        product_name: "有机大米".into(),
        product_category: "粮食".into(),
        certificate_code: "JXGE-2026-0001".into(),
        certificate_status,
        valid_from: "2026-01-01".into(),
        valid_until: "2028-12-31".into(),
        batch_id: "0193a5c0e4b87c6e9d1f2a3b4c5d6e7f".into(),
        gtin: Some(GTIN.into()),
        lot: Some("2026-11".into()),
    }
}

/// One answer per page, named as the screenshots are. A forged mark has no registered facts; a
/// revoked certificate shows as revoked among them.
fn samples() -> Vec<(&'static str, Answer)> {
    let answer = |verdict, reason, facts, flags: &[Flag]| Answer {
        verdict,
        reason,
        facts,
        flags: flags.to_vec(),
        recognised: None,
    };
    let valid = || Some(facts(CertificateStatus::Valid));
    vec![
        (
            "forged",
            answer(Verdict::Forged, Reason::BadSignature, None, &[]),
        ),
        (
            "altered",
            answer(Verdict::Altered, Reason::BodyMismatch, valid(), &[]),
        ),
        (
            "void",
            answer(Verdict::Void, Reason::Stolen, valid(), &[Flag::Leaked]),
        ),
        (
            "revoked",
            answer(
                Verdict::Revoked,
                Reason::CertificateRevoked,
                Some(facts(CertificateStatus::Revoked)),
                &[],
            ),
        ),
        (
            "suspended",
            answer(Verdict::Suspended, Reason::MarkSuspended, valid(), &[]),
        ),
        (
            "genuine",
            answer(Verdict::Genuine, Reason::Registered, valid(), &[]),
        ),
        (
            "genuine-flagged",
            answer(
                Verdict::Genuine,
                Reason::Registered,
                valid(),
                &[Flag::Cloned],
            ),
        ),
    ]
}

fn main() -> anyhow::Result<()> {
    let dir: PathBuf = std::env::args_os()
        .nth(1)
        .context("usage: verdict_pages DIR")?
        .into();
    Uscc::parse(USCC).context("the sample USCC fails its check character")?;
    Gtin::parse(GTIN).context("the sample GTIN fails its check digit")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
    let mut pages: Vec<(String, String)> = samples()
        .into_iter()
        .map(|(name, answer)| (format!("{name}.html"), page::render(&answer, TOKEN)))
        .collect();
    pages.push(("report-received.html".into(), page::report_received()));
    for (file, html) in pages {
        let path = dir.join(file);
        std::fs::write(&path, html).with_context(|| format!("{}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}
