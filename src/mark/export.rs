//! The mark export: every mark of a batch signed and written as the CSV a printing house loads
//! (`serial,token,url`, plus `gs1_url` when the batch has a GTIN), and the two label URL forms of
//! SPEC.md "The mark". Batches run to ten million marks, so the export streams in chunks with
//! bounded memory and signs on all cores, in serial order.
//!
//! This module owns the CSV layout, the chunking and the worker threads. It does not decide
//! whether a key may sign a batch or which serials a batch holds (the registry does), and it does
//! not serve HTTP or write files: callers drain [`CsvExport`] into a response body or a file.
//!
//! No randomness is involved: Ed25519 signatures are deterministic, so one batch always exports
//! the same bytes, whatever the thread count.

use std::fmt::Write as _;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::thread::JoinHandle;

use ed25519_dalek::SigningKey;
use tokio::sync::mpsc;

use super::token::{self, MarkBody, TokenError};
use crate::domain::gtin::Gtin;
use crate::domain::key::KeyId;

/// Marks per chunk. One chunk is about 13 ms of signing on one core and 300–550 KB of CSV for a
/// typical batch: the per-chunk costs (a channel hand-off, one buffer allocation) vanish beside
/// that, a dropped export stops its workers within one chunk, and the bound of
/// `threads × (CAPACITY + 1)` chunks is about 3 MB on two cores and 100 MB on 64. 4096 would
/// save nothing measurable and quadruple that bound.
const CHUNK: u64 = 1024;

/// Chunks a worker may sign ahead of the reader. Two keep every core busy while the reader
/// takes its turn elsewhere; more would only hold memory.
const CAPACITY: usize = 2;

/// The longest decimal serial, `u64::MAX`.
const MAX_SERIAL_DIGITS: usize = 20;

/// The label URL of a mark: `{public_url}/v/{token}`, `public_url` without trailing slash.
pub fn label_url(public_url: &str, token: &str) -> String {
    let mut url = String::new();
    push_label_url(&mut url, public_url, token);
    url
}

/// The GS1 Digital Link form of a mark's label URL:
/// `{public_url}/01/{gtin14}/21/{serial}?t={token}`, serial in plain decimal.
pub fn gs1_url(public_url: &str, gtin: Gtin, serial: u64, token: &str) -> String {
    let mut url = String::new();
    push_gs1_url(&mut url, public_url, gtin, serial, token);
    url
}

// The export writes the same forms through these, so there is one definition of each URL.
fn push_label_url(out: &mut String, public_url: &str, token: &str) {
    out.push_str(public_url);
    out.push_str("/v/");
    out.push_str(token);
}

fn push_gs1_url(out: &mut String, public_url: &str, gtin: Gtin, serial: u64, token: &str) {
    write!(out, "{public_url}/01/{gtin}/21/{serial}?t={token}").expect("a String takes any text");
}

/// What to sign: a batch's range and the fields every mark repeats.
pub struct ExportSpec {
    pub key: SigningKey,
    pub first_serial: u64,
    pub count: u64,
    pub certificate: String,
    pub gtin: Option<Gtin>,
    /// The deployment's public URL, without trailing slash (as `Config` holds it).
    pub public_url: String,
}

/// Why a batch cannot be exported. Checked once, in [`CsvExport::start`], so the workers never
/// meet a mark they cannot sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// Serial 0 or a certificate code a token cannot carry.
    #[error(transparent)]
    Mark(#[from] TokenError),
    #[error("a batch has at least one mark")]
    Empty,
    #[error("{count} marks from serial {first} run past the largest serial, 2^64 - 1")]
    SerialOverflow { first: u64, count: u64 },
    /// The URL is written into the CSV unquoted; every other field is digits or base64url.
    #[error(
        "public URL {0:?} holds a character a CSV field would need quoted: ',', '\"', CR or LF"
    )]
    PublicUrl(String),
}

