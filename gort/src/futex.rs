//! Layer 3: `Futex`, the one primitive every blocking operation in gort is
//! built on: a 32-bit atomic word and "sleep while it still equals `v`".
//!
//! Invariants callers rely on:
//! - `wait(v)` returns at once if the word is not `v` when the wait starts;
//!   otherwise it sleeps until a `wake`/`wake_all` that follows a store, a
//!   timeout, or a spurious wakeup. Callers always re-check their condition.
//! - A store followed by `wake` can never be lost: the OS (or the loom model
//!   below) checks the word and queues the waiter as one atomic step.
//!
//! Today every waiter is an OS thread (plain threads and goroutines of the
//! threads scheduler), so this is the OS futex itself.

use core::time::Duration;

use crate::shim::atomic::{AtomicU32, Ordering};

/// A 32-bit atomic word that threads and goroutines can sleep on.
///
/// ```
/// use gort::futex::Futex;
/// use std::sync::atomic::Ordering;
/// let f = Futex::new(0);
/// assert!(!f.wait_timeout(0, std::time::Duration::from_millis(1))); // timed out
/// f.store(1, Ordering::Release);
/// f.wait(0); // returns at once: the word is no longer 0
/// ```
#[derive(Default)]
pub struct Futex {
    word: AtomicU32,
    #[cfg(loom)]
    model: loom_model::Model,
}

impl Futex {
    /// A futex whose word starts at `value`.
    #[cfg(not(loom))]
    pub const fn new(value: u32) -> Self {
        Futex {
            word: AtomicU32::new(value),
        }
    }

    #[cfg(loom)]
    pub fn new(value: u32) -> Self {
        Futex {
            word: AtomicU32::new(value),
            model: loom_model::Model::default(),
        }
    }

    /// The atomic word (also reachable through `Deref`).
    pub fn word(&self) -> &AtomicU32 {
        &self.word
    }

    /// Sleeps while the word equals `expected` (spurious returns possible).
    pub fn wait(&self, expected: u32) {
        self.wait_inner(expected, None);
    }

    /// Like `wait`, but gives up after `timeout`. Returns `false` only if the
    /// timeout elapsed; `true` means woken, value changed, or spurious.
    pub fn wait_timeout(&self, expected: u32, timeout: Duration) -> bool {
        self.wait_inner(expected, Some(timeout))
    }

    /// Wakes one waiter, if any.
    pub fn wake(&self) {
        #[cfg(not(loom))]
        crate::platform::futex_wake(&self.word);
        #[cfg(loom)]
        self.model.wake(false);
    }

    /// Wakes every waiter.
    pub fn wake_all(&self) {
        #[cfg(not(loom))]
        crate::platform::futex_wake_all(&self.word);
        #[cfg(loom)]
        self.model.wake(true);
    }

    #[cfg(not(loom))]
    fn wait_inner(&self, expected: u32, timeout: Option<Duration>) -> bool {
        if self.word.load(Ordering::Relaxed) != expected {
            return true;
        }
        crate::platform::futex_wait(&self.word, expected, timeout)
    }

    #[cfg(loom)]
    fn wait_inner(&self, expected: u32, timeout: Option<Duration>) -> bool {
        self.model.wait(&self.word, expected, timeout.is_some())
    }
}

impl core::ops::Deref for Futex {
    type Target = AtomicU32;
    fn deref(&self) -> &AtomicU32 {
        &self.word
    }
}

impl core::fmt::Debug for Futex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("Futex")
            .field(&self.word.load(Ordering::Relaxed))
            .finish()
    }
}

/// Under loom a futex is a mutex-protected check plus a condition variable:
/// the same "compare and sleep as one step" the OS gives, so a lost wakeup
/// shows up as a loom deadlock. A timed wait is modelled as a wait that may
/// give up instead of sleeping.
#[cfg(loom)]
mod loom_model {
    use loom::sync::atomic::{AtomicU32, Ordering};
    use loom::sync::{Condvar, Mutex};

    #[derive(Default)]
    pub(super) struct Model {
        lock: Mutex<()>,
        cond: Condvar,
    }

    impl Model {
        pub(super) fn wait(&self, word: &AtomicU32, expected: u32, timed: bool) -> bool {
            let guard = self.lock.lock().unwrap();
            if word.load(Ordering::SeqCst) != expected {
                return true;
            }
            if timed {
                // Timing out is always a legal outcome of a timed wait.
                return false;
            }
            drop(self.cond.wait(guard).unwrap());
            true
        }

        pub(super) fn wake(&self, all: bool) {
            let _guard = self.lock.lock().unwrap();
            if all {
                self.cond.notify_all();
            } else {
                self.cond.notify_one();
            }
        }
    }
}
