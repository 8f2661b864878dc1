//! The scheduler's environment settings, each checked in a child process:
//! `GORT_MAXTHREADS` (Go's `debug.SetMaxThreads`: past the limit, Go's
//! fatal error and exit status 2, never a hang) and `GORT_SCHEDTRACE`
//! (Go's `schedtrace` line on stderr every so many milliseconds).
#![cfg(not(target_family = "wasm"))]

mod common;

use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

use common::{Watchdog, is_child, run_child};
use gort::chan::Chan;
use gort::{Builder, Scheduler};

const LIMIT: Duration = Duration::from_secs(60);

/// Goroutines the child blocks in their threads at once.
const BLOCKERS: usize = 64;

/// The schedulers to run the children under, as `GORT_SCHEDULER` names.
fn scheduler_names() -> Vec<&'static str> {
    common::schedulers()
        .into_iter()
        .map(|s| match s {
            Scheduler::MN => "mn",
            _ => "threads",
        })
        .collect()
}

/// Child: on one worker of the scheduler `GORT_SCHEDULER` names,
/// `BLOCKERS` goroutines wait in a std `Barrier` that opens only once all
/// of them are in it, each holding its thread. Under M:N the monitor must
/// start a thread for each; on the threads scheduler each is a thread.
#[test]
fn child_blocks_many_threads_at_once() {
    if !is_child() {
        return;
    }
    let _dog = Watchdog::new("child_blocks_many_threads_at_once", LIMIT);
    let rt = Builder::new().workers(1).build();
    let leaders = rt.run(|| {
        let barrier = Arc::new(Barrier::new(BLOCKERS));
        let handles: Vec<_> = (0..BLOCKERS)
            .map(|_| {
                let barrier = barrier.clone();
                gort::spawn(move || barrier.wait().is_leader())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| usize::from(h.join().unwrap()))
            .sum::<usize>()
    });
    assert_eq!(leaders, 1);
    println!("all {BLOCKERS} blocked goroutines passed the barrier");
}

#[test]
fn exceeding_maxthreads_is_a_fatal_error() {
    for sched in scheduler_names() {
        let (code, out, err) = run_child(
            "child_blocks_many_threads_at_once",
            &[("GORT_SCHEDULER", sched), ("GORT_MAXTHREADS", "8")],
        );
        assert_eq!(code, Some(2), "[{sched}] stdout:\n{out}\nstderr:\n{err}");
        assert!(
            err.contains("runtime: program exceeds 8-thread limit")
                && err.contains("fatal error: thread exhaustion"),
            "[{sched}] stderr:\n{err}"
        );
        assert!(!out.contains("passed the barrier"), "[{sched}] {out}");
    }
}

/// The same program within the limit completes (the fatal error above is
/// the limit's doing, not the program's).
#[test]
fn many_blocked_threads_within_maxthreads_complete() {
    for sched in scheduler_names() {
        let (code, out, err) = run_child(
            "child_blocks_many_threads_at_once",
            &[("GORT_SCHEDULER", sched), ("GORT_MAXTHREADS", "1000")],
        );
        assert_eq!(code, Some(0), "[{sched}] stdout:\n{out}\nstderr:\n{err}");
        assert!(
            out.contains(&format!(
                "all {BLOCKERS} blocked goroutines passed the barrier"
            )),
            "[{sched}] stdout:\n{out}\nstderr:\n{err}"
        );
        assert!(!err.contains("thread exhaustion"), "[{sched}] {err}");
    }
}

/// Child: a runtime that starts a few goroutines and ends.
#[test]
fn child_runs_a_few_goroutines() {
    if !is_child() {
        return;
    }
    let _dog = Watchdog::new("child_runs_a_few_goroutines", LIMIT);
    let rt = Builder::new().workers(1).build();
    let sum = rt.run(|| {
        let handles: Vec<_> = (1..=4u64).map(|i| gort::spawn(move || i)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
    });
    assert_eq!(sum, 10);
    println!("ran");
}

#[test]
fn maxthreads_that_is_not_a_positive_integer_is_rejected() {
    for sched in scheduler_names() {
        for value in ["0", "-3", "many", "8k"] {
            let (code, out, err) = run_child(
                "child_runs_a_few_goroutines",
                &[("GORT_SCHEDULER", sched), ("GORT_MAXTHREADS", value)],
            );
            assert_eq!(
                code,
                Some(2),
                "[{sched}] GORT_MAXTHREADS={value:?}: stdout:\n{out}\nstderr:\n{err}"
            );
            assert!(
                err.contains("GORT_MAXTHREADS"),
                "[{sched}] GORT_MAXTHREADS={value:?}: stderr:\n{err}"
            );
        }
    }
}

/// One line of `GORT_SCHEDTRACE`, Go's `schedtrace` format plus the
/// monitor's hand-offs:
/// `SCHED <ms>ms: gomaxprocs=<n> idleprocs=<n> threads=<n>
/// spinningthreads=<n> idlethreads=<n> runqueue=<n> [<n> ...] handoffs=<n>`
/// (one number in the brackets per processor).
#[derive(Debug)]
struct SchedLine {
    ms: u64,
    gomaxprocs: u64,
    idleprocs: u64,
    threads: u64,
    spinningthreads: u64,
    idlethreads: u64,
    runqueue: u64,
    local_runqueues: Vec<u64>,
    handoffs: u64,
}

/// A decimal count: digits only.
fn count(s: &str) -> Result<u64, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{s:?} is not a count"));
    }
    s.parse().map_err(|e| format!("{s:?}: {e}"))
}

