//! Memory family: what a parked goroutine costs. A run starts `goroutines`
//! goroutines that each block receiving from one unbuffered channel,
//! measures how much the resident set grew from just before the first
//! started to just after the last parked, divides by the count, then
//! closes the channel and checks that every one woke and finished.
//!
//! Each run happens in a child process of its own (`child.rs`): stack
//! pools and allocator caches left by an earlier run would hide the cost.
//! The resident set comes from `/proc/self/status` (Linux; elsewhere the
//! run says so and is reported as failed).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gort_bench::resident::now as resident_bytes;

use crate::harness::in_goroutine;
use crate::may_peer::in_coroutine;
use crate::workload::{Contender, Params, Side, Unit, ValueResult, Workload};

/// Lets the last goroutines to start finish parking before the second
/// reading (they were counted as started just before they park).
const SETTLE: Duration = Duration::from_millis(100);

/// Bytes per goroutine from two readings.
fn per_item(before: u64, after: u64, n: u64) -> ValueResult {
    if n == 0 {
        return Err("no goroutines".into());
    }
    Ok(after.saturating_sub(before) as f64 / n as f64)
}

fn gort_parked(p: &Params) -> ValueResult {
    let n = p.get("goroutines");
    in_goroutine(move || {
        let c = gort::chan::Chan::<()>::new(0);
        let started = gort::sync::WaitGroup::new();
        let finished = gort::sync::WaitGroup::new();
        let woke = Arc::new(AtomicU64::new(0));
        let before = resident_bytes()?;
        started.add(n as isize);
        finished.add(n as isize);
        for _ in 0..n {
            let (c, started, finished, woke) =
                (c.clone(), started.clone(), finished.clone(), woke.clone());
            gort::go(move || {
                started.done();
                if c.recv().is_none() {
                    woke.fetch_add(1, Ordering::Relaxed);
                }
                finished.done();
            });
        }
        started.wait();
        gort::time::sleep(SETTLE);
        let after = resident_bytes()?;
        c.close();
        finished.wait();
        crate::harness::check("goroutines woken by close", woke.load(Ordering::Relaxed), n)?;
        per_item(before, after, n)
    })
}

fn may_parked(p: &Params) -> ValueResult {
    let n = p.get("goroutines");
    in_coroutine(move || {
        let (tx, rx) = may::sync::mpmc::channel::<()>();
        let finished = may::sync::WaitGroup::new();
        let started = Arc::new(AtomicU64::new(0));
        let woke = Arc::new(AtomicU64::new(0));
        let before = resident_bytes()?;
        for _ in 0..n {
            let (rx, finished, started, woke) =
                (rx.clone(), finished.clone(), started.clone(), woke.clone());
            may::go!(move || {
                started.fetch_add(1, Ordering::Release);
                if rx.recv().is_err() {
                    woke.fetch_add(1, Ordering::Relaxed);
                }
                drop(finished);
            });
        }
        while started.load(Ordering::Acquire) < n {
            may::coroutine::sleep(Duration::from_millis(1));
        }
        may::coroutine::sleep(SETTLE);
        let after = resident_bytes()?;
        drop((tx, rx));
        finished.wait();
        crate::harness::check("coroutines woken by close", woke.load(Ordering::Relaxed), n)?;
        per_item(before, after, n)
    })
}

/// 2 maps per thread stack (stack, guard) against 65530.
const THREADS_TOO_MANY: &str = "100k+ OS threads exceed Linux's default vm.max_map_count";

fn workload(name: &'static str, full: u64, quick: u64) -> Workload {
    let own = |c: Contender| c.in_own_process(&[]);
    Workload {
        name,
        family: "memory",
        about: "goroutines parked at once on one channel: resident memory growth per goroutine",
        full: Params::new(&[("goroutines", full)]),
        quick: Params::new(&[("goroutines", quick)]),
        ops: |p| p.get("goroutines"),
        unit: Unit::BytesPerItem,
        also: &[],
        contenders: vec![
            own(Contender::measuring(
                "gort",
                "gort::go goroutines (M:N)",
                Side::Gort,
                gort_parked,
            )),
            own(Contender::measuring(
                "may",
                "may::go! coroutines + may::sync::mpmc",
                Side::Peer,
                may_parked,
            )),
            Contender::unsupported("std", "std::thread", THREADS_TOO_MANY),
        ],
    }
}

pub fn workloads() -> Vec<Workload> {
    vec![
        workload("parked_memory", 100_000, 20_000),
        workload("parked_memory_many", 1_000_000, 200_000),
    ]
}
