//! Bare-metal benchmarks for the cores scheduler. Emulated time is not
//! real time, so what matters is the ratios within one run: a channel
//! ping-pong between two goroutines on one core against one on each core,
//! goroutine switches against a ping-pong, and Mutex hand-offs within one
//! core against across cores. Prints one line per measurement and a
//! `ratio` line per comparison; exits 0.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

use cortex_m_rt::entry;
use gort::chan::Chan;
use gort::sync::{Mutex, WaitGroup};
use gort::time::Instant;

/// Runs `f` (which does `n` operations) `runs` times; the median ns per
/// operation.
fn median_ns(runs: usize, n: u32, mut f: impl FnMut(u32)) -> f64 {
    let mut per_op: Vec<f64> = (0..runs)
        .map(|_| {
            let t0 = Instant::now();
            f(n);
            t0.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .collect();
    per_op.sort_by(f64::total_cmp);
    per_op[runs / 2]
}

/// Round trips on unbuffered channels between goroutines pinned to
/// `a` and `b`.
fn pingpong(a: usize, b: usize, n: u32) {
    let (ping, pong) = (Chan::new(0), Chan::new(0));
    let done = WaitGroup::new();
    done.add(2);
    let (p, q, d) = (ping.clone(), pong.clone(), done.clone());
    gort::bare::go_on(b, move || {
        for v in &p {
            q.send(v).unwrap();
        }
        d.done();
    });
    let d = done.clone();
    gort::bare::go_on(a, move || {
        for i in 0..n {
            ping.send(i).unwrap();
            pong.recv().unwrap();
        }
        ping.close();
        d.done();
    });
    done.wait();
}

/// Two goroutines pinned to `core` yielding to each other `n` times each.
fn switches(core: usize, n: u32) {
    let done = WaitGroup::new();
    for _ in 0..2 {
        done.add(1);
        let d = done.clone();
        gort::bare::go_on(core, move || {
            for _ in 0..n / 2 {
                gort::gosched();
            }
            d.done();
        });
    }
    done.wait();
}

/// Goroutines pinned to `a` and `b` each take a Mutex `n / 2` times.
fn lock_handoffs(a: usize, b: usize, n: u32) {
    let m: &'static Mutex<u64> = alloc::boxed::Box::leak(alloc::boxed::Box::new(Mutex::new(0)));
    let done = WaitGroup::new();
    for core in [a, b] {
        done.add(1);
        let d = done.clone();
        gort::bare::go_on(core, move || {
            for _ in 0..n / 2 {
                *m.lock() += 1;
            }
            d.done();
        });
    }
    done.wait();
    assert_eq!(*m.lock(), u64::from(n / 2 * 2));
}

#[entry]
fn main() -> ! {
    gort_firmware::init_heap();
    gort::bare::start(|| {
        let cores = gort::num_cpu();
        gort::println!("gort bare-metal bench: {cores} cores (emulated time: compare ratios only)");
        let other = if cores > 1 { 1 } else { 0 };
        let runs = 5;
        let pp_one = median_ns(runs, 2000, |n| pingpong(0, 0, n));
        let pp_two = median_ns(runs, 2000, |n| pingpong(0, other, n));
        let sw = median_ns(runs, 20000, |n| switches(0, n));
        let lk_one = median_ns(runs, 20000, |n| lock_handoffs(0, 0, n));
        let lk_two = median_ns(runs, 20000, |n| lock_handoffs(0, other, n));
        gort::println!("pingpong one core: {pp_one:.0} ns/round trip");
        gort::println!("pingpong two cores: {pp_two:.0} ns/round trip");
        gort::println!(
            "gosched switch: {sw:.0} ns ({:.0} switches/s emulated)",
            1e9 / sw
        );
        gort::println!("mutex lock one core: {lk_one:.0} ns/lock");
        gort::println!("mutex lock two cores: {lk_two:.0} ns/lock");
        gort::println!(
            "ratio pingpong two cores / one core: {:.2}",
            pp_two / pp_one
        );
        gort::println!(
            "ratio pingpong round trip / gosched switch: {:.2}",
            pp_one / sw
        );
        gort::println!(
            "ratio mutex lock two cores / one core: {:.2}",
            lk_two / lk_one
        );
        gort::bare::exit(0);
    })
}
