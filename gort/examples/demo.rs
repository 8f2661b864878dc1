//! Fans work out to one goroutine per core and shows who did what.
//!
//! Each goroutine counts the primes in its share of 0..N; a WaitGroup waits
//! for all of them and a Mutex gathers the per-goroutine results.

use std::sync::Arc;
use std::time::Instant;

use gort::sync::{Mutex, WaitGroup};

const N: u64 = 4_000_000;
const CHUNK: u64 = 10_000;

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

fn main() {
    let workers = gort::gomaxprocs() * 4;
    gort::println!(
        "gort demo: counting primes below {N} with {workers} goroutines on {} CPUs \
         ({:?} scheduler; GORT_SCHEDULER=threads|mn)",
        gort::num_cpu(),
        gort::Builder::new().scheduler_choice()
    );
    let results = Arc::new(Mutex::new(Vec::new()));
    let wg = WaitGroup::new();
    let start = Instant::now();
    for w in 0..workers as u64 {
        wg.add(1);
        let (wg, results) = (wg.clone(), results.clone());
        gort::go(move || {
            let began = Instant::now();
            // Chunks dealt round-robin balance the work across goroutines.
            let count: usize = (w * CHUNK..N)
                .step_by(workers * CHUNK as usize)
                .map(|lo| (lo..(lo + CHUNK).min(N)).filter(|&n| is_prime(n)).count())
                .sum();
            let id = gort::task::current().id();
            results.lock().push((w, id, count, began.elapsed()));
            wg.done();
        });
    }
    gort::println!("live goroutines after fan-out: {}", gort::num_goroutine());
    wg.wait();
    let elapsed = start.elapsed();
    let mut results = results.lock();
    results.sort();
    let mut total = 0;
    for (w, id, count, took) in results.iter() {
        gort::println!("  slice {w:2} on goroutine {id:3}: {count:6} primes in {took:?}");
        total += count;
    }
    gort::println!("total: {total} primes below {N} in {elapsed:?}");
    assert_eq!(total, 283_146, "prime count below 4,000,000");

    let start = Instant::now();
    let alone = (0..N).filter(|&n| is_prime(n)).count();
    let one = start.elapsed();
    assert_eq!(alone, total);
    gort::println!(
        "one thread alone: {one:?}; speedup with goroutines: {:.2}x",
        one.as_secs_f64() / elapsed.as_secs_f64()
    );
}
