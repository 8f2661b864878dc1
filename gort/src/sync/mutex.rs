//! `Mutex<T>`: a three-state futex mutex (as std's) plus Go's starvation
//! mode.
//!
//! State word (one `Futex`):
//! - `LOCKED`: someone holds the lock;
//! - `CONTENDED`: someone may sleep on the word, so `unlock` must wake; set
//!   by every thread before it sleeps and by every waiter that takes the
//!   lock (others may still sleep), cleared by `unlock`;
//! - `STARVING`: one waiter that has waited over `STARVATION_NANOS` owns
//!   this bit; while it is set only that waiter may take a free lock.
//!
//! The word changes only on lock, unlock and the rare starvation switch, so
//! sleepers are not disturbed by other threads' bookkeeping.
//!
//! Invariants:
//! - a thread sleeps only on a word with `CONTENDED` set, so the `unlock`
//!   that frees it wakes someone; a release between the check and the sleep
//!   changes the word and the sleep returns at once (no lost wakeup);
//! - `STARVING` has exactly one owner, which is awake or sleeping on a word
//!   with `LOCKED` set; `unlock` wakes everyone while `STARVING` is set, so
//!   the owner is among them, and it clears the bit when it takes the lock;
//! - bounded starvation: once a waiter owns `STARVING`, the next release
//!   goes to it; newcomers and other waiters cannot barge in.

use core::cell::UnsafeCell;
use core::fmt;
use core::ops::{Deref, DerefMut};

use crate::futex::{Futex, WaitReason};
use crate::shim::atomic::Ordering::{Acquire, Relaxed, Release};

const LOCKED: u32 = 1;
const CONTENDED: u32 = 2;
const STARVING: u32 = 4;

/// How long a waiter waits before it switches the mutex to starvation mode
/// (Go uses the same 1 ms). Under loom every wait counts as long, so the
/// models cover starvation mode.
const STARVATION_NANOS: u64 = if cfg!(loom) { 0 } else { 1_000_000 };

/// Yields to other threads before sleeping (not under loom: it would
/// only grow the models).
const YIELDS: u32 = if cfg!(loom) { 0 } else { 3 };

/// Spins before registering as a waiter; short critical sections on another
/// core end within this. None under loom (it would only grow the models).
const SPIN_LIMIT: u32 = if cfg!(loom) { 0 } else { 100 };

/// The lock without data; `Mutex<T>`, `RwMutex` and `Cond` build on it.
pub(crate) struct RawMutex {
    state: Futex,
}