fn parse_sched_line(line: &str) -> Result<SchedLine, String> {
    let rest = line.strip_prefix("SCHED ").ok_or("no `SCHED `")?;
    let (ms, rest) = rest.split_once("ms: ").ok_or("no `<n>ms: `")?;
    let (fields, rest) = rest.split_once(" [").ok_or("no ` [`")?;
    let (local, rest) = rest.split_once(']').ok_or("no `]`")?;
    let mut fields = fields.split(' ');
    let mut field = |key: &str| -> Result<u64, String> {
        let word = fields.next().ok_or(format!("no `{key}=`"))?;
        match word.split_once('=') {
            Some((k, v)) if k == key => count(v),
            _ => Err(format!("`{word}` where `{key}=<n>` belongs")),
        }
    };
    let parsed = SchedLine {
        ms: count(ms)?,
        gomaxprocs: field("gomaxprocs")?,
        idleprocs: field("idleprocs")?,
        threads: field("threads")?,
        spinningthreads: field("spinningthreads")?,
        idlethreads: field("idlethreads")?,
        runqueue: field("runqueue")?,
        local_runqueues: Vec::new(),
        handoffs: 0,
    };
    if let Some(extra) = fields.next() {
        return Err(format!("unexpected `{extra}` before the brackets"));
    }
    let handoffs = rest.strip_prefix(" handoffs=").ok_or("no ` handoffs=`")?;
    Ok(SchedLine {
        local_runqueues: local.split(' ').map(count).collect::<Result<_, _>>()?,
        handoffs: count(handoffs)?,
        ..parsed
    })
}

