//! Mutex: exclusion with exact accounting, try_lock, no poisoning, and Go's
//! TestMutexFairness (bounded starvation).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{each_scheduler, stress};
use gort::sync::{Mutex, WaitGroup};

#[test]
fn lock_excludes_and_counts_exactly() {
    each_scheduler(
        "lock_excludes_and_counts_exactly",
        Duration::from_secs(60),
        || {
            let goroutines = 8;
            let per = stress(20_000);
            // The inner value is deliberately a non-atomic pair: a broken lock
            // shows up as a torn or lost update.
            let m = Arc::new(Mutex::new((0usize, 0usize)));
            let wg = WaitGroup::new();
            for _ in 0..goroutines {
                wg.add(1);
                let (m, wg) = (m.clone(), wg.clone());
                gort::go(move || {
                    for _ in 0..per {
                        let mut g = m.lock();
                        g.0 += 1;
                        g.1 = g.0 * 2;
                    }
                    wg.done();
                });
            }
            wg.wait();
            let g = m.lock();
            assert_eq!(g.0, goroutines * per);
            assert_eq!(g.1, goroutines * per * 2);
        },
    );
}

#[test]
fn try_lock_fails_while_held_and_succeeds_after() {
    let m = Mutex::new(5);
    let g = m.lock();
    assert!(m.is_locked());
    assert!(m.try_lock().is_none());
    drop(g);
    assert_eq!(*m.try_lock().expect("free lock"), 5);
    assert!(!m.is_locked());
}

#[test]
#[cfg(panic = "unwind")]
fn panic_while_locked_releases_without_poisoning() {
    let m = Arc::new(Mutex::new(1));
    let m2 = m.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let mut g = m2.lock();
        *g = 2;
        panic!("boom");
    }));
    assert!(r.is_err());
    assert_eq!(*m.lock(), 2);
}

#[test]
fn into_inner_and_get_mut() {
    let mut m = Mutex::new(vec![1]);
    m.get_mut().push(2);
    assert_eq!(m.into_inner(), vec![1, 2]);
}

/// Go's TestMutexFairness: one goroutine holds the lock almost all the time
/// (re-locking right after unlocking); another must still get it 10 times.
#[test]
fn mutex_fairness_bounded_starvation() {
    each_scheduler(
        "mutex_fairness_bounded_starvation",
        Duration::from_secs(20),
        || {
            let m = Arc::new(Mutex::new(()));
            let stop = Arc::new(AtomicBool::new(false));
            let hog = {
                let (m, stop) = (m.clone(), stop.clone());
                gort::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let _g = m.lock();
                        gort::time::sleep(Duration::from_micros(100));
                    }
                })
            };
            let start = Instant::now();
            for _ in 0..10 {
                gort::time::sleep(Duration::from_micros(100));
                drop(m.lock());
            }
            let took = start.elapsed();
            stop.store(true, Ordering::Relaxed);
            hog.join().unwrap();
            // Go allows 10 s; the watchdog above is the hard limit, this is the
            // fairness bound the test is about.
            assert!(took < Duration::from_secs(10), "starved for {took:?}");
        },
    );
}

#[test]
fn many_waiters_all_get_through() {
    each_scheduler(
        "many_waiters_all_get_through",
        Duration::from_secs(30),
        || {
            let m = Arc::new(Mutex::new(()));
            let done = Arc::new(AtomicUsize::new(0));
            let g = m.lock();
            let handles: Vec<_> = (0..32)
                .map(|_| {
                    let (m, done) = (m.clone(), done.clone());
                    gort::spawn(move || {
                        drop(m.lock());
                        done.fetch_add(1, Ordering::SeqCst);
                    })
                })
                .collect();
            gort::time::sleep(Duration::from_millis(20));
            assert_eq!(done.load(Ordering::SeqCst), 0, "nobody passes a held lock");
            drop(g);
            for h in handles {
                h.join().unwrap();
            }
            assert_eq!(done.load(Ordering::SeqCst), 32);
        },
    );
}
