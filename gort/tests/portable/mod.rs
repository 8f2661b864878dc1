//! Test bodies that need no std, so the same code runs under every
//! scheduler: the threads and M:N schedulers in `tests/portable_cases.rs`,
//! and the bare-metal cores scheduler in the firmware's conformance suite
//! (`firmware/src/bin/conformance.rs`, on QEMU's two Cortex-M33 cores and
//! the RP2040). Each returns `Err` with what went wrong. Only atomics'
//! loads and stores are used (the Cortex-M0+ has nothing else natively).
#![allow(dead_code)]

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering::Relaxed};
use core::time::Duration;

use gort::chan::Chan;
use gort::sync::{Mutex, WaitGroup};
use gort::time::Instant;

pub type Outcome = Result<(), String>;
pub type Case = (&'static str, fn() -> Outcome);

/// Every case, by name.
pub const CASES: &[Case] = &[
    ("mutex_counts", mutex_counts),
    ("waitgroup", waitgroup),
    ("unbuffered_pingpong", unbuffered_pingpong),
    ("buffered_exactly_once", buffered_exactly_once),
    ("opposite_order_selects", opposite_order_selects),
    ("sleep_lasts", sleep_lasts),
    ("after_and_timeout", after_and_timeout),
];

fn check(cond: bool, what: impl FnOnce() -> String) -> Outcome {
    if cond { Ok(()) } else { Err(what()) }
}

/// A value that lives for the rest of the program (goroutines share it).
fn leak<T>(value: T) -> &'static T {
    alloc::boxed::Box::leak(alloc::boxed::Box::new(value))
}

/// `n` goroutines each add 1 to a Mutex-guarded pair of counters `per`
/// times; the guarded read-modify-write is not atomic, so a broken mutex
/// loses counts.
pub fn mutex_counts() -> Outcome {
    let (n, per) = (4u32, 2000u32);
    let counter = leak(Mutex::new((0u32, 0u32)));
    let wg = WaitGroup::new();
    for _ in 0..n {
        wg.add(1);
        let wg = wg.clone();
        gort::go(move || {
            for i in 0..per {
                let mut g = counter.lock();
                let v = g.0;
                if i % 64 == 0 {
                    gort::gosched(); // hold the lock across a switch
                }
                g.0 = v + 1;
                g.1 += 1;
            }
            wg.done();
        });
    }
    wg.wait();
    let g = counter.lock();
    check(*g == (n * per, n * per), || {
        format!("counted {:?}, want {}", *g, n * per)
    })
}

/// Every goroutine's `done` is seen by `wait`, and `wait` returns only
/// after all of them.
pub fn waitgroup() -> Outcome {
    let n = 16;
    let flags: &'static Vec<AtomicU32> = leak((0..n).map(|_| AtomicU32::new(0)).collect());
    let wg = WaitGroup::new();
    wg.add(n as isize);
    for (i, flag) in flags.iter().enumerate() {
        let wg = wg.clone();
        gort::go(move || {
            gort::time::sleep(Duration::from_micros(100 * (i as u64 % 4)));
            flag.store(1, Relaxed);
            wg.done();
        });
    }
    wg.wait();
    let set = flags.iter().filter(|f| f.load(Relaxed) == 1).count();
    check(set == n, || {
        format!("{set} of {n} goroutines done after wait")
    })
}

/// Ping-pong on two unbuffered channels; every value comes back +1, in
/// order.
pub fn unbuffered_pingpong() -> Outcome {
    let rounds = 2000u32;
    let (ping, pong) = (Chan::new(0), Chan::new(0));
    let (p, q) = (ping.clone(), pong.clone());
    gort::go(move || {
        for v in &p {
            q.send(v + 1).unwrap();
        }
        q.close();
    });
    for i in 0..rounds {
        ping.send(i).unwrap();
        let got = pong.recv();
        if got != Some(i + 1) {
            return Err(format!("round {i}: got {got:?}"));
        }
    }
    ping.close();
    check(pong.recv().is_none(), || {
        "pong not closed after ping".into()
    })
}

