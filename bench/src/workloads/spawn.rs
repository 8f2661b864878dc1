//! Spawn family: start a goroutine/thread and join it, one at a time, in
//! batches, and all at once (a million alive together). gort spawns from a
//! goroutine (as Go's `main` is one), may from a coroutine, std from a
//! thread.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::harness::{FanOutBody, check, in_goroutine, timed};
use crate::may_peer::{self, in_coroutine};
use crate::workload::{Contender, Params, RunResult, Unit, Workload};

/// A contender's way to start a party and wait for its result.
trait Spawner: 'static {
    const LABEL: &'static str;
    type Handle;
    fn spawn(f: impl FnOnce() -> u64 + Send + 'static) -> Self::Handle;
    fn join(h: Self::Handle) -> u64;
    /// Runs the spawning side where this contender's `main` runs.
    fn main<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T;
}

struct Gort;

impl Spawner for Gort {
    const LABEL: &'static str = "gort::spawn + join";
    type Handle = gort::JoinHandle<u64>;
    fn spawn(f: impl FnOnce() -> u64 + Send + 'static) -> Self::Handle {
        gort::spawn(f)
    }
    fn join(h: Self::Handle) -> u64 {
        h.join().expect("gort: goroutine panicked")
    }
    fn main<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        in_goroutine(f)
    }
}

struct May;

impl Spawner for May {
    const LABEL: &'static str = may_peer::LABEL;
    type Handle = may::coroutine::JoinHandle<u64>;
    fn spawn(f: impl FnOnce() -> u64 + Send + 'static) -> Self::Handle {
        may::go!(f)
    }
    fn join(h: Self::Handle) -> u64 {
        h.join().expect("may: coroutine panicked")
    }
    fn main<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        in_coroutine(f)
    }
}

struct Std;

impl Spawner for Std {
    const LABEL: &'static str = "std::thread::spawn + join";
    type Handle = std::thread::JoinHandle<u64>;
    fn spawn(f: impl FnOnce() -> u64 + Send + 'static) -> Self::Handle {
        std::thread::spawn(f)
    }
    fn join(h: Self::Handle) -> u64 {
        h.join().expect("std: thread panicked")
    }
    fn main<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        f()
    }
}

fn sequential<S: Spawner>(p: &Params) -> RunResult {
    let n = p.get("spawns");
    let (t, sum) = S::main(move || {
        let mut sum = 0u64;
        let t = timed(|| {
            for i in 0..n {
                sum += S::join(S::spawn(move || black_box(i)));
            }
        });
        (t, sum)
    });
    check(S::LABEL, sum, n * (n.saturating_sub(1)) / 2)?;
    Ok(t)
}

fn batched<S: Spawner>(p: &Params) -> RunResult {
    let (batches, batch) = (p.get("batches"), p.get("batch"));
    let (t, sum) = S::main(move || {
        let mut sum = 0u64;
        let t = timed(|| {
            for _ in 0..batches {
                let handles: Vec<_> = (0..batch).map(|i| S::spawn(move || black_box(i))).collect();
                for h in handles {
                    sum += S::join(h);
                }
            }
        });
        (t, sum)
    });
    check(S::LABEL, sum, batches * batch * (batch - 1) / 2)?;
    Ok(t)
}

/// `goroutines` goroutines started at once, each adding its index to a
/// shared counter, then a wait for all (`fan_out`: gort's or may's).
fn waitgroup(p: &Params, fan_out: fn(u64, FanOutBody) -> Duration) -> RunResult {
    let n = p.get("goroutines");
    let total = Arc::new(AtomicU64::new(0));
    let sum = total.clone();
    let t = fan_out(
        n,
        Arc::new(move |i| {
            sum.fetch_add(i, Relaxed);
        }),
    );
    check(
        "sum of indices",
        total.load(Relaxed),
        n * n.saturating_sub(1) / 2,
    )?;
    Ok(t)
}

fn gort_waitgroup(p: &Params) -> RunResult {
    waitgroup(p, crate::harness::gort_fan_out)
}

fn may_waitgroup(p: &Params) -> RunResult {
    waitgroup(p, crate::may_peer::may_fan_out)
}

pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "spawn_join",
            family: "spawn",
            about: "spawns x (spawn a closure returning a u64, join it), one at a time",
            full: Params::new(&[("spawns", 20_000)]),
            quick: Params::new(&[("spawns", 4_000)]),
            ops: |p| p.get("spawns"),
            unit: Unit::Seconds,
            also: &[],
            contenders: vec![
                Contender::gort("gort", Gort::LABEL, sequential::<Gort>),
                Contender::peer("may", May::LABEL, sequential::<May>),
                Contender::peer("std", Std::LABEL, sequential::<Std>),
            ],
        },
        Workload {
            name: "spawn_join_batched",
            family: "spawn",
            about: "batches x (spawn batch closures, then join them all)",
            full: Params::new(&[("batches", 20), ("batch", 1_000)]),
            quick: Params::new(&[("batches", 4), ("batch", 1_000)]),
            ops: |p| p.get("batches") * p.get("batch"),
            unit: Unit::Seconds,
            also: &[],
            contenders: vec![
                Contender::gort("gort", Gort::LABEL, batched::<Gort>),
                Contender::peer("may", May::LABEL, batched::<May>),
                Contender::peer("std", Std::LABEL, batched::<Std>),
            ],
        },
        Workload {
            name: "spawn_waitgroup",
            family: "spawn",
            about: "goroutines x (start one that adds to a counter and calls done), then wait: all alive at once",
            full: Params::new(&[("goroutines", 1_000_000)]),
            quick: Params::new(&[("goroutines", 100_000)]),
            ops: |p| p.get("goroutines"),
            unit: Unit::Seconds,
            also: &[],
            // No std row: a million OS threads take minutes (spawn_join
            // has std's per-thread cost).
            contenders: vec![
                Contender::gort("gort", "gort::go + gort::sync::WaitGroup", gort_waitgroup),
                Contender::peer("may", "may::go! + may::sync::WaitGroup", may_waitgroup),
            ],
        },
    ]
}
