//! A global allocator that counts, for the tests of what spawning and
//! parking allocate (a test binary installs it with `#[global_allocator]`),
//! and the runner that gives such a test a process of its own: the counts
//! are every thread's.
//!
//! While `COUNTING` is set: `ALLOCS` counts allocations and reallocations;
//! `LIVE` counts allocations minus frees (a free of an older allocation is
//! not told apart: warm-ups keep those few), `PEAK` its most.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{
    AtomicBool, AtomicIsize, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst,
};
use std::time::Duration;

use gort::{Builder, Scheduler};

pub struct Counting;

pub static COUNTING: AtomicBool = AtomicBool::new(false);
pub static ALLOCS: AtomicUsize = AtomicUsize::new(0);
pub static LIVE: AtomicIsize = AtomicIsize::new(0);
pub static PEAK: AtomicIsize = AtomicIsize::new(0);

// SAFETY: passes every call through to `System`, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
            let live = LIVE.fetch_add(1, Relaxed) + 1;
            PEAK.fetch_max(live, Relaxed);
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Relaxed) {
            LIVE.fetch_sub(1, Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations and reallocations (every thread's) while `f` runs.
pub fn allocations_in(f: impl FnOnce()) -> usize {
    ALLOCS.store(0, SeqCst);
    COUNTING.store(true, SeqCst);
    f();
    COUNTING.store(false, SeqCst);
    ALLOCS.load(SeqCst)
}

/// Runs `body` as the root goroutine of a fresh 2-worker M:N runtime
/// (skipped where there is none), in a child process of its own: the
/// count is the whole process's, so no other test may run meanwhile, and
/// the deadlock monitor, which reads `/proc` as it polls, is off.
pub fn on_mn(name: &str, body: impl FnOnce() + Send + 'static) {
    if !Scheduler::MN.is_available() {
        return;
    }
    if !super::is_child() {
        let (code, out, err) = super::run_child(name, &[("GORT_NO_DEADLOCK_CHECK", "1")]);
        assert_eq!(code, Some(0), "child failed:\n{out}\n{err}");
        assert!(out.contains("1 passed"), "child ran nothing:\n{out}\n{err}");
        return;
    }
    let _dog = super::Watchdog::new(name, Duration::from_secs(120));
    Builder::new()
        .scheduler(Scheduler::MN)
        .workers(2)
        .build()
        .run(body);
}
