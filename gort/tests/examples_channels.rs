//! The output of the channels examples in `gort/examples/` (run by
//! `common::examples`; not on wasm, which has no child processes).
#![cfg(not(target_family = "wasm"))]

mod common;

use common::examples::check_example;

#[test]
fn channels() {
    check_example("channels", &[], |out| {
        assert_eq!(out.lines(), ["hello over a channel"]);
    });
}

#[test]
fn channel_buffering() {
    check_example("channel_buffering", &[], |out| {
        assert_eq!(
            out.lines(),
            [
                "buffered 2 of 2",
                "plum not sent: send on full channel",
                "apple",
                "pear",
            ]
        );
    });
}

#[test]
fn channel_synchronization() {
    check_example("channel_synchronization", &[], |out| {
        assert_eq!(
            out.lines(),
            [
                "worker: started",
                "worker: finished",
                "main: worker is done"
            ]
        );
    });
}

#[test]
fn channel_directions() {
    check_example("channel_directions", &[], |out| {
        assert_eq!(
            out.lines(),
            [
                "cooked noodles",
                "soup offered: taken",
                "salad offered: full",
                "soup",
            ]
        );
    });
}

#[test]
fn select() {
    check_example("select", &[], |out| {
        // The news goroutine waits until the weather was received.
        assert_eq!(out.lines(), ["weather: sunny", "news: no news"]);
    });
}

#[test]
fn timeouts() {
    check_example("timeouts", &[], |out| {
        // The slow job waits for the timeout; the quick one has seconds.
        assert_eq!(
            out.lines(),
            [
                "no answer within 20ms",
                "later: slow answer",
                "quick answer",
            ]
        );
    });
}

#[test]
fn non_blocking_channel_operations() {
    check_example("non_blocking_channel_operations", &[], |out| {
        assert_eq!(
            out.lines(),
            [
                "no order waiting",
                "nobody took two coffees",
                "all quiet",
                "placed one tea",
                "got order one tea",
            ]
        );
    });
}

#[test]
fn closing_channels() {
    check_example("closing_channels", &[], |out| {
        let lines = out.lines();
        // Main and the worker race; each one's own lines keep their order.
        let from_main: Vec<_> = lines.iter().filter(|l| l.starts_with("main ")).collect();
        assert_eq!(
            from_main,
            [
                &"main sent task 10",
                &"main sent task 20",
                &"main sent task 30",
                &"main closes tasks",
            ]
        );
        let from_worker: Vec<_> = lines.iter().filter(|l| l.starts_with("worker")).collect();
        assert_eq!(
            from_worker,
            [
                &"worker got task 10",
                &"worker got task 20",
                &"worker got task 30",
                &"worker: no more tasks",
            ]
        );
        // The worker sees the close only after main announced it.
        let pos = |line: &str| lines.iter().position(|l| *l == line).unwrap();
        assert!(pos("main closes tasks") < pos("worker: no more tasks"));
        assert_eq!(lines.last(), Some(&"another task? None"));
        assert_eq!(lines.len(), 9);
    });
}

#[test]
fn range_over_channels() {
    check_example("range_over_channels", &[], |out| {
        assert_eq!(
            out.lines(),
            ["red", "green", "blue", "the loop ended: closed and empty"]
        );
    });
}
