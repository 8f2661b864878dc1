//! Cond: Go's TestCondSignal, TestCondSignalGenerations,
//! TestCondSignalStealing and TestCondBroadcast.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use common::{each_scheduler, stress};
use gort::sync::{Cond, Mutex};

#[test]
fn signal_wakes_one_waiter_at_a_time() {
    each_scheduler(
        "signal_wakes_one_waiter_at_a_time",
        Duration::from_secs(30),
        || {
            let n = 4;
            let state = Arc::new((Mutex::new(0usize), Cond::new()));
            let (running_tx, running_rx) = mpsc::channel();
            let awake = Arc::new(AtomicUsize::new(0));
            for _ in 0..n {
                let (state, running_tx, awake) = (state.clone(), running_tx.clone(), awake.clone());
                gort::go(move || {
                    let g = state.0.lock();
                    running_tx.send(()).unwrap();
                    let _g = state.1.wait(g);
                    awake.fetch_add(1, Ordering::SeqCst);
                });
            }
            for _ in 0..n {
                running_rx.recv().unwrap();
            }
            // Every goroutine is in wait once we can take the lock.
            for i in 0..n {
                drop(state.0.lock());
                state.1.signal();
                while awake.load(Ordering::SeqCst) < i + 1 {
                    gort::time::sleep(Duration::from_millis(1));
                }
                gort::time::sleep(Duration::from_millis(5));
                assert_eq!(
                    awake.load(Ordering::SeqCst),
                    i + 1,
                    "one signal, one waiter"
                );
            }
        },
    );
}

/// Go's TestCondSignalGenerations: a signal wakes the goroutine that was
/// waiting at the time, never one that starts waiting afterwards.
#[test]
fn signal_generations() {
    each_scheduler("signal_generations", Duration::from_secs(60), || {
        let n = 100;
        let state = Arc::new((Mutex::new(()), Cond::new()));
        let (running_tx, running_rx) = mpsc::channel();
        let (awake_tx, awake_rx) = mpsc::channel();
        for i in 0..n {
            {
                let (state, running_tx, awake_tx) =
                    (state.clone(), running_tx.clone(), awake_tx.clone());
                gort::go(move || {
                    let g = state.0.lock();
                    running_tx.send(()).unwrap();
                    let _g = state.1.wait(g);
                    awake_tx.send(i).unwrap();
                });
            }
            if i > 0 {
                let a = awake_rx.recv().unwrap();
                assert_eq!(a, i - 1, "wrong goroutine woke up");
            }
            running_rx.recv().unwrap();
            let _g = state.0.lock();
            state.1.signal();
        }
        assert_eq!(awake_rx.recv().unwrap(), n - 1);
    });
}

/// Go's TestCondSignalStealing: a broadcast racing a new waiter must still
/// wake the waiter that was already there.
#[test]
fn broadcast_not_stolen_by_new_waiter() {
    each_scheduler(
        "broadcast_not_stolen_by_new_waiter",
        Duration::from_secs(60),
        || {
            for _ in 0..stress(200) {
                let state = Arc::new((Mutex::new(false), Cond::new()));
                let (tx, rx) = mpsc::channel();
                {
                    let (state, tx) = (state.clone(), tx.clone());
                    gort::go(move || {
                        let g = state.0.lock();
                        tx.send(()).unwrap();
                        drop(state.1.wait(g));
                        tx.send(()).unwrap();
                    });
                }
                rx.recv().unwrap();
                drop(state.0.lock()); // the first waiter is inside wait now
                {
                    let state = state.clone();
                    gort::go(move || state.1.broadcast());
                }
                let second = {
                    let state = state.clone();
                    gort::spawn(move || {
                        let mut g = state.0.lock();
                        while !*g {
                            g = state.1.wait(g);
                        }
                    })
                };
                rx.recv_timeout(Duration::from_secs(5))
                    .expect("first waiter didn't get the broadcast");
                *state.0.lock() = true;
                state.1.broadcast();
                second.join().unwrap();
            }
        },
    );
}

#[test]
fn broadcast_wakes_everyone() {
    each_scheduler("broadcast_wakes_everyone", Duration::from_secs(30), || {
        let n = 16;
        let state = Arc::new((Mutex::new((0usize, false)), Cond::new()));
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let state = state.clone();
                gort::spawn(move || {
                    let mut g = state.0.lock();
                    g.0 += 1;
                    while !g.1 {
                        g = state.1.wait(g);
                    }
                })
            })
            .collect();
        while state.0.lock().0 < n {
            gort::time::sleep(Duration::from_millis(1));
        }
        state.0.lock().1 = true;
        state.1.broadcast();
        for h in handles {
            h.join().unwrap();
        }
    });
}
