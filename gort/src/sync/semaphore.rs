//! `Semaphore`: a counted semaphore on one futex word.
//!
//! Invariants:
//! - `permits` (the futex word) counts permits available now; it only
//!   decreases by a CAS from a positive value, so it never underflows.
//! - Lost wakeups are excluded Dekker-style: a waiter increments `waiters`
//!   and then re-reads `permits`; a releaser adds to `permits` and then
//!   reads `waiters`. A SeqCst fence sits between the write and the read on
//!   each side, so at least one side sees the other, and a waiter only
//!   sleeps on the word value `0` it just saw. (SeqCst accesses alone would
//!   do in the C++ model, but the fences are the portable form and the one
//!   loom can check.)
//! - Not FIFO: a thread arriving while a woken waiter is on its way may take
//!   the permit first; the woken waiter then sleeps again.

use crate::futex::{Futex, WaitReason};
use crate::shim::atomic::Ordering::{Acquire, Relaxed, SeqCst};
use crate::shim::atomic::{AtomicU32, fence};

/// The counting core shared by `Semaphore` and `RwMutex`.
pub(crate) struct RawSemaphore {
    permits: Futex,
    waiters: AtomicU32,
}

impl RawSemaphore {
    #[cfg(not(loom))]
    pub(crate) const fn new(permits: u32) -> Self {
        RawSemaphore {
            permits: Futex::new(permits),
            waiters: AtomicU32::new(0),
        }
    }
    #[cfg(loom)]
    pub(crate) fn new(permits: u32) -> Self {
        RawSemaphore {
            permits: Futex::new(permits),
            waiters: AtomicU32::new(0),
        }
    }

    pub(crate) fn try_acquire(&self) -> bool {
        let mut p = self.permits.load(SeqCst);
        while p > 0 {
            match self
                .permits
                .compare_exchange_weak(p, p - 1, Acquire, SeqCst)
            {
                Ok(_) => return true,
                Err(now) => p = now,
            }
        }
        false
    }

    pub(crate) fn acquire(&self) {
        if self.try_acquire() {
            return;
        }
        self.waiters.fetch_add(1, SeqCst);
        fence(SeqCst);
        while !self.try_acquire() {
            self.permits.wait_as(0, WaitReason::Semaphore);
        }
        self.waiters.fetch_sub(1, Relaxed);
    }

    /// Adds `n` permits and wakes waiters for them, unless that would take
    /// the count past `limit`: then it changes nothing and returns false.
    pub(crate) fn release(&self, n: u32, limit: u32) -> bool {
        if n == 0 {
            return true;
        }
        let mut p = self.permits.load(SeqCst);
        loop {
            let Some(new) = p.checked_add(n).filter(|&new| new <= limit) else {
                return false;
            };
            match self.permits.compare_exchange_weak(p, new, SeqCst, SeqCst) {
                Ok(_) => break,
                Err(now) => p = now,
            }
        }
        fence(SeqCst);
        if self.waiters.load(SeqCst) > 0 {
            if n == 1 {
                self.permits.wake();
            } else {
                self.permits.wake_all();
            }
        }
        true
    }

    pub(crate) fn available(&self) -> u32 {
        self.permits.load(Relaxed)
    }
}

/// A counted semaphore holding up to `capacity` permits (as Go's
/// `x/sync/semaphore`, one permit per call).
///
/// `release` beyond the capacity panics with Go's message
/// "semaphore: released more than held".
///
/// ```
/// use gort::sync::{Semaphore, WaitGroup};
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
///
/// // At most two of the six goroutines work at once.
/// let sem = Arc::new(Semaphore::new(2));
/// let (inside, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
/// let wg = WaitGroup::new();
/// for _ in 0..6 {
///     let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
///     wg.go(move || {
///         sem.acquire();
///         most.fetch_max(inside.fetch_add(1, SeqCst) + 1, SeqCst);
///         gort::gosched();
///         inside.fetch_sub(1, SeqCst);
///         sem.release();
///     });
/// }
/// wg.wait();
/// assert!(most.load(SeqCst) <= 2);
/// assert_eq!(sem.available_permits(), 2);
/// ```
pub struct Semaphore {
    raw: RawSemaphore,
    capacity: u32,
}

impl Semaphore {
    /// A semaphore with `permits` permits, all available. Example: see
    /// [`Semaphore`].
    ///
    /// # Panics
    /// If `permits` does not fit in a `u32`.
    pub fn new(permits: usize) -> Self {
        let permits = u32::try_from(permits).expect("semaphore: too many permits");
        Semaphore {
            raw: RawSemaphore::new(permits),
            capacity: permits,
        }
    }

    /// Takes a permit, parking until one is available. Not FIFO: a
    /// newcomer may take a permit before a woken waiter. Example: see
    /// [`Semaphore`].
    pub fn acquire(&self) {
        self.raw.acquire();
    }

    /// Takes a permit if one is available now.
    ///
    /// ```
    /// let sem = gort::sync::Semaphore::new(1);
    /// assert!(sem.try_acquire());
    /// assert!(!sem.try_acquire()); // none left
    /// assert_eq!(sem.available_permits(), 0);
    /// sem.release();
    /// assert!(sem.try_acquire());
    /// ```
    pub fn try_acquire(&self) -> bool {
        self.raw.try_acquire()
    }

    /// Gives a permit back, waking a waiter if there is one. Example: see
    /// [`Semaphore`].
    ///
    /// # Panics
    /// "semaphore: released more than held" if every permit is already
    /// available.
    pub fn release(&self) {
        if !self.raw.release(1, self.capacity) {
            panic!("semaphore: released more than held");
        }
    }

    /// Permits available at this instant. Example: see
    /// [`try_acquire`](Self::try_acquire).
    pub fn available_permits(&self) -> usize {
        self.raw.available() as usize
    }
}

impl core::fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Semaphore")
            .field("available", &self.raw.available())
            .field("capacity", &self.capacity)
            .finish()
    }
}
