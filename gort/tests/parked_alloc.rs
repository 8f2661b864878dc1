//! A parked goroutine keeps no heap allocation of its own on M:N, however
//! it was spawned: one spawned in a storm (its processor's `runnext`
//! taken, so its record was boxed to wait in the queue) moves its record
//! to the top of its stack when it starts, and the box goes. And a storm's
//! boxes never pile up: the spawner yields while its processor holds
//! `SPAWN_BACKLOG` (256) queued goroutines, so they start. Counted by a
//! global allocator that tracks live allocations, in a child process of
//! its own (the count is every thread's).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed, Ordering::SeqCst};
use std::time::Duration;

use common::Watchdog;
use gort::chan::Chan;
use gort::sync::WaitGroup;
use gort::{Builder, Scheduler};

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
/// Allocations made while counting minus those of them freed since (a
/// free of an older allocation while counting is not told apart: the
/// warm-up keeps those few).
static LIVE: AtomicIsize = AtomicIsize::new(0);
/// The most `LIVE` was.
static PEAK: AtomicIsize = AtomicIsize::new(0);

// SAFETY: passes every call through to `System`, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
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
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Goroutines parked at once.
const N: usize = 4_000;

/// Starts `N` goroutines from this one (a storm: all but the first are
/// spawned with `runnext` taken) that block on one channel, runs `parked`
/// once each has started, then closes the channel and waits for them to
/// finish.
fn park_many(parked: impl FnOnce()) {
    let c = Chan::<()>::new(0);
    let (started, finished) = (WaitGroup::new(), WaitGroup::new());
    started.add(N as isize);
    finished.add(N as isize);
    for _ in 0..N {
        let (c, started, finished) = (c.clone(), started.clone(), finished.clone());
        gort::go(move || {
            started.done();
            assert_eq!(c.recv(), None, "only closed");
            finished.done();
        });
    }
    started.wait();
    // Every goroutine has started, so each record is where it stays (a
    // record moves when its goroutine starts, before its closure runs);
    // most are parked already, the others about to.
    parked();
    c.close();
    finished.wait();
}

#[test]
fn parked_goroutines_of_a_spawn_storm_keep_no_allocation_nor_pile_boxes() {
    let name = "parked_goroutines_of_a_spawn_storm_keep_no_allocation_nor_pile_boxes";
    if !Scheduler::MN.is_available() {
        return;
    }
    if !common::is_child() {
        let (code, out, err) = common::run_child(name, &[("GORT_NO_DEADLOCK_CHECK", "1")]);
        assert_eq!(code, Some(0), "child failed:\n{out}\n{err}");
        assert!(out.contains("1 passed"), "child ran nothing:\n{out}\n{err}");
        return;
    }
    let _dog = Watchdog::new(name, Duration::from_secs(120));
    Builder::new()
        .scheduler(Scheduler::MN)
        .workers(2)
        .build()
        .run(|| {
            // Warm-up: the stack pool (and the collector's record of each
            // stack), the run queues and the workers reach their size.
            park_many(|| {});
            let mut live = None;
            LIVE.store(0, SeqCst);
            PEAK.store(0, SeqCst);
            COUNTING.store(true, SeqCst);
            park_many(|| live = Some(LIVE.load(SeqCst)));
            COUNTING.store(false, SeqCst);
            let live = live.expect("ran");
            let peak = PEAK.load(SeqCst);
            // Before records moved, each parked goroutine of the storm
            // but the first kept its boxed record: N - 1. A goroutine
            // started while its spawner still held its task keeps its box
            // (rare: `go` drops it right after queueing); the queues'
            // other allocations are a few.
            assert!(
                live < (N / 10) as isize,
                "{live} allocations live with {N} goroutines parked"
            );
            // Unpaced, the spawner outran the goroutines' first runs and
            // nearly all N boxes were live at once; paced, at most the
            // backlog (and a few stolen or about to start) are.
            assert!(
                peak < (N / 4) as isize,
                "{peak} allocations live at once in a storm of {N}"
            );
        });
}
