//! Progress of a long command on stderr: a bar with rate and ETA redrawn in place on a
//! terminal, plain lines at most every few seconds otherwise (logs and CI keep them readable).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often a terminal bar is redrawn, and a plain line printed.
const TTY_EVERY: Duration = Duration::from_millis(100);
const LINE_EVERY: Duration = Duration::from_secs(5);

pub struct Progress {
    what: &'static str,
    total: u64,
    done: u64,
    started: Instant,
    drawn: Instant,
    tty: bool,
}

impl Progress {
    pub fn new(what: &'static str, total: u64) -> Progress {
        let now = Instant::now();
        Progress {
            what,
            total,
            done: 0,
            started: now,
            drawn: now,
            tty: std::io::stderr().is_terminal(),
        }
    }

    pub fn advance(&mut self, n: u64) {
        self.done += n;
        let every = if self.tty { TTY_EVERY } else { LINE_EVERY };
        if self.drawn.elapsed() >= every {
            self.draw();
        }
    }

    /// The final figure, on its own line.
    pub fn finish(mut self) {
        self.draw();
        if self.tty {
            eprintln!();
        }
    }

    fn draw(&mut self) {
        self.drawn = Instant::now();
        let line = status(self.what, self.done, self.total, self.started.elapsed());
        let mut err = std::io::stderr().lock();
        let _ = if self.tty {
            let filled = (self.done * 30).checked_div(self.total).unwrap_or(30) as usize;
            write!(err, "\r[{:<30}] {line}", "#".repeat(filled))
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }
}

/// `marks: 450000/1000000 (45%), 152000/s, ETA 4 s`.
fn status(what: &str, done: u64, total: u64, elapsed: Duration) -> String {
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-3);
    let eta = if done >= total || rate <= 0.0 {
        "done".to_owned()
    } else {
        format!("ETA {:.0} s", (total - done) as f64 / rate)
    };
    format!("{what}: {done}/{total} ({percent}%), {rate:.0}/s, {eta}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_line_has_count_percentage_rate_and_eta() {
        let line = status("marks", 250, 1000, Duration::from_secs(2));
        assert_eq!(line, "marks: 250/1000 (25%), 125/s, ETA 6 s");
        let done = status("marks", 1000, 1000, Duration::from_secs(4));
        assert_eq!(done, "marks: 1000/1000 (100%), 250/s, done");
    }
}
