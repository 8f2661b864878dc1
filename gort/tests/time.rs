//! Timers: sleep, after, tick, Timer and Ticker with Go's stop/reset
//! semantics, the stop-vs-fire race (TinyGo #5487), and 100,000 timers.

mod common;

use std::time::{Duration, Instant};

use common::{each_scheduler, stress};
use gort::chan::Chan;
use gort::chan::TryRecvError;
use gort::sync::WaitGroup;
use gort::time::{Ticker, Timer, after, after_func, sleep, tick};

const MS: Duration = Duration::from_millis(1);

#[test]
fn sleep_lasts_at_least_its_duration() {
    each_scheduler("sleep_lasts", Duration::from_secs(30), || {
        for d in [Duration::ZERO, MS, 20 * MS] {
            let t = Instant::now();
            sleep(d);
            assert!(t.elapsed() >= d, "slept {:?} for {d:?}", t.elapsed());
        }
    });
}

#[test]
fn many_goroutines_sleep_concurrently() {
    each_scheduler("many_sleep", Duration::from_secs(60), || {
        let n = 200;
        let wg = WaitGroup::new();
        let t = Instant::now();
        for i in 0..n {
            wg.add(1);
            let wg = wg.clone();
            gort::go(move || {
                sleep(Duration::from_millis(20 + (i % 5) as u64));
                wg.done();
            });
        }
        wg.wait();
        assert!(t.elapsed() >= 20 * MS);
    });
}

#[test]
fn after_delivers_once() {
    each_scheduler("after_delivers_once", Duration::from_secs(30), || {
        let t = Instant::now();
        let c = after(10 * MS);
        let at = c.recv().expect("after delivers");
        assert!(at >= t + 10 * MS);
        assert_eq!(
            c.recv_timeout(30 * MS),
            Err(gort::chan::RecvTimeoutError::Timeout)
        );
    });
}

#[test]
fn tick_delivers_repeatedly_and_zero_is_nil() {
    each_scheduler("tick", Duration::from_secs(30), || {
        let c = tick(5 * MS);
        let t = Instant::now();
        for _ in 0..5 {
            c.recv().unwrap();
        }
        assert!(
            t.elapsed() >= 20 * MS,
            "5 ticks of 5 ms in {:?}",
            t.elapsed()
        );
        assert!(tick(Duration::ZERO).is_nil(), "Go's Tick(0) is nil");
    });
}

#[test]
fn timer_stop_and_reset_return_gos_values() {
    each_scheduler("timer_stop_reset", Duration::from_secs(30), || {
        // Stopped before firing: true, and nothing arrives.
        let t = Timer::new(20 * MS);
        assert!(t.stop());
        assert!(!t.stop(), "second stop: already stopped");
        assert_eq!(
            t.c.recv_timeout(40 * MS),
            Err(gort::chan::RecvTimeoutError::Timeout)
        );
        // Fired and received: stop is false.
        let t = Timer::new(MS);
        t.c.recv().unwrap();
        assert!(!t.stop());
        // Fired, not received: Go 1.23 semantics: stop discards the value
        // and reports true; nothing stale is received afterwards.
        let t = Timer::new(MS);
        sleep(20 * MS);
        assert!(t.stop());
        assert_eq!(t.c.try_recv(), Err(TryRecvError::Empty));
        // Reset of a stopped timer: false, and it fires again.
        assert!(!t.reset(5 * MS));
        assert!(t.c.recv_timeout(Duration::from_secs(5)).is_ok());
        // Reset of a pending timer: true; fires once, at the new time.
        let t = Timer::new(Duration::from_secs(3600));
        let start = Instant::now();
        assert!(t.reset(10 * MS));
        t.c.recv().unwrap();
        assert!(start.elapsed() >= 10 * MS);
        assert_eq!(
            t.c.recv_timeout(30 * MS),
            Err(gort::chan::RecvTimeoutError::Timeout)
        );
    });
}

/// TinyGo #5487: a `stop` racing the timer's own firing must be safe, and
/// afterwards exactly one of "stop returned true" / "a value arrives"
/// holds.
#[test]
fn stop_racing_the_firing() {
    each_scheduler("stop_racing_the_firing", Duration::from_secs(60), || {
        let (mut stopped, mut fired) = (0, 0);
        for i in 0..stress(500) {
            let t = Timer::new(Duration::from_micros((i % 7) as u64 * 50));
            if i % 3 == 0 {
                std::thread::yield_now();
            }
            let stop = t.stop();
            let got = t.c.try_recv().is_ok();
            assert!(!(stop && got), "stop said pending but a value arrived");
            // Nothing may arrive later either.
            if stop {
                stopped += 1;
            } else {
                assert!(got || t.c.recv_timeout(MS).is_err(), "value after stop");
                fired += got as usize;
            }
        }
        assert!(stopped + fired > 0);
    });
}

