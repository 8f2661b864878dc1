//! `RwMutex<T>`: Go's reader/writer lock, built on `RawMutex` and two
//! `RawSemaphore`s exactly as Go's `sync.RWMutex` is built on its mutex and
//! runtime semaphores.
//!
//! State:
//! - `writer`: held by a writer from `write()` until its guard drops, so
//!   writers queue on a fair mutex;
//! - `readers`: readers holding or waiting for the lock; a pending writer
//!   subtracts `MAX_READERS`, so a negative value means "writer pending" and
//!   new readers queue on `reader_sem` instead of entering (a waiting writer
//!   is not starved by readers arriving after it);
//! - `departing`: readers the pending writer still waits for; the last one
//!   out releases `writer_sem`.
//!
//! When a writer leaves it adds `MAX_READERS` back and releases exactly the
//! readers that queued behind it (all of them enter together) before
//! unlocking `writer`, so the next writer waits for those readers.
//! Permits are interchangeable: a reader arriving late may take a permit
//! meant for an earlier one, but the counts stay exact, which is all the
//! protocol needs.

use core::cell::UnsafeCell;
use core::fmt;
use core::ops::{Deref, DerefMut};

use super::mutex::RawMutex;
use super::semaphore::RawSemaphore;
use crate::shim::atomic::AtomicI32;
use crate::shim::atomic::Ordering::SeqCst;

const MAX_READERS: i32 = 1 << 30;

pub(crate) struct RawRwMutex {
    writer: RawMutex,
    writer_sem: RawSemaphore,
    reader_sem: RawSemaphore,
    readers: AtomicI32,
    departing: AtomicI32,
}

impl RawRwMutex {
    #[cfg(not(loom))]
    const fn new() -> Self {
        RawRwMutex {
            writer: RawMutex::new(),
            writer_sem: RawSemaphore::new(0),
            reader_sem: RawSemaphore::new(0),
            readers: AtomicI32::new(0),
            departing: AtomicI32::new(0),
        }
    }
    #[cfg(loom)]
    fn new() -> Self {
        RawRwMutex {
            writer: RawMutex::new(),
            writer_sem: RawSemaphore::new(0),
            reader_sem: RawSemaphore::new(0),
            readers: AtomicI32::new(0),
            departing: AtomicI32::new(0),
        }
    }

    fn read(&self) {
        if self.readers.fetch_add(1, SeqCst) + 1 < 0 {
            // A writer is pending: wait until it releases us.
            self.reader_sem.acquire();
        }
    }

    fn try_read(&self) -> bool {
        let mut r = self.readers.load(SeqCst);
        loop {
            if r < 0 {
                return false;
            }
            match self.readers.compare_exchange_weak(r, r + 1, SeqCst, SeqCst) {
                Ok(_) => return true,
                Err(now) => r = now,
            }
        }
    }

    /// # Safety
    /// The caller holds a read lock.
    unsafe fn read_unlock(&self) {
        if self.readers.fetch_sub(1, SeqCst) - 1 < 0 {
            // A writer is pending; the last departing reader lets it in.
            if self.departing.fetch_sub(1, SeqCst) - 1 == 0 {
                self.writer_sem.release(1, u32::MAX);
            }
        }
    }

    fn write(&self) {
        self.writer.lock();
        // Announce the writer; `active` readers were already inside.
        let active = self.readers.fetch_sub(MAX_READERS, SeqCst);
        if active != 0 && self.departing.fetch_add(active, SeqCst) + active != 0 {
            self.writer_sem.acquire();
        }
    }

    fn try_write(&self) -> bool {
        if !self.writer.try_lock() {
            return false;
        }
        if self
            .readers
            .compare_exchange(0, -MAX_READERS, SeqCst, SeqCst)
            .is_err()
        {
            // SAFETY: we took `writer` just above.
            unsafe { self.writer.unlock() };
            return false;
        }
        true
    }

    /// # Safety
    /// The caller holds the write lock.
    unsafe fn write_unlock(&self) {
        // Readers that queued while we wrote: let all of them in at once.
        let queued = self.readers.fetch_add(MAX_READERS, SeqCst) + MAX_READERS;
        self.reader_sem.release(queued as u32, u32::MAX);
        // SAFETY: the write lock holds `writer`.
        unsafe { self.writer.unlock() };
    }
}

