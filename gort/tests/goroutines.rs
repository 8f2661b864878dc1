//! Goroutines: spawn/join, Go's panic rules, counts, park/unpark, println.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Watchdog, each_scheduler, is_child};
use gort::Scheduler;
use gort::sync::WaitGroup;

#[test]
fn spawn_join_returns_values() {
    each_scheduler("spawn_join_returns_values", Duration::from_secs(30), || {
        let handles: Vec<_> = (0..100u64).map(|i| gort::spawn(move || i * i)).collect();
        let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, (0..100u64).map(|i| i * i).sum());
    });
}

#[test]
fn goroutines_spawn_goroutines() {
    each_scheduler(
        "goroutines_spawn_goroutines",
        Duration::from_secs(30),
        || {
            fn tree(depth: u32) -> u64 {
                if depth == 0 {
                    return 1;
                }
                let l = gort::spawn(move || tree(depth - 1));
                let r = gort::spawn(move || tree(depth - 1));
                l.join().unwrap() + r.join().unwrap()
            }
            assert_eq!(tree(8), 256);
        },
    );
}

#[test]
fn goroutine_ids_are_distinct() {
    each_scheduler(
        "goroutine_ids_are_distinct",
        Duration::from_secs(30),
        || {
            let handles: Vec<_> = (0..50)
                .map(|_| gort::spawn(|| gort::task::current().id()))
                .collect();
            let ids: Vec<u64> = handles.iter().map(|h| h.id()).collect();
            let seen: Vec<u64> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            assert_eq!(ids, seen, "a goroutine's task id is its handle's id");
            let mut sorted = seen.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), 50);
        },
    );
}

#[test]
#[cfg(panic = "unwind")]
fn join_returns_the_panic_payload() {
    each_scheduler(
        "join_returns_the_panic_payload",
        Duration::from_secs(30),
        || {
            let h = gort::spawn(|| -> u32 { panic!("goroutine boom") });
            let err = h.join().unwrap_err();
            assert_eq!(err.downcast_ref::<&str>().copied(), Some("goroutine boom"));
        },
    );
}

#[test]
#[cfg(panic = "unwind")]
fn run_resumes_the_root_goroutines_panic() {
    let rt = common::runtime(gort::Scheduler::Threads);
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.run(|| panic!("root boom"));
    }))
    .unwrap_err();
    assert_eq!(err.downcast_ref::<&str>().copied(), Some("root boom"));
}

