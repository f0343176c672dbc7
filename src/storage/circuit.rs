//! Failing fast while the database cannot be reached. Every storage call goes through a
//! [`Circuit`]: after [`TRIP_AFTER`] consecutive calls failed because the database was
//! unreachable, the circuit opens and calls fail at once with
//! [`StorageError::Unavailable`] instead of each waiting for the pool's acquire timeout; every
//! [`PROBE_EVERY`] one call is let through as a probe, and the first that succeeds closes the
//! circuit. An error that shows the database answering (a constraint, a conflict, corrupt
//! data) counts as reaching it.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::log::StorageError;

/// Consecutive unreachable calls that open the circuit.
pub const TRIP_AFTER: u32 = 3;

/// How often an open circuit lets one call through to find out whether the database is back.
pub const PROBE_EVERY: Duration = Duration::from_millis(500);

#[derive(Debug, Default)]
struct State {
    failures: u32,
    /// While open: when the next probe may go through.
    open_until: Option<Instant>,
}

/// A circuit breaker for one database.
#[derive(Debug, Default)]
pub struct Circuit {
    state: Mutex<State>,
}

impl Circuit {
    /// Runs `call` unless the circuit is open and no probe is due; records how it went.
    pub async fn run<T>(
        &self,
        call: impl Future<Output = Result<T, StorageError>>,
    ) -> Result<T, StorageError> {
        self.admit()?;
        let result = call.await;
        self.record(result.as_ref().err());
        result
    }

    /// Whether the circuit lets calls through (not open).
    #[cfg(test)]
    fn closed(&self) -> bool {
        self.lock().open_until.is_none()
    }

    fn admit(&self) -> Result<(), StorageError> {
        let mut state = self.lock();
        match state.open_until {
            Some(until) if Instant::now() < until => Err(StorageError::Unavailable(format!(
                "the database did not answer the last {} calls; retrying every {} ms",
                state.failures,
                PROBE_EVERY.as_millis()
            ))),
            Some(_) => {
                // This call is the probe; the others keep failing fast until it returns.
                state.open_until = Some(Instant::now() + PROBE_EVERY);
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn record(&self, error: Option<&StorageError>) {
        let mut state = self.lock();
        match error {
            Some(StorageError::Unavailable(_)) => {
                state.failures = state.failures.saturating_add(1);
                if state.failures >= TRIP_AFTER {
                    if state.open_until.is_none() {
                        tracing::error!(
                            failures = state.failures,
                            "the database is unreachable; failing fast"
                        );
                    }
                    // The next probe is due PROBE_EVERY after this failure, not after the call
                    // began: a probe that waited out the pool's acquire timeout (longer than
                    // PROBE_EVERY) must not be followed at once by another, or a request queued
                    // behind it (for the log head, say) waits out two.
                    state.open_until = Some(Instant::now() + PROBE_EVERY);
                }
            }
            _ => {
                if state.open_until.is_some() {
                    tracing::info!("the database answers again");
                }
                *state = State::default();
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn down() -> Result<(), StorageError> {
        Err(StorageError::Unavailable("connection refused".into()))
    }

    #[tokio::test(start_paused = true)]
    async fn it_opens_after_consecutive_failures_fails_fast_and_closes_on_a_good_probe() {
        let circuit = Circuit::default();
        let calls = AtomicU32::new(0);
        let call = |ok: bool| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move { if ok { Ok(()) } else { down() } }
        };
        for _ in 0..TRIP_AFTER {
            assert!(circuit.run(call(false)).await.is_err());
        }
        assert!(!circuit.closed());
        // Open: refused without calling the database.
        let before = calls.load(Ordering::SeqCst);
        let refused = circuit.run(async { Ok(()) }).await;
        assert!(matches!(refused, Err(StorageError::Unavailable(_))));
        assert_eq!(calls.load(Ordering::SeqCst), before);
        // Once a probe is due, one call goes through; a success closes the circuit.
        tokio::time::advance(PROBE_EVERY).await;
        assert!(circuit.run(call(true)).await.is_ok());
        assert!(circuit.closed());
        assert!(circuit.run(call(true)).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_defers_the_next_one_from_when_it_failed() {
        let circuit = Circuit::default();
        for _ in 0..TRIP_AFTER {
            let _ = circuit.run(async { down() }).await;
        }
        tokio::time::advance(PROBE_EVERY).await;
        // The probe waits out an acquire timeout longer than PROBE_EVERY, then fails.
        let probe = circuit.run(async {
            tokio::time::sleep(2 * PROBE_EVERY).await;
            down()
        });
        assert!(probe.await.is_err());
        let called = AtomicU32::new(0);
        let call = || async {
            called.fetch_add(1, Ordering::SeqCst);
            Ok(())
        };
        assert!(matches!(
            circuit.run(call()).await,
            Err(StorageError::Unavailable(_))
        ));
        assert_eq!(
            called.load(Ordering::SeqCst),
            0,
            "no probe right after one failed"
        );
        tokio::time::advance(PROBE_EVERY).await;
        assert!(circuit.run(call()).await.is_ok());
        assert!(circuit.closed());
    }

    #[tokio::test]
    async fn errors_from_a_database_that_answers_do_not_open_it() {
        let circuit = Circuit::default();
        for _ in 0..10 {
            let corrupt = circuit
                .run(async { Err::<(), _>(StorageError::Corrupt("bad row".into())) })
                .await;
            assert!(corrupt.is_err());
        }
        assert!(circuit.closed());
        // Failures interrupted by a success start counting again.
        for _ in 0..TRIP_AFTER - 1 {
            let _ = circuit.run(async { down() }).await;
        }
        let _ = circuit.run(async { Ok(()) }).await;
        let _ = circuit.run(async { down() }).await;
        assert!(circuit.closed());
    }
}