#[test]
#[cfg(panic = "unwind")]
fn ticker_zero_interval_panics_with_gos_message() {
    let e = std::panic::catch_unwind(|| Ticker::new(Duration::ZERO)).unwrap_err();
    assert_eq!(
        e.downcast_ref::<&str>().copied(),
        Some("non-positive interval for NewTicker")
    );
}

#[test]
#[cfg(panic = "unwind")]
fn ticker_reset_to_zero_panics_with_gos_message() {
    let t = Ticker::new(Duration::from_secs(3600));
    let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.reset(Duration::ZERO)))
        .unwrap_err();
    assert_eq!(
        e.downcast_ref::<&str>().copied(),
        Some("non-positive interval for Ticker.Reset")
    );
}

/// A duration too long to represent as a deadline (`Duration::MAX`) makes
/// a timer that never fires but is active, as in Go: `stop` and `reset`
/// say it was pending.
#[test]
fn a_timer_too_far_off_to_fire_is_still_active() {
    each_scheduler("never_firing_timers", Duration::from_secs(30), || {
        let t = Timer::new(Duration::MAX);
        assert_eq!(t.c.try_recv(), Err(TryRecvError::Empty));
        assert!(t.stop(), "a never-firing timer is active");
        assert!(!t.stop(), "second stop: already stopped");
        assert!(!t.reset(Duration::MAX), "it was stopped");
        assert!(t.reset(MS), "reset of a never-firing timer: it was active");
        t.c.recv().unwrap(); // the reset one fires
        assert!(!t.stop());

        let t = Timer::new(MS);
        t.c.recv().unwrap();
        assert!(!t.reset(Duration::MAX), "it had fired");
        assert!(t.stop(), "reset to never: active again");

        let mut call = after_func(Duration::MAX, || unreachable!("never called"));
        assert!(call.stop(), "a never-firing call is active");
        assert!(!call.stop());

        let tk = Ticker::new(Duration::MAX);
        assert_eq!(tk.c.try_recv(), Err(TryRecvError::Empty));
        tk.reset(MS);
        tk.c.recv().unwrap(); // ticks after a reset
        tk.stop();

        let c = after(Duration::MAX);
        assert_eq!(c.try_recv(), Err(TryRecvError::Empty));
        assert!(!tick(Duration::MAX).is_nil());
    });
}

/// An `after_func` callback that blocks (here: sends on an unbuffered
/// channel that is read only at the end, Go's AfterFunc idiom) delays no
/// other timer: timer channels, plain-thread sleeps, tickers and other
/// callbacks all fire while it waits. It is released only after they all
/// fired, so a stall is a hang the watchdog turns into a failure.
#[test]
fn a_blocked_after_func_callback_delays_no_other_timer() {
    each_scheduler("blocked_after_func", Duration::from_secs(60), || {
        let started = Chan::new(1);
        let gate = Chan::<u32>::new(0);
        let (s, g) = (started.clone(), gate.clone());
        let _blocked = after_func(MS, move || {
            s.send(()).unwrap();
            g.send(7).unwrap(); // blocks until the end of the test
        });
        started.recv().unwrap();

        let mut fired = 0;
        after(10 * MS).recv().unwrap();
        fired += 1;
        let t = Timer::new(MS);
        t.c.recv().unwrap();
        fired += 1;
        std::thread::spawn(|| sleep(5 * MS)).join().unwrap();
        fired += 1;
        sleep(5 * MS);
        fired += 1;
        let ticks = tick(MS);
        for _ in 0..3 {
            ticks.recv().unwrap();
            fired += 1;
        }
        let other = Chan::new(1);
        let o = other.clone();
        let _call = after_func(MS, move || o.send("other").unwrap());
        assert_eq!(other.recv(), Some("other"));
        fired += 1;
        let r = gort::select! {
            recv(Chan::<()>::nil()) -> _ => 0,
            default(2 * MS) => 1,
        };
        fired += r;
        assert_eq!(fired, 9);

        assert_eq!(gate.recv(), Some(7), "the blocked callback finishes");
    });
}

/// In a child process: an `after_func` callback panics with "boom".
#[test]
fn child_after_func_panics() {
    if common::is_child() {
        let _call = after_func(MS, || panic!("boom"));
        std::thread::sleep(Duration::from_secs(10));
        unreachable!("the process should have exited");
    }
}

