//! The threads gort starts for itself (M:N workers and the system
//! monitor, the threads scheduler's pool, the timer thread), counted
//! against `GORT_MAXTHREADS` (Go's `debug.SetMaxThreads`, default 10,000).
//!
//! Invariant: `LIVE` counts every thread started here that has not yet
//! finished its body; a start that would take it past the limit ends the
//! process with Go's `fatal error: thread exhaustion` (exit status 2)
//! instead of starting the thread, so running out is never a hang.

use std::sync::OnceLock;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

/// Go's default limit.
const DEFAULT_MAX_THREADS: usize = 10_000;

static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The limit, from `GORT_MAXTHREADS` (read once). A value that is not a
/// positive integer is a fatal error: a limit the user set by mistake
/// should not silently become another one.
pub(crate) fn max_threads() -> usize {
    static MAX: OnceLock<usize> = OnceLock::new();
    *MAX.get_or_init(|| match std::env::var("GORT_MAXTHREADS") {
        Err(std::env::VarError::NotPresent) => DEFAULT_MAX_THREADS,
        Ok(s) => match s.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => fatal(&format!(
                "GORT_MAXTHREADS={s:?}: want a positive number of threads"
            )),
        },
        Err(e) => fatal(&format!("GORT_MAXTHREADS: {e}")),
    })
}

/// Threads started here and still running.
pub(crate) fn live_threads() -> usize {
    LIVE.load(Relaxed)
}

fn fatal(what: &str) -> ! {
    die(&format!("fatal error: {what}\n"))
}

fn die(msg: &str) -> ! {
    crate::platform::write_stderr(msg.as_bytes());
    crate::platform::exit_now(2)
}

/// Starts a thread gort owns, running `body` under `run_owned_thread`.
/// Past `GORT_MAXTHREADS` live threads, or when the OS refuses a thread,
/// the process ends with a fatal error (exit status 2).
pub(crate) fn start_thread(
    name: String,
    stack_size: Option<usize>,
    body: impl FnOnce() + Send + 'static,
) {
    let max = max_threads();
    if LIVE.fetch_add(1, Relaxed) >= max {
        die(&format!(
            "runtime: program exceeds {max}-thread limit\nfatal error: thread exhaustion\n"
        ));
    }
    let mut builder = std::thread::Builder::new().name(name);
    if let Some(size) = stack_size {
        builder = builder.stack_size(size);
    }
    let started = builder.spawn(move || {
        struct Live;
        impl Drop for Live {
            fn drop(&mut self) {
                LIVE.fetch_sub(1, Relaxed);
            }
        }
        let _live = Live;
        super::run_owned_thread(body);
    });
    if let Err(e) = started {
        LIVE.fetch_sub(1, Relaxed);
        fatal(&format!(
            "gort could not start a thread: {e} ({} of GORT_MAXTHREADS={max} running)",
            live_threads()
        ));
    }
}
