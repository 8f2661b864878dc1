//! A processor's status word (M:N): who may touch the processor's private
//! run queue, and the tick the system monitor watches.
//!
//! The word is `tick << 2 | state`:
//! - `SCHED`: the holding thread is on the scheduler's side; only it
//!   touches the queue;
//! - `RUNNING`: the holder resumed a goroutine (`enter_goroutine`, which
//!   bumps the tick). The monitor may `retake` the processor now, and
//!   only now: a CAS from the exact word it saw to `RETAKEN`;
//! - `RETAKEN`: taken from its thread; the thread it is handed to calls
//!   `take_over`.
//!
//! Invariants:
//! - the queue has one user at a time. The holder uses it only in `SCHED`:
//!   after `leave_goroutine` succeeds, or inside `while_held` (a goroutine
//!   turns `RUNNING` back into `SCHED` for the length of one push). Both
//!   are CASes from the exact `RUNNING` word, so after a retake they fail
//!   for good and the old holder never touches the queue again;
//! - ticks only grow, so an old `RUNNING` word never comes back (no ABA);
//! - everything the old holder did to the queue happens before the new
//!   holder's first use: the holder publishes with Release (`RUNNING`
//!   stores), the monitor's retake CAS acquires, and the hand-off to the
//!   next thread is itself ordered (a lock or a thread start), which
//!   `take_over` extends with Acquire.

use crate::shim::atomic::AtomicU64;
use crate::shim::atomic::Ordering::{Acquire, Relaxed, Release};

const SCHED: u64 = 0;
const RUNNING: u64 = 1;
const RETAKEN: u64 = 2;
const STATE: u64 = 3;

/// See the module comment.
#[derive(Debug)]
pub struct ProcStatus(AtomicU64);

impl Default for ProcStatus {
    fn default() -> Self {
        ProcStatus(AtomicU64::new(SCHED))
    }
}

impl ProcStatus {
    /// The calling thread now holds the processor (at start, or handed
    /// over after a retake).
    pub fn take_over(&self) {
        let tick = self.0.load(Acquire) >> 2;
        self.0.store(tick << 2 | SCHED, Relaxed);
    }

    /// The holder is about to resume a goroutine; returns the word that
    /// says so, which the other calls take.
    pub fn enter_goroutine(&self) -> u64 {
        let running = ((self.0.load(Relaxed) >> 2) + 1) << 2 | RUNNING;
        self.0.store(running, Release);
        running
    }

    /// The goroutine switched back out: true if the processor is still
    /// ours (back in `SCHED`), false if the monitor took it meanwhile.
    pub fn leave_goroutine(&self, running: u64) -> bool {
        self.0
            .compare_exchange(running, running - RUNNING + SCHED, Acquire, Relaxed)
            .is_ok()
    }

    /// From inside a goroutine: runs `f` (a use of the queue) if the
    /// processor is still ours, keeping the monitor off it meanwhile.
    pub fn while_held<R>(&self, running: u64, f: impl FnOnce() -> R) -> Option<R> {
        self.0
            .compare_exchange(running, running - RUNNING + SCHED, Acquire, Relaxed)
            .ok()?;
        let r = f();
        self.0.store(running, Release);
        Some(r)
    }

    /// The monitor's look: the word, and whether a goroutine runs.
    pub fn load(&self) -> (u64, bool) {
        let word = self.0.load(Relaxed);
        (word, word & STATE == RUNNING)
    }

    /// Takes the processor if its word is still `seen` (a `RUNNING`
    /// word): the monitor, or the running goroutine itself giving it up
    /// before it blocks. The caller then hands it to a thread.
    pub fn retake(&self, seen: u64) -> bool {
        seen & STATE == RUNNING
            && self
                .0
                .compare_exchange(seen, seen - RUNNING + RETAKEN, Acquire, Relaxed)
                .is_ok()
    }
}
