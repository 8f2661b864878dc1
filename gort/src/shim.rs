//! Atomics and cells that are loom's under `cfg(loom)` and the platform's
//! otherwise (core's, or portable-atomic's on bare metal: see `platform`),
//! so the algorithms are written once and model-checked as written.

#[cfg(not(loom))]
pub(crate) use crate::platform::atomic;
/// Loom: its atomics, but `AtomicU32` is the platform's modelled futex word
/// (loom's, plus what threads sleep on), since any word can be waited on.
#[cfg(loom)]
pub(crate) mod atomic {
    pub(crate) use crate::platform::AtomicU32;
    pub use loom::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering, fence};
}

#[cfg(not(loom))]
#[allow(unused_imports)] // Weak: used by std-only modules
pub(crate) use crate::platform::{Arc, Weak};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;

/// `UnsafeCell` with loom's closure API, so loom can check accesses.
#[cfg(not(loom))]
#[derive(Debug, Default)]
pub(crate) struct UnsafeCell<T: ?Sized>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(core::cell::UnsafeCell::new(value))
    }
    #[allow(dead_code)] // used by std-only modules
    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

#[cfg(not(loom))]
impl<T: ?Sized> UnsafeCell<T> {
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// Spin-loop hint (a yield under loom, so spinning models terminate).
pub(crate) fn spin_hint() {
    #[cfg(not(loom))]
    core::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}
