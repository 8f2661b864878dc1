//! Who is waiting: the state of a blocked channel operation, kept in the
//! blocked task's `select_state` word.
//!
//! States: `WAITING` (registered, nobody chose it yet), `ABORTED` (the task
//! itself gave up: timeout, or a case became ready while registering), and
//! `done(case, closed)` (a counterpart completed case `case`).
//!
//! Invariants:
//! - only the task itself stores `WAITING`, and only while none of its
//!   entries is in any queue;
//! - every other transition is a CAS from `WAITING`, so exactly one party
//!   decides the outcome: one counterpart wins, or the task aborts;
//! - a counterpart finishes moving the value *before* its winning CAS
//!   (Release); the task reads its slot only after seeing `done` (Acquire);
//! - the winner unparks the task only after releasing the channel lock.

use crate::shim::atomic::Ordering::{AcqRel, Acquire, Relaxed};

use crate::task::Task;

pub(crate) const WAITING: usize = 0;
pub(crate) const ABORTED: usize = 1;

/// The state a counterpart sets when it completes `case`.
pub(crate) const fn done(case: usize, closed: bool) -> usize {
    2 + case * 2 + closed as usize
}

/// The case and "closed" flag of a `done` state.
pub(crate) const fn decode(state: usize) -> (usize, bool) {
    ((state - 2) / 2, (state - 2) & 1 == 1)
}

impl Task {
    /// Starts a new blocking attempt. The caller has no entry queued.
    pub(crate) fn begin_wait(&self) {
        self.select_state.store(WAITING, Relaxed);
    }

    /// Whether the task's current attempt is still open for a counterpart.
    pub(crate) fn is_waiting(&self) -> bool {
        self.select_state.load(Acquire) == WAITING
    }

    /// Claims the task's attempt for `state`; false if someone else (or the
    /// task itself) decided first.
    pub(crate) fn try_decide(&self, state: usize) -> bool {
        self.select_state
            .compare_exchange(WAITING, state, AcqRel, Acquire)
            .is_ok()
    }

    /// The decided state (`ABORTED` or `done`), or `WAITING`.
    pub(crate) fn wait_state(&self) -> usize {
        self.select_state.load(Acquire)
    }
}
