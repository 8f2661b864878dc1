//! Reader-writer lock family: a read-heavy mix on one shared `u64`.

use std::hint::black_box;

use crate::harness::{check, timed_threads};
use crate::workload::{Contender, Params, RunResult, Unit, Workload};

trait CounterRwLock: Sync + Sized {
    const LABEL: &'static str;
    fn new() -> Self;
    fn read(&self) -> u64;
    fn write_incr(&self);
}

impl CounterRwLock for gort::sync::RwMutex<u64> {
    const LABEL: &'static str = "gort::sync::RwMutex";
    fn new() -> Self {
        gort::sync::RwMutex::new(0)
    }
    #[inline]
    fn read(&self) -> u64 {
        *black_box(&*self.read())
    }
    #[inline]
    fn write_incr(&self) {
        *black_box(&mut *self.write()) += 1;
    }
}

impl CounterRwLock for std::sync::RwLock<u64> {
    const LABEL: &'static str = "std::sync::RwLock";
    fn new() -> Self {
        std::sync::RwLock::new(0)
    }
    #[inline]
    fn read(&self) -> u64 {
        *black_box(&*self.read().unwrap())
    }
    #[inline]
    fn write_incr(&self) {
        *black_box(&mut *self.write().unwrap()) += 1;
    }
}

impl CounterRwLock for parking_lot::RwLock<u64> {
    const LABEL: &'static str = "parking_lot::RwLock";
    fn new() -> Self {
        parking_lot::RwLock::new(0)
    }
    #[inline]
    fn read(&self) -> u64 {
        *black_box(&*self.read())
    }
    #[inline]
    fn write_incr(&self) {
        *black_box(&mut *self.write()) += 1;
    }
}

/// Each thread does `ops` operations; one in `write_every` is a write
/// (offset per thread so the writers do not move in lockstep).
fn run<L: CounterRwLock + Send + 'static>(p: &Params) -> RunResult {
    run_on::<L>(p, false)
}

/// The same on gort goroutines (what Go's side runs).
fn run_goroutines<L: CounterRwLock + Send + 'static>(p: &Params) -> RunResult {
    run_on::<L>(p, true)
}

fn run_on<L: CounterRwLock + Send + 'static>(p: &Params, goroutines: bool) -> RunResult {
    let (threads, ops, every) = (p.n("threads"), p.n("ops"), p.n("write_every"));
    let lock = std::sync::Arc::new(L::new());
    let shared = lock.clone();
    let body = move |t: usize| {
        let mut sum = 0u64;
        for i in 0..ops {
            if (i + t * 37).is_multiple_of(every) {
                shared.write_incr();
            } else {
                sum = sum.wrapping_add(shared.read());
            }
        }
        black_box(sum);
    };
    let elapsed = if goroutines {
        crate::harness::timed_goroutine_workers(threads, body)
    } else {
        timed_threads(threads, body)
    };
    let writes_per_thread = |t: usize| {
        (0..ops)
            .filter(|i| (i + t * 37).is_multiple_of(every))
            .count()
    };
    let want: usize = (0..threads).map(writes_per_thread).sum();
    check(L::LABEL, lock.read(), want as u64)?;
    Ok(elapsed)
}

pub fn workloads() -> Vec<Workload> {
    type G = gort::sync::RwMutex<u64>;
    type S = std::sync::RwLock<u64>;
    type P = parking_lot::RwLock<u64>;
    vec![Workload {
        name: "rwmutex_read_heavy",
        family: "rwmutex",
        about: "threads x ops on one rwlock, 1 write (+= 1) in write_every, the rest read",
        full: Params::new(&[("threads", 4), ("ops", 1_000_000), ("write_every", 100)]),
        quick: Params::new(&[("threads", 4), ("ops", 200_000), ("write_every", 100)]),
        ops: |p| p.get("threads") * p.get("ops"),
        unit: Unit::Seconds,
        also: &[],
        contenders: vec![
            Contender::gort("gort", G::LABEL, run::<G>),
            Contender::gort(
                "gort_goroutines",
                "gort::sync::RwMutex on gort goroutines",
                run_goroutines::<G>,
            ),
            Contender::peer("std", S::LABEL, run::<S>),
            Contender::peer("parking_lot", P::LABEL, run::<P>),
        ],
    }]
}
