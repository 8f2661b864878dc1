//! Go by Example: atomic counters. Go's `sync/atomic` types are Rust's
//! `std::sync::atomic`, shared between goroutines through an `Arc`. Many
//! goroutines add to one counter at once without a lock, and none of the
//! increments is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gort::sync::WaitGroup;

const GOROUTINES: u64 = 40;
const ADDS_EACH: u64 = 500;

#[gort::main]
fn main() {
    let hits = Arc::new(AtomicU64::new(0));
    let wg = WaitGroup::new();

    for _ in 0..GOROUTINES {
        wg.add(1);
        let (hits, wg) = (hits.clone(), wg.clone());
        gort::go(move || {
            for _ in 0..ADDS_EACH {
                // Relaxed suffices for a pure counter (Go's atomics are
                // always sequentially consistent: Ordering::SeqCst).
                hits.fetch_add(1, Ordering::Relaxed);
            }
            wg.done();
        });
    }

    // `wait` orders every goroutine's adds before this load.
    wg.wait();
    gort::println!("hits: {}", hits.load(Ordering::Relaxed));
}