/// Whole CSV lines for consecutive serials, in order.
#[derive(Debug)]
pub struct Chunk {
    pub csv: Vec<u8>,
    pub marks: u64,
}

/// A running export: worker threads sign chunks ahead of the reader, who takes them in serial
/// order with [`CsvExport::next_chunk`] (async) or [`CsvExport::blocking_next_chunk`].
///
/// Chunk `i` is signed by worker `i % threads`, and each worker sends into its own channel of
/// `CAPACITY` (2) chunks, so the reader taking the channels in turn reads chunks in order, and at
/// most `threads × (CAPACITY + 1)` chunks exist at once (queued, or being signed by a worker that
/// will wait to send). Dropping the export drops the receivers; each worker's next send fails
/// and it exits, having signed at most one more chunk.
pub struct CsvExport {
    header: &'static str,
    receivers: Vec<mpsc::Receiver<Chunk>>,
    /// Joined only when a worker stops early, to re-raise its panic: a bug must not pass for
    /// the end of the batch. Otherwise the workers exit on their own and are never waited for.
    workers: Vec<JoinHandle<()>>,
    /// Index of the chunk the reader takes next.
    next: u64,
    chunks: u64,
}

/// What every worker reads: the key and the fields each row repeats.
struct Batch {
    key: SigningKey,
    key_id: KeyId,
    first_serial: u64,
    count: u64,
    certificate: String,
    gtin: Option<Gtin>,
    public_url: String,
    /// An upper bound on one CSV line, so a chunk's buffer is allocated once at its final size.
    max_line_len: usize,
}

impl CsvExport {
    /// Checks the batch, then starts `threads` signing workers (fewer if the batch has fewer
    /// chunks). `std::thread::available_parallelism()` is the usual choice: signing is all CPU.
    pub fn start(spec: ExportSpec, threads: NonZeroUsize) -> Result<CsvExport, ExportError> {
        let ExportSpec {
            key,
            first_serial,
            count,
            certificate,
            gtin,
            public_url,
        } = spec;
        if count == 0 {
            return Err(ExportError::Empty);
        }
        if first_serial.checked_add(count - 1).is_none() {
            return Err(ExportError::SerialOverflow {
                first: first_serial,
                count,
            });
        }
        if public_url.contains([',', '"', '\r', '\n']) {
            return Err(ExportError::PublicUrl(public_url));
        }
        let key_id = KeyId::of(&key.verifying_key());
        // Every mark differs from the first only in its serial, which stays in 1..=u64::MAX:
        // if the first body can be made, all can.
        let first = MarkBody::new(key_id, first_serial, &certificate, gtin)?;
        // A token's length depends on the certificate and the GTIN flag only, not the serial.
        let token_len = token::sign(&key, &first).len();
        let urls = public_url.len() + "/v/".len() + token_len;
        let gs1 = gtin.map_or(0, |_| {
            ",".len()
                + public_url.len()
                + "/01/".len()
                + 14
                + "/21/".len()
                + MAX_SERIAL_DIGITS
                + "?t=".len()
                + token_len
        });
        let max_line_len = MAX_SERIAL_DIGITS + 1 + token_len + 1 + urls + gs1 + 1;

        let batch = Arc::new(Batch {
            key,
            key_id,
            first_serial,
            count,
            certificate,
            gtin,
            public_url,
            max_line_len,
        });
        let chunks = count.div_ceil(CHUNK);
        let threads = (threads.get() as u64).min(chunks);
        let (receivers, workers) = (0..threads)
            .map(|worker| {
                let (tx, rx) = mpsc::channel(CAPACITY);
                let batch = Arc::clone(&batch);
                let handle = std::thread::Builder::new()
                    .name(format!("mark-export-{worker}"))
                    .spawn(move || {
                        // Signing a batch is background work: requests come first.
                        crate::threads::lower_priority();
                        batch.sign_chunks(worker, threads, chunks, tx)
                    })
                    .expect("the OS starts a thread");
                (rx, handle)
            })
            .unzip();
        Ok(CsvExport {
            header: if gtin.is_some() {
                "serial,token,url,gs1_url\n"
            } else {
                "serial,token,url\n"
            },
            receivers,
            workers,
            next: 0,
            chunks,
        })
    }

