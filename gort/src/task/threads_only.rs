//! Builds with no scheduler that switches goroutines out (wasm, whose
//! goroutines are threads, and loom models): every task parks as a thread
//! (`park_thread`). This stands in for `mn` and `cores` with the same
//! functions, none of which ever finds a goroutine.

use super::{Task, TaskRef};
use crate::futex::WaitReason;

/// The part of a `Task` a switching scheduler would use: none.
#[derive(Debug, Default)]
pub(crate) struct Slot {}

/// See `mn::WaitAdvice`: a thread always spins a little before yielding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitAdvice {
    Spin,
    /// Never given here (kept so `task::snooze` reads the same everywhere).
    #[allow(dead_code)]
    Park,
}

pub(crate) fn wait_advice() -> WaitAdvice {
    WaitAdvice::Spin
}

pub(crate) fn in_goroutine(_: &Task) -> bool {
    false
}

pub(crate) fn current() -> Option<TaskRef> {
    None
}

pub(crate) fn park(_: &TaskRef, _: WaitReason, _: Option<u64>) -> bool {
    unreachable!("no task is a switched goroutine in this build")
}

pub(crate) fn unparked(_: &Task) -> bool {
    false
}

pub(crate) fn yield_now(_: &Task) {
    unreachable!("no task is a switched goroutine in this build")
}
