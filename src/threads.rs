//! Background work on its own budget, so it never takes a request worker's turn:
//! - the service's background tasks (the scan recorder, detection, the read-model followers,
//!   the purges) run on a runtime of their own with one worker thread, so together they use at
//!   most one core and never queue behind requests or requests behind them;
//! - the threads that sign a batch export run at a lower scheduling priority (nice 10): under
//!   contention the kernel gives request workers about ten times their share, and on an idle
//!   machine they sign at full speed.
//!
//! The background runtime keeps normal priority: measured under case A of
//! `benches/load/run.sh`, at nice 10 the scan writer fell behind and the recorder dropped a
//! quarter of the scans (118,865 of 559,997), while p99 was already below nginx's.

use std::io;

/// The `nice` value of export signing threads.
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

/// The runtime of the service's background tasks: one worker thread, so background work uses
/// at most one core beside the request workers. Dropping it stops
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
