//! Layer 4: Go's `sync` package, every type built only on `Futex`.
//!
//! Blocking here parks the caller: an OS thread sleeps in the OS, and (once
//! the M:N scheduler lands) a goroutine yields its worker.

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
