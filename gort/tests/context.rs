//! `gort::context`: cancellation trees, deadlines, values, and that
//! dropped contexts are freed; and `time::after_func`, which deadlines use.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::{each_scheduler, is_child};
use gort::chan::Chan;
use gort::context::{self, Error};

const LIMIT: Duration = Duration::from_secs(30);

fn is_done(ctx: &context::Context) -> bool {
    let done = ctx.done();
    gort::select! {
        recv(done) -> _ => true,
        default => false,
    }
}

#[test]
fn background_is_never_done() {
    let bg = context::background();
    assert!(!is_done(&bg));
    assert_eq!(bg.err(), None);
    assert_eq!(bg.deadline(), None);
    assert!(bg.done() == Chan::nil());
}

#[test]
fn cancelling_a_parent_cancels_every_descendant_not_the_other_way() {
    each_scheduler("cancel tree", LIMIT, || {
        let (root, cancel_root) = context::with_cancel(&context::background());
        let (a, cancel_a) = context::with_cancel(&root);
        let (b, _cancel_b) = context::with_cancel(&root);
        let (a1, _cancel_a1) = context::with_cancel(&a);
        let a1v = context::with_value(&a1, 7u32);
        let (a1v1, _c) = context::with_timeout(&a1v, Duration::from_secs(3600));

        cancel_a.cancel();
        assert_eq!(a.err(), Some(Error::Canceled));
        assert!(is_done(&a) && is_done(&a1) && is_done(&a1v) && is_done(&a1v1));
        assert_eq!(a1v1.err(), Some(Error::Canceled));
        assert!(
            !is_done(&root) && !is_done(&b),
            "a child's cancel reached up or sideways"
        );
        assert_eq!(root.err(), None);

        cancel_root.cancel();
        assert!(is_done(&root) && is_done(&b));
        assert_eq!(b.err(), Some(Error::Canceled));
        // Done stays done, with the first reason.
        cancel_root.cancel();
        assert_eq!(root.err(), Some(Error::Canceled));
        assert_eq!(a1v.value::<u32>(), Some(&7));
    });
}

#[test]
fn goroutines_stop_when_their_context_is_cancelled() {
    each_scheduler("workers stop", LIMIT, || {
        let (ctx, cancel) = context::with_cancel(&context::background());
        let stopped = Chan::new(8);
        let ticks = Chan::new(0);
        for _ in 0..8 {
            let (ctx, stopped, ticks) = (ctx.clone(), stopped.clone(), ticks.clone());
            gort::go(move || {
                let done = ctx.done();
                let mut n = 0u32;
                loop {
                    gort::select! {
                        recv(done) -> _ => break,
                        send(ticks, 1u32) -> _ => n += 1,
                    }
                }
                stopped.send((n, ctx.err())).unwrap();
            });
        }
        let mut got = 0;
        while got < 100 {
            got += ticks.recv().unwrap();
        }
        cancel.cancel();
        let mut total = 0;
        for _ in 0..8 {
            let (n, err) = stopped.recv().unwrap();
            assert_eq!(err, Some(Error::Canceled));
            total += n;
        }
        assert_eq!(total, got, "every tick sent was received exactly once");
    });
}

#[test]
fn a_timeout_fires_not_before_its_deadline_and_children_inherit_it() {
    each_scheduler("timeout", LIMIT, || {
        let t0 = Instant::now();
        let (ctx, _cancel) =
            context::with_timeout(&context::background(), Duration::from_millis(30));
        let (later, _c2) = context::with_timeout(&ctx, Duration::from_secs(3600));
        let (child, _c3) = context::with_cancel(&ctx);
        assert_eq!(
            later.deadline(),
            ctx.deadline(),
            "the parent's earlier deadline wins"
        );
        assert!(!is_done(&ctx));
        child.done().recv();
        assert!(
            t0.elapsed() >= Duration::from_millis(30),
            "{:?}",
            t0.elapsed()
        );
        for c in [&ctx, &later, &child] {
            assert_eq!(c.err(), Some(Error::DeadlineExceeded));
        }
        // Cancelling afterwards changes nothing.
        _cancel.cancel();
        assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
        assert_eq!(
            Error::DeadlineExceeded.to_string(),
            "context deadline exceeded"
        );
        assert_eq!(Error::Canceled.to_string(), "context canceled");
    });
}

#[test]
fn past_deadlines_and_done_parents_make_done_children() {
    let past = Instant::now() - Duration::from_millis(1);
    let (ctx, _c) = context::with_deadline(&context::background(), past);
    assert!(is_done(&ctx));
    assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
    let (child, _c2) = context::with_cancel(&ctx);
    assert!(is_done(&child));
    assert_eq!(child.err(), Some(Error::DeadlineExceeded));
    let (zero, _c3) = context::with_timeout(&context::background(), Duration::ZERO);
    assert_eq!(zero.err(), Some(Error::DeadlineExceeded));
}

