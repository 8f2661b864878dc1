//! Futex family: two OS threads hand a turn back and forth; every hand-off
//! wakes the other thread, which is usually asleep. Measures wait/wake
//! latency of the lowest blocking layer.

use std::sync::atomic::AtomicU32;
use std::sync::atomic::Ordering::{Acquire, Release};
use std::sync::{Barrier, mpsc};
use std::time::{Duration, Instant};

use crate::harness::check;

use crate::workload::{Contender, Params, RunResult, Unit, Workload};

/// Turn values: `PING` means the main thread's turn, `PONG` the peer's.
const PING: u32 = 0;
const PONG: u32 = 1;

/// A run's check: the peer made all `n` hand-offs back and the last turn
/// is the main thread's.
fn finished((elapsed, peer_turns): (Duration, usize), last: u32, n: usize) -> RunResult {
    check("hand-offs back", peer_turns as u64, n as u64)?;
    check(
        "last turn (0: the main thread's)",
        u64::from(last),
        u64::from(PING),
    )?;
    Ok(elapsed)
}

/// `gort::futex::Futex`: store the turn, `wake()`, then `wait` while the
/// word still shows the other side's turn.
fn gort_futex(p: &Params) -> RunResult {
    let n = p.n("round_trips");
    let turn = gort::futex::Futex::new(PING);
    let barrier = Barrier::new(2);
    let elapsed = std::thread::scope(|s| {
        let peer = s.spawn(|| {
            barrier.wait();
            for _ in 0..n {
                while turn.load(Acquire) != PONG {
                    turn.wait(PING);
                }
                turn.store(PING, Release);
                turn.wake();
            }
            n
        });
        barrier.wait();
        let start = Instant::now();
        for _ in 0..n {
            turn.store(PONG, Release);
            turn.wake();
            while turn.load(Acquire) != PING {
                turn.wait(PONG);
            }
        }
        (start.elapsed(), peer.join().expect("peer thread panicked"))
    });
    finished(elapsed, turn.load(Acquire), n)
}

/// `gort::task::park`/`Task::unpark` with an `AtomicU32` turn flag: the
/// goroutine-level verbs built on the futex (an unpark of a task that is
/// not asleep skips the wake syscall).
fn gort_park(p: &Params) -> RunResult {
    let n = p.n("round_trips");
    let turn = AtomicU32::new(PING);
    let main_task = gort::task::current();
    let barrier = Barrier::new(2);
    let (tx, rx) = mpsc::channel();
    let elapsed = std::thread::scope(|s| {
        let handle = s.spawn(|| {
            tx.send(gort::task::current()).unwrap();
            barrier.wait();
            for _ in 0..n {
                while turn.load(Acquire) != PONG {
                    gort::task::park();
                }
                turn.store(PING, Release);
                main_task.unpark();
            }
            n
        });
        let peer = rx.recv().unwrap();
        barrier.wait();
        let start = Instant::now();
        for _ in 0..n {
            turn.store(PONG, Release);
            peer.unpark();
            while turn.load(Acquire) != PING {
                gort::task::park();
            }
        }
        (
            start.elapsed(),
            handle.join().expect("peer thread panicked"),
        )
    });
    finished(elapsed, turn.load(Acquire), n)
}

/// `std::thread::park`/`Thread::unpark` with an `AtomicU32` turn flag.
fn std_park(p: &Params) -> RunResult {
    let n = p.n("round_trips");
    let turn = AtomicU32::new(PING);
    let main_thread = std::thread::current();
    let barrier = Barrier::new(2);
    let elapsed = std::thread::scope(|s| {
        let handle = s.spawn(|| {
            barrier.wait();
            for _ in 0..n {
                while turn.load(Acquire) != PONG {
                    std::thread::park();
                }
                turn.store(PING, Release);
                main_thread.unpark();
            }
            n
        });
        let peer = handle.thread().clone();
        barrier.wait();
        let start = Instant::now();
        for _ in 0..n {
            turn.store(PONG, Release);
            peer.unpark();
            while turn.load(Acquire) != PING {
                std::thread::park();
            }
        }
        (
            start.elapsed(),
            handle.join().expect("peer thread panicked"),
        )
    });
    finished(elapsed, turn.load(Acquire), n)
}

pub fn workloads() -> Vec<Workload> {
    vec![Workload {
        name: "futex_pingpong",
        family: "futex",
        about: "two OS threads, round_trips hand-offs there and back (store turn, wake, wait)",
        full: Params::new(&[("round_trips", 200_000)]),
        quick: Params::new(&[("round_trips", 40_000)]),
        ops: |p| p.get("round_trips"),
        unit: Unit::Seconds,
        also: &[],
        contenders: vec![
            Contender::gort("gort", "gort::futex::Futex wait/wake", gort_futex),
            Contender::gort("gort_park", "gort::task::park/unpark", gort_park),
            Contender::peer("std", "std::thread::park/unpark", std_park),
        ],
    }]
}
