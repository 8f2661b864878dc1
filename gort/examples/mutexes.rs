//! Go by Example: mutexes. gort's `sync::Mutex` owns the data it guards
//! (Go's sits beside it), and `lock()` returns a guard that unlocks when
//! dropped, like Go's `defer mu.Unlock()`. A goroutine waiting for it parks
//! (the worker thread runs other goroutines), unlike a std lock.

use std::collections::BTreeMap;
use std::sync::Arc;

use gort::sync::{Mutex, WaitGroup};

/// Named counters that several goroutines update.
struct Tally {
    counts: Mutex<BTreeMap<&'static str, u32>>,
}

impl Tally {
    fn bump(&self, name: &'static str) {
        let mut counts = self.counts.lock();
        *counts.entry(name).or_insert(0) += 1;
    } // the guard drops here, unlocking
}

#[gort::main]
fn main() {
    let tally = Arc::new(Tally {
        counts: Mutex::new(BTreeMap::new()),
    });
    let wg = WaitGroup::new();

    // Two goroutines bump "red" and one bumps "blue", all at once.
    for (name, times) in [("red", 8000), ("red", 8000), ("blue", 5000)] {
        wg.add(1);
        let (tally, wg) = (tally.clone(), wg.clone());
        gort::go(move || {
            for _ in 0..times {
                tally.bump(name);
            }
            wg.done();
        });
    }

    wg.wait();
    // A BTreeMap prints its keys in order, as Go's fmt prints a map.
    gort::println!("{:?}", *tally.counts.lock());
}
