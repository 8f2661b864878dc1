//! The M:N scheduler's idle workers (they nap instead of spinning while a
//! ping-pong pair cycles another worker's `runnext` slot) still take the
//! work only they can run: a goroutine queued behind the pair, and a
//! goroutine readied by one that then never switches out.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::Watchdog;
use gort::Scheduler;

fn two_workers() -> Option<gort::Runtime> {
    Scheduler::MN.is_available().then(|| {
        gort::Builder::new()
            .scheduler(Scheduler::MN)
            .workers(2)
            .build()
    })
}

/// Busy-waits (never switching out) until `flag` is set; panics after
/// `limit`.
fn spin_until(flag: &AtomicBool, limit: Duration, what: &str) {
    let start = Instant::now();
    while !flag.load(SeqCst) {
        assert!(start.elapsed() < limit, "{what}: not set after {limit:?}");
        std::hint::spin_loop();
    }
}

/// A pair ping-pongs until a third goroutine, spawned by one of them and
/// queued behind the pair (whose worker always runs its `runnext` first),
/// has run: the other worker must take it while the pair keeps cycling.
#[test]
fn goroutine_queued_behind_a_pingpong_pair_runs() {
    let Some(rt) = two_workers() else { return };
    let _dog = Watchdog::new(
        "goroutine_queued_behind_a_pingpong_pair_runs",
        Duration::from_secs(60),
    );
    let trips = rt.run(|| {
        let mut trips = 0u64;
        for round in 0..50u64 {
            let done = Arc::new(AtomicBool::new(false));
            let (ping, pong) = (gort::chan::Chan::new(0), gort::chan::Chan::new(0));
            let echo = {
                let (ping, pong) = (ping.clone(), pong.clone());
                gort::spawn(move || {
                    while let Some(v) = ping.recv() {
                        pong.send(v).unwrap();
                    }
                })
            };
            let mut third = None;
            let start = Instant::now();
            let mut v = 0u64;
            while !done.load(SeqCst) {
                assert!(start.elapsed() < Duration::from_secs(20), "round {round}");
                ping.send(v).unwrap();
                v = pong.recv().unwrap() + 1;
                if v == 100 {
                    let done = done.clone();
                    third = Some(gort::spawn(move || done.store(true, SeqCst)));
                }
            }
            ping.close();
            echo.join().unwrap();
            third.expect("spawned").join().unwrap();
            trips += v;
        }
        trips
    });
    assert!(trips >= 50 * 100, "{trips}");
}

/// A goroutine readies another (into its worker's `runnext`) and then
/// busy-waits for it without switching out: the other worker takes it.
#[test]
fn goroutine_readied_by_a_busy_one_runs() {
    let Some(rt) = two_workers() else { return };
    let _dog = Watchdog::new(
        "goroutine_readied_by_a_busy_one_runs",
        Duration::from_secs(60),
    );
    let ran = rt.run(|| {
        let ran = Arc::new(AtomicU64::new(0));
        for _ in 0..200 {
            let flag = Arc::new(AtomicBool::new(false));
            let go = gort::chan::Chan::<()>::new(0);
            let waiter = {
                let (go, flag, ran) = (go.clone(), flag.clone(), ran.clone());
                gort::spawn(move || {
                    go.recv().unwrap();
                    ran.fetch_add(1, SeqCst);
                    flag.store(true, SeqCst);
                })
            };
            go.send(()).unwrap();
            spin_until(&flag, Duration::from_secs(20), "readied goroutine");
            waiter.join().unwrap();
        }
        ran.load(SeqCst)
    });
    assert_eq!(ran, 200);
}
