//! Timer tests that count the process-wide pending timers, so they run as
//! the only test of their binary (nothing else arms timers meanwhile).

mod common;

use std::time::Duration;

use common::{each_scheduler, stress};
use gort::chan::TryRecvError;
use gort::time::{Ticker, Timer, after, pending_timers, sleep, tick};

const MS: Duration = Duration::from_millis(1);

#[test]
fn timer_accounting() {
    each_scheduler("timer_accounting", Duration::from_secs(180), || {
        ticker_stop_and_reset();
        a_ticker_whose_channel_is_dropped_stops();
        hundred_thousand_timers();
        never_firing_timers_are_not_pending();
    });
}

fn ticker_stop_and_reset() {
    let tk = Ticker::new(5 * MS);
    tk.c.recv().unwrap();
    tk.stop();
    assert!(tk.c.recv_timeout(20 * MS).is_err(), "no tick after stop");
    assert_eq!(pending_timers(), 0, "a stopped ticker is disarmed");
    tk.reset(2 * MS);
    for _ in 0..3 {
        tk.c.recv().unwrap();
    }
    drop(tk);
    assert_eq!(pending_timers(), 0, "a dropped ticker stops");
}

fn a_ticker_whose_channel_is_dropped_stops() {
    let c = tick(MS);
    c.recv().unwrap();
    drop(c);
    // The next firing finds no channel and does not re-arm.
    sleep(20 * MS);
    assert_eq!(pending_timers(), 0);
}

/// 100,000 pending timers: arming, stopping and firing stay cheap, and
/// every one is accounted for. Even ones are far off and get stopped; odd
/// ones fire.
fn hundred_thousand_timers() {
    let n = stress(100_000);
    let timers: Vec<Timer> = (0..n)
        .map(|i| {
            if i % 2 == 0 {
                Timer::new(Duration::from_secs(30))
            } else {
                Timer::new(Duration::from_millis(50 + (i % 100) as u64))
            }
        })
        .collect();
    let stopped = timers.iter().step_by(2).filter(|t| t.stop()).count();
    assert_eq!(stopped, n / 2, "every far-off timer was pending");
    for t in timers.iter().skip(1).step_by(2) {
        t.c.recv().unwrap();
    }
    for t in timers.iter().step_by(2) {
        assert_eq!(t.c.try_recv(), Err(TryRecvError::Empty));
    }
    assert_eq!(pending_timers(), 0, "all fired or stopped");
}

/// A timer too far off to ever fire is active (see tests/time.rs) but not
/// pending: it can wake nobody.
fn never_firing_timers_are_not_pending() {
    let t = Timer::new(Duration::MAX);
    let tk = Ticker::new(Duration::MAX);
    let c = after(Duration::MAX);
    assert_eq!(pending_timers(), 0);
    assert!(t.stop());
    drop((tk, c));
}