#[test]
fn sched_line_parser_reads_gos_format() {
    let l = parse_sched_line(
        "SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=7 spinningthreads=0 \
         idlethreads=3 runqueue=4 [0 5] handoffs=12",
    )
    .unwrap();
    assert_eq!(
        (l.ms, l.gomaxprocs, l.idleprocs, l.threads),
        (1004, 2, 0, 7)
    );
    assert_eq!((l.spinningthreads, l.idlethreads, l.runqueue), (0, 3, 4));
    assert_eq!((l.local_runqueues, l.handoffs), (vec![0, 5], 12));
    for bad in [
        "SCHED 5ms: gomaxprocs=2 idleprocs=0 threads=7 spinningthreads=0 idlethreads=3 runqueue=0 [0 0]",
        "SCHED 5ms: gomaxprocs=2 idleprocs=0 threads=7 idlethreads=3 runqueue=0 [0 0] handoffs=1",
        "SCHED 5ms: gomaxprocs=2 idleprocs=0 threads=x spinningthreads=0 idlethreads=3 runqueue=0 [0 0] handoffs=1",
        "SCHED 5ms: gomaxprocs=2 idleprocs=0 threads=7 spinningthreads=0 idlethreads=3 runqueue=0 [0  0] handoffs=1",
        "SCHED ms: gomaxprocs=2 idleprocs=0 threads=7 spinningthreads=0 idlethreads=3 runqueue=0 [0 0] handoffs=1",
    ] {
        assert!(parse_sched_line(bad).is_err(), "{bad}");
    }
}

/// Child: on 2 M:N workers, two goroutines hold both in a std channel's
/// `recv` that only two other goroutines' 1000 ping-pongs feed (the
/// monitor must hand a processor over), then the program sleeps 600 ms
/// so the trace prints lines after the hand-off.
#[test]
fn child_hands_off_then_sleeps() {
    if !is_child() {
        return;
    }
    let _dog = Watchdog::new("child_hands_off_then_sleeps", LIMIT);
    let rt = Builder::new().scheduler(Scheduler::MN).workers(2).build();
    rt.run(|| {
        let started = Chan::<()>::new(2);
        let mut senders = Vec::new();
        let blockers: Vec<_> = (0..2)
            .map(|_| {
                let (tx, rx) = mpsc::channel::<u64>();
                senders.push(tx);
                let started = started.clone();
                gort::spawn(move || {
                    started.send(()).unwrap();
                    rx.recv().unwrap()
                })
            })
            .collect();
        for _ in 0..2 {
            started.recv().unwrap();
        }
        let (ping, pong) = (Chan::<u64>::new(0), Chan::<u64>::new(0));
        let (ping2, pong2) = (ping.clone(), pong.clone());
        let echo = gort::spawn(move || {
            for v in &ping2 {
                pong2.send(v + 1).unwrap();
            }
        });
        let mut v = 0;
        for _ in 0..1000 {
            ping.send(v).unwrap();
            v = pong.recv().unwrap();
        }
        ping.close();
        echo.join().unwrap();
        for tx in senders {
            tx.send(v).unwrap();
        }
        for b in blockers {
            assert_eq!(b.join().unwrap(), 1000);
        }
        gort::time::sleep(Duration::from_millis(600));
    });
    println!("handed off");
}

#[test]
fn schedtrace_prints_gos_line_with_handoffs() {
    if !common::schedulers().contains(&Scheduler::MN) {
        return;
    }
    let (code, out, err) = run_child(
        "child_hands_off_then_sleeps",
        &[
            ("GORT_SCHEDULER", "mn"),
            ("GOMAXPROCS", "2"),
            ("GORT_SCHEDTRACE", "50"),
        ],
    );
    assert_eq!(code, Some(0), "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("handed off"), "{out}");
    let lines: Vec<SchedLine> = err
        .lines()
        .filter(|l| l.starts_with("SCHED"))
        .map(|l| parse_sched_line(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 2, "stderr:\n{err}");
    for l in &lines {
        assert_eq!(l.gomaxprocs, 2, "{l:?}");
        assert_eq!(l.local_runqueues.len(), 2, "one per processor: {l:?}");
        assert!(l.idleprocs <= l.gomaxprocs, "{l:?}");
        assert!(l.threads >= 1, "{l:?}");
        assert!(l.idlethreads <= l.threads, "{l:?}");
        assert!(l.spinningthreads <= l.threads, "{l:?}");
    }
    assert!(
        lines.windows(2).all(|w| w[0].ms <= w[1].ms),
        "time goes forward:\n{err}"
    );
    assert!(
        lines.iter().any(|l| l.handoffs >= 1),
        "a hand-off shows:\n{err}"
    );
}
