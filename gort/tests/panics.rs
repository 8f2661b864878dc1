//! Panics nobody can recover, wherever the runtime runs user code: a
//! goroutine's result dropped because nobody will join it, a goroutine
//! closure's captures, an `after_func` call. Go's rule holds for each:
//! `panic: <msg>`, `goroutine <id> [running]:`, exit status 2; never a dead
//! worker thread, a silently dead pool thread, or a hang. Each case runs in
//! a child process, under both schedulers with one and two workers.

mod common;

use std::time::Duration;

#[cfg(panic = "unwind")]
use common::each_scheduler;
use common::{Watchdog, is_child};
use gort::Runtime;
use gort::chan::Chan;

/// A value whose `Drop` panics.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("bomb");
    }
}

/// A child's runtime, as the parent chose: `GORT_SCHEDULER`, `GOMAXPROCS`.
fn child_runtime() -> Runtime {
    gort::Builder::new().build()
}

/// Says on stderr which goroutine should be reported, in one write.
fn announce(id: u64) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("expect goroutine {id}\n").as_bytes());
}

/// The child must have exited by now; it goes on using the runtime until
/// it does (a dead worker shows as a hang, which the watchdog turns into
/// exit status 3).
fn keep_using(rt: &Runtime) -> ! {
    loop {
        rt.run(gort::gosched);
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A goroutine's result panics in `Drop`, and its handle was dropped
/// before it returned: the goroutine drops the result itself.
#[test]
fn child_unjoined_result_panics_in_drop() {
    if is_child() {
        let _dog = Watchdog::new("child_unjoined_result_panics_in_drop", LIMIT);
        let rt = child_runtime();
        rt.run(|| {
            let gate = Chan::<()>::new(0);
            let wait = gate.clone();
            let h = gort::spawn(move || {
                let _ = wait.recv();
                Bomb
            });
            announce(h.id());
            drop(h);
            gate.close();
        });
        keep_using(&rt);
    }
}

/// A detached goroutine's closure captured a value whose `Drop` panics;
/// the closure runs to its end normally.
#[test]
fn child_captured_value_panics_in_drop() {
    if is_child() {
        let _dog = Watchdog::new("child_captured_value_panics_in_drop", LIMIT);
        let rt = child_runtime();
        rt.run(|| {
            let bomb = Bomb;
            let h = gort::spawn(move || {
                let _kept = &bomb;
            });
            announce(h.id());
        });
        keep_using(&rt);
    }
}

/// An `after_func` call panics (Go runs it in a goroutine of its own).
#[test]
fn child_after_func_panics() {
    if is_child() {
        let _dog = Watchdog::new("child_after_func_panics", LIMIT);
        let rt = child_runtime();
        let _call = gort::time::after_func(Duration::from_millis(1), || panic!("bomb"));
        // Later timers are served by the same thread: they must not hang.
        loop {
            rt.run(|| gort::time::sleep(Duration::from_millis(1)));
            let t = gort::time::Timer::new(Duration::from_millis(1));
            t.c.recv().unwrap();
        }
    }
}

/// The child's own watchdog: far beyond what the cases need, short enough
/// that a hang fails the test.
const LIMIT: Duration = Duration::from_secs(60);

/// A joined goroutine whose captured value panics in `Drop`: the panic is
/// the goroutine's, and `join` returns it.
#[test]
#[cfg(panic = "unwind")]
fn join_returns_a_captured_values_drop_panic() {
    each_scheduler(
        "join_returns_a_captured_values_drop_panic",
        Duration::from_secs(30),
        || {
            let bomb = Bomb;
            let h = gort::spawn(move || {
                let _kept = &bomb;
                7
            });
            let err = h.join().unwrap_err();
            assert_eq!(err.downcast_ref::<&str>().copied(), Some("bomb"));
            // The runtime goes on.
            assert_eq!(gort::spawn(|| 8).join().unwrap(), 8);
        },
    );
}

#[cfg(all(not(target_family = "wasm"), panic = "unwind"))]
mod process {
    use super::common::{Watchdog, run_child, schedulers};
    use std::time::Duration;

    /// Runs `case` under every scheduler with one and two workers; each
    /// must exit 2 with Go's report of `bomb` (and, if the child names
    /// one, of that goroutine).
    fn exits_2_reporting_the_bomb(case: &str) {
        for sched in schedulers() {
            let sched = if sched == gort::Scheduler::MN {
                "mn"
            } else {
                "threads"
            };
            for workers in ["1", "2"] {
                let what = format!("{case} [{sched}, {workers} workers]");
                let _dog = Watchdog::new(&what, Duration::from_secs(120));
                let (code, _, err) =
                    run_child(case, &[("GORT_SCHEDULER", sched), ("GOMAXPROCS", workers)]);
                assert_eq!(code, Some(2), "{what}: stderr: {err}");
                assert!(err.contains("panic: bomb\n"), "{what}: stderr: {err}");
                assert!(err.contains("\nexit status 2"), "{what}: stderr: {err}");
                match err
                    .lines()
                    .find_map(|l| l.strip_prefix("expect goroutine "))
                {
                    Some(id) => assert!(
                        err.contains(&format!("goroutine {id} [running]:")),
                        "{what}: stderr: {err}"
                    ),
                    None => assert!(err.contains(" [running]:"), "{what}: stderr: {err}"),
                }
            }
        }
    }

    #[test]
    fn unjoined_result_panicking_in_drop_exits_2() {
        exits_2_reporting_the_bomb("child_unjoined_result_panics_in_drop");
    }

    #[test]
    fn captured_value_panicking_in_drop_exits_2() {
        exits_2_reporting_the_bomb("child_captured_value_panics_in_drop");
    }

    #[test]
    fn after_func_panic_exits_2() {
        exits_2_reporting_the_bomb("child_after_func_panics");
    }
}
