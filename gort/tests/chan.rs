//! Channels and select: ports of Go's runtime/chan_test.go semantics, the
//! seed's opposite-order selects, exactly-once delivery and drop, a soak.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{each_scheduler, stress};
use gort::chan::{Chan, RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use gort::sync::{Mutex, WaitGroup};
use gort::time::sleep;

const MS: Duration = Duration::from_millis(1);

/// Go's TestChan, for capacities 0..N.
#[test]
fn go_test_chan() {
    each_scheduler("go_test_chan", Duration::from_secs(120), || {
        for cap in 0..stress(20) {
            // Receive from an empty channel blocks.
            let c = Chan::<i32>::new(cap);
            let recv1 = Arc::new(AtomicBool::new(false));
            let recv2 = Arc::new(AtomicBool::new(false));
            for flag in [&recv1, &recv2] {
                let (c, flag) = (c.clone(), flag.clone());
                gort::go(move || {
                    c.recv();
                    flag.store(true, Ordering::SeqCst);
                });
            }
            sleep(MS);
            assert!(
                !recv1.load(Ordering::SeqCst) && !recv2.load(Ordering::SeqCst),
                "chan[{cap}]: receive from empty chan"
            );
            // A non-blocking receive does not block.
            gort::select! {
                recv(c) -> _v => panic!("chan[{cap}]: receive from empty chan"),
                default => {}
            }
            c.send(0).unwrap();
            c.send(0).unwrap();

            // Send to a full channel blocks.
            let c = Chan::<i32>::new(cap);
            for i in 0..cap as i32 {
                c.send(i).unwrap();
            }
            let sent = Arc::new(AtomicBool::new(false));
            {
                let (c, sent) = (c.clone(), sent.clone());
                gort::go(move || {
                    c.send(0).unwrap();
                    sent.store(true, Ordering::SeqCst);
                });
            }
            sleep(MS);
            assert!(
                !sent.load(Ordering::SeqCst),
                "chan[{cap}]: send to full chan"
            );
            gort::select! {
                send(c, 0) -> _r => panic!("chan[{cap}]: send to full chan"),
                default => {}
            }
            c.recv();

            // Closed: buffered values drain, then None.
            let c = Chan::<i32>::new(cap);
            for i in 0..cap as i32 {
                c.send(i).unwrap();
            }
            c.close();
            for i in 0..cap as i32 {
                assert_eq!(c.recv(), Some(i), "chan[{cap}]");
            }
            assert_eq!(c.recv(), None);
            assert_eq!(c.recv(), None);

            // Close unblocks a receiver.
            let c = Chan::<i32>::new(cap);
            let done = Chan::new(0);
            {
                let (c, done) = (c.clone(), done.clone());
                gort::go(move || done.send(c.recv().is_none()).unwrap());
            }
            sleep(MS);
            c.close();
            assert_eq!(
                done.recv(),
                Some(true),
                "chan[{cap}]: received non-None from closed chan"
            );

            // 100 values arrive uncorrupted, in FIFO order.
            let c = Chan::<i32>::new(cap);
            {
                let c = c.clone();
                gort::go(move || (0..100).for_each(|i| c.send(i).unwrap()));
            }
            for i in 0..100 {
                assert_eq!(c.recv(), Some(i), "chan[{cap}]");
            }

            // 4 senders x 1000, 4 receivers: each value arrives 4 times.
            const P: usize = 4;
            const L: i32 = 1000;
            for _ in 0..P {
                let c = c.clone();
                gort::go(move || (0..L).for_each(|i| c.send(i).unwrap()));
            }
            let done = Chan::new(0);
            for _ in 0..P {
                let (c, done) = (c.clone(), done.clone());
                gort::go(move || {
                    let mut got = HashMap::new();
                    for _ in 0..L {
                        *got.entry(c.recv().unwrap()).or_insert(0) += 1;
                    }
                    done.send(got).unwrap();
                });
            }
            let mut got = HashMap::new();
            for _ in 0..P {
                for (k, v) in done.recv().unwrap() {
                    *got.entry(k).or_insert(0) += v;
                }
            }
            assert_eq!(got.len(), L as usize, "chan[{cap}]");
            assert!(
                got.values().all(|&v| v == P),
                "chan[{cap}]: each value {P} times"
            );

            // len and cap.
            let c = Chan::<i32>::new(cap);
            assert_eq!((c.len(), c.cap()), (0, cap));
            for i in 0..cap as i32 {
                c.send(i).unwrap();
            }
            assert_eq!((c.len(), c.cap()), (cap, cap));
        }
    });
}

/// Go's TestNonblockRecvRace.
#[test]
fn nonblock_recv_race() {
    each_scheduler("nonblock_recv_race", Duration::from_secs(60), || {
        for _ in 0..stress(1000) {
            let c = Chan::new(1);
            c.send(1).unwrap();
            let h = {
                let c = c.clone();
                gort::spawn(move || {
                    gort::select! {
                        recv(c) -> _v => {},
                        default => panic!("chan is not ready"),
                    }
                })
            };
            c.close();
            c.recv();
            h.join().unwrap();
        }
    });
}

/// Go's TestNonblockSelectRace and Race2: from the moment the goroutine
/// starts, c1 or c2 is always ready, so its select never takes default.
#[test]
fn nonblock_select_race() {
    for close_c2 in [false, true] {
        each_scheduler("nonblock_select_race", Duration::from_secs(60), move || {
            let done = Chan::new(1);
            for _ in 0..stress(2000) {
                let c1 = Chan::new(1);
                let c2 = Chan::new(if close_c2 { 0 } else { 1 });
                c1.send(1).unwrap();
                {
                    let (c1, c2, done) = (c1.clone(), c2.clone(), done.clone());
                    gort::go(move || {
                        let ok = gort::select! {
                            recv(c1) -> _v => true,
                            recv(c2) -> _v => true,
                            default => false,
                        };
                        done.send(ok).unwrap();
                    });
                }
                if close_c2 {
                    c2.close();
                } else {
                    c2.send(1).unwrap();
                }
                gort::select! {
                    recv(c1) -> _v => {},
                    default => {},
                }
                assert_eq!(done.recv(), Some(true), "no chan is ready");
            }
        });
    }
}

/// Go's TestSelfSelect: a select that sends and receives on one channel
/// never pairs with itself.
#[test]
fn self_select() {
    each_scheduler("self_select", Duration::from_secs(60), || {
        for cap in [0usize, 10] {
            let wg = WaitGroup::new();
            let c = Chan::new(cap);
            for p in 0..2 {
                wg.add(1);
                let (wg, c) = (wg.clone(), c.clone());
                gort::go(move || {
                    for i in 0..1000 {
                        if p == 0 || i % 2 == 0 {
                            gort::select! {
                                send(c, p) -> r => r.unwrap(),
                                recv(c) -> v => assert!(!(cap == 0 && v == Some(p)), "self receive"),
                            }
                        } else {
                            gort::select! {
                                recv(c) -> v => assert!(!(cap == 0 && v == Some(p)), "self receive"),
                                send(c, p) -> r => r.unwrap(),
                            }
                        }
                    }
                    wg.done();
                });
            }
            wg.wait();
        }
    });
}

/// Go's TestSelectStress: plain senders/receivers and two selects (one
/// sending on all four channels, one receiving) interleave chaotically
/// and must not deadlock; channels switch off by becoming nil.
#[test]
fn select_stress() {
    each_scheduler("select_stress", Duration::from_secs(120), || {
        let c = [
            Chan::<i32>::new(0),
            Chan::new(0),
            Chan::new(2),
            Chan::new(3),
        ];
        let n = stress(5_000);
        let wg = WaitGroup::new();
        for ck in &c {
            wg.add(2);
            let (tx, wg1) = (ck.clone(), wg.clone());
            gort::go(move || {
                (0..n).for_each(|_| tx.send(0).unwrap());
                wg1.done();
            });
            let (rx, wg2) = (ck.clone(), wg.clone());
            gort::go(move || {
                (0..n).for_each(|_| {
                    rx.recv().unwrap();
                });
                wg2.done();
            });
        }
        wg.add(2);
        {
            let (mut c1, wg) = (c.clone(), wg.clone());
            gort::go(move || {
                let mut cnt = [0; 4];
                for _ in 0..4 * n {
                    let k = gort::select! {
                        send(c1[3], 0) -> _r => 3,
                        send(c1[2], 0) -> _r => 2,
                        send(c1[0], 0) -> _r => 0,
                        send(c1[1], 0) -> _r => 1,
                    };
                    cnt[k] += 1;
                    if cnt[k] == n {
                        c1[k] = Chan::nil();
                    }
                }
                wg.done();
            });
        }
        {
            let (mut c1, wg) = (c.clone(), wg.clone());
            gort::go(move || {
                let mut cnt = [0; 4];
                for _ in 0..4 * n {
                    let k = gort::select! {
                        recv(c1[0]) -> _v => 0,
                        recv(c1[1]) -> _v => 1,
                        recv(c1[2]) -> _v => 2,
                        recv(c1[3]) -> _v => 3,
                    };
                    cnt[k] += 1;
                    if cnt[k] == n {
                        c1[k] = Chan::nil();
                    }
                }
                wg.done();
            });
        }
        wg.wait();
    });
}

/// Go's TestSelectFairness: ready cases are chosen uniformly (within 10σ).
#[test]
fn select_fairness() {
    each_scheduler("select_fairness", Duration::from_secs(60), || {
        const TRIALS: usize = 10_000;
        let c1 = Chan::<u8>::new(TRIALS + 1);
        let c2 = Chan::<u8>::new(TRIALS + 1);
        for _ in 0..=TRIALS {
            c1.send(1).unwrap();
            c2.send(2).unwrap();
        }
        let (c3, c4) = (Chan::<u8>::new(0), Chan::<u8>::new(0));
        let (out, done) = (Chan::<u8>::new(0), Chan::<()>::new(0));
        let h = {
            let (c1, c2, out, done) = (c1.clone(), c2.clone(), out.clone(), done.clone());
            gort::spawn(move || {
                loop {
                    let b = gort::select! {
                        recv(c3) -> v => v.unwrap(),
                        recv(c4) -> v => v.unwrap(),
                        recv(c1) -> v => v.unwrap(),
                        recv(c2) -> v => v.unwrap(),
                    };
                    gort::select! {
                        send(out, b) -> r => r.unwrap(),
                        recv(done) -> _v => return,
                    }
                }
            })
        };
        let (mut n1, mut n2) = (0usize, 0usize);
        for _ in 0..TRIALS {
            match out.recv().unwrap() {
                1 => n1 += 1,
                2 => n2 += 1,
                b => panic!("unexpected value {b} on channel"),
            }
        }
        let mean = TRIALS as f64 * 0.5;
        let stddev = (TRIALS as f64 * 0.25).sqrt();
        assert!(
            (n1 as f64 - mean).abs() <= 10.0 * stddev,
            "unfair select: in {TRIALS} trials, results were {n1}, {n2}"
        );
        done.close();
        h.join().unwrap();
    });
}

/// Go's TestPseudoRandomSend: a select of two sends on one channel picks
/// both.
#[test]
fn pseudo_random_send() {
    each_scheduler("pseudo_random_send", Duration::from_secs(60), || {
        let n = 100;
        for cap in [0, n] {
            let c = Chan::<usize>::new(cap);
            let h = {
                let c = c.clone();
                gort::spawn(move || {
                    (0..n)
                        .map(|_| {
                            gort::gosched();
                            c.recv().unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            };
            for _ in 0..n {
                gort::select! {
                    send(c, 1) -> r => r.unwrap(),
                    send(c, 0) -> r => r.unwrap(),
                }
            }
            let l = h.join().unwrap();
            let ones: usize = l.iter().sum();
            let zeros = n - ones;
            assert!(
                zeros > n / 10 && ones > n / 10,
                "want pseudorandom, got {zeros} zeros and {ones} ones (cap {cap})"
            );
        }
    });
}

/// Go's TestMultiConsumer: 23 workers ranging over a queue.
#[test]
fn multi_consumer() {
    each_scheduler("multi_consumer", Duration::from_secs(120), || {
        const NWORK: usize = 23;
        let niter = stress(27_182);
        let pn = [2usize, 3, 7, 11, 13, 17, 19, 23, 27, 31];
        let q = Chan::new(NWORK * 3);
        let r = Chan::new(NWORK * 3);
        let wg = WaitGroup::new();
        for w in 0..NWORK {
            wg.add(1);
            let (q, r, wg) = (q.clone(), r.clone(), wg.clone());
            gort::go(move || {
                for v in &q {
                    if pn[w % pn.len()] == v {
                        gort::gosched();
                    }
                    r.send(v).unwrap();
                }
                wg.done();
            });
        }
        let expect: usize = (0..niter).map(|i| pn[i % pn.len()]).sum();
        {
            let (q, r) = (q.clone(), r.clone());
            gort::go(move || {
                for i in 0..niter {
                    q.send(pn[i % pn.len()]).unwrap();
                }
                q.close();
                wg.wait();
                r.close();
            });
        }
        let (mut n, mut s) = (0, 0);
        for v in &r {
            n += 1;
            s += v;
        }
        assert_eq!((n, s), (niter, expect));
    });
}

/// Go's TestSelectDuplicateChannel: one select queued twice on c.
#[test]
fn select_duplicate_channel() {
    each_scheduler("select_duplicate_channel", Duration::from_secs(30), || {
        let (c, d, e) = (
            Chan::<i32>::new(0),
            Chan::<i32>::new(0),
            Chan::<i32>::new(0),
        );
        {
            let (c, d, e) = (c.clone(), d.clone(), e.clone());
            gort::go(move || {
                gort::select! {
                    recv(c) -> _v => {},
                    recv(c) -> _v => {},
                    recv(d) -> _v => {},
                }
                e.send(9).unwrap();
            });
        }
        sleep(MS);
        let b = {
            let c = c.clone();
            gort::spawn(move || c.recv())
        };
        sleep(MS);
        d.send(7).unwrap();
        assert_eq!(e.recv(), Some(9));
        c.send(8).unwrap();
        assert_eq!(b.join().unwrap(), Some(8));
    });
}

/// The seed's deadlock: `select { <-c1; c2 <- 1 }` and `select { c2 <- 1;
/// <-c1 }` at once, many times, with a third party serving both channels.
#[test]
fn opposite_order_selects_never_deadlock() {
    each_scheduler(
        "opposite_order_selects_never_deadlock",
        Duration::from_secs(60),
        || {
            for cap in [0usize, 1] {
                let (c1, c2) = (Chan::<i32>::new(cap), Chan::<i32>::new(cap));
                let rounds = stress(5_000);
                let served = Arc::new(AtomicUsize::new(0));
                let wg = WaitGroup::new();
                for order in 0..2 {
                    wg.add(1);
                    let (c1, c2, wg) = (c1.clone(), c2.clone(), wg.clone());
                    gort::go(move || {
                        for _ in 0..rounds {
                            if order == 0 {
                                gort::select! {
                                    recv(c1) -> _v => {},
                                    send(c2, 1) -> r => r.unwrap(),
                                }
                            } else {
                                gort::select! {
                                    send(c2, 1) -> r => r.unwrap(),
                                    recv(c1) -> _v => {},
                                }
                            }
                        }
                        wg.done();
                    });
                }
                // The server: feeds c1 and drains c2 until both selectors end.
                let stop = Chan::<()>::new(0);
                let server = {
                    let (c1, c2, stop, served) =
                        (c1.clone(), c2.clone(), stop.clone(), served.clone());
                    gort::spawn(move || {
                        loop {
                            gort::select! {
                                send(c1, 0) -> r => r.unwrap(),
                                recv(c2) -> _v => {},
                                recv(stop) -> _v => return,
                            }
                            served.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                };
                wg.wait();
                stop.close();
                server.join().unwrap();
                // Each of the 2 * rounds selects completed against the server,
                // except sends parked in c2's buffer; the server's extra sends
                // may sit in c1's buffer.
                assert_eq!(
                    served.load(Ordering::Relaxed) + c2.len(),
                    2 * rounds + c1.len()
                );
            }
        },
    );
}

#[test]
fn close_wakes_blocked_receivers_and_returns_senders_values() {
    each_scheduler("close_wakes_blocked", Duration::from_secs(30), || {
        let c = Chan::<String>::new(0);
        let receivers: Vec<_> = (0..4)
            .map(|_| {
                let c = c.clone();
                gort::spawn(move || c.recv())
            })
            .collect();
        sleep(5 * MS);
        c.close();
        for r in receivers {
            assert_eq!(r.join().unwrap(), None);
        }
        let d = Chan::<String>::new(0);
        let senders: Vec<_> = (0..4)
            .map(|i| {
                let d = d.clone();
                gort::spawn(move || d.send(format!("v{i}")).map_err(|e| e.into_inner()))
            })
            .collect();
        sleep(5 * MS);
        d.close();
        let mut back: Vec<String> = senders
            .into_iter()
            .map(|s| s.join().unwrap().unwrap_err())
            .collect();
        back.sort();
        assert_eq!(back, ["v0", "v1", "v2", "v3"]);
        assert_eq!(d.send("late".into()).unwrap_err().into_inner(), "late");
        assert!(matches!(
            d.try_send("x".into()),
            Err(TrySendError::Closed(_))
        ));
        assert_eq!(d.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
#[cfg(panic = "unwind")]
fn close_misuse_panics_with_gos_messages() {
    let c = Chan::<i32>::new(1);
    c.close();
    let e = std::panic::catch_unwind(|| c.close()).unwrap_err();
    assert_eq!(
        e.downcast_ref::<&str>().copied(),
        Some("close of closed channel")
    );
    let e = std::panic::catch_unwind(|| Chan::<i32>::nil().close()).unwrap_err();
    assert_eq!(
        e.downcast_ref::<&str>().copied(),
        Some("close of nil channel")
    );
}

/// A capacity whose buffer cannot exist panics with Go's `make` message
/// instead of aborting on allocation.
#[test]
#[cfg(panic = "unwind")]
fn impossible_capacity_panics_with_gos_message() {
    for cap in [usize::MAX, usize::MAX / 2, isize::MAX as usize / 4] {
        let e = std::panic::catch_unwind(|| Chan::<u64>::new(cap)).unwrap_err();
        assert_eq!(
            e.downcast_ref::<&str>().copied(),
            Some("makechan: size out of range"),
            "cap {cap}"
        );
    }
}

/// A buffer bigger than the memory the OS grants (16 TiB of slots, and
/// 256 TiB, beyond any 64-bit address space in use) panics with Go's
/// message instead of aborting the process on allocation.
#[test]
#[cfg(all(panic = "unwind", target_pointer_width = "64"))]
fn capacity_beyond_memory_panics_with_gos_message() {
    for cap in [1usize << 40, 1 << 44] {
        let e = std::panic::catch_unwind(|| Chan::<u8>::new(cap)).unwrap_err();
        assert_eq!(
            e.downcast_ref::<&str>().copied(),
            Some("makechan: size out of range"),
            "cap {cap}"
        );
    }
}

/// This process's resident memory in KiB (Linux's `VmRSS`).
#[cfg(target_os = "linux")]
fn resident_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A big buffer costs resident memory only as it fills: making a 16M-place
/// channel (256 MiB of slots) adds far less than that, and pushing 1M
/// values then adds about their slots. In a child process, so no other
/// test's memory moves the reading.
#[test]
#[cfg(all(target_os = "linux", not(target_family = "wasm")))]
fn big_buffer_is_resident_only_where_used() {
    const MIB: usize = 1024;
    if common::is_child() {
        let before = resident_kib();
        let c = Chan::<u8>::new(1 << 24);
        let made = resident_kib();
        for _ in 0..1 << 20 {
            c.try_send(1).unwrap();
        }
        let filled = resident_kib();
        println!("made +{} KiB, filled +{} KiB", made - before, filled - made);
        assert!(
            made - before < 16 * MIB,
            "making the channel took {} KiB",
            made - before
        );
        // 1M slots of 16 bytes: the reading does see memory being used.
        assert!(
            filled - made >= 8 * MIB,
            "1M values took only {} KiB",
            filled - made
        );
        return;
    }
    let (code, out, err) = common::run_child("big_buffer_is_resident_only_where_used", &[]);
    assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
    assert!(out.contains("made +"), "stdout: {out}");
}

/// `len` counts buffered values through wrap-around of the ring, and a
/// closed channel still drains in order.
#[test]
fn len_and_order_across_many_laps() {
    let c = Chan::new(3);
    for lap in 0..1000u32 {
        for i in 0..3 {
            c.try_send(lap * 3 + i).unwrap();
        }
        assert_eq!(c.try_send(0), Err(TrySendError::Full(0)));
        assert_eq!(c.len(), 3);
        for i in 0..2 {
            assert_eq!(c.try_recv(), Ok(lap * 3 + i));
        }
        assert_eq!(c.len(), 1);
        assert_eq!(c.try_recv(), Ok(lap * 3 + 2));
        assert_eq!(c.len(), 0);
    }
    c.try_send(7).unwrap();
    c.close();
    assert!(c.is_closed());
    assert_eq!(c.len(), 1);
    assert_eq!(c.try_recv(), Ok(7));
    assert_eq!(c.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn nil_channel_blocks_and_is_never_selected() {
    each_scheduler("nil_channel", Duration::from_secs(30), || {
        let nil = Chan::<i32>::nil();
        assert_eq!(nil.try_recv(), Err(TryRecvError::Empty));
        assert!(matches!(nil.try_send(1), Err(TrySendError::Full(1))));
        assert_eq!(nil.recv_timeout(5 * MS), Err(RecvTimeoutError::Timeout));
        assert!(matches!(
            nil.send_timeout(1, 5 * MS),
            Err(SendTimeoutError::Timeout(1))
        ));
        assert_eq!((nil.len(), nil.cap(), nil.is_closed()), (0, 0, false));
        let ready = Chan::new(1);
        ready.send(7).unwrap();
        for _ in 0..100 {
            let v = gort::select! {
                recv(nil) -> _v => panic!("nil chosen"),
                send(nil, 1) -> _r => panic!("nil chosen"),
                recv(ready) -> v => v.unwrap(),
            };
            assert_eq!(v, 7);
            ready.send(7).unwrap();
        }
        let r = gort::select! {
            recv(nil) -> _v => 1,
            default(5 * MS) => 2,
        };
        assert_eq!(r, 2);
    });
}

#[test]
fn timeouts_give_values_back() {
    each_scheduler("timeouts", Duration::from_secs(30), || {
        let c = Chan::<Vec<u8>>::new(0);
        match c.send_timeout(vec![1, 2], 5 * MS) {
            Err(SendTimeoutError::Timeout(v)) => assert_eq!(v, [1, 2]),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.recv_timeout(5 * MS), Err(RecvTimeoutError::Timeout));
        // A timeout that is beaten by a sender delivers the value.
        let h = {
            let c = c.clone();
            gort::spawn(move || c.send(vec![9]).unwrap())
        };
        assert_eq!(c.recv_timeout(Duration::from_secs(10)), Ok(vec![9]));
        h.join().unwrap();
        assert_eq!(
            c.recv_timeout(Duration::ZERO),
            Err(RecvTimeoutError::Timeout)
        );
        // Duration::MAX means no deadline at all (no overflow, no spin).
        let c2 = c.clone();
        gort::go(move || c2.send(vec![5]).unwrap());
        assert_eq!(c.recv_timeout(Duration::MAX), Ok(vec![5]));
    });
}

/// Counts live values, so tests can prove every value is dropped exactly
/// once, wherever it ends up.
#[derive(Debug)]
struct Tracked {
    id: usize,
    live: Arc<AtomicUsize>,
}

impl Tracked {
    fn new(id: usize, live: &Arc<AtomicUsize>) -> Self {
        live.fetch_add(1, Ordering::SeqCst);
        Tracked {
            id,
            live: live.clone(),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn values_buffered_at_last_drop_are_dropped_once() {
    let live = Arc::new(AtomicUsize::new(0));
    let c = Chan::new(10);
    for i in 0..7 {
        c.send(Tracked::new(i, &live)).unwrap();
    }
    let c2 = c.clone();
    drop(c);
    assert_eq!(live.load(Ordering::SeqCst), 7);
    assert_eq!(c2.recv().unwrap().id, 0);
    assert_eq!(live.load(Ordering::SeqCst), 6);
    drop(c2);
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

/// Drops of buffered values go on past one that panics: every value left
/// in the buffer is dropped once (as std's collections do), and the panic
/// still reaches the caller.
#[test]
#[cfg(panic = "unwind")]
fn a_panicking_drop_does_not_leak_the_other_buffered_values() {
    struct Bomb {
        armed: bool,
        drops: Arc<AtomicUsize>,
    }
    impl Drop for Bomb {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
            if self.armed {
                panic!("bomb");
            }
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let c = Chan::new(4);
    for armed in [true, false, false] {
        let drops = drops.clone();
        c.send(Bomb { armed, drops }).unwrap();
    }
    let e = std::panic::catch_unwind(move || drop(c)).unwrap_err();
    assert_eq!(e.downcast_ref::<&str>().copied(), Some("bomb"));
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

/// Every value sent is received exactly once or comes back to its sender,
/// under senders, receivers, selects and a close racing each other.
#[test]
fn exactly_once_delivery_and_drop() {
    each_scheduler(
        "exactly_once_delivery_and_drop",
        Duration::from_secs(120),
        || {
            for cap in [0usize, 1, 16] {
                let live = Arc::new(AtomicUsize::new(0));
                let per = stress(2_000);
                // `b` is unbuffered and never has a receiver: its case never wins.
                let (a, b) = (Chan::<Tracked>::new(cap), Chan::<Tracked>::new(0));
                let seen = Arc::new(Mutex::new(vec![0u8; 4 * per]));
                let returned = Arc::new(AtomicUsize::new(0));
                let wg = WaitGroup::new();
                for s in 0..4 {
                    wg.add(1);
                    let (a, b, live, returned, wg) = (
                        a.clone(),
                        b.clone(),
                        live.clone(),
                        returned.clone(),
                        wg.clone(),
                    );
                    gort::go(move || {
                        for i in 0..per {
                            let v = Tracked::new(s * per + i, &live);
                            let res = if i % 2 == 0 {
                                a.send(v)
                            } else {
                                gort::select! {
                                    send(a, v) -> r => r,
                                    send(b, Tracked::new(usize::MAX, &live)) -> r => r.map(|()| unreachable!("b never has receivers")),
                                }
                            };
                            if let Err(e) = res {
                                assert_ne!(e.0.id, usize::MAX);
                                returned.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        wg.done();
                    });
                }
                let receivers: Vec<_> = (0..3)
                    .map(|r| {
                        let (a, seen) = (a.clone(), seen.clone());
                        gort::spawn(move || {
                            let mut n = 0;
                            loop {
                                let v = if r == 0 {
                                    a.recv()
                                } else {
                                    gort::select! {
                                        recv(a) -> v => v,
                                        default(Duration::from_millis(50)) => continue,
                                    }
                                };
                                let Some(v) = v else { return n };
                                seen.lock()[v.id] += 1;
                                n += 1;
                                if n % 97 == 0 {
                                    gort::gosched();
                                }
                            }
                        })
                    })
                    .collect();
                // Close part-way through so some sends come back.
                sleep(2 * MS);
                a.close();
                wg.wait();
                let received: usize = receivers.into_iter().map(|r| r.join().unwrap()).sum();
                assert_eq!(
                    received + returned.load(Ordering::SeqCst),
                    4 * per,
                    "cap {cap}"
                );
                assert!(seen.lock().iter().all(|&n| n <= 1), "a value arrived twice");
                assert_eq!(seen.lock().iter().filter(|&&n| n == 1).count(), received);
                drop((a, b));
                assert_eq!(
                    live.load(Ordering::SeqCst),
                    0,
                    "every value dropped exactly once"
                );
            }
        },
    );
}

/// Blocked sends on a full buffer give up after a few microseconds while
/// a receive may be moving their value into the buffer for them: a send
/// that reports a timeout keeps its value (it is never received), and one
/// that reports success is received exactly once. With
/// `exactly_once_delivery_and_drop` this covers the receive-side hand-off
/// of a blocked sender's value (chan/queue.rs).
#[test]
fn timed_out_sends_race_the_hand_off() {
    each_scheduler(
        "timed_out_sends_race_the_hand_off",
        Duration::from_secs(60),
        || {
            let per = stress(3_000);
            let c = Chan::<usize>::new(1);
            let sent = Arc::new(Mutex::new(vec![false; 4 * per]));
            let wg = WaitGroup::new();
            for s in 0..4 {
                wg.add(1);
                let (c, sent, wg) = (c.clone(), sent.clone(), wg.clone());
                gort::go(move || {
                    for i in 0..per {
                        let id = s * per + i;
                        match c.send_timeout(id, Duration::from_micros(5 + (id % 7) as u64 * 10)) {
                            Ok(()) => sent.lock()[id] = true,
                            Err(SendTimeoutError::Timeout(v)) => assert_eq!(v, id),
                            Err(e) => panic!("send {id}: {e:?}"),
                        }
                    }
                    wg.done();
                });
            }
            let receiver = {
                let c = c.clone();
                gort::spawn(move || {
                    let mut got = vec![0u8; 4 * per];
                    let mut n = 0;
                    while let Some(v) = c.recv() {
                        got[v] += 1;
                        n += 1;
                        if n % 3 == 0 {
                            sleep(Duration::from_micros(20));
                        }
                    }
                    got
                })
            };
            wg.wait();
            c.close();
            let got = receiver.join().unwrap();
            let sent = sent.lock();
            let ok = sent.iter().filter(|&&s| s).count();
            assert!(ok > 0, "no send succeeded");
            for (id, (&s, &g)) in sent.iter().zip(&got).enumerate() {
                assert_eq!(g, s as u8, "value {id}: sent {s}, received {g} times");
            }
        },
    );
}

/// Randomised soak: goroutines mix send, recv, select with timeouts, and
/// one close, over several channels; every message is accounted for.
/// `GORT_SOAK_SECS` raises its length (default 1 s).
#[test]
fn soak_random_mix() {
    let secs: u64 = std::env::var("GORT_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    each_scheduler(
        "soak_random_mix",
        Duration::from_secs(60 + 3 * secs),
        move || {
            let chans: Vec<Chan<u64>> = [0usize, 0, 1, 4, 32]
                .iter()
                .map(|&c| Chan::new(c))
                .collect();
            let sent = Arc::new(AtomicUsize::new(0));
            let got = Arc::new(AtomicUsize::new(0));
            let sum_sent = Arc::new(AtomicUsize::new(0));
            let sum_got = Arc::new(AtomicUsize::new(0));
            let deadline = std::time::Instant::now() + Duration::from_secs(secs);
            let wg = WaitGroup::new();
            for g in 0..8u64 {
                wg.add(1);
                let (chans, sent, got, sum_sent, sum_got, wg) = (
                    chans.clone(),
                    sent.clone(),
                    got.clone(),
                    sum_sent.clone(),
                    sum_got.clone(),
                    wg.clone(),
                );
                gort::go(move || {
                    let mut x = g * 0x9E37_79B9 + 1;
                    let mut next = move || {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x
                    };
                    while std::time::Instant::now() < deadline {
                        let r = next();
                        let (i, j) = ((r % 5) as usize, ((r >> 8) % 5) as usize);
                        let v = r >> 16 & 0xFFFF;
                        let record_send = |ok: bool| {
                            if ok {
                                sent.fetch_add(1, Ordering::SeqCst);
                                sum_sent.fetch_add(v as usize, Ordering::SeqCst);
                            }
                        };
                        let record_recv = |v: Option<u64>| {
                            if let Some(v) = v {
                                got.fetch_add(1, Ordering::SeqCst);
                                sum_got.fetch_add(v as usize, Ordering::SeqCst);
                            }
                        };
                        match (r >> 40) % 4 {
                            0 => record_send(chans[i].send_timeout(v, MS).is_ok()),
                            1 => record_recv(chans[i].recv_timeout(MS).ok()),
                            2 => gort::select! {
                                send(chans[i], v) -> res => record_send(res.is_ok()),
                                recv(chans[j]) -> got => record_recv(got),
                                default(MS) => {},
                            },
                            _ => gort::select! {
                                recv(chans[i]) -> got => record_recv(got),
                                recv(chans[j]) -> got => record_recv(got),
                                default => {},
                            },
                        }
                    }
                    wg.done();
                });
            }
            wg.wait();
            // Drain what is still buffered.
            for c in &chans {
                while let Ok(v) = c.try_recv() {
                    got.fetch_add(1, Ordering::SeqCst);
                    sum_got.fetch_add(v as usize, Ordering::SeqCst);
                }
            }
            assert_eq!(
                sent.load(Ordering::SeqCst),
                got.load(Ordering::SeqCst),
                "messages lost or duplicated"
            );
            assert_eq!(
                sum_sent.load(Ordering::SeqCst),
                sum_got.load(Ordering::SeqCst)
            );
            assert!(sent.load(Ordering::SeqCst) > 0);
        },
    );
}

#[test]
fn works_between_plain_threads_and_goroutines() {
    let _dog = common::Watchdog::new("threads_and_goroutines", Duration::from_secs(30));
    let c = Chan::new(0);
    let back = Chan::new(0);
    let t = {
        let (c, back) = (c.clone(), back.clone());
        std::thread::spawn(move || {
            for v in &c {
                back.send(v * 2).unwrap();
            }
            back.close();
        })
    };
    let g = {
        let c = c.clone();
        gort::spawn(move || {
            for i in 0..1000u64 {
                c.send(i).unwrap();
            }
            c.close();
        })
    };
    let total: u64 = (&back).into_iter().sum();
    assert_eq!(total, 2 * (0..1000).sum::<u64>());
    g.join().unwrap();
    t.join().unwrap();
}

/// Go's channel directions: a producer that only has `chan<- T` and a
/// consumer that only has `<-chan T` exchange every value once, through
/// plain calls and through `select!` on both views.
#[test]
fn send_only_and_recv_only_views() {
    use gort::chan::{RecvOnly, SendOnly};
    each_scheduler(
        "send_only_and_recv_only_views",
        Duration::from_secs(60),
        || {
            const N: u64 = 1000;
            fn produce(out: SendOnly<u64>, quit: RecvOnly<()>) {
                for i in 0..N {
                    if i % 2 == 0 {
                        out.send(i).unwrap();
                    } else {
                        gort::select! {
                            send(out, i) -> res => res.unwrap(),
                            recv(quit) -> _ => panic!("quit is never closed before the end"),
                        }
                    }
                }
                out.close();
            }
            for cap in [0, 1, 16] {
                let (ch, quit) = (Chan::new(cap), Chan::<()>::new(0));
                let (out, q) = (ch.send_only(), quit.recv_only());
                assert!(out == ch && q == quit && out.cap() == cap);
                gort::go(move || produce(out, q));
                let input: RecvOnly<u64> = ch.clone().into();
                let mut got = Vec::new();
                loop {
                    gort::select! {
                        recv(input) -> v => match v {
                            Some(v) => got.push(v),
                            None => break,
                        },
                    }
                }
                assert_eq!(got, (0..N).collect::<Vec<_>>(), "cap {cap}");
                assert!(input.is_closed() && input.recv().is_none());
                assert_eq!(input.try_recv(), Err(TryRecvError::Closed));
            }
        },
    );
}

/// `select!` accepts temporaries (`ctx.done()`, `time::after(d)`), which
/// live until the select ends, and borrowed direction views.
#[test]
fn select_on_temporaries_and_borrowed_views() {
    use gort::chan::{RecvOnly, SendOnly};
    each_scheduler("select_on_temporaries", Duration::from_secs(60), || {
        let (ctx, cancel) = gort::context::with_cancel(&gort::context::background());
        cancel.cancel();
        let never = Chan::<u8>::new(0);
        let why = gort::select! {
            recv(never) -> _ => None,
            recv(ctx.done()) -> v => { assert_eq!(v, None); ctx.err() }
        };
        assert_eq!(why, Some(gort::context::Error::Canceled));

        let timed_out = gort::select! {
            recv(never) -> _ => false,
            recv(gort::time::after(MS)) -> t => t.is_some(),
        };
        assert!(timed_out);

        fn forward(input: &RecvOnly<u8>, out: &SendOnly<u8>) -> bool {
            let v = gort::select! {
                recv(input) -> v => v,
            };
            match v {
                Some(v) => gort::select! {
                    send(out, v + 1) -> res => res.is_ok(),
                },
                None => false,
            }
        }
        let (a, b) = (Chan::new(1), Chan::new(1));
        a.send(41).unwrap();
        assert!(forward(&a.recv_only(), &b.send_only()));
        assert_eq!(b.recv(), Some(42));
        a.close();
        assert!(!forward(&a.recv_only(), &b.send_only()));
    });
}

/// `close` while plain threads are still sending into a buffered channel
/// that many goroutines receive from: a push may have claimed its place
/// and not yet published its value when `close` wakes the receivers. Every
/// receiver must still end with `None` (none left asleep), and every value
/// whose send returned `Ok` is received exactly once. A quarter of the
/// receivers use `select!` (with a second, idle channel). Each round runs
/// under its own watchdog, so a receiver left asleep fails the test.
#[test]
fn close_races_sends_in_flight_to_many_receivers() {
    const SENDERS: usize = 4;
    const RECEIVERS: usize = 16;
    each_scheduler(
        "close_races_sends_in_flight",
        Duration::from_secs(600),
        || {
            for cap in [1usize, 4, 64] {
                for round in 0..stress(30) {
                    let _dog = common::Watchdog::new(
                        &format!("close_races_sends_in_flight cap {cap} round {round}"),
                        Duration::from_secs(20),
                    );
                    let c = Chan::<(usize, usize)>::new(cap);
                    let idle = Chan::<(usize, usize)>::new(0);
                    let receivers: Vec<_> = (0..RECEIVERS)
                        .map(|r| {
                            let (c, idle) = (c.clone(), idle.clone());
                            gort::spawn(move || {
                                let mut got = Vec::new();
                                loop {
                                    let v = if r % 4 != 3 {
                                        c.recv()
                                    } else {
                                        gort::select! {
                                            recv(c) -> v => v,
                                            recv(idle) -> _ => unreachable!("idle"),
                                        }
                                    };
                                    let Some(v) = v else { return got };
                                    got.push(v);
                                }
                            })
                        })
                        .collect();
                    // Plain threads: each sends 0, 1, 2, ... until the send
                    // fails, and records how many went through.
                    let sent: Arc<Vec<AtomicUsize>> =
                        Arc::new((0..SENDERS).map(|_| AtomicUsize::new(0)).collect());
                    let wg = WaitGroup::new();
                    for s in 0..SENDERS {
                        wg.add(1);
                        let (c, sent, wg) = (c.clone(), sent.clone(), wg.clone());
                        std::thread::spawn(move || {
                            let mut n = 0;
                            while c.send((s, n)).is_ok() {
                                n += 1;
                                sent[s].store(n, Ordering::SeqCst);
                            }
                            wg.done();
                        });
                    }
                    // Close while they still send: after a varying number
                    // of values.
                    let want = 1 + round % 97;
                    while sent.iter().map(|n| n.load(Ordering::SeqCst)).sum::<usize>() < want {
                        gort::gosched();
                    }
                    c.close();
                    wg.wait();
                    let mut got: Vec<Vec<usize>> = vec![Vec::new(); SENDERS];
                    for r in receivers {
                        for (s, n) in r.join().unwrap() {
                            got[s].push(n);
                        }
                    }
                    for (s, got) in got.iter_mut().enumerate() {
                        got.sort_unstable();
                        let ok = sent[s].load(Ordering::SeqCst);
                        assert!(
                            got.iter().copied().eq(0..ok),
                            "cap {cap} round {round} sender {s}: {ok} sends Ok, \
                             received {} values (duplicated or lost)",
                            got.len()
                        );
                    }
                    assert_eq!(c.recv(), None);
                    assert_eq!(c.len(), 0);
                }
            }
        },
    );
}
