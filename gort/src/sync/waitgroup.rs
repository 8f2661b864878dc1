//! `WaitGroup`: Go's `sync.WaitGroup` on one futex word.
//!
//! State word: bits 0..31 the counter, bit 31 `WAITERS` (someone may sleep).
//! Invariants:
//! - the counter never goes below zero: `add` computes the new value first
//!   and panics without changing anything if it would;
//! - the transition to zero clears `WAITERS` in the same CAS and then wakes
//!   everyone, so a waiter that set `WAITERS` on a non-zero count is woken
//!   by the `add` that reaches zero, and a waiter that sees zero returns;
//! - as in Go, a new round of `add` must happen after the previous `wait`s
//!   returned; a waiter woken into a new round waits for that round too.

use crate::futex::{Futex, WaitReason};
use crate::shim::Arc;
use crate::shim::atomic::Ordering::{AcqRel, Acquire, Relaxed};

const WAITERS: u32 = 1 << 31;
const COUNT: u32 = WAITERS - 1;

/// Go's `sync.WaitGroup`: waits for a collection of goroutines to finish.
/// Cloning gives another handle to the same group (Go passes a pointer).
///
/// ```
/// use gort::sync::WaitGroup;
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// let wg = WaitGroup::new();
/// let finished = Arc::new(AtomicUsize::new(0));
/// for _ in 0..4 {
///     wg.add(1);
///     let (wg, finished) = (wg.clone(), finished.clone());
///     gort::go(move || {
///         finished.fetch_add(1, Ordering::Relaxed);
///         wg.done();
///     });
/// }
/// wg.wait();
/// assert_eq!(finished.load(Ordering::Relaxed), 4);
/// assert_eq!(wg.count(), 0);
/// ```
///
/// [`WaitGroup::go`] does the `add` and `done` itself.
#[derive(Clone, Default)]
pub struct WaitGroup {
    state: Arc<Futex>,
}

impl WaitGroup {
    /// A group with counter zero. Example: see [`WaitGroup`].
    pub fn new() -> Self {
        WaitGroup::default()
    }

    /// Adds `delta` (which may be negative) to the counter; reaching zero
    /// releases every [`wait`](Self::wait). Call it before starting the
    /// goroutine it counts, as in Go. Example: see [`WaitGroup`].
    ///
    /// # Panics
    /// "sync: negative WaitGroup counter" if the counter would go below
    /// zero, and "sync: WaitGroup counter overflow" past 2^31 - 1; the
    /// counter is left unchanged in both cases.
    pub fn add(&self, delta: isize) {
        let mut s = self.state.load(Relaxed);
        loop {
            let count = (s & COUNT) as i64 + delta as i64;
            if count < 0 {
                panic!("sync: negative WaitGroup counter");
            }
            if count > COUNT as i64 {
                panic!("sync: WaitGroup counter overflow");
            }
            let new = if count == 0 {
                0
            } else {
                (s & WAITERS) | count as u32
            };
            match self.state.compare_exchange_weak(s, new, AcqRel, Relaxed) {
                Ok(_) => {
                    if count == 0 && s & WAITERS != 0 {
                        self.state.wake_all();
                    }
                    return;
                }
                Err(now) => s = now,
            }
        }
    }

    /// `add(-1)`. Example: see [`WaitGroup`].
    pub fn done(&self) {
        self.add(-1);
    }

    /// Parks until the counter is zero (returns at once if it is).
    /// Example: see [`WaitGroup`].
    pub fn wait(&self) {
        let mut s = self.state.load(Acquire);
        while s & COUNT != 0 {
            if s & WAITERS == 0 {
                if let Err(now) = self
                    .state
                    .compare_exchange_weak(s, s | WAITERS, Acquire, Acquire)
                {
                    s = now;
                    continue;
                }
                s |= WAITERS;
            }
            self.state.wait_as(s, WaitReason::WaitGroup);
            s = self.state.load(Acquire);
        }
    }

    /// The counter at this instant (Go has no such method).
    ///
    /// ```
    /// let wg = gort::sync::WaitGroup::new();
    /// wg.add(2);
    /// wg.done();
    /// assert_eq!(wg.count(), 1);
    /// ```
    pub fn count(&self) -> usize {
        (self.state.load(Relaxed) & COUNT) as usize
    }
}

impl core::fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .finish()
    }
}
