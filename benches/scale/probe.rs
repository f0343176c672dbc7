//! The scale benchmark's client: what the service itself does to the scan table, through its
//! own storage code, timed call by call. Built and run by `benches/scale/run.sh`.
//!
//! `scale_probe partitions URL DAYS` makes the monthly partitions from DAYS ago to two months
//! ahead with the service's upkeep (`ScanStore::add_partitions`), as a service running for
//! that long would have.
//!
//! `scale_probe inserts URL SECONDS` writes scans as the scan recorder does, 1,000 to a
//! transaction (`ScanStore::insert_scans`; the recorder's batches hold up to 4,096, and 1,000
//! is LIMITS.md's multi-row INSERT), for SECONDS, and prints the rate.
//!
//! `scale_probe reads URL QUIET BUSY RUNS` reads histories as detection does
//! (`ScanStore::scans_of` with detection's bound of 1,000 scans and the default retention of
//! 365 days): RUNS reads of one quiet serial (drawn from `BUSY + 1 ..= BUSY + QUIET`), of one
//! busy serial (`1 ..= BUSY`), and of 256 quiet serials in one statement (a batch's cold
//! serials), after 200 unmeasured reads of each kind; prints p50, p99, p99.9 and the maximum.
//! The serials are drawn from a fixed seed, so reruns read the same ones.

use std::time::{Duration, Instant};

use marktrace::clock;
use marktrace::domain::region::RegionCode;
use marktrace::domain::verdict::Verdict;
use marktrace::scans::{self, Scan};

/// Detection's bound on a history (`app::detection::HISTORY`).
const HISTORY: u32 = 1000;
/// The default `--scan-retention-days`.
const RETENTION_DAYS: u32 = 365;
/// Serials in a batch-sized read: what one committed batch of scans typically brings cold.
const BATCH_SERIALS: usize = 256;
const WARM_UP: usize = 200;

/// splitmix64: a fixed, reproducible sequence of serials without a dependency.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn within(&mut self, first: u64, count: u64) -> u64 {
        first + self.next() % count
    }
}

fn percentiles(what: &str, mut times: Vec<Duration>, rows: usize) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what}: {} reads, {:.1} rows a read, p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        times.len(),
        rows as f64 / times.len() as f64,
        ms(at(0.50)),
        ms(at(0.99)),
        ms(at(0.999)),
        ms(times[times.len() - 1]),
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| -> anyhow::Result<&str> {
        args.get(i).map(String::as_str).ok_or_else(|| {
            anyhow::anyhow!(
                "usage: scale_probe partitions URL DAYS | inserts URL SECONDS \
                 | reads URL QUIET BUSY RUNS"
            )
        })
    };
    let store = marktrace::storage::open(arg(2)?).await?;
    match arg(1)? {
        "partitions" => {
            let days: i64 = arg(3)?.parse()?;
            let today = time::OffsetDateTime::now_utc().date();
            let mut day = today - time::Duration::days(days);
            while day <= today {
                let created = store.add_partitions(day).await?;
                if !created.is_empty() {
                    println!("partitions: {}", created.join(" "));
                }
                day += time::Duration::days(28);
            }
            store.add_partitions(today).await?;
        }
        "inserts" => {
            let seconds: u64 = arg(3)?.parse()?;
            let regions = ["360102", "360402", "360702", "361102"]
                .map(|r| RegionCode::parse(r).expect("a region code"));
            let mut draw = Draw(7);
            let (start, mut rows) = (Instant::now(), 0u64);
            while start.elapsed() < Duration::from_secs(seconds) {
                let batch: Vec<Scan> = (0..1000)
                    .map(|_| Scan {
                        serial: draw.within(1, 50_000_000),
                        scanned_at: clock::now_micros(),
                        region: Some(regions[(draw.next() % 4) as usize]),
                        verdict: Verdict::Genuine,
                        client: format!("{:064x}", draw.next()),
                    })
                    .collect();
                store.insert_scans(&batch).await?;
                rows += batch.len() as u64;
            }
            let elapsed = start.elapsed().as_secs_f64();
            println!(
                "inserts: {rows} scans in {elapsed:.1} s, {:.0} scans/s",
                rows as f64 / elapsed
            );
        }
        "reads" => {
            let (quiet, busy, runs): (u64, u64, usize) =
                (arg(3)?.parse()?, arg(4)?.parse()?, arg(5)?.parse()?);
            let since = scans::retained_since(RETENTION_DAYS);
            let kinds = [
                ("one quiet serial", busy + 1, quiet, 1),
                ("one busy serial", 1, busy, 1),
                (
                    "256 quiet serials in one read",
                    busy + 1,
                    quiet,
                    BATCH_SERIALS,
                ),
            ];
            let mut draw = Draw(42);
            for (what, first, count, per_read) in kinds {
                let (mut times, mut rows) = (Vec::with_capacity(runs), 0);
                for run in 0..WARM_UP + runs {
                    let serials: Vec<u64> =
                        (0..per_read).map(|_| draw.within(first, count)).collect();
                    let start = Instant::now();
                    let read = store.scans_of(&serials, &since, HISTORY).await?;
                    if run >= WARM_UP {
                        times.push(start.elapsed());
                        rows += read.len();
                    }
                }
                percentiles(what, times, rows);
            }
        }
        other => anyhow::bail!("unknown probe {other}: partitions, inserts or reads"),
    }
    store.close().await;
    Ok(())
}
