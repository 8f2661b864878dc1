//! gort: a Go-style parallel runtime for Rust.
//!
//! Layers, bottom to top (each uses only those below it):
//! `platform` (per-OS code) → `task` (goroutines, park/unpark, schedulers) →
//! `futex` → `sync` → `chan` → `gc` → the API at the crate root.

#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
// `gort_wasm_atomics`: the feature `nightly-wasm-atomics` on a wasm target
// (set in build.rs).
#![cfg_attr(gort_wasm_atomics, feature(stdarch_wasm_atomic_wait))]
// The README's examples run as doc tests, so they stay true: where
// `gort::net` exists (not on wasm, whose rig would fail its network
// example), and so on every hosted rig but wasm.
#![cfg_attr(all(feature = "std", doc, gort_net), doc = include_str!("../../README.md"))]

extern crate alloc;

/// `docs/SCHEDULERS.md`: choosing a scheduler, and what M:N asks of your
/// code (thread-locals, `blocking`, std locks, no preemption). Its
/// examples run as doctests.
#[cfg(all(feature = "std", doc))]
#[doc = include_str!("../../docs/SCHEDULERS.md")]
pub mod schedulers_guide {}

#[cfg(any(all(feature = "std", not(loom)), gort_cores))]
mod lockrank;
mod platform;
mod shim;

pub mod futex;
pub mod sync;

#[cfg(any(feature = "std", gort_cores))]
pub mod task;

#[cfg(any(feature = "std", gort_cores))]
pub mod chan;
#[cfg(any(all(feature = "std", not(loom)), gort_cores))]
pub mod time;

#[cfg(any(all(feature = "std", not(loom)), gort_cores))]
pub mod context;
#[cfg(gort_gc)]
pub mod gc;

#[cfg(gort_net)]
pub mod net;

/// The deadlock monitor, on hosted targets only (bare metal reports none:
/// see `task::cores::park`).
#[cfg(all(feature = "std", not(loom)))]
mod deadlock;
#[cfg(all(feature = "std", not(loom)))]
mod runtime;
/// `gort::main` is also an attribute: `#[gort::main] fn main() { .. }`
/// runs `main`'s body as the main goroutine (see the function [`main()`]).
#[cfg(all(feature = "std", not(loom)))]
pub use gort_macros::main;
#[cfg(all(feature = "std", not(loom)))]
#[doc(hidden)]
pub use runtime::__main_with;
#[cfg(all(feature = "std", not(loom)))]
pub use runtime::main;
#[cfg(all(feature = "std", not(loom)))]
pub use runtime::{
    Builder, JoinHandle, Runtime, Scheduler, blocking, go, gomaxprocs, gosched, num_cpu,
    num_goroutine, print_line, spawn,
};

#[cfg(gort_cores)]
pub mod bare;
#[cfg(gort_cores)]
pub use bare::{go, gosched, num_cpu, num_goroutine, print_line};

/// Like `std::println!`, but each line is written whole in one call, so
/// lines from concurrent goroutines never interleave (on bare metal: to
/// the board's console). It writes to the process's stdout directly, so
/// the test harness does not capture it.
///
/// ```
/// let wg = gort::sync::WaitGroup::new();
/// for i in 0..3 {
///     wg.go(move || gort::println!("goroutine {i}: {}", "one whole line"));
/// }
/// wg.wait();
/// gort::println!(); // an empty line
/// ```
#[cfg(any(all(feature = "std", not(loom)), gort_cores))]
#[macro_export]
macro_rules! println {
    () => {
        $crate::print_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::print_line(format_args!($($arg)*))
    };
}
