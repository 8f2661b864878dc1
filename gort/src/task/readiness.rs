//! One direction of a socket's readiness, as the netpoller
//! (`task::netpoll`) reports it: a futex word that waiters sleep on.
//!
//! Invariants:
//! - the word is a count of events (readiness, shutdown, a deadline
//!   changed, close) times two, plus `SLEEPERS`, set while someone may
//!   sleep on it;
//! - a waiter reads the count (`observe`), tries its I/O, and on
//!   `WouldBlock` sleeps only while the count is the one it read: an event
//!   after its read changes the count, so it is never lost;
//! - `notify` bumps the count and clears `SLEEPERS` in one step, and wakes
//!   every sleeper if the bit was set; a waiter sets the bit (CAS) before
//!   it sleeps, so without sleepers an event costs no system call.
//!
//! Model-checked in `tests/loom.rs` (`readiness_*`).

use core::time::Duration;

use crate::futex::{Futex, WaitReason};
use crate::shim::atomic::Ordering::{AcqRel, Acquire, Relaxed};

/// The sleeper bit (the rest counts events by two).
const SLEEPERS: u32 = 1;

/// One direction of a socket's readiness: see the module invariants.
#[derive(Default)]
pub struct Readiness(Futex);

impl Readiness {
    /// The count to pass to `wait` after trying the I/O.
    pub fn observe(&self) -> u32 {
        self.0.load(Acquire) & !SLEEPERS
    }

    /// Something happened: whoever sleeps must retry its I/O.
    pub fn notify(&self) {
        let prev = self
            .0
            .fetch_update(AcqRel, Relaxed, |w| Some((w & !SLEEPERS).wrapping_add(2)))
            .expect("always Some");
        if prev & SLEEPERS != 0 {
            self.0.wake_all();
        }
    }

    /// Sleeps while nothing happened since `seen` (from `observe`), at
    /// most until `deadline` (`platform::now_nanos`). False if the
    /// deadline passed.
    pub fn wait(&self, seen: u32, deadline: Option<u64>) -> bool {
        loop {
            let w = self.0.load(Acquire);
            if w & !SLEEPERS != seen {
                return true;
            }
            if w & SLEEPERS == 0
                && self
                    .0
                    .compare_exchange(w, w | SLEEPERS, Acquire, Relaxed)
                    .is_err()
            {
                continue;
            }
            let timeout = match deadline {
                None => None,
                Some(d) => {
                    let now = crate::platform::now_nanos();
                    if now >= d {
                        return false;
                    }
                    Some(Duration::from_nanos(d - now))
                }
            };
            self.0
                .wait_for(seen | SLEEPERS, timeout, WaitReason::IoWait);
        }
    }
}
