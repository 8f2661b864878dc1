//! WaitGroup family: fan out to N workers that each signal done, wait, and
//! repeat. Measures start-a-worker + done + wake-the-waiter per round.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::harness::{check, timed};
use crate::workload::{Contender, Params, RunResult, Unit, Workload};

/// Every worker counts itself; a run is checked by the count.
fn checked(
    p: &Params,
    rounds: impl FnOnce(usize, usize, Arc<AtomicU64>) -> std::time::Duration,
) -> RunResult {
    let (n, fanout) = (p.n("rounds"), p.n("fanout"));
    let ran = Arc::new(AtomicU64::new(0));
    let t = rounds(n, fanout, ran.clone());
    check("workers run", ran.load(Relaxed), (n * fanout) as u64)?;
    Ok(t)
}

/// gort: one `WaitGroup` reused across rounds (as Go code does), detached
/// goroutines from `gort::go`, started and waited for by a goroutine (as
/// Go's `main` is one).
fn gort_wg(p: &Params) -> RunResult {
    checked(p, |rounds, fanout, ran| {
        crate::harness::in_goroutine(move || gort_rounds(rounds, fanout, ran))
    })
}

fn gort_rounds(rounds: usize, fanout: usize, ran: Arc<AtomicU64>) -> std::time::Duration {
    let wg = gort::sync::WaitGroup::new();
    timed(|| {
        for _ in 0..rounds {
            wg.add(fanout as isize);
            for _ in 0..fanout {
                let (wg, ran) = (wg.clone(), ran.clone());
                gort::go(move || {
                    ran.fetch_add(1, Relaxed);
                    wg.done();
                });
            }
            wg.wait();
        }
    })
}

/// std: `thread::scope` per round; the scope's implicit join is the wait.
fn std_scope(p: &Params) -> RunResult {
    checked(p, |rounds, fanout, ran| {
        timed(|| {
            for _ in 0..rounds {
                std::thread::scope(|s| {
                    for _ in 0..fanout {
                        s.spawn(|| ran.fetch_add(1, Relaxed));
                    }
                });
            }
        })
    })
}

/// crossbeam: a fresh `WaitGroup` per round (its `wait` consumes it), each
/// detached `std::thread` drops its clone as `done`.
fn crossbeam_wg(p: &Params) -> RunResult {
    checked(p, |rounds, fanout, ran| {
        timed(|| {
            for _ in 0..rounds {
                let wg = crossbeam_utils::sync::WaitGroup::new();
                for _ in 0..fanout {
                    let (wg, ran) = (wg.clone(), ran.clone());
                    std::thread::spawn(move || {
                        ran.fetch_add(1, Relaxed);
                        drop(wg);
                    });
                }
                wg.wait();
            }
        })
    })
}

pub fn workloads() -> Vec<Workload> {
    vec![Workload {
        name: "waitgroup_fanout",
        family: "waitgroup",
        about: "rounds of: add(fanout), fanout workers each done(), wait",
        full: Params::new(&[("rounds", 1_000), ("fanout", 8)]),
        quick: Params::new(&[("rounds", 200), ("fanout", 8)]),
        ops: |p| p.get("rounds") * p.get("fanout"),
        unit: Unit::Seconds,
        also: &[],
        contenders: vec![
            Contender::gort("gort", "gort WaitGroup + gort::go", gort_wg),
            Contender::peer("std", "std::thread::scope (spawn + join)", std_scope),
            Contender::peer(
                "crossbeam",
                "crossbeam_utils WaitGroup + std::thread::spawn",
                crossbeam_wg,
            ),
        ],
    }]
}
