//! `Once`: runs a function exactly once, others wait for it to finish.
//!
//! State word: `INCOMPLETE` → `RUNNING` (one caller won the CAS) →
//! `RUNNING_WAITED` (someone sleeps on it) → `COMPLETE`. `COMPLETE` is
//! final and is published with Release, read with Acquire, so whatever the
//! function wrote is visible to every caller that returns.

use crate::futex::{Futex, WaitReason};
use crate::shim::atomic::Ordering::{Acquire, Relaxed, Release};

const INCOMPLETE: u32 = 0;
const RUNNING: u32 = 1;
const RUNNING_WAITED: u32 = 2;
const COMPLETE: u32 = 3;

/// Go's `sync.Once`.
///
/// If the function panics, the `Once` counts as done (Go's rule: "if f
/// panics, Do considers it to have returned"): the panic reaches the caller
/// that ran it, waiters return, and later calls do not run anything. Calling
/// `call_once` on the same `Once` from inside its own function deadlocks, as
/// in Go.
///
/// ```
/// use gort::sync::{Once, WaitGroup};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// static INIT: Once = Once::new();
/// static RUNS: AtomicUsize = AtomicUsize::new(0);
///
/// let wg = WaitGroup::new();
/// for _ in 0..4 {
///     wg.go(|| {
///         INIT.call_once(|| {
///             RUNS.fetch_add(1, Ordering::Relaxed);
///         });
///         assert!(INIT.is_completed()); // every caller returns after it ran
///     });
/// }
/// wg.wait();
/// assert_eq!(RUNS.load(Ordering::Relaxed), 1);
/// ```
pub struct Once {
    state: Futex,
}

impl Once {
    /// A `Once` that has not run. Example: see [`Once`].
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Once {
            state: Futex::new(INCOMPLETE),
        }
    }
    /// A `Once` that has not run.
    #[cfg(loom)]
    pub fn new() -> Self {
        Once {
            state: Futex::new(INCOMPLETE),
        }
    }

    /// Runs `f` if no call has run yet; otherwise waits until the running
    /// call (if any) finishes. Returns after `f` has finished either way
    /// (Go's `Do`). Example: see [`Once`].
    pub fn call_once(&self, f: impl FnOnce()) {
        if self.state.load(Acquire) != COMPLETE {
            self.call_once_slow(f);
        }
    }

    /// Whether a call has finished (returned or panicked).
    ///
    /// ```
    /// let once = gort::sync::Once::new();
    /// assert!(!once.is_completed());
    /// once.call_once(|| {});
    /// assert!(once.is_completed());
    /// ```
    pub fn is_completed(&self) -> bool {
        self.state.load(Acquire) == COMPLETE
    }

    #[cold]
    fn call_once_slow(&self, f: impl FnOnce()) {
        let mut s = self.state.load(Acquire);
        loop {
            match s {
                COMPLETE => return,
                INCOMPLETE => {
                    match self
                        .state
                        .compare_exchange(INCOMPLETE, RUNNING, Acquire, Acquire)
                    {
                        Ok(_) => {
                            let _complete = CompleteOnDrop(&self.state);
                            f();
                            return;
                        }
                        Err(now) => s = now,
                    }
                }
                RUNNING => {
                    match self
                        .state
                        .compare_exchange(RUNNING, RUNNING_WAITED, Relaxed, Acquire)
                    {
                        Ok(_) => s = RUNNING_WAITED,
                        Err(now) => s = now,
                    }
                }
                _ => {
                    self.state.wait_as(RUNNING_WAITED, WaitReason::Once);
                    s = self.state.load(Acquire);
                }
            }
        }
    }
}

impl Default for Once {
    fn default() -> Self {
        Once::new()
    }
}

impl core::fmt::Debug for Once {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Once")
            .field("done", &self.is_completed())
            .finish()
    }
}

/// Marks the `Once` complete when the function returns or unwinds.
struct CompleteOnDrop<'a>(&'a Futex);

impl Drop for CompleteOnDrop<'_> {
    fn drop(&mut self) {
        if self.0.swap(COMPLETE, Release) == RUNNING_WAITED {
            self.0.wake_all();
        }
    }
}
