//! `gort::main`: the program's body as goroutine 1. Each case runs in a
//! child process of this binary (it has its own `main`: `gort::main` runs
//! once per process, and libtest's busy main thread would hide every
//! deadlock), under both schedulers; the parent checks exit status, stdout
//! and stderr. A child that hangs is killed after 20 s and fails.
//! `main_attribute.rs` checks `#[gort::main]` itself.

mod common;

use std::time::Duration;

use gort::chan::Chan;
use gort::sync::WaitGroup;
use gort::{Builder, Scheduler};

/// The programs the children run (`GORT_MAIN_CASE`).
fn run_case(case: &str) {
    match case {
        "value" => {
            let caller = std::thread::current().id();
            let (value, thread, name, goroutines) = gort::main(move || {
                let value = gort::spawn(|| 6 * 7).join().unwrap();
                let this = std::thread::current();
                (
                    value,
                    this.id() != caller,
                    this.name().unwrap_or("").to_string(),
                    gort::num_goroutine(),
                )
            });
            // gort's threads: "goroutine" (threads), "gort-worker-N" (M:N).
            let ours = name == "goroutine" || name.starts_with("gort-worker");
            println!("value {value} other_thread {thread} on gort {ours} goroutines {goroutines}");
        }
        "builder" => {
            let rt = Builder::new().scheduler(Scheduler::Threads).workers(3);
            let (workers, from_thread) = gort::__main_with(rt, || {
                // A plain thread's `go` reaches main's runtime too.
                let c = Chan::new(0);
                let tx = c.clone();
                std::thread::spawn(move || {
                    gort::go(move || tx.send(gort::gomaxprocs()).unwrap());
                });
                (gort::gomaxprocs(), c.recv().unwrap())
            });
            println!("workers {workers} from_thread {from_thread}");
        }
        "panic" => {
            gort::main(|| {
                gort::go(|| Chan::<()>::new(0).recv().unwrap());
                panic!("boom in main");
            });
        }
        "deadlock" => {
            gort::main(|| Chan::<i32>::new(0).recv());
        }
        "deadlock_with_others" => {
            gort::main(|| {
                let c = Chan::<i32>::new(0);
                let wg = WaitGroup::new();
                wg.add(1);
                for _ in 0..2 {
                    let c = c.clone();
                    gort::go(move || {
                        c.recv();
                    });
                }
                wg.wait();
            });
        }
        "fed_by_a_plain_thread" => {
            // The main goroutine waits on a thread that is awake (sleeping
            // in std): no deadlock, whatever the caller's own wait.
            let got = gort::main(|| {
                let c = Chan::new(0);
                let tx = c.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(600));
                    tx.send(7).unwrap();
                });
                c.recv().unwrap()
            });
            println!("got {got}");
        }
        "returns_while_others_run" => {
            gort::main(|| {
                let started = Chan::new(0);
                let tx = started.clone();
                gort::go(move || {
                    tx.send(()).unwrap();
                    // Bounded: about a minute, far past the parent's limit.
                    for _ in 0..60_000 {
                        gort::time::sleep(Duration::from_millis(1));
                    }
                    println!("the sleeper outlived main");
                });
                gort::go(|| {
                    Chan::<()>::new(0).recv();
                });
                started.recv().unwrap();
            });
            println!("main returned");
        }
        "twice" => {
            gort::main(|| ());
            gort::main(|| ());
        }
        "from_a_goroutine" => {
            gort::main(|| gort::main(|| ()));
        }
        other => panic!("unknown case {other}"),
    }
}

/// Runs `case` in a child under `sched`: (exit code, None if killed
/// after 20 s; stdout; stderr).
#[cfg(not(target_family = "wasm"))]
fn child(case: &str, sched: &str) -> (Option<i32>, String, String) {
    common::run_case(
        "GORT_MAIN_CASE",
        case,
        sched,
        std::time::Duration::from_secs(20),
    )
}

/// What a case must show: its exit code, and text its stdout and stderr
/// contain (and stderr must not).
struct Want {
    code: i32,
    stdout: &'static [&'static str],
    stderr: &'static [&'static str],
    not_stderr: &'static [&'static str],
}

