//! `task::park` and `Task::unpark` with several unparkers at once, for a
//! plain thread and for a goroutine. CI also runs this file under
//! ThreadSanitizer (`.ci/tsan.sh`), which reports any unpark that touches
//! memory another unpark or the parked task owns.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{each_scheduler, stress};
use gort::chan::Chan;
use gort::task::{self, TaskRef};

const UNPARKERS: usize = 4;

/// `UNPARKERS` goroutines unpark `waiter` once a round, each after
/// counting its step; the caller, which is `waiter`, starts each round and
/// parks until every step of it is counted. So it parks often, and is
/// unparked by several goroutines in each park. Returns the handles to
/// join.
fn unpark_storm(waiter: TaskRef, rounds: usize) -> Vec<gort::JoinHandle<()>> {
    let round = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let handles = (0..UNPARKERS)
        .map(|_| {
            let (waiter, round, done) = (waiter.clone(), round.clone(), done.clone());
            gort::spawn(move || {
                for r in 1..=rounds {
                    while round.load(Ordering::Acquire) < r {
                        gort::gosched();
                    }
                    // Give the waiter time to park for real (past its
                    // spinning); correctness does not depend on it.
                    gort::time::sleep(Duration::from_micros(50));
                    // Release only: the unparkers stay unordered with each
                    // other, as a channel's senders are.
                    done.fetch_add(1, Ordering::Release);
                    waiter.unpark();
                }
            })
        })
        .collect();
    for r in 1..=rounds {
        round.store(r, Ordering::Release);
        while done.load(Ordering::Acquire) < r * UNPARKERS {
            task::park();
        }
    }
    handles
}

/// The parked task sees every unparker's steps, whether it is a plain
/// thread (parked on its futex) or a goroutine (switched out on M:N).
#[test]
fn many_unparkers_of_one_task() {
    each_scheduler(
        "many_unparkers_of_one_task",
        Duration::from_secs(120),
        || {
            let rounds = stress(500);
            // A goroutine waiter.
            for h in unpark_storm(task::current(), rounds) {
                h.join().unwrap();
            }
            // A plain-thread waiter; it reports back over a channel, so this
            // goroutine never blocks its worker.
            let back = Chan::new(0);
            let b = back.clone();
            let t = std::thread::spawn(move || {
                for h in unpark_storm(task::current(), rounds) {
                    h.join().unwrap();
                }
                b.send(()).unwrap();
            });
            back.recv().unwrap();
            t.join().unwrap();
        },
    );
}
