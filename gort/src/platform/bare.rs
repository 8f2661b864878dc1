//! Bare metal (`target_os = "none"`): waits of code that is not a
//! goroutine. With a board feature, goroutines wait in the futex's waiter
//! table and park (`task::cores`); what is left here is code before the
//! scheduler starts (an interrupt handler must not wait at all). There is
//! no OS to sleep in, so a waiter spins until the word changes; wakes are
//! no-ops because spinners see the store. Without a board there is no
//! clock either: `now_nanos` counts calls, so timed waits end after
//! roughly `timeout` worth of polls rather than of real time. Also the
//! atomics and `Arc` every algorithm uses here (see `shim`).

use crate::shim::atomic::{AtomicU32, Ordering};
use core::time::Duration;

/// Atomics for every algorithm (through `shim`): the Cortex-M0+ has no
/// compare-and-swap, and no Cortex-M has 64-bit atomics; portable-atomic
/// gives both (natively where the core can, else in a critical section).
pub(crate) mod atomic {
    #[allow(unused_imports)] // some are used only with a board
    pub use portable_atomic::{
        AtomicBool, AtomicI32, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        fence,
    };
}

/// `Arc` and `Weak` (through `shim`): `Arc` needs atomic read-modify-write,
/// which portable-atomic provides.
#[allow(unused_imports)] // used only with a board
pub(crate) use portable_atomic_util::{Arc, Weak};

pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    let deadline = timeout.and_then(super::deadline_after);
    while word.load(Ordering::Acquire) == expected {
        if deadline.is_some_and(|d| super::now_nanos() >= d) {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

pub(crate) fn futex_wake(_word: &AtomicU32) {}

pub(crate) fn futex_wake_all(_word: &AtomicU32) {}

#[cfg(not(gort_cores))]
static TICKS: AtomicU32 = AtomicU32::new(0);

/// One "nanosecond" per poll: there is no board clock.
#[cfg(not(gort_cores))]
pub(crate) fn now_nanos() -> u64 {
    u64::from(TICKS.fetch_add(1, Ordering::Relaxed))
}
