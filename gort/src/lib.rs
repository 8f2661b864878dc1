//! gort: a Go-style parallel runtime for Rust.
//!
//! Layers, bottom to top (each uses only those below it):
//! `platform` (per-OS code) → `task` (goroutines, park/unpark, schedulers) →
//! `futex` → `sync` → `chan` → `gc` → the API at the crate root.

#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(
    all(feature = "nightly-wasm-atomics", target_family = "wasm"),
    feature(stdarch_wasm_atomic_wait)
)]
// The README's example runs as a doc test, so it stays true.
#![cfg_attr(all(feature = "std", doc), doc = include_str!("../../README.md"))]

extern crate alloc;

mod platform;
mod shim;

pub mod futex;
pub mod sync;

#[cfg(feature = "std")]
pub mod task;

#[cfg(feature = "std")]
pub mod chan;
#[cfg(all(feature = "std", not(loom)))]
pub mod time;

#[cfg(gort_gc)]
pub mod gc;

#[cfg(all(feature = "std", not(loom)))]
mod deadlock;
#[cfg(all(feature = "std", not(loom)))]
mod runtime;
#[cfg(all(feature = "std", not(loom)))]
pub use runtime::{
    Builder, JoinHandle, Runtime, Scheduler, blocking, go, gomaxprocs, gosched, num_cpu,
    num_goroutine, print_line, spawn,
};
