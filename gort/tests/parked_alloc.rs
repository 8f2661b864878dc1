//! A parked goroutine keeps no heap allocation of its own on M:N, however
//! it was spawned: one spawned in a storm (its processor's `runnext`
//! taken, so its record was boxed to wait in the queue) moves its record
//! to the top of its stack when it starts, and the box goes. And a storm's
//! boxes never pile up: the spawner yields while its processor holds
//! `SPAWN_BACKLOG` (256) queued goroutines, so they start. Counted by a
//! global allocator that tracks live allocations, in a child process of
//! its own (the count is every thread's).

mod common;

use std::sync::atomic::Ordering::SeqCst;

use common::counting::{COUNTING, Counting, LIVE, PEAK, on_mn};
use gort::chan::Chan;
use gort::sync::WaitGroup;

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
    on_mn(
        "parked_goroutines_of_a_spawn_storm_keep_no_allocation_nor_pile_boxes",
        || {
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
        },
    );
}