/// Producers send distinct values into a small buffer; a consumer checks
/// each arrives exactly once and each producer's values stay in order.
pub fn buffered_exactly_once() -> Outcome {
    let (producers, per) = (4usize, 1000usize);
    let c = Chan::new(8);
    let wg = WaitGroup::new();
    for p in 0..producers {
        wg.add(1);
        let (c, wg) = (c.clone(), wg.clone());
        gort::go(move || {
            for i in 0..per {
                c.send(p * per + i).unwrap();
            }
            wg.done();
        });
    }
    let closer = c.clone();
    gort::go(move || {
        wg.wait();
        closer.close();
    });
    let mut seen = vec![false; producers * per];
    let mut last = vec![None::<usize>; producers];
    for v in &c {
        if core::mem::replace(&mut seen[v], true) {
            return Err(format!("{v} received twice"));
        }
        let p = v / per;
        if last[p].is_some_and(|l| l > v) {
            return Err(format!("producer {p}: {v} after {:?}", last[p]));
        }
        last[p] = Some(v);
    }
    let missing = seen.iter().filter(|s| !**s).count();
    check(missing == 0, || format!("{missing} values never received"))
}

/// The seed's opposite-order selects: two goroutines each select over a
/// send on one channel and a receive on the other, listing them in
/// opposite orders. No deadlock, and every send meets one receive.
pub fn opposite_order_selects() -> Outcome {
    let rounds = 1000u32;
    let (a, b) = (Chan::<u32>::new(0), Chan::<u32>::new(0));
    let done = Chan::new(2);
    for side in 0..2u32 {
        let (a, b, done) = (a.clone(), b.clone(), done.clone());
        gort::go(move || {
            let (mut sent, mut got) = (0u32, 0u32);
            for _ in 0..rounds {
                if side == 0 {
                    gort::select! {
                        send(a, 1) -> r => { r.unwrap(); sent += 1 },
                        recv(b) -> v => { got += v.unwrap() },
                    }
                } else {
                    gort::select! {
                        recv(a) -> v => { got += v.unwrap() },
                        send(b, 1) -> r => { r.unwrap(); sent += 1 },
                    }
                }
            }
            done.send((sent, got)).unwrap();
        });
    }
    let (x, y) = (done.recv().unwrap(), done.recv().unwrap());
    check(x.0 == y.1 && y.0 == x.1 && x.0 + x.1 == rounds, || {
        format!("sides (sent, got): {x:?} and {y:?}")
    })
}

/// `sleep` lasts at least its duration on the board clock.
pub fn sleep_lasts() -> Outcome {
    for ms in [1u64, 5, 20] {
        let t0 = Instant::now();
        gort::time::sleep(Duration::from_millis(ms));
        let took = t0.elapsed();
        if took < Duration::from_millis(ms) {
            return Err(format!("sleep({ms} ms) took {took:?}"));
        }
    }
    Ok(())
}

/// `after` delivers once, not before its time, and a select with a
/// timeout gives up on a channel nobody sends to.
pub fn after_and_timeout() -> Outcome {
    let t0 = Instant::now();
    let c = gort::time::after(Duration::from_millis(10));
    let at = c.recv().ok_or("after: channel closed")?;
    if at.duration_since(t0) < Duration::from_millis(10) || t0.elapsed() < Duration::from_millis(10)
    {
        return Err(format!(
            "after(10 ms) fired after {:?}",
            at.duration_since(t0)
        ));
    }
    if c.try_recv().is_ok() {
        return Err("after delivered twice".into());
    }
    let never = Chan::<u32>::new(0);
    let t1 = Instant::now();
    let timed_out = gort::select! {
        recv(never) -> _ => false,
        default(Duration::from_millis(5)) => true,
    };
    check(
        timed_out && t1.elapsed() >= Duration::from_millis(5),
        || format!("select timeout: fired={timed_out} after {:?}", t1.elapsed()),
    )
}
