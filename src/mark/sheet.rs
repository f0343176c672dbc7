//! The printing house's sheet of labels (the askama template `templates/printing/sheet.html`):
//! each mark's QR code and serial, in serial order. Rendered in three parts, [`START`], a label
//! per mark ([`labels`] for a chunk of an export) and [`END`], so a sheet of any size streams
//! (to a file from `marktrace issue`, or as a download from the API) and no template holds the
//! batch.

use askama::Template;

use super::qr::{Label, QrError};

/// One row of an export chunk (`serial,token,url,...`): the serial and the label URL.
pub struct Row<'a> {
    pub serial: &'a str,
    pub url: &'a str,
}

/// Why a chunk did not make labels.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("malformed export row {0:?}")]
    Row(String),
    #[error(transparent)]
    Label(#[from] QrError),
}

/// The rows of an export chunk.
pub fn rows(csv: &str) -> impl Iterator<Item = Result<Row<'_>, SheetError>> {
    csv.lines().map(|line| {
        let mut fields = line.split(',');
        match (fields.next(), fields.next(), fields.next()) {
            (Some(serial), Some(_token), Some(url)) => Ok(Row { serial, url }),
            _ => Err(SheetError::Row(line.to_owned())),
        }
    })
}

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

/// The sheet's start.
pub fn start() -> String {
    SheetStart.render().expect("a fixed template renders")
}

/// One label of the sheet.
pub fn label(serial: &str, label: &Label) -> String {
    SheetLabel {
        serial,
        side: label.side(),
        path: label.svg_path(),
    }
    .render()
    .expect("a label renders")
}

/// The labels of an export chunk, in its order.
pub fn labels(csv: &str) -> Result<String, SheetError> {
    let mut html = String::new();
    for row in rows(csv) {
        let row = row?;
        html.push_str(&label(row.serial, &Label::new(row.url)?));
    }
    Ok(html)
}

/// The sheet's end.
pub fn end() -> String {
    SheetEnd.render().expect("a fixed template renders")
}
