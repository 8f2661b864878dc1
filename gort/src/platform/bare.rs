//! Bare metal (`target_os = "none"`): the placeholder until the cores
//! scheduler lands. There is no OS to sleep in, so a waiter spins until the
//! word changes; wakes are no-ops because spinners see the store. Without a
//! board clock, `now_nanos` counts calls, so timed waits end after roughly
//! `timeout` worth of polls rather than of real time.

use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    let deadline = timeout.and_then(super::deadline_after);
    while word.load(Ordering::Acquire) == expected {
        if deadline.is_some_and(|d| now_nanos() >= d) {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

pub(crate) fn futex_wake(_word: &AtomicU32) {}

pub(crate) fn futex_wake_all(_word: &AtomicU32) {}

static TICKS: AtomicU32 = AtomicU32::new(0);

/// One "nanosecond" per poll until a board timer replaces it.
pub(crate) fn now_nanos() -> u64 {
    u64::from(TICKS.fetch_add(1, Ordering::Relaxed))
}
