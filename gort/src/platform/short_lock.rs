//! `ShortLock<T>`: the runtime's internal lock, for data held a few steps
//! at a time and never across a park (timer heaps, futex waiter lists, the
//! stack pools, the run queue on bare metal: `lockrank` lists them all).
//!
//! - Hosted: std's mutex (poisoning ignored: nothing under it panics
//!   half-way through an update), with the rank order of `lockrank`
//!   checked in debug builds.
//! - Bare metal: a spinlock taken with this core's interrupts masked, the
//!   mask restored on release. Masking is what lets an interrupt handler
//!   take the same lock: it can never interrupt the holder on its own core,
//!   and a holder on the other core finishes in a few steps. Ranks are
//!   not checked there.
//!
//! Every `ShortLock` is made with its rank (`lockrank::LockRank`).

#[cfg(feature = "std")]
mod imp {
    use core::ops::{Deref, DerefMut};

    use crate::lockrank::{LockRank, RankCheck};

    pub(crate) struct ShortLock<T> {
        mutex: std::sync::Mutex<T>,
        rank: RankCheck,
    }

    pub(crate) struct ShortLockGuard<'a, T> {
        guard: std::sync::MutexGuard<'a, T>,
        rank: RankCheck,
    }

    impl<T> ShortLock<T> {
        pub(crate) const fn new(rank: LockRank, value: T) -> Self {
            ShortLock {
                mutex: std::sync::Mutex::new(value),
                rank: RankCheck::new(rank),
            }
        }

        /// Panics (debug builds) if the lock's rank is not above every
        /// rank this thread holds (`lockrank`).
        #[cfg_attr(debug_assertions, track_caller)]
        pub(crate) fn lock(&self) -> ShortLockGuard<'_, T> {
            self.rank.acquire();
            ShortLockGuard {
                guard: self.mutex.lock().unwrap_or_else(|e| e.into_inner()),
                rank: self.rank,
            }
        }
    }

    impl<T> Deref for ShortLockGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            &self.guard
        }
    }

    impl<T> DerefMut for ShortLockGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            &mut self.guard
        }
    }

    impl<T> Drop for ShortLockGuard<'_, T> {
        fn drop(&mut self) {
            self.rank.release();
        }
    }
}

#[cfg(gort_cores)]
mod imp {
    use core::cell::UnsafeCell;
    use core::marker::PhantomData;
    use core::ops::{Deref, DerefMut};

    use super::super::{IrqMask, mask_interrupts, unmask_interrupts};
    use crate::shim::atomic::AtomicBool;
    use crate::shim::atomic::Ordering::{Acquire, Relaxed, Release};

    /// The spinlock alone: `lock` masks this core's interrupts and spins;
    /// `unlock` releases and restores the mask `lock` returned.
    pub(crate) struct RawShortLock {
        locked: AtomicBool,
    }

    impl RawShortLock {
        pub(crate) const fn new() -> Self {
            RawShortLock {
                locked: AtomicBool::new(false),
            }
        }

        pub(crate) fn lock(&self) -> IrqMask {
            let mask = mask_interrupts();
            while self
                .locked
                .compare_exchange_weak(false, true, Acquire, Relaxed)
                .is_err()
            {
                while self.locked.load(Relaxed) {
                    core::hint::spin_loop();
                }
            }
            mask
        }

        /// # Safety
        /// The caller holds the lock, taken by the `lock` that returned
        /// `mask`, on this core.
        pub(crate) unsafe fn unlock(&self, mask: IrqMask) {
            self.locked.store(false, Release);
            unmask_interrupts(mask);
        }
    }

    pub(crate) struct ShortLock<T> {
        raw: RawShortLock,
        value: UnsafeCell<T>,
    }

    // SAFETY: the value is reached only through a guard, and one guard
    // exists at a time (the raw lock); `T: Send` lets it move between the
    // cores that take turns holding it.
    unsafe impl<T: Send> Sync for ShortLock<T> {}

    pub(crate) struct ShortLockGuard<'a, T> {
        lock: &'a ShortLock<T>,
        mask: IrqMask,
        /// Not `Send`: the mask belongs to the core that took the lock.
        _core: PhantomData<*const ()>,
    }

    impl<T> ShortLock<T> {
        pub(crate) const fn new(_rank: crate::lockrank::LockRank, value: T) -> Self {
            ShortLock {
                raw: RawShortLock::new(),
                value: UnsafeCell::new(value),
            }
        }

        pub(crate) fn lock(&self) -> ShortLockGuard<'_, T> {
            let mask = self.raw.lock();
            ShortLockGuard {
                lock: self,
                mask,
                _core: PhantomData,
            }
        }
    }

    impl<T> Deref for ShortLockGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: we hold the lock (see `Sync` above).
            unsafe { &*self.lock.value.get() }
        }
    }

    impl<T> DerefMut for ShortLockGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: we hold the lock, and `&mut self` makes this borrow
            // the only one.
            unsafe { &mut *self.lock.value.get() }
        }
    }

    impl<T> Drop for ShortLockGuard<'_, T> {
        fn drop(&mut self) {
            // SAFETY: this guard's `lock` took it, on this core (a guard
            // never leaves the core: it is not `Send`).
            unsafe { self.lock.raw.unlock(self.mask) };
        }
    }
}

#[cfg(gort_cores)]
pub(crate) use imp::RawShortLock;
pub(crate) use imp::{ShortLock, ShortLockGuard};
