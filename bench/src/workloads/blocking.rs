//! Blocking family: goroutines that block their OS thread outside the
//! runtime. `calls` goroutines started together each make one blocking
//! call of `micros` (a sleep of the thread, not of the goroutine), timed
//! until the last returns: about `micros` where the runtime moves other
//! work off a blocked thread, `calls` x `micros` / workers where it does
//! not.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::harness::{FanOutBody, check, timed};
use crate::workload::{Contender, Params, RunResult, Unit, Workload};

/// `calls` goroutines started at once (`fan_out`: gort's or may's), each
/// making `call` once and counting itself, then a wait for all.
fn calls(p: &Params, fan_out: fn(u64, FanOutBody) -> Duration, call: fn(Duration)) -> RunResult {
    let (n, d) = (p.get("calls"), Duration::from_micros(p.get("micros")));
    let returned = Arc::new(AtomicU64::new(0));
    let count = returned.clone();
    let t = fan_out(
        n,
        Arc::new(move |_| {
            call(d);
            count.fetch_add(1, Relaxed);
        }),
    );
    check("blocking calls returned", returned.load(Relaxed), n)?;
    Ok(t)
}

fn gort_thread_sleep(p: &Params) -> RunResult {
    calls(p, crate::harness::gort_fan_out, std::thread::sleep)
}

fn gort_blocking(p: &Params) -> RunResult {
    calls(p, crate::harness::gort_fan_out, |d| {
        gort::blocking(|| std::thread::sleep(d))
    })
}

fn may_thread_sleep(p: &Params) -> RunResult {
    calls(p, crate::may_peer::may_fan_out, std::thread::sleep)
}

/// A `std::thread` per call, spawned and joined inside the measurement
/// (as the goroutines are).
fn std_threads(p: &Params) -> RunResult {
    let (n, d) = (p.get("calls"), Duration::from_micros(p.get("micros")));
    let mut returned = 0;
    let t = timed(|| {
        let handles: Vec<_> = (0..n)
            .map(|_| std::thread::spawn(move || std::thread::sleep(d)))
            .collect();
        for h in handles {
            h.join().expect("std: thread panicked");
            returned += 1;
        }
    });
    check("blocking calls returned", returned, n)?;
    Ok(t)
}

pub fn workloads() -> Vec<Workload> {
    vec![Workload {
        name: "blocking_calls",
        family: "blocking",
        about: "calls goroutines each make one blocking call (a thread sleep of micros), all at the same time; until the last returns",
        full: Params::new(&[("calls", 1_000), ("micros", 1_000)]),
        quick: Params::new(&[("calls", 200), ("micros", 1_000)]),
        ops: |p| p.get("calls"),
        unit: Unit::Seconds,
        also: &[],
        contenders: vec![
            Contender::gort(
                "gort",
                "std::thread::sleep on gort::go goroutines",
                gort_thread_sleep,
            ),
            Contender::gort(
                "gort_blocking",
                "gort::blocking(std::thread::sleep) on gort::go goroutines",
                gort_blocking,
            ),
            Contender::peer(
                "may",
                "std::thread::sleep on may::go! coroutines",
                may_thread_sleep,
            ),
            Contender::peer(
                "std",
                "std::thread::sleep on a std::thread per call",
                std_threads,
            ),
        ],
    }]
}