/// Go's `sync.RWMutex` holding the data it protects: many readers or one
/// writer. Writer-preferring: once a writer waits, new readers wait behind
/// it; when it leaves, every reader that queued behind it enters together.
/// No poisoning.
///
/// ```
/// use gort::sync::RwMutex;
///
/// let lock = RwMutex::new(vec![1]);
/// {
///     let (a, b) = (lock.read(), lock.read()); // readers share
///     assert_eq!(a.len() + b.len(), 2);
///     assert!(lock.try_write().is_none()); // not while they read
/// }
/// lock.write().push(2);
/// {
///     let w = lock.write();
///     assert!(lock.try_read().is_none()); // not while it writes
///     assert_eq!(*w, [1, 2]);
/// }
/// assert_eq!(lock.try_read().unwrap().len(), 2);
/// assert_eq!(lock.into_inner(), [1, 2]);
/// ```
pub struct RwMutex<T: ?Sized> {
    raw: RawRwMutex,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out `&mut T` to one thread at a time, so sending
// the lock across threads needs only `T: Send`.
unsafe impl<T: ?Sized + Send> Send for RwMutex<T> {}
// SAFETY: readers on several threads share `&T` (needs `T: Sync`); a writer
// gets `&mut T` alone (needs `T: Send`).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwMutex<T> {}

impl<T> RwMutex<T> {
    /// An unlocked lock holding `value`. Example: see [`RwMutex`].
    #[cfg(not(loom))]
    pub const fn new(value: T) -> Self {
        RwMutex {
            raw: RawRwMutex::new(),
            data: UnsafeCell::new(value),
        }
    }
    /// An unlocked lock holding `value`.
    #[cfg(loom)]
    pub fn new(value: T) -> Self {
        RwMutex {
            raw: RawRwMutex::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock, returning the data. Example: see [`RwMutex`].
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwMutex<T> {
    /// Shared access; parks while a writer holds or waits for the lock.
    /// A reader that reads again while a writer waits deadlocks, as in Go.
    ///
    /// ```
    /// use gort::sync::{RwMutex, WaitGroup};
    /// use std::sync::Arc;
    ///
    /// let config = Arc::new(RwMutex::new(String::from("v1")));
    /// let wg = WaitGroup::new();
    /// for _ in 0..4 {
    ///     let config = config.clone();
    ///     wg.go(move || assert!(config.read().starts_with('v')));
    /// }
    /// *config.write() = String::from("v2");
    /// wg.wait();
    /// assert_eq!(*config.read(), "v2");
    /// ```
    pub fn read(&self) -> RwMutexReadGuard<'_, T> {
        super::register_thread();
        self.raw.read();
        RwMutexReadGuard { lock: self }
    }

    /// Shared access only if no writer holds or waits for the lock.
    /// Example: see [`RwMutex`].
    pub fn try_read(&self) -> Option<RwMutexReadGuard<'_, T>> {
        super::register_thread();
        if self.raw.try_read() {
            Some(RwMutexReadGuard { lock: self })
        } else {
            None
        }
    }

    /// Exclusive access; parks until every reader and writer has left.
    /// Example: see [`read`](Self::read).
    pub fn write(&self) -> RwMutexWriteGuard<'_, T> {
        super::register_thread();
        self.raw.write();
        RwMutexWriteGuard { lock: self }
    }

    /// Exclusive access only if the lock is entirely free now. Example:
    /// see [`RwMutex`].
    pub fn try_write(&self) -> Option<RwMutexWriteGuard<'_, T>> {
        super::register_thread();
        if self.raw.try_write() {
            Some(RwMutexWriteGuard { lock: self })
        } else {
            None
        }
    }

    /// Mutable access without locking: `&mut self` proves exclusivity.
    ///
    /// ```
    /// let mut lock = gort::sync::RwMutex::new(0);
    /// *lock.get_mut() += 1;
    /// assert_eq!(*lock.read(), 1);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwMutex<T> {
    fn default() -> Self {
        RwMutex::new(T::default())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_read() {
            Some(g) => f.debug_struct("RwMutex").field("data", &&*g).finish(),
            None => f.write_str("RwMutex { <locked> }"),
        }
    }
}

/// Shared access to an [`RwMutex`]; releases it when dropped.
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct RwMutexReadGuard<'a, T: ?Sized> {
    lock: &'a RwMutex<T>,
}

// SAFETY: the guard only gives out `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwMutexReadGuard<'_, T> {}

impl<T: ?Sized> Deref for RwMutexReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read lock is held, so no writer has `&mut T`.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwMutexReadGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the guard exists only while its read lock is held.
        unsafe { self.lock.raw.read_unlock() }
    }
}

/// Exclusive access to an [`RwMutex`]; releases it when dropped.
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct RwMutexWriteGuard<'a, T: ?Sized> {
    lock: &'a RwMutex<T>,
}

// SAFETY: the guard only gives `&T` to other threads.
unsafe impl<T: ?Sized + Sync> Sync for RwMutexWriteGuard<'_, T> {}

impl<T: ?Sized> Deref for RwMutexWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write lock is held: no other reference exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwMutexWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write lock is held and `&mut self` is unique.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwMutexWriteGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: the guard exists only while its write lock is held.
        unsafe { self.lock.raw.write_unlock() }
    }
}
