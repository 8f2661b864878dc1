//! Atomics and cells that are loom's under `cfg(loom)` and core's otherwise,
//! so the algorithms are written once and model-checked as written.

#[cfg(all(not(loom), not(target_os = "none")))]
pub(crate) mod atomic {
    #[allow(unused_imports)] // some are used by std-only modules
    pub use core::sync::atomic::{
        AtomicBool, AtomicI32, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        fence,
    };
}
/// Bare metal: the Cortex-M0+ has no compare-and-swap, and no Cortex-M has
/// 64-bit atomics; portable-atomic gives both (natively where the core can,
/// else in a critical section).
#[cfg(all(not(loom), target_os = "none"))]
pub(crate) mod atomic {
    #[allow(unused_imports)] // some are used only with a board
    pub use portable_atomic::{
        AtomicBool, AtomicI32, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        fence,
    };
}
/// Loom: its atomics, but `AtomicU32` is the platform's modelled futex word
/// (loom's, plus what threads sleep on), since any word can be waited on.
#[cfg(loom)]
pub(crate) mod atomic {
    pub(crate) use crate::platform::AtomicU32;
    pub use loom::sync::atomic::{AtomicI32, AtomicUsize, Ordering, fence};
}

#[cfg(all(not(loom), not(target_os = "none")))]
#[allow(unused_imports)] // Weak: used by std-only modules
pub(crate) use alloc::sync::{Arc, Weak};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;
/// Arc needs atomic read-modify-write, which portable-atomic provides.
#[cfg(all(not(loom), target_os = "none"))]
#[allow(unused_imports)] // used only with a board
pub(crate) use portable_atomic_util::{Arc, Weak};

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
