//! RwMutex: reader/writer exclusion, try variants, and TinyGo bug #5692's
//! two regressions: a waiting writer is not starved by later readers, and
//! readers queued behind a writer all enter when it leaves.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};
use std::time::Duration;

use common::{each_scheduler, stress};
use gort::sync::{RwMutex, WaitGroup};

#[test]
fn readers_share_writers_exclude() {
    each_scheduler(
        "readers_share_writers_exclude",
        Duration::from_secs(60),
        || {
            // +1 per reader inside, -1000 for a writer inside: any overlap of a
            // writer with anyone else is seen by whoever enters second.
            let inside = Arc::new(AtomicIsize::new(0));
            let lock = Arc::new(RwMutex::new(0usize));
            let wg = WaitGroup::new();
            let per = stress(5_000);
            for i in 0..8 {
                wg.add(1);
                let (inside, lock, wg) = (inside.clone(), lock.clone(), wg.clone());
                gort::go(move || {
                    for _ in 0..per {
                        if i % 4 == 0 {
                            let mut g = lock.write();
                            assert_eq!(inside.fetch_sub(1000, Ordering::SeqCst), 0);
                            *g += 1;
                            inside.fetch_add(1000, Ordering::SeqCst);
                        } else {
                            let g = lock.read();
                            assert!(inside.fetch_add(1, Ordering::SeqCst) >= 0);
                            let _ = *g;
                            inside.fetch_sub(1, Ordering::SeqCst);
                        }
                    }
                    wg.done();
                });
            }
            wg.wait();
            assert_eq!(*lock.read(), 2 * per);
        },
    );
}

#[test]
fn try_variants() {
    let l = RwMutex::new(1);
    {
        let r1 = l.try_read().expect("free");
        let r2 = l.try_read().expect("readers share");
        assert!(l.try_write().is_none());
        assert_eq!(*r1 + *r2, 2);
    }
    {
        let mut w = l.try_write().expect("free");
        *w = 3;
        assert!(l.try_read().is_none());
        assert!(l.try_write().is_none());
    }
    assert_eq!(*l.read(), 3);
}

/// TinyGo #5692, first half: readers keep arriving, always overlapping, so
/// the read count never drops to zero on its own; a writer that asks must
/// still get in.
#[test]
fn waiting_writer_not_starved_by_later_readers() {
    each_scheduler(
        "waiting_writer_not_starved_by_later_readers",
        Duration::from_secs(30),
        || {
            let lock = Arc::new(RwMutex::new(()));
            let stop = Arc::new(AtomicBool::new(false));
            let started = Arc::new(AtomicUsize::new(0));
            let readers: Vec<_> = (0..4)
                .map(|_| {
                    let (lock, stop, started) = (lock.clone(), stop.clone(), started.clone());
                    gort::spawn(move || {
                        let mut n = 0usize;
                        while !stop.load(Ordering::Relaxed) {
                            let _g = lock.read();
                            if n == 0 {
                                started.fetch_add(1, Ordering::SeqCst);
                            }
                            gort::time::sleep(Duration::from_micros(200));
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            // Every reader is in its loop before the writer asks (thread
            // start-up is slow under emulators).
            while started.load(Ordering::SeqCst) < 4 {
                gort::time::sleep(Duration::from_millis(1));
            }
            for _ in 0..20 {
                drop(lock.write());
            }
            stop.store(true, Ordering::Relaxed);
            let reads: usize = readers.into_iter().map(|h| h.join().unwrap()).sum();
            assert!(reads > 0, "readers ran");
        },
    );
}

/// TinyGo #5692, second half: N readers queue behind a writer; when the
/// writer leaves they must all hold the lock at the same time, even though
/// a second writer is already waiting.
#[test]
fn readers_queued_behind_writer_all_enter_when_it_leaves() {
    each_scheduler(
        "readers_queued_behind_writer_all_enter_when_it_leaves",
        Duration::from_secs(30),
        || {
            const N: usize = 6;
            let lock = Arc::new(RwMutex::new(()));
            let arrived = Arc::new(AtomicUsize::new(0));
            let inside = Arc::new(AtomicUsize::new(0));
            let max_inside = Arc::new(AtomicUsize::new(0));
            let w1 = lock.write();
            let readers: Vec<_> = (0..N)
                .map(|_| {
                    let (lock, arrived, inside, max_inside) = (
                        lock.clone(),
                        arrived.clone(),
                        inside.clone(),
                        max_inside.clone(),
                    );
                    gort::spawn(move || {
                        arrived.fetch_add(1, Ordering::SeqCst);
                        let _g = lock.read();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        max_inside.fetch_max(now, Ordering::SeqCst);
                        // Stay until every queued reader is in (the writer
                        // behind us cannot enter before we leave).
                        while inside.load(Ordering::SeqCst) < N {
                            gort::time::sleep(Duration::from_millis(1));
                        }
                    })
                })
                .collect();
            // Every reader must queue before the second writer does: one
            // arriving after it would queue behind it, and the readers
            // inside wait for it forever. Goroutines start late under an
            // emulator on a loaded machine (CI saw a reader miss a fixed
            // 30 ms head start), so wait for all to arrive, then give the
            // one step from `arrived` to the queue time to happen.
            while arrived.load(Ordering::SeqCst) < N {
                gort::time::sleep(Duration::from_millis(1));
            }
            gort::time::sleep(Duration::from_millis(30));
            assert_eq!(
                inside.load(Ordering::SeqCst),
                0,
                "readers wait for the writer"
            );
            let second_writer = {
                let (lock, inside) = (lock.clone(), inside.clone());
                gort::spawn(move || {
                    let _g = lock.write();
                    inside.load(Ordering::SeqCst)
                })
            };
            gort::time::sleep(Duration::from_millis(10));
            drop(w1);
            for r in readers {
                r.join().unwrap();
            }
            assert_eq!(max_inside.load(Ordering::SeqCst), N);
            assert_eq!(
                second_writer.join().unwrap(),
                N,
                "second writer came after the readers"
            );
        },
    );
}