/// Counts its drops: a context tree's values must all be dropped once the
/// tree's handles are, cancelled or not, with timers armed or not.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn dropped_contexts_are_freed_cancelled_or_not() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (root, cancel_root) = context::with_cancel(&context::background());
    let mut made = 0;
    for i in 0..300 {
        // The value sits above the cancellable context, which keeps it
        // alive: if anything (a parent's list, an armed timer) kept the
        // context, the value would not be dropped.
        let v = context::with_value(&root, Counted(drops.clone()));
        let (c, cancel) = match i % 3 {
            0 => context::with_cancel(&v),
            1 => context::with_timeout(&v, Duration::from_secs(3600)),
            _ => context::with_deadline(&v, Instant::now() + Duration::from_secs(3600)),
        };
        let (grandchild, _gc) = context::with_cancel(&c);
        made += 1;
        if i % 2 == 0 {
            cancel.cancel();
        }
        drop((v, c, cancel, grandchild));
    }
    assert_eq!(drops.load(SeqCst), made, "a dropped context was kept alive");
    // The root still works, and cancelling it finds no live children.
    cancel_root.cancel();
    assert_eq!(root.err(), Some(Error::Canceled));
}

#[test]
fn after_func_runs_once_unless_stopped() {
    let ran = Arc::new(AtomicUsize::new(0));
    let (r, c) = (ran.clone(), Chan::new(1));
    let tx = c.clone();
    let t0 = Instant::now();
    let mut first = gort::time::after_func(Duration::from_millis(20), move || {
        r.fetch_add(1, SeqCst);
        tx.try_send(Instant::now()).unwrap();
    });
    let at = c.recv().unwrap();
    assert!(at.duration_since(t0) >= Duration::from_millis(20));
    assert!(!first.stop(), "stop after the call must say so");
    let r2 = ran.clone();
    let mut second = gort::time::after_func(Duration::from_millis(20), move || {
        r2.fetch_add(1, SeqCst);
    });
    assert!(second.stop());
    assert!(!second.stop());
    gort::time::sleep(Duration::from_millis(50));
    assert_eq!(ran.load(SeqCst), 1);
}

/// Depth of the chains below: far past any stack if a cancel, a drop or a
/// lookup recursed once per level.
const DEEP: usize = 100_000;

/// One deep chain, by `case`: `cancel` (with_cancel nodes, the root
/// cancelled), `timeout` (with_timeout nodes under a cancelled root),
/// `deadline` (with_cancel nodes under a root whose deadline passes: the
/// timer's thread runs the cancel; nodes made after it passed, on a slow
/// machine, are done when made) or `value` (with_value nodes, a value
/// looked up at the root). Every node is done with the right error, then
/// the leaf, last handle of the chain, is dropped.
fn deep_chain(case: &str) {
    let (root, cancel_root) = match case {
        "deadline" => context::with_timeout(&context::background(), Duration::from_secs(1)),
        _ => context::with_cancel(&context::background()),
    };
    let root = context::with_value(&root, "root");
    let mut chain = Vec::with_capacity(DEEP);
    let mut ctx = root.clone();
    for i in 0..DEEP {
        ctx = match case {
            "cancel" | "deadline" => context::with_cancel(&ctx).0,
            "timeout" => context::with_timeout(&ctx, Duration::from_secs(3600)).0,
            "value" => context::with_value(&ctx, i),
            other => panic!("unknown case {other}"),
        };
        if case != "value" {
            chain.push(ctx.clone());
        }
    }
    assert_eq!(ctx.value::<&str>(), Some(&"root")); // up the whole chain
    if case == "value" {
        assert_eq!(ctx.value::<usize>(), Some(&(DEEP - 1)));
    }
    match case {
        "value" => assert_eq!(ctx.err(), None),
        "deadline" => {
            assert_eq!(ctx.done().recv(), None);
            for c in &chain {
                assert_eq!(c.err(), Some(Error::DeadlineExceeded));
            }
        }
        _ => {
            cancel_root.cancel();
            for c in &chain {
                assert!(is_done(c));
                assert_eq!(c.err(), Some(Error::Canceled));
            }
        }
    }
    drop((root, cancel_root, chain));
    drop(ctx); // the last handle: the whole chain goes
}

/// In a child process (a stack overflow ends the process): deep chains on
/// a goroutine of each scheduler with the default stack, and on a plain
/// thread.
#[test]
#[cfg(not(target_family = "wasm"))]
fn deep_chains_neither_cancel_nor_drop_nor_look_up_recursively() {
    let mut failed = Vec::new();
    for case in ["cancel", "timeout", "deadline", "value"] {
        let (code, _, err) = common::run_child("child_deep_chain", &[("GORT_DEEP_CHAIN", case)]);
        if code != Some(0) {
            let tail: Vec<&str> = err.lines().rev().take(6).collect();
            failed.push(format!("{case}: exit {code:?}: {tail:?}"));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn child_deep_chain() {
    if !is_child() {
        return;
    }
    let case = std::env::var("GORT_DEEP_CHAIN").unwrap();
    each_scheduler(&format!("deep chain {case}"), LIMIT, {
        let case = case.clone();
        move || deep_chain(&case)
    });
    let _dog = common::Watchdog::new(&format!("deep chain {case} [thread]"), LIMIT);
    std::thread::spawn(move || deep_chain(&case))
        .join()
        .unwrap();
}
