//! The futex contract: wait only while the word equals the expected value,
//! timeouts in both directions, wake one and wake all.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::Watchdog;
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
