//! What the printing house gets from `marktrace issue`: the marks CSV, and on request a folder
//! with one QR PNG per mark and a printable HTML sheet of labels (the askama template
//! `templates/printing/sheet.html`). Written from a running [`CsvExport`] chunk by chunk, so
//! memory stays bounded whatever the batch size.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use askama::Template;

use crate::mark::export::CsvExport;
use crate::mark::qr::Label;
use crate::progress::Progress;

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
            SheetStart.write_into(&mut sheet).map_err(context(path))?;
            Some((sheet, path))
        }
        None => None,
    };
    let mut progress = Progress::new("marks", total);
    let mut written = 0;
    while let Some(chunk) = export.blocking_next_chunk() {
        csv.write_all(&chunk.csv).map_err(context(&outputs.csv))?;
        if outputs.qr_dir.is_some() || sheet.is_some() {
            for row in std::str::from_utf8(&chunk.csv)?.lines() {
                let mut fields = row.split(',');
                let (Some(serial), Some(_token), Some(url)) =
                    (fields.next(), fields.next(), fields.next())
                else {
                    anyhow::bail!("malformed export row {row:?}");
                };
                let label = Label::new(url)?;
                if let Some(dir) = &outputs.qr_dir {
                    let path = dir.join(format!("{serial}.png"));
                    std::fs::write(&path, label.png(LABEL_PX)).map_err(context(&path))?;
                }
                if let Some((sheet, path)) = &mut sheet {
                    SheetLabel {
                        serial,
                        side: label.side(),
                        path: label.svg_path(),
                    }
                    .write_into(sheet)
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
        SheetEnd.write_into(&mut sheet).map_err(context(path))?;
        sheet.flush().map_err(context(path))?;
    }
    Ok(written)
}

// The sheet, `templates/printing/sheet.html`, rendered a block at a time so it streams: no
// template holds the batch.

/// The document up to the opened grid.
#[derive(Template)]
#[template(path = "printing/sheet.html", block = "start")]
struct SheetStart;

/// One mark's label: its QR code and serial.
#[derive(Template)]
#[template(path = "printing/sheet.html", block = "label")]
struct SheetLabel<'a> {
    serial: &'a str,
    /// The QR code's view box side in modules, quiet zone included.
    side: usize,
    /// The QR code's dark modules as SVG path data.
    path: String,
}

/// The grid's and the document's end.
#[derive(Template)]
#[template(path = "printing/sheet.html", block = "end")]
struct SheetEnd;

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
}