const DEADLOCK: &str = "fatal error: all goroutines are asleep - deadlock!";

fn main() {
    if let Ok(case) = std::env::var("GORT_MAIN_CASE") {
        run_case(&case);
        return;
    }
    if cfg!(target_family = "wasm") {
        println!("main_goroutine: skipped (no child processes on wasm)");
        return;
    }
    let cases: &[(&str, Want)] = &[
        (
            "value",
            Want {
                code: 0,
                stdout: &["value 42 other_thread true on gort true goroutines 1"],
                stderr: &[],
                not_stderr: &["panic"],
            },
        ),
        (
            "builder",
            Want {
                code: 0,
                stdout: &["workers 3 from_thread 3"],
                stderr: &[],
                not_stderr: &["panic"],
            },
        ),
        (
            "panic",
            Want {
                code: 2,
                stdout: &[],
                stderr: &["panic: boom in main\n\ngoroutine 1 [running]:"],
                not_stderr: &[DEADLOCK],
            },
        ),
        (
            "fed_by_a_plain_thread",
            Want {
                code: 0,
                stdout: &["got 7"],
                stderr: &[],
                not_stderr: &["deadlock"],
            },
        ),
        (
            "returns_while_others_run",
            Want {
                code: 0,
                stdout: &["main returned"],
                stderr: &[],
                not_stderr: &["deadlock", "panic"],
            },
        ),
        (
            "twice",
            Want {
                code: 101,
                stdout: &[],
                stderr: &["gort::main called twice", "main_goroutine.rs"],
                not_stderr: &[],
            },
        ),
        (
            "from_a_goroutine",
            Want {
                code: 2,
                stdout: &[],
                stderr: &["gort::main called from a goroutine", "main_goroutine.rs"],
                not_stderr: &[],
            },
        ),
    ];
    // The deadlock monitor needs the OS's thread count (Linux, Windows,
    // macOS, FreeBSD), and qemu-user adds threads of its own.
    let counted = cfg!(any(
        target_os = "linux",
        windows,
        target_os = "macos",
        target_os = "freebsd"
    )) && std::env::var_os("GORT_CHILD_RUNNER").is_none();
    let deadlocks: &[(&str, Want)] = &[
        (
            "deadlock",
            Want {
                code: 2,
                stdout: &[],
                stderr: &[DEADLOCK, "waiting: 1 [chan receive]\n"],
                not_stderr: &["JoinHandle", "idle"],
            },
        ),
        (
            "deadlock_with_others",
            Want {
                code: 2,
                stdout: &[],
                stderr: &[DEADLOCK, "2 [chan receive]", "1 [sync.WaitGroup.Wait]"],
                not_stderr: &["JoinHandle"],
            },
        ),
    ];
    let mut scheds = vec!["threads"];
    if Scheduler::MN.is_available() {
        scheds.push("mn");
    }
    let (mut passed, mut failures) = (0, Vec::new());
    for sched in scheds {
        let all = cases.iter().chain(if counted { deadlocks } else { &[] });
        for (case, want) in all {
            let (code, out, err) = child(case, sched);
            let ok = code == Some(want.code)
                && want.stdout.iter().all(|w| out.contains(w))
                && want.stderr.iter().all(|w| err.contains(w))
                && !want.not_stderr.iter().any(|w| err.contains(w));
            if ok {
                passed += 1;
            } else {
                failures.push(format!(
                    "{case} [{sched}]: exit {code:?} (want {}), stdout:\n{out}\nstderr:\n{err}",
                    want.code
                ));
            }
        }
    }
    if !failures.is_empty() {
        eprintln!(
            "main_goroutine: {} failed:\n{}",
            failures.len(),
            failures.join("\n---\n")
        );
        std::process::exit(1);
    }
    println!("main_goroutine: {passed} cases passed");
}

/// wasm has no child processes: `main` skips the cases there.
#[cfg(target_family = "wasm")]
fn child(_: &str, _: &str) -> (Option<i32>, String, String) {
    unreachable!("no child processes on wasm")
}
