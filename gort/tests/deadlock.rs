//! Go's "all goroutines are asleep - deadlock!", under both schedulers,
//! each case in a child process of this binary (it has its own `main`:
//! libtest keeps a thread busy outside gort, which rightly hides every
//! deadlock). A case that should be reported but hangs is killed after
//! `LIMIT` and fails.

use std::time::Duration;

use gort::chan::Chan;
use gort::sync::{Mutex, WaitGroup};
use gort::{Builder, Scheduler};

mod common;

const LIMIT: Duration = Duration::from_secs(20);

fn runtime() -> gort::Runtime {
    Builder::new().scheduler(scheduler()).build()
}

fn scheduler() -> Scheduler {
    match std::env::var("GORT_SCHEDULER").as_deref() {
        Ok("mn") => Scheduler::MN,
        _ => Scheduler::Threads,
    }
}

/// On one worker: a goroutine announces itself and then blocks its thread
/// outside gort in `block`, which returns after about 1.5 s; meanwhile
/// the root (woken by the announcement, so the worker must be handed
/// over under M:N) and a second goroutine wait on it through gort
/// channels. Not a deadlock: the blocked thread is awake.
fn others_wait_on_a_blocked_goroutine(block: fn() -> i32) {
    let rt = Builder::new().scheduler(scheduler()).workers(1).build();
    rt.run(move || {
        let (started, result) = (Chan::<()>::new(1), Chan::<i32>::new(0));
        let (started2, result2) = (started.clone(), result.clone());
        gort::go(move || {
            started2.send(()).unwrap();
            result2.send(block()).unwrap();
        });
        started.recv().unwrap();
        let forwarded = Chan::<i32>::new(0);
        let forwarded2 = forwarded.clone();
        gort::go(move || forwarded2.send(result.recv().unwrap() + 1).unwrap());
        assert_eq!(forwarded.recv(), Some(5));
    });
}

