//! `Mutex<T>`: a futex mutex with a waiter count and Go's starvation mode.
//!
//! State word (one `Futex`):
//! - bit 0 `LOCKED`: someone holds the lock;
//! - bit 1 `STARVING`: a waiter has waited over `STARVATION_NANOS`; newcomers
//!   may not take a free lock, only threads already registered as waiters;
//! - bits 2.. the number of registered waiters: threads in the slow path
//!   that may be asleep. A waiter registers once and stays counted until it
//!   takes the lock (it un-registers in the same CAS that locks).
//!
//! Invariants:
//! - `unlock` wakes one waiter whenever the count is non-zero; a waiter only
//!   sleeps on the exact word it last saw, so a release it missed makes the
//!   futex wait return at once (no lost wakeup).
//! - `STARVING` implies at least one registered waiter: only a registered
//!   waiter sets it, and the waiter that takes the lock clears it when it is
//!   the last one or did not wait long. So a free, starving lock always has a
//!   registered waiter on its way (woken by the unlock that freed it).
//! - Bounded starvation: once `STARVING` is set, a thread that unlocks and
//!   locks again must register behind the starving waiter instead of barging.

use core::cell::UnsafeCell;
use core::fmt;
use core::ops::{Deref, DerefMut};

use crate::futex::Futex;
use crate::shim::atomic::Ordering::{Acquire, Relaxed, Release};

const LOCKED: u32 = 1;
const STARVING: u32 = 2;
const WAITER: u32 = 4;

/// How long a waiter waits before it switches the mutex to starvation mode
/// (Go uses the same 1 ms). Under loom every wait counts as long, so the
/// models cover starvation mode.
const STARVATION_NANOS: u64 = if cfg!(loom) { 0 } else { 1_000_000 };

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
        // Phase 1: spin while the holder is likely to finish soon.
        let mut s = self.state.load(Relaxed);
        let mut spins = 0;
        while s & LOCKED != 0 && s < WAITER && spins < SPIN_LIMIT {
            crate::shim::spin_hint();
            spins += 1;
            s = self.state.load(Relaxed);
        }
        // Phase 2: take a free lock as a newcomer, or register as a waiter.
        loop {
            if s & (LOCKED | STARVING) == 0 {
                match self
                    .state
                    .compare_exchange_weak(s, s | LOCKED, Acquire, Relaxed)
                {
                    Ok(_) => return,
                    Err(now) => s = now,
                }
                continue;
            }
            match self
                .state
                .compare_exchange_weak(s, s + WAITER, Relaxed, Relaxed)
            {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        // Phase 3: a registered waiter; sleeps until the lock is free.
        let since = crate::platform::now_nanos();
        let mut s = s + WAITER;
        loop {
            if s & LOCKED == 0 {
                let waited_long = crate::platform::now_nanos() - since >= STARVATION_NANOS;
                let last = s >> 2 == 1;
                let mut new = (s - WAITER) | LOCKED;
                if last || !waited_long {
                    new &= !STARVING;
                }
                match self.state.compare_exchange_weak(s, new, Acquire, Relaxed) {
                    Ok(_) => return,
                    Err(now) => s = now,
                }
                continue;
            }
            if s & STARVING == 0 && crate::platform::now_nanos() - since >= STARVATION_NANOS {
                match self
                    .state
                    .compare_exchange_weak(s, s | STARVING, Relaxed, Relaxed)
                {
                    Ok(_) => s |= STARVING,
                    Err(now) => {
                        s = now;
                        continue;
                    }
                }
            }
            self.state.wait(s);
            s = self.state.load(Relaxed);
        }
    }

    /// # Safety
    /// The caller holds the lock.
    #[inline]
    pub(crate) unsafe fn unlock(&self) {
        let s = self.state.fetch_sub(LOCKED, Release);
        if s >= WAITER {
            self.state.wake();
        }
    }

    pub(crate) fn is_locked(&self) -> bool {
        self.state.load(Relaxed) & LOCKED != 0
    }
}

/// Go's `sync.Mutex` holding the data it protects.
///
/// No poisoning (as in Go and parking_lot): a panic while the lock is held
/// releases it when the guard drops. Fair under contention: a waiter that
/// has waited over 1 ms switches the lock to starvation mode, in which
/// newcomers queue behind the waiters instead of barging in.
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
    /// An unlocked mutex holding `value`.
    #[cfg(not(loom))]
    pub const fn new(value: T) -> Self {
        Mutex {
            raw: RawMutex::new(),
            data: UnsafeCell::new(value),
        }
    }
    #[cfg(loom)]
    pub fn new(value: T) -> Self {
        Mutex {
            raw: RawMutex::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex, returning the data.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Blocks (parks) until the lock is held.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.raw.lock();
        MutexGuard { mutex: self }
    }

    /// Takes the lock only if it is free now (and not reserved for waiters).
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        if self.raw.try_lock() {
            Some(MutexGuard { mutex: self })
        } else {
            None
        }
    }

    /// Whether someone holds the lock at this instant (a hint only).
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }

    /// Mutable access without locking: `&mut self` proves exclusivity.
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

/// Holds a `Mutex` locked; unlocks when dropped.
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