#[test]
fn num_goroutine_counts_live_goroutines() {
    let _dog = Watchdog::new(
        "num_goroutine_counts_live_goroutines",
        Duration::from_secs(30),
    );
    // Other tests in this binary run goroutines too: count relative to a
    // quiet moment, using goroutines we hold.
    let wg = WaitGroup::new();
    let release = WaitGroup::new();
    release.add(1);
    let before = gort::num_goroutine();
    assert!(before >= 1);
    let handles: Vec<_> = (0..10)
        .map(|_| {
            wg.add(1);
            let (wg, release) = (wg.clone(), release.clone());
            gort::spawn(move || {
                wg.done();
                release.wait();
            })
        })
        .collect();
    wg.wait();
    assert!(gort::num_goroutine() >= 11);
    release.done();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn runtime_of_the_caller_is_inherited() {
    let rt = gort::Builder::new()
        .scheduler(gort::Scheduler::Threads)
        .workers(3)
        .stack_size(128 * 1024)
        .build();
    let inner = rt.run(|| gort::spawn(gort::gomaxprocs).join().unwrap());
    assert_eq!(inner, 3, "a goroutine's child runs on the same runtime");
}

/// Recurses `n` frames of ~2 KiB each when unoptimised; returns `n`.
fn depth(n: u64) -> u64 {
    let pad = std::hint::black_box([n; 64]);
    if n == 0 {
        pad[0]
    } else {
        depth(n - 1) + pad[1] - n + 1
    }
}

#[test]
fn deep_recursion_fits_the_configured_stack() {
    let rt = gort::Builder::new()
        .scheduler(gort::Scheduler::Threads)
        .stack_size(8 << 20)
        .build();
    // ~2 KiB a frame unoptimised: far past the 256 KiB default, well inside 8 MiB.
    assert_eq!(rt.run(|| depth(1_000)), 1_000);
}

/// The largest goroutine stack `Builder::stack_size` accepts: Go's limit
/// (`debug.SetMaxStack`: 1 GB on 64-bit, 250 MB on 32-bit), in binary.
#[cfg(panic = "unwind")]
const MAX_STACK: usize = if usize::BITS >= 64 {
    1 << 30
} else {
    256 << 20
};

/// A stack size beyond the maximum is refused where it is given, saying
/// both numbers, under either scheduler; the maximum itself is accepted.
#[test]
#[cfg(panic = "unwind")]
fn absurd_stack_size_is_refused() {
    for sched in common::schedulers() {
        for bytes in [usize::MAX, usize::MAX / 2 + 1, MAX_STACK + 1] {
            let err = std::panic::catch_unwind(|| {
                gort::Builder::new().scheduler(sched).stack_size(bytes)
            })
            .expect_err("an absurd stack size is refused");
            let msg = err
                .downcast_ref::<String>()
                .map(String::as_str)
                .unwrap_or("(not a String)");
            assert_eq!(
                msg,
                format!("gort: stack size {bytes} exceeds the maximum {MAX_STACK}"),
                "{sched:?}"
            );
        }
        let _ = gort::Builder::new().scheduler(sched).stack_size(MAX_STACK);
    }
}

/// A large stack (64 MiB) works under either scheduler: two goroutines at
/// once each recurse through more than 8 MiB of it (a default thread's
/// whole stack) when unoptimised.
#[test]
fn large_stacks_hold_deep_recursion() {
    for sched in common::schedulers() {
        let _dog = Watchdog::new(
            &format!("large_stacks_hold_deep_recursion [{sched:?}]"),
            Duration::from_secs(60),
        );
        let rt = gort::Builder::new()
            .scheduler(sched)
            .workers(2)
            .stack_size(64 << 20)
            .build();
        let total = rt.run(|| {
            let other = gort::spawn(|| depth(5_000));
            depth(5_000) + other.join().unwrap()
        });
        assert_eq!(total, 10_000, "{sched:?}");
    }
}

#[test]
fn park_and_unpark_in_either_order() {
    each_scheduler(
        "park_and_unpark_in_either_order",
        Duration::from_secs(30),
        || {
            // unpark before park: the token is kept.
            let me = gort::task::current();
            me.unpark();
            gort::task::park();
            // park before unpark, from another goroutine.
            let h = {
                let me = me.clone();
                gort::spawn(move || {
                    gort::time::sleep(Duration::from_millis(10));
                    me.unpark();
                })
            };
            gort::task::park();
            h.join().unwrap();
            // A timed park with nobody unparking times out.
            assert!(!gort::task::park_timeout(Duration::from_millis(5)));
        },
    );
}

#[test]
fn many_short_goroutines_reuse_threads() {
    each_scheduler(
        "many_short_goroutines_reuse_threads",
        Duration::from_secs(60),
        || {
            let n = Arc::new(AtomicUsize::new(0));
            for _ in 0..2_000 {
                let n = n.clone();
                gort::spawn(move || n.fetch_add(1, Ordering::Relaxed))
                    .join()
                    .unwrap();
            }
            assert_eq!(n.load(Ordering::Relaxed), 2_000);
        },
    );
}

/// M:N goroutines run on the runtime's worker threads, and a spawn storm
/// keeps every worker busy (work stealing spreads it).
#[test]
fn mn_spawn_storm_runs_on_every_worker() {
    if !Scheduler::MN.is_available() {
        return;
    }
    let _dog = Watchdog::new(
        "mn_spawn_storm_runs_on_every_worker",
        Duration::from_secs(60),
    );
    let workers = 2;
    let rt = gort::Builder::new()
        .scheduler(Scheduler::MN)
        .workers(workers)
        .build();
    let seen = rt.run(move || {
        assert_eq!(gort::gomaxprocs(), workers);
        let names = Arc::new(gort::sync::Mutex::new(HashMap::<String, usize>::new()));
        let handles: Vec<_> = (0..2000)
            .map(|i| {
                let names = names.clone();
                gort::spawn(move || {
                    // Some work, so that one worker cannot drain the storm
                    // alone before the other wakes.
                    let mut x = i as u64;
                    for _ in 0..20_000 {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    }
                    let name = std::thread::current().name().unwrap_or("?").to_string();
                    *names.lock().entry(name).or_default() += 1;
                    x
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        names.lock().clone()
    });
    assert_eq!(seen.values().sum::<usize>(), 2000);
    let mut names: Vec<_> = seen.keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["gort-worker-0", "gort-worker-1"], "{seen:?}");
}

/// `blocking` lets other goroutines run while one sits in a call that
/// blocks its thread, even on a single worker; the call may borrow from
/// the goroutine, and its panic resumes in the goroutine.
#[test]
fn blocking_call_does_not_stall_other_goroutines() {
    for sched in common::schedulers() {
        let _dog = Watchdog::new(
            &format!("blocking_call_does_not_stall_other_goroutines [{sched:?}]"),
            Duration::from_secs(60),
        );
        let rt = gort::Builder::new().scheduler(sched).workers(1).build();
        rt.run(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            let other = gort::spawn(move || {
                let c = gort::chan::Chan::new(0);
                let c2 = c.clone();
                let h = gort::spawn(move || c2.send(7).unwrap());
                let v = c.recv();
                h.join().unwrap();
                tx.send(v).unwrap();
            });
            // Without `blocking`, this would hold the only worker and the
            // other goroutine could not send before the timeout.
            let got = gort::blocking(move || rx.recv_timeout(Duration::from_secs(30)));
            assert_eq!(got, Ok(Some(7)), "the other goroutines ran meanwhile");
            other.join().unwrap();

            let mut v = vec![1, 2, 3];
            gort::blocking(|| v.push(4));
            assert_eq!(v, [1, 2, 3, 4]);
        });
        #[cfg(panic = "unwind")]
        {
            let e =
                std::panic::catch_unwind(|| rt.run(|| gort::blocking(|| panic!("in blocking"))))
                    .unwrap_err();
            assert_eq!(e.downcast_ref::<&str>().copied(), Some("in blocking"));
        }
    }
}

/// How many goroutines the machine can hold parked at once for the
/// million-goroutine test: a million where guard pages cost no memory
/// mapping each (Linux 6.13+, natively) and memory allows; elsewhere each
/// stack is two of `vm.max_map_count` mappings (65,530 by default), and an
/// emulator is too slow for a million.
fn parkable_goroutines() -> usize {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let map_limit = read("/proc/sys/vm/max_map_count")
        .trim()
        .parse::<usize>()
        .unwrap_or(65_530);
    let kernel: Vec<u32> = read("/proc/sys/kernel/osrelease")
        .split(|c: char| !c.is_ascii_digit())
        .take(2)
        .filter_map(|p| p.parse().ok())
        .collect();
    let markers =
        cfg!(target_os = "linux") && kernel.len() == 2 && (kernel[0], kernel[1]) >= (6, 13);
    let emulated = std::env::var_os("GORT_CHILD_RUNNER").is_some();
    // Each parked goroutine holds about 4.3 KiB (a stack page and its
    // task); leave most of the available memory alone.
    let mem_kib = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .unwrap_or(0);
    if markers && !emulated && mem_kib / 16 >= 1_000_000 {
        1_000_000
    } else {
        common::stress(20_000).min(map_limit / 3)
    }
}

/// A million goroutines (where the machine allows: `parkable_goroutines`)
/// parked on one channel hold no worker each; closing it releases every
/// one, exactly once.
#[test]
fn mn_million_parked_goroutines_are_released() {
    if !Scheduler::MN.is_available() {
        return;
    }
    let n = parkable_goroutines();
    eprintln!("parking {n} goroutines");
    let _dog = Watchdog::new(
        "mn_million_parked_goroutines_are_released",
        Duration::from_secs(300),
    );
    let rt = gort::Builder::new()
        .scheduler(Scheduler::MN)
        .stack_size(64 * 1024)
        .build();
    let total = rt.run(move || {
        let gate = gort::chan::Chan::<()>::new(0);
        let done = gort::chan::Chan::<usize>::new(n);
        let started = gort::sync::WaitGroup::new();
        started.add(n as isize);
        for i in 0..n {
            let (gate, done, started) = (gate.clone(), done.clone(), started.clone());
            gort::go(move || {
                started.done();
                assert_eq!(gate.recv(), None);
                done.send(i).unwrap();
            });
        }
        started.wait();
        assert!(gort::num_goroutine() > n, "all {n} are alive");
        gate.close();
        let mut seen = vec![false; n];
        for _ in 0..n {
            let i = done.recv().unwrap();
            assert!(!seen[i], "goroutine {i} finished twice");
            seen[i] = true;
        }
        seen.iter().filter(|&&s| s).count()
    });
    assert_eq!(total, n);
}

// ---- whole-process behaviour, checked in a child process ----

#[test]
fn child_unjoined_panic() {
    if is_child() {
        gort::go(|| panic!("nobody joins me"));
        std::thread::sleep(Duration::from_secs(10));
        unreachable!("the process should have exited");
    }
}

/// Recurses without end: every frame keeps a buffer live.
#[allow(unconditional_recursion)]
fn recurse_forever(depth: u64) -> u64 {
    let buf = std::hint::black_box([depth as u8; 512]);
    buf[7] as u64 + recurse_forever(std::hint::black_box(depth + 1))
}

/// Overflows a goroutine's stack while 100 others hold the stacks carved
/// before it (neighbours in memory), so only its own guard page can catch
/// the overflow; says on stderr which goroutine overflows.
#[test]
fn child_mn_stack_overflow() {
    if is_child() {
        let rt = gort::Builder::new()
            .scheduler(Scheduler::MN)
            .stack_size(64 * 1024)
            .build();
        let v = rt.run(|| {
            let gate = gort::chan::Chan::<()>::new(0);
            let ready = gort::sync::WaitGroup::new();
            ready.add(100);
            for _ in 0..100 {
                let (gate, ready) = (gate.clone(), ready.clone());
                gort::go(move || {
                    ready.done();
                    let _ = gate.recv();
                });
            }
            ready.wait();
            // It overflows only after its id is out, in one write.
            let start = gort::chan::Chan::<()>::new(0);
            let go_on = start.clone();
            let h = gort::spawn(move || {
                let _ = go_on.recv();
                recurse_forever(0)
            });
            use std::io::Write;
            let line = format!("overflowing goroutine {}\n", h.id());
            let _ = std::io::stderr().write_all(line.as_bytes());
            start.close();
            h.join()
        });
        unreachable!("the process should have exited ({v:?})");
    }
}

/// A one-byte stack is rounded up to the minimum, which holds a panic
/// report with a backtrace (the parent sets `RUST_BACKTRACE=1`): the panic
/// is joined, and the child says so.
#[test]
fn child_tiny_stack_holds_a_panic() {
    if is_child() {
        let _dog = Watchdog::new("child_tiny_stack_holds_a_panic", Duration::from_secs(60));
        let rt = gort::Builder::new().stack_size(1).build();
        let joined = rt.run(|| gort::spawn(|| -> u32 { panic!("small") }).join().is_err());
        gort::println!("joined the panic: {joined}");
    }
}

#[test]
fn child_dropped_handle_of_panicked_goroutine() {
    if is_child() {
        let h = gort::spawn(|| panic!("dropped handle"));
        while !h.is_finished() {
            gort::time::sleep(Duration::from_millis(1));
        }
        drop(h);
        unreachable!("dropping the handle of a panicked goroutine exits");
    }
}

#[test]
fn child_println_lines() {
    if is_child() {
        let wg = WaitGroup::new();
        for g in 0..8 {
            wg.add(1);
            let wg = wg.clone();
            gort::go(move || {
                for i in 0..200 {
                    gort::println!("line {g} {i} {}", "x".repeat(500));
                }
                wg.done();
            });
        }
        wg.wait();
    }
}

#[test]
fn child_gomaxprocs_env() {
    if is_child() {
        gort::println!("gomaxprocs={}", gort::gomaxprocs());
    }
}

#[cfg(all(not(target_family = "wasm"), panic = "unwind"))]
mod process {
    use super::common::run_child;

    #[test]
    fn unjoined_panic_exits_2_with_gos_message() {
        let (code, _, err) = run_child("child_unjoined_panic", &[]);
        assert_eq!(code, Some(2), "stderr: {err}");
        assert!(err.contains("panic: nobody joins me"), "stderr: {err}");
        assert!(
            err.contains("goroutine ") && err.contains("[running]"),
            "stderr: {err}"
        );
    }

    #[test]
    fn unjoined_panic_exits_2_under_mn() {
        if !gort::Scheduler::MN.is_available() {
            return;
        }
        let (code, _, err) = run_child("child_unjoined_panic", &[("GORT_SCHEDULER", "mn")]);
        assert_eq!(code, Some(2), "stderr: {err}");
        assert!(err.contains("panic: nobody joins me"), "stderr: {err}");
    }

    /// Stack memory of a finished burst goes back to the OS while the
    /// scheduler idles (the scavenger), without any further activity.
    #[test]
    #[cfg(target_os = "linux")]
    fn idle_scheduler_gives_stack_memory_back() {
        if !gort::Scheduler::MN.is_available() {
            return;
        }
        let (code, _, err) = run_child("child_idle_scheduler_gives_stack_memory_back", &[]);
        assert_eq!(code, Some(0), "stderr: {err}");
    }

    /// A goroutine overflowing its M:N stack is reported with its id and
    /// exit status 2, not a bare SIGSEGV (or Windows' stack overflow
    /// exception).
    #[test]
    fn mn_stack_overflow_is_reported() {
        if !gort::Scheduler::MN.is_available() {
            return;
        }
        let (code, _, err) = run_child("child_mn_stack_overflow", &[]);
        assert_eq!(code, Some(2), "stderr: {err}");
        assert!(
            err.contains("fatal error: goroutine stack overflow"),
            "stderr: {err}"
        );
        let id = err
            .lines()
            .find_map(|l| l.strip_prefix("overflowing goroutine "))
            .unwrap_or_else(|| panic!("the child did not say which goroutine: {err}"));
        assert!(
            err.contains(&format!("goroutine {id} [running]")),
            "stderr: {err}"
        );
    }

    /// Under both schedulers.
    #[test]
    fn tiny_stack_is_rounded_up_to_hold_a_panic() {
        for sched in super::common::schedulers() {
            let sched = if sched == gort::Scheduler::MN {
                "mn"
            } else {
                "threads"
            };
            let (code, out, err) = run_child(
                "child_tiny_stack_holds_a_panic",
                &[("GORT_SCHEDULER", sched), ("RUST_BACKTRACE", "1")],
            );
            assert_eq!(code, Some(0), "{sched}: stderr: {err}");
            assert!(out.contains("joined the panic: true"), "{sched}: {out}");
        }
    }

    #[test]
    fn dropping_a_panicked_handle_exits_2() {
        let (code, _, err) = run_child("child_dropped_handle_of_panicked_goroutine", &[]);
        assert_eq!(code, Some(2), "stderr: {err}");
        assert!(err.contains("panic: dropped handle"), "stderr: {err}");
    }

    #[test]
    fn println_lines_never_interleave() {
        let (code, out, err) = run_child("child_println_lines", &[]);
        assert_eq!(code, Some(0), "stderr: {err}");
        // The harness prints "test NAME ... " without a newline before the
        // first line of ours; cut at our marker.
        let lines: Vec<&str> = out
            .lines()
            .filter_map(|l| l.find("line ").map(|i| &l[i..]))
            .collect();
        assert_eq!(lines.len(), 8 * 200);
        let tail = "x".repeat(500);
        for l in &lines {
            let mut parts = l.splitn(4, ' ');
            assert_eq!(parts.next(), Some("line"));
            parts
                .next()
                .unwrap()
                .parse::<u32>()
                .expect("goroutine number");
            parts.next().unwrap().parse::<u32>().expect("line number");
            assert_eq!(parts.next(), Some(tail.as_str()), "torn line: {l:.80}");
        }
    }

    #[test]
    fn gomaxprocs_honours_the_environment() {
        let (code, out, err) = run_child("child_gomaxprocs_env", &[("GOMAXPROCS", "3")]);
        assert_eq!(code, Some(0), "stderr: {err}");
        assert!(out.contains("gomaxprocs=3"), "stdout: {out}");
    }
}

/// The resident set of this process in KiB (Linux).
#[cfg(target_os = "linux")]
fn rss_kib() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

/// In a child process: 20,000 goroutines park (each touching its stack),
/// finish, and leave their stacks warm; with the scheduler then idle, the
/// scavenger must give most of that memory back on its own. Exits 0 once
/// it has, 1 if 20 s pass first.
#[test]
fn child_idle_scheduler_gives_stack_memory_back() {
    #[cfg(target_os = "linux")]
    if is_child() {
        let rt = gort::Builder::new()
            .scheduler(Scheduler::MN)
            .stack_size(64 * 1024)
            .build();
        // Stacks that dwarf what stays by design (1024 warm stacks, the
        // allocator's caches) and an emulator's own growth (qemu-user's
        // code cache: ~16 MiB here): each goroutine touches 8 KiB more of
        // its stack. (More goroutines would not fit qemu-user, whose
        // stacks cost two mappings each: `vm.max_map_count`.)
        let n = 20_000;
        let before = rss_kib();
        let peak = rt.run(move || {
            let gate = gort::chan::Chan::<()>::new(0);
            let started = gort::sync::WaitGroup::new();
            let done = gort::sync::WaitGroup::new();
            started.add(n);
            done.add(n);
            for _ in 0..n {
                let (gate, started, done) = (gate.clone(), started.clone(), done.clone());
                gort::go(move || {
                    let pad = std::hint::black_box([1u8; 8 * 1024]);
                    started.done();
                    let _ = gate.recv();
                    std::hint::black_box(&pad);
                    done.done();
                });
            }
            started.wait();
            let peak = rss_kib();
            gate.close();
            done.wait();
            peak
        });
        let grown = peak.saturating_sub(before);
        assert!(
            grown > 20_000,
            "{n} parked goroutines grew RSS by only {grown} KiB"
        );
        // Nothing runs now: only the scheduler's own timed wake can scavenge.
        for _ in 0..100 {
            if rss_kib() < before + grown / 4 {
                std::process::exit(0);
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "RSS still {} KiB (before {before}, peak {peak})",
            rss_kib()
        );
        std::process::exit(1);
    }
}
