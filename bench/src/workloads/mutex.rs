//! Mutex family: lock/unlock around a shared `u64` increment, contended
//! (several threads) and uncontended (one thread).

use std::hint::black_box;

use crate::harness::{check, timed_threads};
use crate::workload::{Contender, Params, Unit, Workload};

/// The one operation the workloads need from a mutex.
trait CounterLock: Sync + Sized {
    const LABEL: &'static str;
    fn new() -> Self;
    /// lock; `*v += 1`; unlock.
    fn incr(&self);
    fn value(&self) -> u64;
}

impl CounterLock for gort::sync::Mutex<u64> {
    const LABEL: &'static str = "gort::sync::Mutex";
    fn new() -> Self {
        gort::sync::Mutex::new(0)
    }
    #[inline]
    fn incr(&self) {
        *black_box(&mut *self.lock()) += 1;
    }
    fn value(&self) -> u64 {
        *self.lock()
    }
}

impl CounterLock for std::sync::Mutex<u64> {
    const LABEL: &'static str = "std::sync::Mutex";
    fn new() -> Self {
        std::sync::Mutex::new(0)
    }
    #[inline]
    fn incr(&self) {
        *black_box(&mut *self.lock().unwrap()) += 1;
    }
    fn value(&self) -> u64 {
        *self.lock().unwrap()
    }
}

impl CounterLock for parking_lot::Mutex<u64> {
    const LABEL: &'static str = "parking_lot::Mutex";
    fn new() -> Self {
        parking_lot::Mutex::new(0)
    }
    #[inline]
    fn incr(&self) {
        *black_box(&mut *self.lock()) += 1;
    }
    fn value(&self) -> u64 {
        *self.lock()
    }
}

/// `threads` threads each increment the counter `iters` times.
fn run<L: CounterLock>(p: &Params) -> crate::workload::RunResult {
    let (threads, iters) = (p.n("threads"), p.n("iters"));
    let lock = L::new();
    let elapsed = timed_threads(threads, |_| {
        for _ in 0..iters {
            lock.incr();
        }
    });
    check(L::LABEL, lock.value(), (threads * iters) as u64)?;
    Ok(elapsed)
}

/// The same on `threads` gort goroutines (what Go's side runs).
fn run_goroutines(p: &Params) -> crate::workload::RunResult {
    let (threads, iters) = (p.n("threads"), p.n("iters"));
    let lock = std::sync::Arc::new(gort::sync::Mutex::new(0u64));
    let shared = lock.clone();
    let elapsed = crate::harness::timed_goroutine_workers(threads, move |_| {
        for _ in 0..iters {
            shared.incr();
        }
    });
    check(
        "gort::sync::Mutex on goroutines",
        lock.value(),
        (threads * iters) as u64,
    )?;
    Ok(elapsed)
}

fn contenders() -> Vec<Contender> {
    type G = gort::sync::Mutex<u64>;
    type S = std::sync::Mutex<u64>;
    type P = parking_lot::Mutex<u64>;
    vec![
        Contender::gort("gort", G::LABEL, run::<G>),
        Contender::gort(
            "gort_goroutines",
            "gort::sync::Mutex on gort goroutines",
            run_goroutines,
        ),
        Contender::peer("std", S::LABEL, run::<S>),
        Contender::peer("parking_lot", P::LABEL, run::<P>),
    ]
}

fn ops(p: &Params) -> u64 {
    p.get("threads") * p.get("iters")
}

pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "mutex_contended",
            family: "mutex",
            about: "threads x iters lock; counter += 1; unlock on one shared mutex",
            full: Params::new(&[("threads", 4), ("iters", 2_500_000)]),
            quick: Params::new(&[("threads", 4), ("iters", 500_000)]),
            ops,
            unit: Unit::Seconds,
            also: &[],
            contenders: contenders(),
        },
        Workload {
            name: "mutex_uncontended",
            family: "mutex",
            about: "one thread: iters lock; counter += 1; unlock",
            full: Params::new(&[("threads", 1), ("iters", 10_000_000)]),
            quick: Params::new(&[("threads", 1), ("iters", 2_000_000)]),
            ops,
            unit: Unit::Seconds,
            also: &[],
            contenders: contenders(),
        },
    ]
}
