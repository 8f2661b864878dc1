//! The futex contract: wait only while the word equals the expected value,
//! timeouts in both directions, wake one and wake all; and, for M:N
//! goroutines, FIFO wakes and a waiter table whose work per waiter does not
//! grow with the number of waiters.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Watchdog, is_child};
use gort::futex::Futex;

#[test]
fn wait_returns_at_once_when_value_differs() {
    let _dog = Watchdog::new(
        "wait_returns_at_once_when_value_differs",
        Duration::from_secs(10),
    );
    let f = Futex::new(7);
    f.wait(6);
    assert!(f.wait_timeout(6, Duration::MAX));
    assert!(f.wait_timeout(6, Duration::ZERO));
}

#[test]
fn timeout_elapses_when_nobody_wakes() {
    let f = Futex::new(0);
    let start = Instant::now();
    assert!(!f.wait_timeout(0, Duration::from_millis(50)));
    assert!(start.elapsed() >= Duration::from_millis(50));
}

#[test]
fn zero_timeout_returns_false_without_sleeping() {
    let f = Futex::new(0);
    assert!(!f.wait_timeout(0, Duration::ZERO));
}

#[test]
fn huge_timeout_waits_until_woken() {
    let _dog = Watchdog::new("huge_timeout_waits_until_woken", Duration::from_secs(10));
    let f = Arc::new(Futex::new(0));
    let g = f.clone();
    let waiter = std::thread::spawn(move || {
        while g.load(Ordering::Acquire) == 0 {
            assert!(
                g.wait_timeout(0, Duration::MAX),
                "a huge timeout never elapses"
            );
        }
    });
    std::thread::sleep(Duration::from_millis(20));
    f.store(1, Ordering::Release);
    f.wake();
    waiter.join().unwrap();
}