impl RawMutex {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        RawMutex {
            state: Futex::new(0),
        }
    }
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        RawMutex {
            state: Futex::new(0),
        }
    }

    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        let mut s = self.state.load(Relaxed);
        loop {
            if s & (LOCKED | STARVING) != 0 {
                return false;
            }
            match self
                .state
                .compare_exchange_weak(s, s | LOCKED, Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    #[inline]
    pub(crate) fn lock(&self) {
        if self
            .state
            .compare_exchange(0, LOCKED, Acquire, Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
    }

    #[cold]
    fn lock_contended(&self) {
        let mut s = self.spin();
        // Set when this thread starts sleeping; checked once per wakeup.
        let mut since = None;
        let mut check_starving = false;
        let mut own_starving = false;
        let mut yields = 0;
        loop {
            if s & LOCKED == 0 && (s & STARVING == 0 || own_starving) {
                // Take it. A thread that slept may leave others asleep, so
                // it marks CONTENDED (std's swap(2)); the starving owner
                // gives its bit up.
                let mut new = s | LOCKED;
                if since.is_some() {
                    new |= CONTENDED;
                }
                if own_starving {
                    new &= !STARVING;
                }
                match self.state.compare_exchange_weak(s, new, Acquire, Relaxed) {
                    Ok(_) => return,
                    Err(now) => s = now,
                }
                continue;
            }
            if s & CONTENDED == 0 {
                if let Err(now) =
                    self.state
                        .compare_exchange_weak(s, s | CONTENDED, Relaxed, Relaxed)
                {
                    s = now;
                    continue;
                }
                s |= CONTENDED;
            }
            if yields < YIELDS {
                // Let the holder (perhaps preempted on this core) finish,
                // rather than paying for a futex sleep and wake.
                yields += 1;
                crate::platform::yield_now();
                s = self.spin();
                continue;
            }
            let start = *since.get_or_insert_with(crate::platform::now_nanos);
            if check_starving
                && !own_starving
                && s & (STARVING | LOCKED) == LOCKED
                && crate::platform::now_nanos() - start >= STARVATION_NANOS
            {
                match self
                    .state
                    .compare_exchange_weak(s, s | STARVING, Relaxed, Relaxed)
                {
                    Ok(_) => {
                        own_starving = true;
                        s |= STARVING;
                    }
                    Err(now) => {
                        s = now;
                        continue;
                    }
                }
            }
            self.state.wait_as(s, WaitReason::Mutex);
            check_starving = true;
            s = self.spin();
        }
    }

    /// Spins while the lock is held with nobody asleep (the holder is
    /// probably running and about to release); returns the last state.
    fn spin(&self) -> u32 {
        let mut s = self.state.load(Relaxed);
        let mut spins = 0;
        while s == LOCKED && spins < SPIN_LIMIT {
            crate::shim::spin_hint();
            spins += 1;
            s = self.state.load(Relaxed);
        }
        s
    }

    /// # Safety
    /// The caller holds the lock.
    #[inline]
    pub(crate) unsafe fn unlock(&self) {
        let s = self.state.fetch_and(!(LOCKED | CONTENDED), Release);
        if s & STARVING != 0 {
            // Rare: make sure the starving owner is among those woken.
            self.state.wake_all();
        } else if s & CONTENDED != 0 {
            self.state.wake();
        }
    }

    pub(crate) fn is_locked(&self) -> bool {
        self.state.load(Relaxed) & LOCKED != 0
    }
}

/// Go's `sync.Mutex` holding the data it protects.
///
/// No poisoning (as in Go): a panic while the lock is held releases it
/// when the guard drops. Fair under contention: a waiter that has waited
/// over 1 ms switches the lock to starvation mode, in which newcomers
/// queue behind the waiters instead of barging in (Go's rule).
///
/// ```
/// use gort::sync::{Mutex, WaitGroup};
/// use std::sync::Arc;
///
/// let total = Arc::new(Mutex::new(0));
/// let wg = WaitGroup::new();
/// for i in 1..=10 {
///     let total = total.clone();
///     wg.go(move || *total.lock() += i);
/// }
/// wg.wait();
/// assert_eq!(*total.lock(), 55);
///
/// // `new` is const: a mutex can be a static.
/// static NAMES: Mutex<Vec<&str>> = Mutex::new(Vec::new());
/// NAMES.lock().push("gort");
/// assert_eq!(NAMES.lock().len(), 1);
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex gives one thread at a time access to `T`, so it may be
// shared and sent whenever `T` may be sent.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above: `&Mutex<T>` only hands out `&mut T` under the lock.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`. Example: see [`Mutex`].
    #[cfg(not(loom))]
    pub const fn new(value: T) -> Self {
        Mutex {
            raw: RawMutex::new(),
            data: UnsafeCell::new(value),
        }
    }
    /// An unlocked mutex holding `value`.
    #[cfg(loom)]
    pub fn new(value: T) -> Self {
        Mutex {
            raw: RawMutex::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex, returning the data.
    ///
    /// ```
    /// let mut m = gort::sync::Mutex::new(vec![1]);
    /// m.get_mut().push(2); // no locking: `&mut` proves nobody else has it
    /// assert_eq!(m.into_inner(), [1, 2]);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Blocks (parks) until the lock is held; the guard unlocks when
    /// dropped. Locking a mutex the caller already holds deadlocks, as in
    /// Go. Example: see [`Mutex`].
    pub fn lock(&self) -> MutexGuard<'_, T> {
        super::register_thread();
        self.raw.lock();
        MutexGuard { mutex: self }
    }

    /// Takes the lock only if it is free now (and not reserved for waiters).
    ///
    /// ```
    /// let m = gort::sync::Mutex::new(1);
    /// let guard = m.lock();
    /// assert!(m.is_locked());
    /// assert!(m.try_lock().is_none());
    /// drop(guard);
    /// assert_eq!(*m.try_lock().unwrap(), 1);
    /// ```
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        super::register_thread();
        if self.raw.try_lock() {
            Some(MutexGuard { mutex: self })
        } else {
            None
        }
    }

    /// Whether someone holds the lock at this instant (a hint only).
    /// Example: see [`try_lock`](Self::try_lock).
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }

    /// Mutable access without locking: `&mut self` proves exclusivity.
    /// Example: see [`into_inner`](Self::into_inner).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Some(g) => f.debug_struct("Mutex").field("data", &&*g).finish(),
            None => f.write_str("Mutex { <locked> }"),
        }
    }
}

/// Holds a [`Mutex`] locked; unlocks when dropped. Derefs to the data.
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard holds; `Cond::wait` unlocks and relocks it.
    pub(crate) fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }
}

// SAFETY: a guard only gives `&T` to other threads, which is fine when
// `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held, so no `&mut T` exists.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves the lock is held and `&mut self` that no
        // other reference from this guard is alive.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: a guard exists only while its thread holds the lock.
        unsafe { self.mutex.raw.unlock() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
