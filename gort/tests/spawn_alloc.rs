//! Spawning on M:N allocates nothing from the global allocator: the task,
//! the join packet and a closure under the budget live at the top of the
//! goroutine's pooled stack. Counted by a global allocator that counts,
//! after a warm-up (the stack pool, the run queues and the threads' own
//! first allocations). Also: every captured value and every result is
//! dropped exactly once, however the goroutine and its handle end.
//!
//! Each test runs in a child process of its own (`COUNTING` is global:
//! every thread's allocations count while it is set).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::time::Duration;

use common::counting::{Counting, allocations_in, on_mn};
use gort::sync::WaitGroup;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The allocations of up to `WINDOWS` runs of `f`, stopping at the first
/// that made none. Warming up is the first windows' business: a worker
/// thread that starts late allocates once (its registrations), and so
/// does a stack pool or run queue reaching its working size; steady
/// spawning must then allocate nothing, window after window.
fn windows(mut f: impl FnMut()) -> Vec<usize> {
    let mut counts = Vec::with_capacity(WINDOWS);
    for _ in 0..WINDOWS {
        let n = allocations_in(&mut f);
        counts.push(n);
        if n == 0 {
            break;
        }
    }
    counts
}

const WINDOWS: usize = 5;

const N: u64 = 20_000;
const WARM: u64 = 2_000;

fn spawn_join_all(n: u64) -> u64 {
    let mut sum = 0;
    for i in 0..n {
        sum += gort::spawn(move || std::hint::black_box(i) + 1)
            .join()
            .unwrap();
    }
    sum
}

#[test]
fn spawn_and_join_allocate_nothing_after_warm_up() {
    on_mn("spawn_and_join_allocate_nothing_after_warm_up", || {
        assert_eq!(spawn_join_all(WARM), WARM * (WARM + 1) / 2);
        let counts = windows(|| assert_eq!(spawn_join_all(N), N * (N + 1) / 2));
        assert_eq!(
            counts.last(),
            Some(&0),
            "allocations in windows of {N} spawn + join: {counts:?}"
        );
    });
}

/// `n` goroutines by `WaitGroup::go`, waited for in batches of `batch`.
fn go_wait_all(n: u64, batch: u64, count: &Arc<AtomicUsize>, wg: &WaitGroup) -> u64 {
    let before = count.load(Relaxed);
    for _ in 0..n / batch {
        for _ in 0..batch {
            let count = count.clone();
            wg.go(move || {
                count.fetch_add(1, Relaxed);
            });
        }
        wg.wait();
    }
    (count.load(Relaxed) - before) as u64
}

#[test]
fn go_and_wait_group_allocate_nothing_after_warm_up() {
    on_mn("go_and_wait_group_allocate_nothing_after_warm_up", || {
        let (count, wg) = (Arc::new(AtomicUsize::new(0)), WaitGroup::new());
        assert_eq!(go_wait_all(WARM, 1, &count, &wg), WARM);
        let counts = windows(|| assert_eq!(go_wait_all(N, 1, &count, &wg), N));
        assert_eq!(
            counts.last(),
            Some(&0),
            "allocations in windows of {N} WaitGroup::go: {counts:?}"
        );
        // Batches: a spawn while the processor already has a goroutine to
        // run next boxes its record and closure (a storm queues no
        // stacks), one allocation each at most.
        let n = 10_000;
        let allocs = allocations_in(|| assert_eq!(go_wait_all(n, 50, &count, &wg), n));
        assert!(
            allocs <= 2 * n as usize,
            "{allocs} allocations for {n} WaitGroup::go in batches of 50"
        );
    });
}

#[test]
fn a_closure_over_the_budget_is_boxed_once() {
    fn big(n: u64) -> u64 {
        let mut sum = 0;
        for i in 0..n {
            let payload = [i as u8; 4096];
            sum += gort::spawn(move || u64::from(std::hint::black_box(payload)[4095]))
                .join()
                .unwrap();
        }
        sum
    }
    on_mn("a_closure_over_the_budget_is_boxed_once", || {
        big(WARM);
        let n = 1_000;
        let allocs = allocations_in(|| {
            big(n);
        });
        assert!(
            (n as usize..=2 * n as usize).contains(&allocs),
            "{allocs} allocations for {n} spawns of a 4 KiB closure"
        );
    });
}

