//! Background work on its own budget, so it never takes CPU from answering requests: a
//! runtime of one worker thread for the service's background tasks (the scan recorder,
//! detection, the read-model followers, the purges), and a lower scheduling priority for it and
//! for the threads that sign a batch export. Under contention the kernel gives request workers
//! about ten times the share of a background thread (nice 10 against 0); on an idle machine
//! background work runs at full speed.

use std::io;

/// The `nice` value of background threads.
const BACKGROUND_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority to [`BACKGROUND_NICE`] (on Linux, `nice`
/// is per thread). A failure (a sandbox refusing it) is logged and otherwise harmless: the work
/// runs at normal priority.
pub fn lower_priority() {
    let thread = rustix::thread::gettid();
    if let Err(error) = rustix::process::setpriority_process(Some(thread), BACKGROUND_NICE) {
        tracing::warn!(%error, "cannot lower a background thread's priority");
    }
}

/// The runtime of the service's background tasks: one worker thread at lower priority, so
/// background work uses at most one core and yields it to request handling. Dropping it stops
/// its tasks without waiting (it may be dropped inside another runtime, where a plain
/// `Runtime` would panic): stop what must finish first.
pub struct Background {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Background {
    pub fn start() -> io::Result<Background> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(2)
            .thread_name("marktrace-background")
            .on_thread_start(lower_priority)
            .enable_all()
            .build()?;
        Ok(Background {
            runtime: Some(runtime),
        })
    }

    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime
            .as_ref()
            .expect("running until dropped")
            .handle()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