#[test]
fn wake_all_wakes_every_waiter() {
    let _dog = Watchdog::new("wake_all_wakes_every_waiter", Duration::from_secs(10));
    let f = Arc::new(Futex::new(0));
    let woke = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (f, woke) = (f.clone(), woke.clone());
            std::thread::spawn(move || {
                while f.load(Ordering::Acquire) == 0 {
                    f.wait(0);
                }
                woke.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    f.store(1, Ordering::Release);
    f.wake_all();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(woke.load(Ordering::SeqCst), 4);
}

#[test]
fn ping_pong_between_two_threads() {
    let _dog = Watchdog::new("ping_pong_between_two_threads", Duration::from_secs(30));
    const ROUNDS: u32 = 2_000;
    let f = Arc::new(Futex::new(0));
    let g = f.clone();
    // Even values: main's turn; odd: the other thread's.
    let other = std::thread::spawn(move || {
        for i in 0..ROUNDS {
            let mine = 2 * i + 1;
            loop {
                let v = g.load(Ordering::Acquire);
                if v == mine {
                    break;
                }
                g.wait(v);
            }
            g.store(mine + 1, Ordering::Release);
            g.wake();
        }
    });
    for i in 0..ROUNDS {
        f.store(2 * i + 1, Ordering::Release);
        f.wake();
        loop {
            let v = f.load(Ordering::Acquire);
            if v == 2 * i + 2 {
                break;
            }
            f.wait(v);
        }
    }
    other.join().unwrap();
    assert_eq!(f.load(Ordering::Relaxed), 2 * ROUNDS);
}

/// M:N goroutines wake in the order they started waiting, and a waiter
/// that timed out in between neither takes a wake nor blocks the others.
/// One worker, so each goroutine has parked before the next one starts.
#[test]
fn goroutine_waiters_wake_in_fifo_order_past_timed_out_ones() {
    if !gort::Scheduler::MN.is_available() {
        return;
    }
    let _dog = Watchdog::new(
        "goroutine_waiters_wake_in_fifo_order_past_timed_out_ones",
        Duration::from_secs(30),
    );
    let rt = gort::Builder::new()
        .scheduler(gort::Scheduler::MN)
        .workers(1)
        .build();
    rt.run(|| {
        const K: usize = 9;
        let f = Arc::new(Futex::new(0));
        let (queued, timed_out, woke) = (
            gort::chan::Chan::new(K),
            gort::chan::Chan::new(K),
            gort::chan::Chan::new(K),
        );
        for i in 0..K {
            let (f, q, timed_out, woke) =
                (f.clone(), queued.clone(), timed_out.clone(), woke.clone());
            gort::go(move || {
                q.send(i).unwrap();
                if i % 3 == 1 {
                    assert!(!f.wait_timeout(0, Duration::from_millis(1)));
                    timed_out.send(i).unwrap();
                    return;
                }
                while f.load(Ordering::Acquire) == 0 {
                    f.wait(0);
                }
                woke.send(i).unwrap();
            });
            assert_eq!(queued.recv(), Some(i));
        }
        let mut gone: Vec<usize> = (0..K / 3).map(|_| timed_out.recv().unwrap()).collect();
        gone.sort();
        assert_eq!(gone, [1, 4, 7]);
        f.store(1, Ordering::Release);
        for i in (0..K).filter(|i| i % 3 != 1) {
            f.wake();
            assert_eq!(woke.recv(), Some(i), "woken out of order");
        }
    });
}

/// Entries the goroutine waiter table may examine or move per waiter, for
/// `kind` with `n` waiters: a constant, plus a binary search for a waiter
/// that leaves on its own (a timeout).
#[cfg(not(target_family = "wasm"))]
fn steps_allowed(kind: &str, n: usize) -> usize {
    let log2 = (usize::BITS - n.leading_zeros()) as usize;
    n * match kind {
        "timeouts" => 8 + log2,
        _ => 8,
    }
}

/// The goroutine waiter table's work per waiter does not grow with the
/// number of waiters (counted, not timed: entries examined or moved, from
/// `futex::__waiter_table_steps`), in a child process so no other test's
/// waits are counted. Kinds: `gate`, n goroutines released by one
/// `wake_all` (a WaitGroup); `convoy`, n goroutines through one Mutex
/// (one `wake` per unlock); `spread`, n goroutines on n words (sharing
/// the table's buckets), woken one by one; `timeouts`, n goroutines whose
/// timed waits on one word all expire.
#[test]
#[cfg(not(target_family = "wasm"))]
fn waiter_table_work_per_waiter_does_not_grow() {
    if !gort::Scheduler::MN.is_available() {
        return;
    }
    let mut over = Vec::new();
    for kind in ["gate", "convoy", "spread", "timeouts"] {
        for n in [2_000, 20_000] {
            let spec = format!("{kind} {n}");
            let (code, out, err) =
                common::run_child("child_waiter_table_work", &[("GORT_FUTEX_WORK", &spec)]);
            assert_eq!(code, Some(0), "{spec}: stderr: {err}");
            let steps: usize = out
                .split("steps=")
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{spec}: no step count in {out}"));
            if steps > steps_allowed(kind, n) {
                over.push(format!(
                    "{spec}: {steps} steps, {} per waiter (allowed {})",
                    steps / n,
                    steps_allowed(kind, n) / n
                ));
            }
        }
    }
    assert!(over.is_empty(), "{over:#?}");
}

#[test]
fn child_waiter_table_work() {
    if !is_child() {
        return;
    }
    use gort::sync::{Mutex, WaitGroup};
    let spec = std::env::var("GORT_FUTEX_WORK").unwrap();
    let (kind, n) = spec.split_once(' ').unwrap();
    let (kind, n): (String, usize) = (kind.to_string(), n.parse().unwrap());
    let _dog = Watchdog::new(
        &format!("waiter table work: {spec}"),
        Duration::from_secs(300),
    );
    let rt = gort::Builder::new().scheduler(gort::Scheduler::MN).build();
    let steps = rt.run(move || {
        let before = gort::futex::__waiter_table_steps();
        let (started, finished) = (WaitGroup::new(), WaitGroup::new());
        started.add(n as isize);
        finished.add(n as isize);
        match kind.as_str() {
            "gate" => {
                let gate = WaitGroup::new();
                gate.add(1);
                for _ in 0..n {
                    let (s, g, f) = (started.clone(), gate.clone(), finished.clone());
                    gort::go(move || {
                        s.done();
                        g.wait();
                        f.done();
                    });
                }
                started.wait();
                gate.done();
            }
            "convoy" => {
                let m = Arc::new(Mutex::new(0usize));
                let held = m.lock();
                for _ in 0..n {
                    let (m, s, f) = (m.clone(), started.clone(), finished.clone());
                    gort::go(move || {
                        s.done();
                        *m.lock() += 1;
                        f.done();
                    });
                }
                started.wait();
                drop(held);
                finished.wait();
                assert_eq!(*m.lock(), n);
            }
            "spread" => {
                let words: Arc<Vec<Futex>> = Arc::new((0..n).map(|_| Futex::new(0)).collect());
                for i in 0..n {
                    let (w, s, f) = (words.clone(), started.clone(), finished.clone());
                    gort::go(move || {
                        s.done();
                        while w[i].load(Ordering::Acquire) == 0 {
                            w[i].wait(0);
                        }
                        f.done();
                    });
                }
                started.wait();
                for w in words.iter() {
                    w.store(1, Ordering::Release);
                    w.wake();
                }
            }
            "timeouts" => {
                let word = Arc::new(Futex::new(0));
                for _ in 0..n {
                    let (w, s, f) = (word.clone(), started.clone(), finished.clone());
                    gort::go(move || {
                        s.done();
                        w.wait_timeout(0, Duration::from_millis(200));
                        f.done();
                    });
                }
                started.wait();
            }
            other => panic!("unknown kind {other}"),
        }
        finished.wait();
        gort::futex::__waiter_table_steps() - before
    });
    println!("steps={steps}");
}
