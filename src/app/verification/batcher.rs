//! First scans share their signature check: concurrent uncached checks queue here and one task
//! verifies them together with [`mark::batch::verify_each`](crate::mark::batch::verify_each),
//! which decides each as `verify_strict` does (its module doc says why, and the one case
//! where it cannot) at a quarter of the cost per signature.
//!
//! # Gathering
//! The first check into an empty queue starts a drain task; checks arriving while it runs join
//! the queue. The task first yields once, so the checks of requests already being handled
//! join the batch, then takes up to [`MAX_BATCH`] checks, verifies them, answers each, and
//! goes on while checks are queued. Nothing waits on a timer: a lone scan is delayed by one
//! task hop (microseconds), and under load the batch grows by itself with the checks that
//! arrived during the previous one. A batch of 64 takes about half a millisecond.

use std::sync::{Arc, Mutex};

use ed25519_dalek::Signature;
use tokio::sync::oneshot;

use crate::mark::batch::{BatchKey, Item, verify_each};
use crate::metrics::Metrics;

/// Most signatures per batch: LIMITS.md's measured batch size, where the per-signature cost
/// has flattened, and about 0.5 ms of one core.
pub const MAX_BATCH: usize = 64;

/// One signature check waiting for its batch.
struct Check {
    key: Arc<BatchKey>,
    message: Vec<u8>,
    signature: Signature,
    answer: oneshot::Sender<bool>,
}

#[derive(Default)]
struct Queue {
    checks: Vec<Check>,
    draining: bool,
}

/// Verifies signatures in batches; cheap to share (`Arc`).
pub struct Batcher {
    queue: Mutex<Queue>,
    metrics: Arc<Metrics>,
}

impl Batcher {
    pub fn new(metrics: Arc<Metrics>) -> Batcher {
        Batcher {
            queue: Mutex::default(),
            metrics,
        }
    }

    /// Whether `signature` over `message` is valid under `key`, checked in a batch with the
    /// checks that arrive meanwhile.
    pub async fn verify(
        self: &Arc<Self>,
        key: Arc<BatchKey>,
        message: Vec<u8>,
        signature: Signature,
    ) -> bool {
        let (answer, answered) = oneshot::channel();
        let check = Check {
            key,
            message,
            signature,
            answer,
        };
        let start = {
            let mut queue = self.queue.lock().expect("the queue lock is never poisoned");
            queue.checks.push(check);
            !std::mem::replace(&mut queue.draining, true)
        };
        if start {
            tokio::spawn(self.clone().drain());
        }
        // The drain task answers every check it takes, so the sender is never dropped unsent.
        answered.await.unwrap_or(false)
    }

    /// Verifies queued checks in batches until the queue is empty.
    async fn drain(self: Arc<Self>) {
        loop {
            tokio::task::yield_now().await;
            let checks = {
                let mut queue = self.queue.lock().expect("the queue lock is never poisoned");
                if queue.checks.is_empty() {
                    queue.draining = false;
                    return;
                }
                let take = queue.checks.len().min(MAX_BATCH);
                queue.checks.drain(..take).collect::<Vec<_>>()
            };
            let items: Vec<Item> = checks
                .iter()
                .map(|c| Item {
                    key: &c.key,
                    message: &c.message,
                    signature: &c.signature,
                })
                .collect();
            let valid = verify_each(&items);
            self.metrics.signature_batch(checks.len());
            for (check, valid) in checks.into_iter().zip(valid) {
                let _ = check.answer.send(valid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn signed(key: &SigningKey, n: u32) -> (Vec<u8>, Signature) {
        let message = format!("marktrace/mark/v1 test {n}").into_bytes();
        let signature = key.sign(&message);
        (message, signature)
    }

    /// Many concurrent checks share batches, and each gets its own answer: the genuine ones
    /// true, the one with a changed message false.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_checks_share_batches_and_each_gets_its_answer() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let batch_key = Arc::new(BatchKey::new(key.verifying_key()));
        let metrics = Arc::new(Metrics::default());
        let batcher = Arc::new(Batcher::new(metrics.clone()));
        let checks: Vec<_> = (0..500)
            .map(|n| {
                let (mut message, signature) = signed(&key, n);
                if n == 321 {
                    message.push(b'!');
                }
                let (batcher, key) = (batcher.clone(), batch_key.clone());
                tokio::spawn(async move { (n, batcher.verify(key, message, signature).await) })
            })
            .collect();
        for check in checks {
            let (n, valid) = check.await.unwrap();
            assert_eq!(valid, n != 321, "check {n}");
        }
        let (batches, signatures) = metrics.signature_batches();
        assert_eq!(signatures, 500);
        assert!(
            batches < 500,
            "{batches} batches for 500 concurrent checks: none shared"
        );
    }

    /// A lone check is answered without waiting for company.
    #[tokio::test]
    async fn a_lone_check_is_answered() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let batcher = Arc::new(Batcher::new(Arc::new(Metrics::default())));
        let (message, signature) = signed(&key, 1);
        let key = Arc::new(BatchKey::new(key.verifying_key()));
        assert!(batcher.verify(key, message, signature).await);
    }
}
