//! Layer 4: Go's `sync` package, every type built only on
//! [`Futex`](crate::futex::Futex).
//!
//! Blocking here parks the caller: an OS thread (a plain thread, or a
//! goroutine of the threads scheduler) sleeps in the OS, and an M:N
//! goroutine yields its worker. The locks hold the data they protect, as
//! Rust's do, where Go's sit beside it; none is poisoned by a panic.

mod cond;
mod mutex;
mod once;
mod rwmutex;
mod semaphore;
mod waitgroup;

pub use cond::Cond;
#[allow(unused_imports)] // used by the std-only channel layer
pub(crate) use mutex::RawMutex;
pub use mutex::{Mutex, MutexGuard};
pub use once::Once;
pub use rwmutex::{RwMutex, RwMutexReadGuard, RwMutexWriteGuard};
pub use semaphore::Semaphore;
pub use waitgroup::WaitGroup;

/// Registers the calling thread with the collector before a lock hands it
/// the data it guards (`task::register_thread`); nothing where there is no
/// task layer (bare metal without a board: only `futex` and `sync`).
#[inline]
fn register_thread() {
    #[cfg(any(feature = "std", gort_cores))]
    crate::task::register_thread();
}
