//! Timer tests that count the process-wide pending timers, so they run as
//! the only test of their binary (nothing else arms timers meanwhile).

mod common;

use std::time::Duration;

use common::{each_scheduler, stress};
use gort::chan::{Chan, TryRecvError};
use gort::time::{Ticker, Timer, after, pending_timers, sleep, tick};

const MS: Duration = Duration::from_millis(1);

#[test]
fn timer_accounting() {
    each_scheduler("timer_accounting", Duration::from_secs(180), || {
        ticker_stop_and_reset();
        a_ticker_whose_channel_is_dropped_stops();
        hundred_thousand_timers();
        timers_whose_channel_is_dropped_are_collected();
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

/// Go 1.23: a timer whose channel nobody holds any more is collected
/// before it fires. The `select!` timeout idiom in a loop (an hour-long
/// `after` per turn, dropped when the other case wins) must not keep
/// every timer and its channel until the hour is over: 200,000 turns left
/// 200,000 pending timers and +194 MiB resident before.
fn timers_whose_channel_is_dropped_are_collected() {
    let n = stress(200_000);
    // A heap that was large a moment ago collects as often as a small
    // one (these stay allocated, so the memory of orphans cannot reuse
    // theirs unseen).
    let many: Vec<Timer> = (0..n / 2)
        .map(|_| Timer::new(Duration::from_secs(3600)))
        .collect();
    assert!(many.iter().all(Timer::stop));
    // A timer whose channel is held is never collected.
    let kept = Timer::new(Duration::from_secs(3600));

    let rss_before = resident_bytes();
    let ready = Chan::new(1);
    let mut got = 0;
    for i in 0..n {
        ready.send(i).unwrap();
        got += gort::select! {
            recv(ready) -> _ => 1,
            recv(after(Duration::from_secs(3600))) -> _ => 0,
        };
    }
    assert_eq!(got, n);
    let growth = resident_bytes()
        .zip(rss_before)
        .map(|(a, b)| a.saturating_sub(b));
    if let Some(growth) = growth {
        // The 200,000 timers kept were ~1 KiB each.
        assert!(growth < 32 << 20, "resident memory grew by {growth} bytes");
    }
    drop(many);
    assert_eq!(pending_timers(), 1, "only the held timer");

    // Dropped `Timer`s and `tick` channels likewise.
    for _ in 0..n / 10 {
        drop(Timer::new(Duration::from_secs(3600)));
        drop(tick(Duration::from_secs(3600)));
    }
    assert_eq!(pending_timers(), 1, "only the held timer");
    assert!(kept.stop(), "the held timer was still pending");
    assert_eq!(pending_timers(), 0);
}

/// The process's resident set, where the OS says (Linux).
fn resident_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
