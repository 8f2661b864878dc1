//! Timer family: many goroutines asleep at once. Measures arming, the
//! scheduler's wait for the first deadline, and waking each sleeper;
//! `sleeps` goroutines each sleep `micros` once, started together, timed
//! until the last wakes (so about `micros` plus the overhead).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::harness::{FanOutBody, check};
use crate::workload::{Contender, Params, RunResult, Unit, Workload};

/// `sleeps` goroutines started at once, each sleeping once (`sleep`:
/// gort's or may's) and counting itself, then a wait for all.
fn sleeps(p: &Params, fan_out: fn(u64, FanOutBody) -> Duration, sleep: fn(Duration)) -> RunResult {
    let (n, d) = (p.get("sleeps"), Duration::from_micros(p.get("micros")));
    let woke = Arc::new(AtomicU64::new(0));
    let count = woke.clone();
    let t = fan_out(
        n,
        Arc::new(move |_| {
            sleep(d);
            count.fetch_add(1, Relaxed);
        }),
    );
    check("sleepers woken", woke.load(Relaxed), n)?;
    Ok(t)
}

fn gort_sleeps(p: &Params) -> RunResult {
    sleeps(p, crate::harness::gort_fan_out, gort::time::sleep)
}

fn may_sleeps(p: &Params) -> RunResult {
    sleeps(p, crate::may_peer::may_fan_out, may::coroutine::sleep)
}

pub fn workloads() -> Vec<Workload> {
    vec![Workload {
        name: "sleep_many",
        family: "timers",
        about: "sleeps goroutines each sleep micros once, all at the same time; until the last wakes",
        full: Params::new(&[("sleeps", 100_000), ("micros", 10_000)]),
        quick: Params::new(&[("sleeps", 10_000), ("micros", 10_000)]),
        ops: |p| p.get("sleeps"),
        unit: Unit::Seconds,
        also: &[],
        // No OS-thread row: 100,000 sleeping threads is what goroutines
        // are for (and takes minutes to start here).
        contenders: vec![
            Contender::gort(
                "gort",
                "gort::time::sleep on gort::go goroutines",
                gort_sleeps,
            ),
            Contender::peer(
                "may",
                "may::coroutine::sleep on may::go! coroutines",
                may_sleeps,
            ),
        ],
    }]
}