    /// The CSV's first line, column names and line end included.
    pub fn header(&self) -> &'static str {
        self.header
    }

    /// The next chunk in serial order, or `None` after the last. Cancel-safe: a chunk is only
    /// taken from its channel when the call completes, so this may back a body stream.
    pub async fn next_chunk(&mut self) -> Option<Chunk> {
        let worker = self.turn()?;
        let chunk = self.receivers[worker].recv().await;
        self.received(worker, chunk)
    }

    /// [`CsvExport::next_chunk`] for code outside an async runtime, such as the CLI; it panics
    /// if called inside one, where it would block a runtime thread.
    pub fn blocking_next_chunk(&mut self) -> Option<Chunk> {
        let worker = self.turn()?;
        let chunk = self.receivers[worker].blocking_recv();
        self.received(worker, chunk)
    }

    /// The worker whose channel holds the next chunk, or `None` when every chunk has been read.
    fn turn(&self) -> Option<usize> {
        let workers = self.receivers.len() as u64;
        // The remainder is below the number of workers, a usize.
        (self.next < self.chunks).then(|| (self.next % workers) as usize)
    }

    fn received(&mut self, worker: usize, chunk: Option<Chunk>) -> Option<Chunk> {
        let Some(chunk) = chunk else {
            // A worker only drops its sender early by unwinding: this reader still holds its
            // receiver, so no send can have failed.
            match self.workers.swap_remove(worker).join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => unreachable!("worker {worker} returned before chunk {}", self.next),
            }
        };
        self.next += 1;
        Some(chunk)
    }
}

impl Batch {
    /// Signs chunks `worker`, `worker + threads`, … and sends each in turn; returns when they
    /// are all sent or the reader is gone.
    fn sign_chunks(&self, worker: u64, threads: u64, chunks: u64, tx: mpsc::Sender<Chunk>) {
        let mut token = String::new();
        let mut index = worker;
        while index < chunks {
            let offset = index * CHUNK;
            let marks = CHUNK.min(self.count - offset);
            // `start` checked that the last serial, first + count - 1, fits a u64.
            let first = self.first_serial + offset;
            let mut csv = String::with_capacity(self.max_line_len * marks as usize);
            for serial in first..=first + (marks - 1) {
                // The one allocation per mark: `MarkBody::new` copies the certificate code,
                // well under 1% of a signature's cost, and keeps one constructor for bodies.
                let body = MarkBody::new(self.key_id, serial, &self.certificate, self.gtin)
                    .expect("start made the first body; the others differ only in a serial >= 1");
                token.clear();
                token::write_token(&self.key, &body, &mut token);
                self.write_row(serial, &token, &mut csv);
            }
            let chunk = Chunk {
                csv: csv.into_bytes(),
                marks,
            };
            if tx.blocking_send(chunk).is_err() {
                return;
            }
            index += threads;
        }
    }

