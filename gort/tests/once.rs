//! Once: runs exactly once while many race; a panic counts as done (Go).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::each_scheduler;
use gort::sync::{Once, WaitGroup};

#[test]
fn runs_exactly_once_and_everyone_sees_it_finished() {
    each_scheduler("runs_exactly_once", Duration::from_secs(30), || {
        for _ in 0..50 {
            let once = Arc::new(Once::new());
            let runs = Arc::new(AtomicUsize::new(0));
            let value = Arc::new(AtomicUsize::new(0));
            let wg = WaitGroup::new();
            for _ in 0..8 {
                wg.add(1);
                let (once, runs, value, wg) =
                    (once.clone(), runs.clone(), value.clone(), wg.clone());
                gort::go(move || {
                    once.call_once(|| {
                        runs.fetch_add(1, Ordering::Relaxed);
                        gort::time::sleep(Duration::from_micros(200));
                        value.store(42, Ordering::Relaxed);
                    });
                    // Whoever returns must see what the function wrote.
                    assert_eq!(value.load(Ordering::Relaxed), 42);
                    wg.done();
                });
            }
            wg.wait();
            assert_eq!(runs.load(Ordering::Relaxed), 1);
            assert!(once.is_completed());
        }
    });
}

#[test]
#[cfg(panic = "unwind")]
fn panic_inside_counts_as_done() {
    let once = Once::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        once.call_once(|| panic!("first"));
    }));
    assert_eq!(
        r.unwrap_err().downcast_ref::<&str>().copied(),
        Some("first")
    );
    assert!(once.is_completed());
    let mut ran = false;
    once.call_once(|| ran = true);
    assert!(!ran, "Go's rule: a panicking f counts as having returned");
}
