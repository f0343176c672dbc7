//! What the printing house gets from `marktrace issue`: the marks CSV, and on request a folder
//! with one QR PNG per mark and a printable HTML sheet of labels (`mark::sheet`). Written from a running [`CsvExport`] chunk by chunk, so
//! memory stays bounded whatever the batch size, with its progress on stderr.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::mark::export::CsvExport;
use crate::mark::qr::Label;
use crate::mark::sheet;

/// Where to write, besides the CSV.
pub struct Outputs {
    pub csv: PathBuf,
    pub qr_dir: Option<PathBuf>,
    pub sheet: Option<PathBuf>,
}

/// Pixels per module of the PNG labels: 8 px gives a 2–3 cm code at 300 dpi.
const LABEL_PX: u32 = 8;

fn context(path: &Path) -> impl Fn(std::io::Error) -> anyhow::Error + '_ {
    move |e| anyhow::anyhow!("{}: {e}", path.display())
}

/// Progress of the export on stderr: indicatif's bar with rate and ETA on a terminal. Off a
/// terminal (a log file, CI) indicatif draws nothing, so a plain line every few seconds and a
/// last one say how far it got, from indicatif's own count, rate and ETA.
struct Progress {
    what: &'static str,
    bar: ProgressBar,
    lined: Instant,
}

/// How often a plain line is printed off a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    fn new(what: &'static str, total: u64) -> Progress {
        let style = ProgressStyle::with_template(
            "[{bar:30}] {prefix}: {pos}/{len} ({percent}%), {per_sec:0}, ETA {eta}",
        )
        .expect("a valid template")
        .progress_chars("# ");
        Progress {
            what,
            bar: ProgressBar::new(total).with_style(style).with_prefix(what),
            lined: Instant::now(),
        }
    }

    fn advance(&mut self, n: u64) {
        self.bar.inc(n);
        if self.bar.is_hidden() && self.lined.elapsed() >= LINE_EVERY {
            self.line();
        }
    }

    /// The final figure: the bar left drawn full, or a last plain line.
    fn finish(mut self) {
        self.bar.finish();
        if self.bar.is_hidden() {
            self.line();
        }
    }

    fn line(&mut self) {
        self.lined = Instant::now();
        let total = self.bar.length().unwrap_or_default();
        let (done, rate, eta) = (self.bar.position(), self.bar.per_sec(), self.bar.eta());
        eprintln!("{}", status(self.what, done, total, rate, eta));
    }
}

/// `marks: 450000/1000000 (45%), 152000/s, ETA 4 s`.
fn status(what: &str, done: u64, total: u64, rate: f64, eta: Duration) -> String {
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    let eta = if done >= total {
        "done".to_owned()
    } else {
        format!("ETA {} s", eta.as_secs())
    };
    format!("{what}: {done}/{total} ({percent}%), {rate:.0}/s, {eta}")
}

/// Drains the export into the outputs, showing progress; returns the marks written.
pub fn write_outputs(mut export: CsvExport, total: u64, outputs: &Outputs) -> anyhow::Result<u64> {
    let create = |path: &Path| {
        File::create(path)
            .map(BufWriter::new)
            .map_err(context(path))
    };
    let mut csv = create(&outputs.csv)?;
    csv.write_all(export.header().as_bytes())
        .map_err(context(&outputs.csv))?;
    if let Some(dir) = &outputs.qr_dir {
        std::fs::create_dir_all(dir).map_err(context(dir))?;
    }
    let mut sheet = match &outputs.sheet {
        Some(path) => {
            let mut sheet = create(path)?;
            sheet
                .write_all(sheet::start().as_bytes())
                .map_err(context(path))?;
            Some((sheet, path))
        }
        None => None,
    };
    let mut progress = Progress::new("marks", total);
    let mut written = 0;
    while let Some(chunk) = export.blocking_next_chunk() {
        csv.write_all(&chunk.csv).map_err(context(&outputs.csv))?;
        if outputs.qr_dir.is_some() || sheet.is_some() {
            for row in sheet::rows(std::str::from_utf8(&chunk.csv)?) {
                let row = row?;
                let label = Label::new(row.url)?;
                if let Some(dir) = &outputs.qr_dir {
                    let path = dir.join(format!("{}.png", row.serial));
                    std::fs::write(&path, label.png(LABEL_PX)).map_err(context(&path))?;
                }
                if let Some((sheet, path)) = &mut sheet {
                    sheet
                        .write_all(sheet::label(row.serial, &label).as_bytes())
                        .map_err(context(path))?;
                }
            }
        }
        written += chunk.marks;
        progress.advance(chunk.marks);
    }
    progress.finish();
    csv.flush().map_err(context(&outputs.csv))?;
    if let Some((mut sheet, path)) = sheet {
        sheet
            .write_all(sheet::end().as_bytes())
            .map_err(context(path))?;
        sheet.flush().map_err(context(path))?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroUsize;

    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::mark::export::ExportSpec;

    #[test]
    fn the_sheet_shows_each_marks_own_qr_code_and_serial_in_serial_order() {
        let dir = tempfile::tempdir().unwrap();
        let outputs = Outputs {
            csv: dir.path().join("marks.csv"),
            qr_dir: None,
            sheet: Some(dir.path().join("sheet.html")),
        };
        let spec = ExportSpec {
            key: SigningKey::from_bytes(&[7; 32]),
            first_serial: 41,
            count: 3,
            certificate: "JXGE-2026-0001".into(),
            gtin: None,
            public_url: "https://marks.example.cn".into(),
        };
        let export = CsvExport::start(spec, NonZeroUsize::MIN).unwrap();
        assert_eq!(write_outputs(export, 3, &outputs).unwrap(), 3);

        let csv = std::fs::read_to_string(&outputs.csv).unwrap();
        let sheet = std::fs::read_to_string(outputs.sheet.as_ref().unwrap()).unwrap();
        assert!(sheet.starts_with("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n"));
        let mut rest = &sheet[sheet.find("<main>\n").unwrap() + "<main>\n".len()..];
        let mut serials = Vec::new();
        for row in csv.lines().skip(1) {
            let fields: Vec<&str> = row.split(',').collect();
            let (serial, url) = (fields[0], fields[2]);
            let label = Label::new(url).unwrap();
            let figure = format!(
                concat!(
                    r#"<figure><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {s} {s}" "#,
                    r##"shape-rendering="crispEdges"><rect width="{s}" height="{s}" fill="#fff"/>"##,
                    r##"<path fill="#000" d="{d}"/></svg><figcaption>{serial}</figcaption></figure>"##,
                    "\n"
                ),
                s = label.side(),
                d = label.svg_path(),
                serial = serial,
            );
            assert!(rest.starts_with(&figure), "label {serial}");
            rest = &rest[figure.len()..];
            serials.push(serial);
        }
        assert_eq!(serials, ["41", "42", "43"]);
        assert_eq!(rest, "</main>\n</body>\n</html>\n");
    }

    #[test]
    fn a_status_line_has_count_percentage_rate_and_eta() {
        let line = status("marks", 250, 1000, 125.0, Duration::from_secs(6));
        assert_eq!(line, "marks: 250/1000 (25%), 125/s, ETA 6 s");
        let done = status("marks", 1000, 1000, 250.4, Duration::ZERO);
        assert_eq!(done, "marks: 1000/1000 (100%), 250/s, done");
    }
}
