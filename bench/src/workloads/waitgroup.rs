//! WaitGroup family: fan out to N workers that each signal done, wait, and
//! repeat. Measures start-a-worker + done + wake-the-waiter per round.

use std::hint::black_box;

use crate::harness::timed;
use crate::workload::{Contender, Params, RunResult, Unit, Workload};

/// gort: one `WaitGroup` reused across rounds (as Go code does), detached
/// goroutines from `gort::go`, started and waited for by a goroutine (as
/// Go's `main` is one).
fn gort_wg(p: &Params) -> RunResult {
    let (rounds, fanout) = (p.n("rounds"), p.n("fanout"));
    Ok(crate::harness::in_goroutine(move || {
        gort_rounds(rounds, fanout)
    }))
}

fn gort_rounds(rounds: usize, fanout: usize) -> std::time::Duration {
    let wg = gort::sync::WaitGroup::new();
    timed(|| {
        for _ in 0..rounds {
            wg.add(fanout as isize);
            for i in 0..fanout {
                let wg = wg.clone();
                gort::go(move || {
                    black_box(i);
                    wg.done();
                });
            }
            wg.wait();
        }
    })
}

/// std: `thread::scope` per round; the scope's implicit join is the wait.
fn std_scope(p: &Params) -> RunResult {
    let (rounds, fanout) = (p.n("rounds"), p.n("fanout"));
    Ok(timed(|| {
        for _ in 0..rounds {
            std::thread::scope(|s| {
                for i in 0..fanout {
                    s.spawn(move || black_box(i));
                }
            });
        }
    }))
}

/// crossbeam: a fresh `WaitGroup` per round (its `wait` consumes it), each
/// detached `std::thread` drops its clone as `done`.
fn crossbeam_wg(p: &Params) -> RunResult {
    let (rounds, fanout) = (p.n("rounds"), p.n("fanout"));
    Ok(timed(|| {
        for _ in 0..rounds {
            let wg = crossbeam_utils::sync::WaitGroup::new();
            for i in 0..fanout {
                let wg = wg.clone();
                std::thread::spawn(move || {
                    black_box(i);
                    drop(wg);
                });
            }
            wg.wait();
        }
    }))
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
