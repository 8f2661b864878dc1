//! The park of a task that is an OS thread: a plain thread (`main`, one the
//! program started) or a goroutine of the threads scheduler. It sleeps on
//! its park word with the platform's futex (the OS's; loom's model under
//! loom). Bare metal parks goroutines only (`cores`); there `sleep_on`
//! serves code that runs before the scheduler, and spins.
//!
//! Invariants (the park word protocol of `task`, for a thread):
//! - only the thread itself takes the token (`NOTIFIED` → `EMPTY`) or
//!   announces its sleep (`EMPTY` → `SLEEPING`, one `fetch_sub`, which
//!   also takes a token that is already there);
//! - it sleeps only while the word reads `SLEEPING`: the unpark that swaps
//!   `NOTIFIED` in sees `SLEEPING` and wakes it, and a wake that comes
//!   before the sleep finds the word changed, so the futex returns;
//! - a timed-out park leaves the word `EMPTY`, or takes a token that
//!   slipped in meanwhile (and reports a wakeup);
//! - while it sleeps untimed, the thread is counted for the deadlock
//!   monitor under its wait reason, and while it sleeps at all it is parked
//!   for the collector (scanned from where it sleeps, not stopped).

use core::time::Duration;

use super::{EMPTY, NOTIFIED, SLEEPING, Task, snooze};
use crate::futex::WaitReason;
use crate::shim::atomic::{AtomicU32, Ordering};

/// Polls of the park token before sleeping: 6 rounds of doubling spins,
/// then yields (the shape of crossbeam's `Backoff::snooze`). A wake-up
/// often follows within microseconds (the other side of a channel runs on
/// another core), and finding the token spares both sides a futex sleep
/// and wake. None under loom: polling would only multiply the
/// interleavings to explore.
const SPIN_ROUNDS: u32 = if cfg!(loom) { 0 } else { 10 };

/// Parks the thread whose task is `task` until an unpark, or until
/// `timeout`; `false` only if it timed out.
pub(super) fn park(task: &Task, reason: WaitReason, timeout: Option<Duration>) -> bool {
    let state = &task.park_state;
    for round in 0..SPIN_ROUNDS {
        if take_token(state) {
            return true;
        }
        snooze(round);
    }
    // NOTIFIED → EMPTY (take the token) or EMPTY → SLEEPING.
    if state.fetch_sub(1, Ordering::Acquire) == NOTIFIED {
        return true;
    }
    let deadline = timeout.and_then(crate::platform::deadline_after);
    loop {
        let remaining = match (timeout, deadline) {
            (None, _) => None,
            (Some(t), None) => Some(t), // too large to be a deadline: forever
            (Some(_), Some(d)) => Some(Duration::from_nanos(
                d.saturating_sub(crate::platform::now_nanos()),
            )),
        };
        let woken = sleep_on(state, SLEEPING, remaining, reason);
        if take_token(state) {
            return true;
        }
        if !woken {
            // Timed out: leave SLEEPING unless an unpark slipped in just now.
            return state.swap(EMPTY, Ordering::Acquire) == NOTIFIED;
        }
    }
}

fn take_token(state: &AtomicU32) -> bool {
    state
        .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
}

/// A wait of this thread inside gort: sleeps on `word` while it equals
/// `expected` (the platform's futex), counted for the deadlock monitor if
/// untimed, parked for the collector meanwhile. `false` only on timeout.
pub(crate) fn sleep_on(
    word: &AtomicU32,
    expected: u32,
    timeout: Option<Duration>,
    reason: WaitReason,
) -> bool {
    let _asleep = timeout.is_none().then(|| Asleep::new(reason));
    parked(|| crate::platform::futex_wait(word, expected, timeout))
}

#[cfg(all(feature = "std", not(loom)))]
use crate::deadlock::Asleep;

/// Builds without the deadlock monitor (loom models, bare metal) count
/// no sleeps.
#[cfg(not(all(feature = "std", not(loom))))]
struct Asleep;

#[cfg(not(all(feature = "std", not(loom))))]
impl Asleep {
    fn new(_: WaitReason) -> Self {
        Asleep
    }
}

/// Runs `sleep`, a wait of this thread inside gort, as a parked thread for
/// the collector (see `registry::parked`).
#[cfg(gort_gc)]
pub(crate) use super::registry::parked;

/// Without a collector there is nobody to tell: runs `sleep`.
#[cfg(not(gort_gc))]
pub(crate) fn parked<R>(sleep: impl FnOnce() -> R) -> R {
    sleep()
}
