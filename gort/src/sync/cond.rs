//! `Cond`: Go's `sync.Cond`, a FIFO queue of per-waiter futexes.
//!
//! Invariants:
//! - a waiter enqueues its node while it still holds the user's mutex, so a
//!   `signal`/`broadcast` that happens after the caller's check of its
//!   condition always finds it: no lost wakeup between unlock and sleep;
//! - each node is woken at most once, by whoever pops it; the node's word
//!   goes 0 → 1 before the wake, so a wake that comes before the sleep is
//!   seen by the waiter's `wait(0)`;
//! - `signal` wakes the longest-waiting goroutine (FIFO), so a later waiter
//!   can never steal a signal meant for an earlier one;
//! - lock order: user mutex, then the queue lock; the queue lock is never
//!   held while sleeping or waking.

use alloc::collections::VecDeque;

use super::mutex::{MutexGuard, RawMutex};
use crate::futex::{Futex, WaitReason};
use crate::shim::atomic::Ordering::{Acquire, Release};
use crate::shim::{Arc, UnsafeCell};

/// Go's `sync.Cond`, used with a gort [`Mutex`](super::Mutex). Unlike Go's, it is not
/// tied to one mutex: each [`wait`](Self::wait) names its guard.
///
/// ```
/// use gort::sync::{Cond, Mutex};
/// use std::sync::Arc;
/// let pair = Arc::new((Mutex::new(false), Cond::new()));
/// let p2 = pair.clone();
/// gort::go(move || {
///     *p2.0.lock() = true;
///     p2.1.signal();
/// });
/// let mut ready = pair.0.lock();
/// while !*ready {
///     ready = pair.1.wait(ready);
/// }
/// assert!(*ready);
/// ```
pub struct Cond {
    lock: RawMutex,
    waiters: UnsafeCell<VecDeque<Arc<Futex>>>,
}

// SAFETY: `waiters` is only touched with `lock` held.
unsafe impl Sync for Cond {}
// SAFETY: the queue holds `Arc<Futex>`, which is Send.
unsafe impl Send for Cond {}

impl Cond {
    /// A condition variable with no waiters. Example: see [`Cond`].
    pub fn new() -> Self {
        Cond {
            lock: RawMutex::new(),
            waiters: UnsafeCell::new(VecDeque::new()),
        }
    }

    /// Atomically unlocks the guard's mutex and parks until signalled, then
    /// locks the mutex again. As in Go, callers re-check their condition in
    /// a loop. Example: see [`Cond`].
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let node = Arc::new(Futex::new(0));
        self.with_queue(|q| q.push_back(node.clone()));
        let mutex = guard.mutex();
        drop(guard);
        while node.load(Acquire) == 0 {
            node.wait_as(0, WaitReason::Cond);
        }
        mutex.lock()
    }

    /// Wakes the goroutine that has waited longest, if any; a signal with
    /// no waiter is lost, as in Go. Example: see [`Cond`].
    pub fn signal(&self) {
        if let Some(node) = self.with_queue(|q| q.pop_front()) {
            wake(&node);
        }
    }

    /// Wakes every waiting goroutine.
    ///
    /// ```
    /// use gort::sync::{Cond, Mutex, WaitGroup};
    /// use std::sync::Arc;
    ///
    /// let start = Arc::new((Mutex::new(false), Cond::new()));
    /// let wg = WaitGroup::new();
    /// for _ in 0..3 {
    ///     let start = start.clone();
    ///     wg.go(move || {
    ///         let mut go = start.0.lock();
    ///         while !*go {
    ///             go = start.1.wait(go);
    ///         }
    ///     });
    /// }
    /// *start.0.lock() = true;
    /// start.1.broadcast();
    /// wg.wait(); // every waiter saw the flag
    /// ```
    pub fn broadcast(&self) {
        let all = self.with_queue(core::mem::take);
        for node in all {
            wake(&node);
        }
    }

    fn with_queue<R>(&self, f: impl FnOnce(&mut VecDeque<Arc<Futex>>) -> R) -> R {
        self.lock.lock();
        // SAFETY: `lock` is held, so this is the only access to the queue.
        let r = self.waiters.with_mut(|q| f(unsafe { &mut *q }));
        // SAFETY: locked just above.
        unsafe { self.lock.unlock() };
        r
    }
}

fn wake(node: &Futex) {
    node.store(1, Release);
    node.wake();
}

impl Default for Cond {
    fn default() -> Self {
        Cond::new()
    }
}

impl core::fmt::Debug for Cond {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Cond { .. }")
    }
}