    /// Unlike the credit CSV, no cell needs neutralising against spreadsheet formulas (OWASP
    /// "CSV injection": a cell starting with `=`, `+`, `-`, `@`, tab or CR), because no cell
    /// holds text from a user: the serial is decimal digits; a token is base64url of a body
    /// whose first byte is the version 0x01, so it always starts with `A`; the URLs start with
    /// the configured public URL, which `config` accepts only as `http(s)://…`. Nor does any
    /// cell need RFC 4180 quoting: those alphabets have no comma or quote, and `start` refuses
    /// a public URL that has one.
    fn write_row(&self, serial: u64, token: &str, out: &mut String) {
        write!(out, "{serial},{token},").expect("a String takes any text");
        push_label_url(out, &self.public_url, token);
        if let Some(gtin) = self.gtin {
            out.push(',');
            push_gs1_url(out, &self.public_url, gtin, serial, token);
        }
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mark::token::Token;

    const PUBLIC_URL: &str = "https://marks.example/cn";
    const CERTIFICATE: &str = "JX-GE-2026-001";
    /// The EAN-13 worked example of Wikipedia's article, as a GTIN-14.
    const GTIN: &str = "04006381333931";

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7; 32])
    }

    fn spec(first_serial: u64, count: u64, gtin: Option<&str>) -> ExportSpec {
        ExportSpec {
            key: key(),
            first_serial,
            count,
            certificate: CERTIFICATE.to_owned(),
            gtin: gtin.map(|g| Gtin::parse(g).unwrap()),
            public_url: PUBLIC_URL.to_owned(),
        }
    }

    fn threads(n: usize) -> NonZeroUsize {
        NonZeroUsize::new(n).unwrap()
    }

    /// Drains an export outside a runtime: header and chunks, each checked to be whole lines
    /// and to hold as many lines as it says.
    fn drain(mut export: CsvExport) -> String {
        let mut csv = export.header().to_owned();
        while let Some(chunk) = export.blocking_next_chunk() {
            let text = String::from_utf8(chunk.csv).unwrap();
            assert!(text.ends_with('\n'));
            assert_eq!(text.lines().count() as u64, chunk.marks);
            csv.push_str(&text);
        }
        csv
    }

    /// Checks one row against the spec: its serial, a token that verifies under the key and
    /// names that serial, and URLs that carry them.
    fn check_row(row: &str, serial: u64, gtin: Option<Gtin>) {
        let fields: Vec<&str> = row.split(',').collect();
        assert_eq!(fields[0], serial.to_string());
        let token = Token::decode(fields[1]).unwrap();
        assert!(token.verify(&key().verifying_key()), "{row}");
        let body = token.body();
        assert_eq!(body.serial(), serial);
        assert_eq!(body.key_id(), KeyId::of(&key().verifying_key()));
        assert_eq!(body.certificate(), CERTIFICATE);
        assert_eq!(body.gtin(), gtin);
        assert_eq!(fields[2], format!("{PUBLIC_URL}/v/{}", fields[1]));
        match gtin {
            None => assert_eq!(fields.len(), 3),
            Some(gtin) => {
                assert_eq!(fields.len(), 4);
                assert_eq!(
                    fields[3],
                    format!("{PUBLIC_URL}/01/{GTIN}/21/{serial}?t={}", fields[1])
                );
                assert_eq!(gtin.to_string(), GTIN);
            }
        }
    }

    #[test]
    fn the_label_urls_have_the_forms_spec_md_gives() {
        assert_eq!(
            label_url("https://marks.example", "AbC-_9"),
            "https://marks.example/v/AbC-_9"
        );
        let gtin = Gtin::parse("96385074").unwrap();
        assert_eq!(
            gs1_url("https://marks.example/cn", gtin, 1_234_567, "AbC-_9"),
            "https://marks.example/cn/01/00000096385074/21/1234567?t=AbC-_9"
        );
    }

    #[test]
    fn every_serial_of_the_batch_is_exported_once_in_order_and_verifies() {
        let first = 1_000_000_001;
        let sizes = [1, 7, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5];
        for count in sizes {
            for n in [1, 2, 3] {
                let csv = drain(CsvExport::start(spec(first, count, None), threads(n)).unwrap());
                let mut lines = csv.lines();
                assert_eq!(lines.next(), Some("serial,token,url"));
                let mut rows = 0;
                for (serial, row) in (first..).zip(lines) {
                    check_row(row, serial, None);
                    rows += 1;
                }
                assert_eq!(rows, count, "{count} marks on {n} threads");
            }
        }
    }

    #[test]
    fn the_gs1_column_is_there_exactly_when_the_batch_has_a_gtin() {
        let gtin = Gtin::parse(GTIN).unwrap();
        let with = drain(CsvExport::start(spec(5, CHUNK + 2, Some(GTIN)), threads(2)).unwrap());
        let mut lines = with.lines();
        assert_eq!(lines.next(), Some("serial,token,url,gs1_url"));
        for (serial, row) in (5..).zip(lines) {
            check_row(row, serial, Some(gtin));
        }
        let without = drain(CsvExport::start(spec(5, 3, None), threads(2)).unwrap());
        assert!(without.lines().all(|line| line.split(',').count() == 3));
    }

    #[test]
    fn the_same_batch_exports_the_same_bytes_on_any_number_of_threads() {
        let one = drain(CsvExport::start(spec(1, 2 * CHUNK + 3, Some(GTIN)), threads(1)).unwrap());
        let three =
            drain(CsvExport::start(spec(1, 2 * CHUNK + 3, Some(GTIN)), threads(3)).unwrap());
        assert_eq!(one, three);
    }

    #[test]
    fn a_batch_may_end_at_the_largest_serial_but_not_run_past_it() {
        let csv = drain(CsvExport::start(spec(u64::MAX - 1, 2, None), threads(2)).unwrap());
        let rows: Vec<&str> = csv.lines().skip(1).collect();
        assert_eq!(rows.len(), 2);
        check_row(rows[0], u64::MAX - 1, None);
        check_row(rows[1], u64::MAX, None);

        let refused = CsvExport::start(spec(u64::MAX - 1, 3, None), threads(2)).err();
        assert_eq!(
            refused,
            Some(ExportError::SerialOverflow {
                first: u64::MAX - 1,
                count: 3
            })
        );
    }

    #[test]
    fn a_batch_no_token_could_carry_is_refused_before_signing() {
        let refused = |spec| CsvExport::start(spec, threads(1)).err();
        assert_eq!(refused(spec(1, 0, None)), Some(ExportError::Empty));
        assert!(matches!(
            refused(spec(0, 10, None)),
            Some(ExportError::Mark(TokenError::Malformed(_)))
        ));
        let lowercase = ExportSpec {
            certificate: "jx-ge-2026-001".to_owned(),
            ..spec(1, 10, None)
        };
        assert!(matches!(
            refused(lowercase),
            Some(ExportError::Mark(TokenError::Malformed(_)))
        ));
        let comma = ExportSpec {
            public_url: "https://marks.example/a,b".to_owned(),
            ..spec(1, 10, None)
        };
        assert_eq!(
            refused(comma),
            Some(ExportError::PublicUrl(
                "https://marks.example/a,b".to_owned()
            ))
        );
    }

    /// A batch of every serial there is could never finish, so workers that return at all
    /// stopped because the export was dropped.
    #[test]
    fn dropping_the_export_midway_stops_its_workers() {
        let mut export = CsvExport::start(spec(1, u64::MAX, None), threads(3)).unwrap();
        assert_eq!(export.blocking_next_chunk().unwrap().marks, CHUNK);
        let workers = std::mem::take(&mut export.workers);
        drop(export);
        // Joined on another thread so that a worker that never stops fails the test with a
        // message instead of hanging it.
        let (done, stopped) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for worker in workers {
                worker.join().unwrap();
            }
            done.send(()).unwrap();
        });
        stopped
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the workers stop once the export is dropped");
    }

    #[tokio::test]
    async fn an_async_reader_gets_the_same_csv_as_a_blocking_one() {
        let count = 2 * CHUNK + 1;
        let mut export = CsvExport::start(spec(42, count, Some(GTIN)), threads(2)).unwrap();
        let mut csv = export.header().as_bytes().to_vec();
        let mut marks = 0;
        while let Some(chunk) = export.next_chunk().await {
            marks += chunk.marks;
            csv.extend_from_slice(&chunk.csv);
        }
        assert_eq!(marks, count);
        let blocking = tokio::task::spawn_blocking(move || {
            drain(CsvExport::start(spec(42, count, Some(GTIN)), threads(2)).unwrap())
        })
        .await
        .unwrap();
        assert_eq!(String::from_utf8(csv).unwrap(), blocking);
    }
}
