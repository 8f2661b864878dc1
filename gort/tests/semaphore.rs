//! Semaphore: never more holders than permits, every waiter gets through,
//! misuse panics.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{each_scheduler, stress};
use gort::sync::{Semaphore, WaitGroup};

#[test]
fn limits_concurrency_to_the_permits() {
    each_scheduler(
        "limits_concurrency_to_the_permits",
        Duration::from_secs(60),
        || {
            let sem = Arc::new(Semaphore::new(3));
            let inside = Arc::new(AtomicUsize::new(0));
            let max = Arc::new(AtomicUsize::new(0));
            let passes = Arc::new(AtomicUsize::new(0));
            let wg = WaitGroup::new();
            let per = stress(500);
            for _ in 0..12 {
                wg.add(1);
                let (sem, inside, max, passes, wg) = (
                    sem.clone(),
                    inside.clone(),
                    max.clone(),
                    passes.clone(),
                    wg.clone(),
                );
                gort::go(move || {
                    for _ in 0..per {
                        sem.acquire();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        max.fetch_max(now, Ordering::SeqCst);
                        gort::gosched();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        passes.fetch_add(1, Ordering::Relaxed);
                        sem.release();
                    }
                    wg.done();
                });
            }
            wg.wait();
            assert_eq!(passes.load(Ordering::Relaxed), 12 * per);
            assert!(
                max.load(Ordering::SeqCst) <= 3,
                "max holders {}",
                max.load(Ordering::SeqCst)
            );
            assert_eq!(sem.available_permits(), 3);
        },
    );
}

#[test]
fn try_acquire_reports_availability() {
    let sem = Semaphore::new(1);
    assert!(sem.try_acquire());
    assert!(!sem.try_acquire());
    sem.release();
    assert!(sem.try_acquire());
    sem.release();
}

#[test]
fn release_wakes_a_parked_acquirer() {
    each_scheduler(
        "release_wakes_a_parked_acquirer",
        Duration::from_secs(30),
        || {
            let sem = Arc::new(Semaphore::new(1));
            sem.acquire();
            let s2 = sem.clone();
            let h = gort::spawn(move || {
                s2.acquire();
                s2.release();
            });
            gort::time::sleep(Duration::from_millis(10));
            assert!(!h.is_finished());
            sem.release();
            h.join().unwrap();
        },
    );
}

#[test]
#[cfg(panic = "unwind")]
fn release_beyond_capacity_panics() {
    let sem = Semaphore::new(2);
    let err = std::panic::catch_unwind(|| sem.release()).unwrap_err();
    assert_eq!(
        err.downcast_ref::<&str>().copied(),
        Some("semaphore: released more than held")
    );
    assert_eq!(sem.available_permits(), 2);
}