#[test]
fn a_result_too_large_for_the_stack_record_is_boxed() {
    on_mn("a_result_too_large_for_the_stack_record_is_boxed", || {
        let run = |n: u64| {
            for i in 0..n {
                let got = gort::spawn(move || [i; 512]).join().unwrap();
                assert_eq!(got[511], i);
            }
        };
        run(100);
        let n = 1_000;
        let allocs = allocations_in(|| run(n));
        // The record boxed, and the closure with it until the goroutine
        // first runs (then it gets its stack).
        assert!(
            (n as usize..=3 * n as usize).contains(&allocs),
            "{allocs} allocations for {n} spawns with a 4 KiB result"
        );
    });
}

/// Counts its drops (and may panic in one).
struct Counted {
    drops: Arc<AtomicUsize>,
    panic_on_drop: bool,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
        if self.panic_on_drop {
            panic!("drop panics");
        }
    }
}

fn counted(drops: &Arc<AtomicUsize>) -> Counted {
    Counted {
        drops: drops.clone(),
        panic_on_drop: false,
    }
}

/// Waits (bounded) until `drops` reaches `want`: a detached goroutine
/// drops what it holds after its handle is gone.
fn wait_for(drops: &AtomicUsize, want: usize) {
    for _ in 0..20_000 {
        if drops.load(SeqCst) >= want {
            break;
        }
        gort::gosched();
        std::thread::sleep(Duration::from_micros(100));
    }
    assert_eq!(drops.load(SeqCst), want);
}

#[test]
fn captures_and_results_drop_exactly_once() {
    on_mn("captures_and_results_drop_exactly_once", || {
        let drops = Arc::new(AtomicUsize::new(0));

        // Joined: the capture in the goroutine, the result by the joiner.
        let (cap, res) = (counted(&drops), counted(&drops));
        let h = gort::spawn(move || {
            drop(cap);
            res
        });
        let got = h.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1);
        drop(got);
        assert_eq!(drops.load(SeqCst), 2);

        // Handle dropped unjoined, the goroutine still to finish: the
        // goroutine drops both.
        let (cap, res) = (counted(&drops), counted(&drops));
        let gate = gort::chan::Chan::<()>::new(0);
        let rx = gate.clone();
        let h = gort::spawn(move || {
            rx.recv();
            let _cap = cap;
            res
        });
        drop(h);
        gate.close();
        wait_for(&drops, 4);

        // Handle dropped after the goroutine finished: the handle drops
        // the result.
        let (cap, res) = (counted(&drops), counted(&drops));
        let h = gort::spawn(move || {
            let _cap = cap;
            res
        });
        wait_for(&drops, 5);
        while !h.is_finished() {
            gort::gosched();
        }
        drop(h);
        assert_eq!(drops.load(SeqCst), 6);

        // A large closure (boxed) and a large result (boxed record).
        let (cap, res) = (counted(&drops), counted(&drops));
        let big = [7u8; 2048];
        let h = gort::spawn(move || {
            let _cap = cap;
            (res, [big[0]; 2048])
        });
        let (res, arr) = h.join().unwrap();
        assert_eq!(arr[2047], 7);
        assert_eq!(drops.load(SeqCst), 7);
        drop(res);
        assert_eq!(drops.load(SeqCst), 8);

        // A joined goroutine panics: its captures drop once.
        let cap = counted(&drops);
        let h = gort::spawn(move || {
            let _cap = cap;
            panic!("boom");
        });
        assert!(h.join().is_err());
        assert_eq!(drops.load(SeqCst), 9);

        // A result whose `Drop` panics, joined: the joiner's drop panics,
        // once.
        let res = Counted {
            drops: drops.clone(),
            panic_on_drop: true,
        };
        let got = gort::spawn(move || res).join().unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(got)));
        assert!(caught.is_err());
        assert_eq!(drops.load(SeqCst), 10);

        // A storm: past a crowded queue, records are boxed and stacks
        // taken when the goroutines first run.
        let handles: Vec<_> = (0..500)
            .map(|_| {
                let (cap, res) = (counted(&drops), counted(&drops));
                gort::spawn(move || {
                    let _cap = cap;
                    res
                })
            })
            .collect();
        let before = drops.load(SeqCst);
        let results: Vec<Counted> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(drops.load(SeqCst), 10 + 500, "captures (before {before})");
        drop(results);
        assert_eq!(drops.load(SeqCst), 10 + 1000);

        // Go + WaitGroup: captures drop once each.
        let wg = WaitGroup::new();
        for _ in 0..100 {
            let cap = counted(&drops);
            wg.go(move || drop(cap));
        }
        wg.wait();
        assert_eq!(drops.load(SeqCst), 1110);
    });
}
