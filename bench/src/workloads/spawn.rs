//! Spawn family: start a goroutine/thread and join it, one at a time and in
//! batches (many alive at once). gort spawns from a goroutine (as Go's
//! `main` is one); the peers from a thread.

use std::hint::black_box;

use crate::harness::{check, timed};
use crate::workload::{Contender, Params, RunResult, Workload};

/// Runs `f` on a goroutine and returns its result: gort's side spawns from
/// a goroutine, as a Go program's `main` does.
fn in_goroutine<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match gort::spawn(f).join() {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    }
}

fn gort_sequential(p: &Params) -> RunResult {
    let n = p.get("spawns");
    let (t, sum) = in_goroutine(move || {
        let mut sum = 0u64;
        let t = timed(|| {
            for i in 0..n {
                sum += gort::spawn(move || black_box(i)).join().unwrap();
            }
        });
        (t, sum)
    });
    check("gort::spawn", sum, n * (n.saturating_sub(1)) / 2)?;
    Ok(t)
}

fn std_sequential(p: &Params) -> RunResult {
    let n = p.get("spawns");
    let mut sum = 0u64;
    let t = timed(|| {
        for i in 0..n {
            sum += std::thread::spawn(move || black_box(i)).join().unwrap();
        }
    });
    check("std::thread::spawn", sum, n * (n.saturating_sub(1)) / 2)?;
    Ok(t)
}

fn gort_batched(p: &Params) -> RunResult {
    let (batches, batch) = (p.get("batches"), p.get("batch"));
    let (t, sum) = in_goroutine(move || {
        let mut sum = 0u64;
        let t = timed(|| {
            for _ in 0..batches {
                let handles: Vec<_> = (0..batch)
                    .map(|i| gort::spawn(move || black_box(i)))
                    .collect();
                for h in handles {
                    sum += h.join().unwrap();
                }
            }
        });
        (t, sum)
    });
    check("gort::spawn", sum, batches * batch * (batch - 1) / 2)?;
    Ok(t)
}

fn std_batched(p: &Params) -> RunResult {
    let (batches, batch) = (p.get("batches"), p.get("batch"));
    let mut sum = 0u64;
    let t = timed(|| {
        for _ in 0..batches {
            let handles: Vec<_> = (0..batch)
                .map(|i| std::thread::spawn(move || black_box(i)))
                .collect();
            for h in handles {
                sum += h.join().unwrap();
            }
        }
    });
    check("std::thread::spawn", sum, batches * batch * (batch - 1) / 2)?;
    Ok(t)
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
            contenders: vec![
                Contender::gort("gort", "gort::spawn + join", gort_sequential),
                Contender::peer("std", "std::thread::spawn + join", std_sequential),
            ],
        },
        Workload {
            name: "spawn_join_batched",
            family: "spawn",
            about: "batches x (spawn batch closures, then join them all)",
            full: Params::new(&[("batches", 20), ("batch", 1_000)]),
            quick: Params::new(&[("batches", 4), ("batch", 1_000)]),
            ops: |p| p.get("batches") * p.get("batch"),
            contenders: vec![
                Contender::gort("gort", "gort::spawn + join", gort_batched),
                Contender::peer("std", "std::thread::spawn + join", std_batched),
            ],
        },
    ]
}
