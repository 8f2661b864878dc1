//! The bare-metal conformance suite: gort's sync, channels, select and
//! timers on the cores scheduler. Each case prints `case NAME: ok` or
//! `case NAME: FAIL: why`; the last line is a summary, and the exit status
//! is 0 only if every case passed (CI reads both). A case that hangs is
//! caught by the runner's watchdog.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;
use portable_atomic::{AtomicPtr, AtomicU32, Ordering::Relaxed};

use cortex_m_rt::{entry, exception};
use gort::chan::Chan;
use gort::sync::{Mutex, WaitGroup};
use gort::time::Instant;

type Outcome = Result<(), String>;
type Case = (&'static str, fn() -> Outcome);

/// A value that lives for the rest of the program (goroutines share it).
fn leak<T>(value: T) -> &'static T {
    alloc::boxed::Box::leak(alloc::boxed::Box::new(value))
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Outcome {
    if cond { Ok(()) } else { Err(what()) }
}

/// `n` goroutines each add 1 to a Mutex-guarded pair of counters `per`
/// times; the guarded read-modify-write is not atomic, so a broken mutex
/// loses counts.
fn mutex_counts() -> Outcome {
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
fn waitgroup() -> Outcome {
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
fn unbuffered_pingpong() -> Outcome {
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
fn buffered_exactly_once() -> Outcome {
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
fn opposite_order_selects() -> Outcome {
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
fn sleep_lasts() -> Outcome {
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
fn after_and_timeout() -> Outcome {
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

/// The SysTick handler's channel (set before the handler is enabled).
static TICKS: AtomicPtr<Chan<u32>> = AtomicPtr::new(core::ptr::null_mut());
static TICKS_SENT: AtomicU32 = AtomicU32::new(0);
static TICKS_DROPPED: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    // SAFETY: set once from a leaked Box before SysTick was enabled, never
    // freed.
    let Some(c) = (unsafe { TICKS.load(Relaxed).as_ref() }) else {
        return;
    };
    match c.try_send(TICKS_SENT.load(Relaxed)) {
        Ok(()) => TICKS_SENT.fetch_add(1, Relaxed),
        Err(_) => TICKS_DROPPED.fetch_add(1, Relaxed),
    };
}

const SYST_CSR: *mut u32 = 0xE000_E010 as *mut u32;
const SYST_RVR: *mut u32 = 0xE000_E014 as *mut u32;
const SYST_CVR: *mut u32 = 0xE000_E018 as *mut u32;

fn systick(reload: Option<u32>) {
    // SAFETY: the architectural SysTick registers of the running core.
    unsafe {
        match reload {
            Some(r) => {
                SYST_RVR.write_volatile(r);
                SYST_CVR.write_volatile(0);
                SYST_CSR.write_volatile(0b111); // enable, interrupt, core clock
            }
            None => SYST_CSR.write_volatile(0),
        }
    }
}

/// An interrupt handler sends on a channel (`try_send`) while goroutines
/// on every core use that channel and the run queue: no deadlock against
/// a lock its own core holds, and every value sent is received exactly
/// once, in order.
fn interrupt_sends() -> Outcome {
    let want = 300u32;
    let c: &'static Chan<u32> = leak(Chan::new(4));
    TICKS.store(c as *const _ as *mut _, Relaxed);
    // Busy goroutines keep the queues' locks taken while ticks arrive.
    let stop = Chan::<()>::new(0);
    let busy = WaitGroup::new();
    for _ in 0..2 {
        busy.add(1);
        let (stop, busy) = (stop.clone(), busy.clone());
        gort::go(move || {
            let local = Chan::new(1);
            loop {
                gort::select! {
                    recv(stop) -> _ => break,
                    default => {
                        local.send(1u8).unwrap();
                        local.recv();
                        gort::gosched();
                    }
                }
            }
            busy.done();
        });
    }
    systick(Some(20_000));
    let mut next = 0;
    while next < want {
        match c.recv() {
            Some(v) if v == next => next += 1,
            other => {
                systick(None);
                return Err(format!("tick {next}: got {other:?}"));
            }
        }
    }
    systick(None);
    stop.close();
    busy.wait();
    // Drain what came after `want` and before the stop.
    let sent = TICKS_SENT.load(Relaxed);
    while c.try_recv().is_ok() {
        next += 1;
    }
    check(next == sent, || {
        format!("received {next}, handler sent {sent}")
    })
}

/// Goroutines finish and are counted out; the heap returns to where it
/// was (stacks are pooled, so a second round allocates none).
fn goroutines_counted_and_freed() -> Outcome {
    let round = || {
        let wg = WaitGroup::new();
        for _ in 0..16 {
            wg.add(1);
            let wg = wg.clone();
            gort::go(move || {
                gort::gosched();
                wg.done();
            });
        }
        wg.wait();
        // Let the last ones switch out and be counted.
        for _ in 0..4 {
            gort::time::sleep(Duration::from_millis(1));
        }
    };
    let base = gort::num_goroutine();
    round();
    let heap1 = gort_firmware::heap_used();
    round();
    let heap2 = gort_firmware::heap_used();
    let after = gort::num_goroutine();
    check(after == base && heap2 <= heap1, || {
        format!("goroutines {base} -> {after}; heap {heap1} -> {heap2}")
    })
}

/// Per-core counters: with two cores, both ran goroutines.
fn both_cores_ran() -> Outcome {
    let runs: Vec<u32> = (0..gort::num_cpu())
        .map(gort::bare::goroutine_runs)
        .collect();
    check(runs.iter().all(|&r| r > 0), || {
        format!("goroutine runs per core: {runs:?}")
    })
}

#[entry]
fn main() -> ! {
    gort_firmware::init_heap();
    gort::bare::set_stack_size(gort_firmware::STACK_SIZE);
    gort::bare::start(|| {
        let cases: &[Case] = &[
            ("mutex_counts", mutex_counts),
            ("waitgroup", waitgroup),
            ("unbuffered_pingpong", unbuffered_pingpong),
            ("buffered_exactly_once", buffered_exactly_once),
            ("opposite_order_selects", opposite_order_selects),
            ("sleep_lasts", sleep_lasts),
            ("after_and_timeout", after_and_timeout),
            ("interrupt_sends", interrupt_sends),
            ("goroutines_counted_and_freed", goroutines_counted_and_freed),
            ("both_cores_ran", both_cores_ran),
        ];
        gort::println!("gort conformance: {} cores", gort::num_cpu());
        let (mut failed, mut skipped) = (0, 0);
        for (name, case) in cases {
            if *name == "both_cores_ran" && gort::num_cpu() < 2 {
                gort::println!("case {name}: skipped (one core)");
                skipped += 1;
                continue;
            }
            let t0 = Instant::now();
            match case() {
                Ok(()) => gort::println!("case {name}: ok ({} us)", t0.elapsed().as_micros()),
                Err(why) => {
                    failed += 1;
                    gort::println!("case {name}: FAIL: {why}");
                }
            }
        }
        let runs: Vec<u32> = (0..gort::num_cpu())
            .map(gort::bare::goroutine_runs)
            .collect();
        gort::println!(
            "summary: {} passed, {failed} failed, {skipped} skipped; goroutine runs per core {runs:?}",
            cases.len() - failed - skipped
        );
        gort::bare::exit(if failed == 0 { 0 } else { 1 });
    })
}