/// A panicking `after_func` callback ends the process as a goroutine's
/// unrecovered panic does: Go's message and exit status 2.
#[test]
#[cfg(all(not(target_family = "wasm"), panic = "unwind"))]
fn an_after_func_panic_exits_2_with_gos_message() {
    if common::is_child() {
        return;
    }
    for sched in common::schedulers() {
        let name = if sched == gort::Scheduler::MN {
            "mn"
        } else {
            "threads"
        };
        let (code, _, err) =
            common::run_child("child_after_func_panics", &[("GORT_SCHEDULER", name)]);
        assert_eq!(code, Some(2), "{name}: stderr: {err}");
        assert!(err.contains("panic: boom"), "{name}: stderr: {err}");
        assert!(
            err.contains("goroutine ") && err.contains("[running]"),
            "{name}: stderr: {err}"
        );
    }
}

#[test]
fn select_timeout_and_after_in_select() {
    each_scheduler("select_timeout", Duration::from_secs(30), || {
        let never = gort::chan::Chan::<i32>::new(0);
        let t = Instant::now();
        let r = gort::select! {
            recv(never) -> _v => 0,
            default(15 * MS) => 1,
        };
        assert_eq!(r, 1);
        assert!(t.elapsed() >= 15 * MS);
        let timeout = after(10 * MS);
        let r = gort::select! {
            recv(never) -> _v => 0,
            recv(timeout) -> _t => 2,
        };
        assert_eq!(r, 2);
    });
}

/// One worker, 100 goroutines asleep at once: each counts itself before
/// sleeping, and the last one can only count if no sleeper holds the
/// worker. Then all wake.
#[test]
fn sleepers_hold_no_worker() {
    for sched in common::schedulers() {
        let _dog = common::Watchdog::new("sleepers_hold_no_worker", Duration::from_secs(60));
        let rt = gort::Builder::new().scheduler(sched).workers(1).build();
        let woke = rt.run(|| {
            let n = 100;
            let asleep = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let all_asleep = WaitGroup::new();
            all_asleep.add(n);
            let handles: Vec<_> = (0..n)
                .map(|_| {
                    let (asleep, all_asleep) = (asleep.clone(), all_asleep.clone());
                    gort::spawn(move || {
                        asleep.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        all_asleep.done();
                        sleep(50 * MS);
                    })
                })
                .collect();
            all_asleep.wait();
            assert_eq!(asleep.load(std::sync::atomic::Ordering::SeqCst), n as usize);
            handles
                .into_iter()
                .map(|h| h.join())
                .filter(Result::is_ok)
                .count()
        });
        assert_eq!(woke, 100, "{sched:?}");
    }
}

/// A short sleep armed while an idle worker already sleeps until a much
/// later deadline (an hour away) wakes on time: arming the earlier deadline
/// must wake that worker. A lost wakeup here hangs until the watchdog.
#[test]
fn an_earlier_deadline_wakes_the_worker_waiting_for_a_later_one() {
    each_scheduler("earlier_deadline", Duration::from_secs(60), || {
        let quit = gort::chan::Chan::<()>::new(0);
        let q = quit.clone();
        let long = gort::spawn(move || {
            gort::select! {
                recv(q) -> _ => true,
                default(Duration::from_secs(3600)) => false,
            }
        });
        // Let the other worker go idle and wait for the hour-long timeout
        // (this blocks ours, which is the point).
        std::thread::sleep(20 * MS);
        let t = Instant::now();
        sleep(20 * MS);
        assert!(t.elapsed() >= 20 * MS);
        quit.close();
        assert!(long.join().unwrap(), "the long wait ended by the close");
    });
}

/// In a child process: M:N goroutines sleep and time out without the
/// global timer thread ever starting (their timers live in the scheduler).
#[test]
fn child_mn_sleeps_start_no_timer_thread() {
    if common::is_child() {
        let rt = gort::Builder::new().scheduler(gort::Scheduler::MN).build();
        rt.run(|| {
            sleep(MS);
            let c = gort::chan::Chan::<()>::new(0);
            let timed_out = gort::select! {
                recv(c) -> _ => false,
                default(MS) => true,
            };
            assert!(timed_out);
            let h = gort::spawn(|| sleep(2 * MS));
            h.join().unwrap();
        });
        let threads: Vec<String> = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).unwrap())
            .collect();
        assert!(
            threads.iter().all(|n| n.trim() != "gort-timers"),
            "threads: {threads:?}"
        );
        assert!(threads.iter().any(|n| n.trim().starts_with("gort-worker")));
    }
}

#[test]
#[cfg(target_os = "linux")]
fn mn_sleeps_start_no_timer_thread() {
    if !gort::Scheduler::MN.is_available() || common::is_child() {
        return;
    }
    let (code, out, err) = common::run_child("child_mn_sleeps_start_no_timer_thread", &[]);
    assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
}
