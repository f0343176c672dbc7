//! Read models held in memory rather than in tables: a [`Fold`] of the whole log, kept in a
//! [`Folded`] that applies each event once and in order. Every node folds its own copy,
//! followed by [`super::keep_up`] and caught up by handlers before they read, so a write is
//! visible to the request after it. Suited to models small enough to rebuild at start-up
//! (the mark index, cases, credit records); they may read confidential data, so nothing here
//! is served as is.

use std::sync::{RwLock, RwLockReadGuard};

use crate::log::Log;
use crate::log::StorageError;
use crate::log::event::StoredEvent;

/// Events read per page while catching up.
const PAGE: u32 = 1000;

/// A read model as a left fold over the log's events.
pub trait Fold: Default + Send + Sync {
    /// Applies one event. Must not panic: it runs under the model's write lock, and it ignores
    /// events it cannot parse rather than stop the fold.
    fn apply(&mut self, event: &StoredEvent);
}

struct Position<S> {
    /// The next log index to apply.
    next: u64,
    model: S,
}

/// A fold shared by a service's handlers and its follower task.
pub struct Folded<S> {
    state: RwLock<Position<S>>,
    /// One catch-up at a time, so events are applied once and in order.
    catching_up: tokio::sync::Mutex<()>,
}

impl<S: Fold> Default for Folded<S> {
    fn default() -> Self {
        Folded {
            state: RwLock::new(Position {
                next: 0,
                model: S::default(),
            }),
            catching_up: tokio::sync::Mutex::new(()),
        }
    }
}

impl<S: Fold> Folded<S> {
    /// Applies every event not yet seen, up to the current end of the log; returns the
    /// position afterwards.
    pub async fn catch_up(&self, log: &Log) -> Result<u64, StorageError> {
        let _one = self.catching_up.lock().await;
        loop {
            let next = self.lock_read().next;
            let events = log.read(next, PAGE).await?;
            let Some(last) = events.last() else {
                return Ok(next);
            };
            let mut state = self.state.write().expect("fold lock");
            for event in &events {
                state.model.apply(event);
            }
            state.next = last.index + 1;
        }
    }

    /// The model as folded so far.
    pub fn read(&self) -> ReadGuard<'_, S> {
        ReadGuard(self.lock_read())
    }

    fn lock_read(&self) -> RwLockReadGuard<'_, Position<S>> {
        // No panic can happen while the write lock is held (`Fold::apply` must not panic),
        // so the lock is never poisoned.
        self.state.read().expect("fold lock")
    }
}

impl<S> ReadGuard<'_, S> {
    /// The next log index the model will apply.
    pub fn next(&self) -> u64 {
        self.0.next
    }
}

/// Read access to a folded model.
pub struct ReadGuard<'a, S>(RwLockReadGuard<'a, Position<S>>);

impl<S> std::ops::Deref for ReadGuard<'_, S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.0.model
    }
}
