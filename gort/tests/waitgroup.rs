//! WaitGroup: Go's TestWaitGroup and TestWaitGroupRace, misuse panics, reuse.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{each_scheduler, stress};
use gort::sync::WaitGroup;

/// Go's TestWaitGroup: wg1 counts goroutines that arrived, wg2 holds them
/// until main has seen all of them arrive.
#[test]
fn two_groups_hand_off() {
    each_scheduler("two_groups_hand_off", Duration::from_secs(30), || {
        let n = 16;
        let (wg1, wg2) = (WaitGroup::new(), WaitGroup::new());
        let exited = Arc::new(AtomicUsize::new(0));
        wg1.add(n as isize);
        wg2.add(n as isize);
        for _ in 0..n {
            let (wg1, wg2, exited) = (wg1.clone(), wg2.clone(), exited.clone());
            gort::go(move || {
                wg1.done();
                wg2.wait();
                exited.fetch_add(1, Ordering::SeqCst);
            });
        }
        wg1.wait();
        assert_eq!(exited.load(Ordering::SeqCst), 0, "nobody passes wg2 early");
        for _ in 0..n {
            wg2.done();
        }
        wg2.wait();
        while exited.load(Ordering::SeqCst) < n {
            gort::gosched();
        }
    });
}

/// Go's TestWaitGroupRace: after wait returns, every increment is visible.
#[test]
fn wait_sees_all_work_done() {
    each_scheduler("wait_sees_all_work_done", Duration::from_secs(60), || {
        for _ in 0..stress(200) {
            let n = Arc::new(AtomicUsize::new(0));
            let wg = WaitGroup::new();
            wg.add(2);
            for _ in 0..2 {
                let (n, wg) = (n.clone(), wg.clone());
                gort::go(move || {
                    n.fetch_add(1, Ordering::Relaxed);
                    wg.done();
                });
            }
            wg.wait();
            assert_eq!(n.load(Ordering::Relaxed), 2);
        }
    });
}

#[test]
fn many_waiters_are_all_released() {
    each_scheduler(
        "many_waiters_are_all_released",
        Duration::from_secs(30),
        || {
            let wg = WaitGroup::new();
            wg.add(1);
            let waiters: Vec<_> = (0..8)
                .map(|_| {
                    let wg = wg.clone();
                    gort::spawn(move || wg.wait())
                })
                .collect();
            gort::time::sleep(Duration::from_millis(10));
            wg.done();
            for w in waiters {
                w.join().unwrap();
            }
            assert_eq!(wg.count(), 0);
        },
    );
}

#[test]
fn reusable_after_wait_returns() {
    each_scheduler(
        "reusable_after_wait_returns",
        Duration::from_secs(30),
        || {
            let wg = WaitGroup::new();
            for round in 0..50 {
                wg.add(3);
                for _ in 0..3 {
                    let wg = wg.clone();
                    gort::go(move || wg.done());
                }
                wg.wait();
                assert_eq!(wg.count(), 0, "round {round}");
            }
        },
    );
}

#[test]
fn wait_on_zero_returns_at_once() {
    WaitGroup::new().wait();
}

#[test]
#[cfg(panic = "unwind")]
fn negative_counter_panics_with_gos_message() {
    let wg = WaitGroup::new();
    wg.add(1);
    wg.done();
    let err = std::panic::catch_unwind(|| wg.done()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<&str>().copied(),
        Some("sync: negative WaitGroup counter")
    );
    assert_eq!(wg.count(), 0, "a refused add leaves the counter alone");
    let err = std::panic::catch_unwind(|| wg.add(-5)).unwrap_err();
    assert_eq!(
        err.downcast_ref::<&str>().copied(),
        Some("sync: negative WaitGroup counter")
    );
}

#[test]
#[cfg(panic = "unwind")]
fn counter_overflow_panics() {
    let wg = WaitGroup::new();
    wg.add(i32::MAX as isize);
    let err = std::panic::catch_unwind(|| wg.add(1)).unwrap_err();
    assert_eq!(
        err.downcast_ref::<&str>().copied(),
        Some("sync: WaitGroup counter overflow")
    );
    wg.add(-(i32::MAX as isize));
    wg.wait();
}

/// Go 1.25's `wg.Go(f)`: every goroutine it starts is counted before it
/// starts and done when its function returns, including nested ones.
#[test]
fn go_counts_each_goroutine() {
    each_scheduler("go_counts_each_goroutine", Duration::from_secs(30), || {
        let wg = WaitGroup::new();
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..stress(50) {
            let (inner, ran) = (wg.clone(), ran.clone());
            wg.go(move || {
                gort::gosched();
                let ran2 = ran.clone();
                // Started from inside: counted before this one is done.
                inner.go(move || {
                    ran2.fetch_add(1, Ordering::SeqCst);
                });
                ran.fetch_add(1, Ordering::SeqCst);
            });
        }
        wg.wait();
        assert_eq!(ran.load(Ordering::SeqCst), 2 * stress(50));
        assert_eq!(wg.count(), 0);
    });
}
