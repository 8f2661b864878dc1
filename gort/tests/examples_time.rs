//! The output of the time examples in `gort/examples/` (run by
//! `common::examples`; not on wasm, which has no child processes).
#![cfg(not(target_family = "wasm"))]

mod common;

use common::examples::check_example;

#[test]
fn timers() {
    check_example("timers", &[], |out| {
        assert_eq!(
            out.lines(),
            [
                "timer 1 fired",
                "stop timer 1 after it fired: false",
                "stop timer 2 before it fired: true",
                "timer 2 never fired",
                "reset timer 3 while pending: true",
                "timer 3 fired after its reset",
                "stop timer 4 with its value unread: true",
                "timer 4 values left to receive: 0",
            ]
        );
    });
}

#[test]
fn tickers() {
    check_example("tickers", &[], |out| {
        let lines = out.lines();
        // Main stops the ticker once the listener took 3 ticks; on a slow
        // machine one more may come first. The ticks are numbered in order
        // and the final count matches them.
        let (last, ticks) = lines.split_last().expect("some output");
        assert!(ticks.len() >= 3, "{lines:?}");
        for (i, line) in ticks.iter().enumerate() {
            assert_eq!(*line, format!("tick {}", i + 1));
        }
        assert_eq!(*last, format!("ticker stopped after {} ticks", ticks.len()));
    });
}

/// The number `N` in a line `<prefix>Nms`.
fn millis(line: &str, prefix: &str) -> u128 {
    line.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix("ms"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("expected `{prefix}Nms`, got {line:?}"))
}

#[test]
fn rate_limiting() {
    check_example("rate_limiting", &[], |out| {
        let lines = out.lines();
        assert_eq!(lines.len(), 12, "{lines:?}");
        assert_eq!(
            lines[..5],
            [
                "request 1 served",
                "request 2 served",
                "request 3 served",
                "request 4 served",
                "request 5 served",
            ]
        );
        // Five ticks 10ms apart: 50ms at least, however slow the machine.
        assert!(millis(lines[5], "steady: 5 requests took ") >= 50);
        // The first three take the tokens stored up front (FIFO), the
        // other two wait for ticks.
        assert_eq!(
            lines[6..11],
            [
                "bursty request 1 served with a token from the burst",
                "bursty request 2 served with a token from the burst",
                "bursty request 3 served with a token from the burst",
                "bursty request 4 served with a token from a tick",
                "bursty request 5 served with a token from a tick",
            ]
        );
        assert!(millis(lines[11], "bursty: 5 requests took ") >= 20);
    });
}

#[test]
fn context() {
    check_example("context", &[], |out| {
        assert_eq!(
            out.lines(),
            [
                "cancelled b: b context canceled, root not done",
                "a: context canceled",
                "b: context canceled",
                "a.req (request 42): context canceled",
                "a.c: context canceled",
                "root: context canceled",
                "the other tree: not done",
                "inner has its parent's deadline: true",
                "slow: context deadline exceeded",
                "timed: context deadline exceeded",
                "timed after cancel: context deadline exceeded",
                "quick work finished",
                "quick before cancel: not done",
                "quick after cancel: context canceled",
            ]
        );
    });
}