/// The programs the children run.
fn run_case(case: &str) {
    match case {
        "goroutines_wait_on_each_other" => {
            runtime().run(|| {
                let (a, b) = (Chan::<i32>::new(0), Chan::<i32>::new(0));
                let (a2, b2) = (a.clone(), b.clone());
                gort::go(move || {
                    let v = a2.recv().unwrap();
                    b2.send(v).unwrap();
                });
                let (a3, b3) = (a.clone(), b.clone());
                gort::go(move || {
                    let v = b3.recv().unwrap();
                    a3.send(v).unwrap();
                });
                let wg = WaitGroup::new();
                wg.add(1);
                wg.wait();
            });
        }
        "main_waits_alone" => {
            let c = Chan::<i32>::new(1);
            c.recv();
        }
        "mutex_locked_twice" => {
            runtime().run(|| {
                let m = Mutex::new(0);
                let _g = m.lock();
                let _h = m.lock();
            });
        }
        "dropped_timers_are_not_pending" => {
            runtime().run(|| {
                // Timers whose channels nobody holds can wake nobody.
                drop(gort::time::after(Duration::from_secs(3600)));
                drop(gort::time::Timer::new(Duration::from_secs(3600)));
                drop(gort::time::tick(Duration::from_secs(3600)));
                let c = Chan::<i32>::new(0);
                c.recv();
            });
        }
        "stopped_timers_are_not_pending" => {
            runtime().run(|| {
                let t = gort::time::Timer::new(Duration::from_secs(3600));
                // The timer thread waits for the hour-long timer...
                std::thread::sleep(Duration::from_millis(100));
                // ...which is stopped: it can wake nobody.
                assert!(t.stop());
                let c = Chan::<i32>::new(0);
                c.recv();
            });
        }
        "disarmed_timeouts_are_not_pending" => {
            runtime().run(|| {
                let c = Chan::<i32>::new(0);
                let c2 = c.clone();
                gort::go(move || {
                    gort::time::sleep(Duration::from_millis(100));
                    c2.send(1).unwrap();
                });
                // An hour-long timeout, armed while an idle worker waits on
                // the timers, then disarmed: it can wake nobody.
                assert_eq!(c.recv_timeout(Duration::from_secs(3600)), Ok(1));
                let d = Chan::<i32>::new(0);
                d.recv();
            });
        }
        "sleeper_is_no_deadlock" => {
            runtime().run(|| {
                let c = Chan::<i32>::new(0);
                let c2 = c.clone();
                gort::go(move || {
                    gort::time::sleep(Duration::from_millis(700));
                    c2.send(1).unwrap();
                });
                assert_eq!(c.recv(), Some(1));
            });
        }
        "blocking_call_is_no_deadlock" => {
            runtime().run(|| {
                let c = Chan::<i32>::new(0);
                let c2 = c.clone();
                gort::go(move || {
                    gort::blocking(|| std::thread::sleep(Duration::from_millis(700)));
                    c2.send(2).unwrap();
                });
                assert_eq!(c.recv(), Some(2));
            });
        }
        "busy_plain_thread_is_no_deadlock" => {
            let c = Chan::<i32>::new(0);
            let c2 = c.clone();
            let t = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(700));
                c2.send(3).unwrap();
            });
            assert_eq!(c.recv(), Some(3));
            t.join().unwrap();
        }
        "thread_sleep_is_no_deadlock" => others_wait_on_a_blocked_goroutine(|| {
            std::thread::sleep(Duration::from_millis(1500));
            4
        }),
        "std_recv_fed_by_a_plain_thread_is_no_deadlock" => {
            others_wait_on_a_blocked_goroutine(|| {
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(1500));
                    tx.send(4).unwrap();
                });
                rx.recv().unwrap()
            })
        }
        #[cfg(gort_net)]
        "network_waits_are_no_deadlock" => {
            // The only goroutine waits in `accept`, then in a read; the
            // parent connects, then writes, each after about 1.5 s.
            runtime().run(|| {
                use std::io::Read;
                let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let port = l.local_addr().unwrap().port();
                println!("port {port}");
                let (mut s, _) = l.accept().unwrap();
                let mut byte = [0u8; 1];
                s.read_exact(&mut byte).unwrap();
                assert_eq!(byte, [42]);
            });
        }
        other => panic!("unknown case {other}"),
    }
}

/// Runs `case` in a child; returns its exit code (None: killed at LIMIT)
/// and stderr.
fn child(case: &str, sched: &str) -> (Option<i32>, String) {
    let (code, _, err) = common::run_case("GORT_DEADLOCK_CASE", case, sched, LIMIT);
    (code, err)
}

