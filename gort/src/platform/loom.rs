//! Loom models (`--cfg loom`): the OS futex, modelled, so the task and sync
//! layers above run unchanged on loom threads and are checked as written.
//! Every `AtomicU32` carries what an OS keeps per waited-on address: a lock
//! and its sleepers (a loom `Mutex` and `Condvar`).
//!
//! Invariants (the futex contract of `platform`):
//! - `futex_wait` compares the word and starts sleeping under the word's
//!   lock, and the wakes notify under it, so a store followed by a wake is
//!   never lost: a lost wakeup shows up as a loom deadlock;
//! - a timed wait may always time out: it gives up at once instead of
//!   sleeping, so models explore the timeout without a clock;
//! - `futex_wake` wakes one sleeper, `futex_wake_all` every one.

use core::ops::Deref;
use core::time::Duration;

use ::loom::sync::atomic::{AtomicU32 as ModelledU32, Ordering};
use ::loom::sync::{Condvar, Mutex};

/// Loom's `AtomicU32` (it derefs to it), which threads can also sleep on.
#[derive(Default)]
pub struct AtomicU32 {
    value: ModelledU32,
    lock: Mutex<()>,
    sleepers: Condvar,
}

impl AtomicU32 {
    pub(crate) fn new(value: u32) -> Self {
        AtomicU32 {
            value: ModelledU32::new(value),
            lock: Mutex::new(()),
            sleepers: Condvar::new(),
        }
    }
}

impl Deref for AtomicU32 {
    type Target = ModelledU32;
    fn deref(&self) -> &ModelledU32 {
        &self.value
    }
}

impl core::fmt::Debug for AtomicU32 {
    // No load: reading the word would be a step of the model.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AtomicU32")
    }
}

pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    let guard = word.lock.lock().unwrap();
    if word.value.load(Ordering::SeqCst) != expected {
        return true;
    }
    if timeout.is_some() {
        // Timing out is always a legal outcome of a timed wait.
        return false;
    }
    drop(word.sleepers.wait(guard).unwrap());
    true
}

pub(crate) fn futex_wake(word: &AtomicU32) {
    let _guard = word.lock.lock().unwrap();
    word.sleepers.notify_one();
}

pub(crate) fn futex_wake_all(word: &AtomicU32) {
    let _guard = word.lock.lock().unwrap();
    word.sleepers.notify_all();
}

/// Lets the other loom threads run (a spinning model then terminates).
pub(crate) fn yield_now() {
    ::loom::thread::yield_now();
}
