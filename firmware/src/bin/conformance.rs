//! The bare-metal conformance suite: gort's sync, channels, select and
//! timers on the cores scheduler. The portable cases are the very bodies
//! the hosted tests run under the threads and M:N schedulers
//! (`gort/tests/portable/mod.rs`); the ones here need a board (an
//! interrupt handler, the heap, two cores). Each case prints `case NAME:
//! ok` or `case NAME: FAIL: why`; the last line is a summary, and the exit
//! status is 0 only if every case passed (CI reads both). A case that
//! hangs is caught by the runner's watchdog.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;
use core::time::Duration;
use portable_atomic::{AtomicPtr, AtomicU32, Ordering::Relaxed};

use cortex_m_rt::{entry, exception};
use gort::chan::Chan;
use gort::sync::WaitGroup;
use gort::time::Instant;

#[path = "../../../gort/tests/portable/mod.rs"]
mod portable;
use portable::{Case, Outcome};

fn check(cond: bool, what: impl FnOnce() -> alloc::string::String) -> Outcome {
    if cond { Ok(()) } else { Err(what()) }
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
/// on every core (one of them on the interrupted core) take channel and
/// run-queue locks: no deadlock against a lock its own core holds, and
/// every value sent is received exactly once, in order. Runs pinned to
/// core 0, whose SysTick it uses (it must stop the timer it started).
fn interrupt_sends() -> Outcome {
    let result = Chan::new(1);
    let tx = result.clone();
    gort::bare::go_on(0, move || tx.send(interrupt_sends_on_core0()).unwrap());
    result.recv().unwrap()
}

fn interrupt_sends_on_core0() -> Outcome {
    let want = 300u32;
    let c: &'static Chan<u32> = alloc::boxed::Box::leak(alloc::boxed::Box::new(Chan::new(4)));
    TICKS.store(c as *const _ as *mut _, Relaxed);
    // Busy goroutines keep the queues' locks taken while ticks arrive.
    let stop = Chan::<()>::new(0);
    let busy = WaitGroup::new();
    for core in [0, gort::num_cpu() - 1] {
        busy.add(1);
        let (stop, busy) = (stop.clone(), busy.clone());
        gort::bare::go_on(core, move || {
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
    // Waits (up to 100 ms) until only the main goroutine is left: earlier
    // cases' goroutines may still be on their way out.
    let settle = || {
        for _ in 0..100 {
            if gort::num_goroutine() == 1 {
                break;
            }
            gort::time::sleep(Duration::from_millis(1));
        }
        gort::num_goroutine()
    };
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
        settle()
    };
    let base = settle();
    let after1 = round();
    let heap1 = gort_firmware::heap_used();
    let after2 = round();
    let heap2 = gort_firmware::heap_used();
    check(
        base == 1 && after1 == 1 && after2 == 1 && heap2 <= heap1,
        || format!("goroutines {base} -> {after1} -> {after2} (want 1); heap {heap1} -> {heap2}"),
    )
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
        let board: &[Case] = &[
            ("interrupt_sends", interrupt_sends),
            ("goroutines_counted_and_freed", goroutines_counted_and_freed),
            ("both_cores_ran", both_cores_ran),
        ];
        let cases: Vec<Case> = portable::CASES.iter().chain(board).copied().collect();
        gort::println!("gort conformance: {} cores", gort::num_cpu());
        let (mut failed, mut skipped) = (0, 0);
        for (name, case) in &cases {
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