/// Runs `network_waits_are_no_deadlock` in a child and plays its peer:
/// the child must still be running after each 1.5 s wait (the monitor
/// looks every 100 ms), then finish cleanly.
#[cfg(gort_net)]
fn network_child(sched: &str) -> Result<(), String> {
    use std::io::{BufRead, Read, Write};
    use std::process::{Command, Stdio};
    use std::time::Instant;
    let mut c = Command::new(std::env::current_exe().unwrap())
        .env("GORT_DEADLOCK_CASE", "network_waits_are_no_deadlock")
        .env("GORT_SCHEDULER", sched)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = c.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let stderr = |c: &mut std::process::Child| {
        let _ = c.kill();
        let _ = c.wait();
        let mut err = String::new();
        let _ = c.stderr.take().unwrap().read_to_string(&mut err);
        err
    };
    let port: u16 = match rx.recv_timeout(LIMIT) {
        Ok(line) if line.starts_with("port ") => line[5..].trim().parse().unwrap(),
        other => return Err(format!("no port ({other:?}), stderr:\n{}", stderr(&mut c))),
    };
    let still_running = |c: &mut std::process::Child, what: &str| match c.try_wait().unwrap() {
        None => Ok(()),
        Some(status) => Err(format!("{status} while waiting in {what}")),
    };
    std::thread::sleep(Duration::from_millis(1500));
    if let Err(e) = still_running(&mut c, "accept") {
        return Err(format!("{e}, stderr:\n{}", stderr(&mut c)));
    }
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    if let Err(e) = still_running(&mut c, "a read") {
        return Err(format!("{e}, stderr:\n{}", stderr(&mut c)));
    }
    s.write_all(&[42]).unwrap();
    let start = Instant::now();
    let code = loop {
        if let Some(status) = c.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > LIMIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let err = stderr(&mut c);
    if code == Some(0) && !err.contains("deadlock") {
        Ok(())
    } else {
        Err(format!("exit {code:?}, stderr:\n{err}"))
    }
}

fn main() {
    if let Ok(case) = std::env::var("GORT_DEADLOCK_CASE") {
        run_case(&case);
        return;
    }
    // The monitor needs the OS's thread count (Linux, Windows, macOS,
    // FreeBSD; wine gives it too), and qemu-user adds threads of its own.
    let counted = cfg!(any(
        target_os = "linux",
        windows,
        target_os = "macos",
        target_os = "freebsd"
    ));
    if !counted || std::env::var_os("GORT_CHILD_RUNNER").is_some() {
        println!("deadlock: skipped (needs a thread count, run natively)");
        return;
    }
    let mut scheds = vec!["threads"];
    if Scheduler::MN.is_available() {
        scheds.push("mn");
    }
    let reported: [(&str, &[&str]); 6] = [
        (
            "goroutines_wait_on_each_other",
            &[
                "2 [chan receive]",
                "1 [sync.WaitGroup.Wait]",
                "1 [JoinHandle.join]",
            ],
        ),
        ("main_waits_alone", &["1 [chan receive]"]),
        (
            "stopped_timers_are_not_pending",
            &["1 [chan receive]", "1 [JoinHandle.join]"],
        ),
        (
            "dropped_timers_are_not_pending",
            &["1 [chan receive]", "1 [JoinHandle.join]"],
        ),
        (
            "disarmed_timeouts_are_not_pending",
            &["1 [chan receive]", "1 [JoinHandle.join]"],
        ),
        (
            "mutex_locked_twice",
            &["1 [sync.Mutex.Lock]", "1 [JoinHandle.join]"],
        ),
    ];
    let quiet = [
        "sleeper_is_no_deadlock",
        "blocking_call_is_no_deadlock",
        "busy_plain_thread_is_no_deadlock",
        "thread_sleep_is_no_deadlock",
        "std_recv_fed_by_a_plain_thread_is_no_deadlock",
    ];
    let mut failures = Vec::new();
    let mut passed = 0;
    for sched in &scheds {
        for (case, wants) in reported {
            let (code, err) = child(case, sched);
            let ok = code == Some(2)
                && err.contains("fatal error: all goroutines are asleep - deadlock!")
                && wants.iter().all(|w| err.contains(w));
            if ok {
                passed += 1;
            } else {
                failures.push(format!("{case} [{sched}]: exit {code:?}, stderr:\n{err}"));
            }
        }
        for case in quiet {
            let (code, err) = child(case, sched);
            if code == Some(0) && !err.contains("deadlock") {
                passed += 1;
            } else {
                failures.push(format!("{case} [{sched}]: exit {code:?}, stderr:\n{err}"));
            }
        }
        #[cfg(gort_net)]
        match network_child(sched) {
            Ok(()) => passed += 1,
            Err(e) => failures.push(format!("network_waits_are_no_deadlock [{sched}]: {e}")),
        }
    }
    if !failures.is_empty() {
        eprintln!(
            "deadlock: {} failed:\n{}",
            failures.len(),
            failures.join("\n---\n")
        );
        std::process::exit(1);
    }
    println!("deadlock: {passed} cases passed");
}
