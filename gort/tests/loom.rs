//! Loom models of the futex protocol and every `gort::sync` type.
//!
//! Run with `.ci/loom.sh` (which sets `--cfg loom` and a preemption bound).
//! Under loom a futex is a mutex + condvar (see `gort::futex`), so a lost
//! wakeup is reported as a deadlock; shared data lives in
//! `loom::cell::UnsafeCell`, so an access the primitive failed to order is
//! reported as a race. Every model also asserts its final counts.
//!
//! Set `GORT_LOOM_STATS=1` (the script does) to print each model's
//! iteration count and time.

#![cfg(loom)]

use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::time::Instant;

use gort::futex::Futex;
use gort::sync::{Cond, Mutex, Once, RwMutex, Semaphore, WaitGroup};
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::AtomicUsize;
use loom::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use loom::thread;

/// `loom::model` that counts the executions loom explored.
fn model<F>(name: &str, f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let runs = std::sync::Arc::new(StdAtomicUsize::new(0));
    let counter = runs.clone();
    let start = Instant::now();
    loom::model(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    if std::env::var_os("GORT_LOOM_STATS").is_some() {
        println!(
            "loom model {name}: {} iterations in {:.2?}",
            runs.load(std::sync::atomic::Ordering::Relaxed),
            start.elapsed()
        );
    }
}

/// A loom `UnsafeCell` that may be shared between threads; the models only
/// touch it where the primitive under test claims to give exclusion (or
/// ordering), and loom checks that claim.
struct Shared<T>(UnsafeCell<T>);

// SAFETY: accesses go through loom's checked `with`/`with_mut`; a missing
// happens-before edge makes loom fail the model instead of being UB.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    fn new(value: T) -> Self {
        Shared(UnsafeCell::new(value))
    }
}

impl Shared<usize> {
    fn get(&self) -> usize {
        // SAFETY: see the `Sync` impl; loom checks the access.
        self.0.with(|p| unsafe { *p })
    }
    fn set(&self, v: usize) {
        // SAFETY: as above.
        self.0.with_mut(|p| unsafe { *p = v })
    }
    fn incr(&self) {
        // SAFETY: as above.
        self.0.with_mut(|p| unsafe { *p += 1 })
    }
}

// ---------------------------------------------------------------- futex

/// A store followed by `wake` is never lost by a waiter looping on
/// `while word == old { wait(old) }`, and the waker's earlier writes are
/// visible once the waiter sees the new value.
#[test]
fn futex_store_then_wake() {
    model("futex_store_then_wake", || {
        let f = Arc::new(Futex::new(0));
        let data = Arc::new(Shared::new(0));
        let t = {
            let (f, data) = (f.clone(), data.clone());
            thread::spawn(move || {
                data.set(42);
                f.store(1, Release);
                f.wake();
            })
        };
        while f.load(Acquire) == 0 {
            f.wait(0);
        }
        assert_eq!(data.get(), 42);
        t.join().unwrap();
    });
}

/// `wake_all` releases both of two waiters.
#[test]
fn futex_wake_all_two_waiters() {
    model("futex_wake_all_two_waiters", || {
        let f = Arc::new(Futex::new(0));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let f = f.clone();
                thread::spawn(move || {
                    while f.load(Acquire) == 0 {
                        f.wait(0);
                    }
                    assert_eq!(f.load(Relaxed), 1);
                })
            })
            .collect();
        f.store(1, Release);
        f.wake_all();
        for t in waiters {
            t.join().unwrap();
        }
    });
}

/// Two wakers, each storing then `wake()`-ing one: a waiter that needs both
/// stores is still woken (each store is followed by its own wake).
#[test]
fn futex_two_wakes_one_waiter() {
    model("futex_two_wakes_one_waiter", || {
        let f = Arc::new(Futex::new(0));
        let wakers: Vec<_> = (0..2)
            .map(|_| {
                let f = f.clone();
                thread::spawn(move || {
                    f.fetch_add(1, Release);
                    f.wake();
                })
            })
            .collect();
        loop {
            let v = f.load(Acquire);
            if v == 2 {
                break;
            }
            f.wait(v);
        }
        for t in wakers {
            t.join().unwrap();
        }
    });
}

// ---------------------------------------------------------------- Mutex

fn mutex_counter(name: &str, threads: usize, per_thread: usize) {
    model(name, move || {
        let m = Arc::new(Mutex::new(UnsafeCell::new(0usize)));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let m = m.clone();
                thread::spawn(move || {
                    for _ in 0..per_thread {
                        let g = m.lock();
                        // SAFETY: the lock is held; loom checks it excludes.
                        g.with_mut(|p| unsafe { *p += 1 });
                    }
                })
            })
            .collect();
        for t in handles {
            t.join().unwrap();
        }
        // Free and not left starving: a newcomer's try_lock must succeed.
        assert!(!m.is_locked());
        let g = m.try_lock().expect("mutex free after every thread left");
        // SAFETY: the lock is held.
        let n = g.with(|p| unsafe { *p });
        assert_eq!(n, threads * per_thread);
    });
}

#[test]
fn mutex_two_threads() {
    mutex_counter("mutex_two_threads", 2, 2);
}

#[test]
fn mutex_three_threads() {
    mutex_counter("mutex_three_threads", 3, 1);
}

/// `try_lock` racing `lock` (and a contended `lock`, which under loom always
/// turns on starvation mode): exclusion holds, try_lock's successes are
/// counted exactly, and the lock ends free.
#[test]
fn mutex_try_lock_against_lock() {
    model("mutex_try_lock_against_lock", || {
        let m = Arc::new(Mutex::new(UnsafeCell::new(0usize)));
        let lockers: Vec<_> = (0..2)
            .map(|_| {
                let m = m.clone();
                thread::spawn(move || {
                    let g = m.lock();
                    // SAFETY: the lock is held.
                    g.with_mut(|p| unsafe { *p += 1 });
                })
            })
            .collect();
        let mut got = 0;
        if let Some(g) = m.try_lock() {
            // SAFETY: the lock is held.
            g.with_mut(|p| unsafe { *p += 1 });
            got = 1;
        }
        for t in lockers {
            t.join().unwrap();
        }
        let g = m.try_lock().expect("mutex free after every thread left");
        // SAFETY: the lock is held.
        assert_eq!(g.with(|p| unsafe { *p }), 2 + got);
    });
}

// ---------------------------------------------------------------- RwMutex

/// One writer and two readers: readers see the value before or after the
/// write, never during it (loom checks the cell), and the write lands.
#[test]
fn rwmutex_writer_two_readers() {
    model("rwmutex_writer_two_readers", || {
        let l = Arc::new(RwMutex::new(Shared::new(0)));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let l = l.clone();
                thread::spawn(move || {
                    let g = l.read();
                    let v = g.get();
                    assert!(v == 0 || v == 1, "read {v}");
                })
            })
            .collect();
        {
            let g = l.write();
            g.incr();
        }
        for t in readers {
            t.join().unwrap();
        }
        assert_eq!(l.try_write().expect("free at the end").get(), 1);
        assert_eq!(l.try_read().expect("free at the end").get(), 1);
    });
}

/// Go issue #5692's shape: a writer holds the lock, a reader queues behind
/// it, the writer releases, and the reader gets in (no deadlock) and sees
/// the write.
#[test]
fn rwmutex_reader_queued_behind_writer() {
    model("rwmutex_reader_queued_behind_writer", || {
        let l = Arc::new(RwMutex::new(Shared::new(0)));
        let w = l.write();
        let reader = {
            let l = l.clone();
            thread::spawn(move || {
                let g = l.read();
                assert_eq!(g.get(), 1);
            })
        };
        w.set(1);
        drop(w);
        reader.join().unwrap();
        assert!(l.try_write().is_some());
    });
}

/// Two writers and a reader: writers exclude each other and the reader;
/// both writes land.
#[test]
fn rwmutex_two_writers_one_reader() {
    model("rwmutex_two_writers_one_reader", || {
        let l = Arc::new(RwMutex::new(Shared::new(0)));
        let writer = {
            let l = l.clone();
            thread::spawn(move || l.write().incr())
        };
        let reader = {
            let l = l.clone();
            thread::spawn(move || {
                let v = l.read().get();
                assert!(v <= 2, "read {v}");
            })
        };
        l.write().incr();
        writer.join().unwrap();
        reader.join().unwrap();
        assert_eq!(l.try_read().expect("free at the end").get(), 2);
    });
}

// ---------------------------------------------------------------- WaitGroup

/// add(2), two threads write then done(); wait() returns only after both
/// and sees both writes.
#[test]
fn waitgroup_two_done() {
    model("waitgroup_two_done", || {
        let wg = WaitGroup::new();
        let cells = Arc::new([Shared::new(0), Shared::new(0)]);
        wg.add(2);
        for i in 0..2 {
            let (wg, cells) = (wg.clone(), cells.clone());
            thread::spawn(move || {
                cells[i].set(i + 1);
                wg.done();
            });
        }
        wg.wait();
        assert_eq!(wg.count(), 0);
        assert_eq!(cells[0].get(), 1);
        assert_eq!(cells[1].get(), 2);
    });
}

/// Two waiters on one done(): the transition to zero wakes both.
#[test]
fn waitgroup_two_waiters() {
    model("waitgroup_two_waiters", || {
        let wg = WaitGroup::new();
        let cell = Arc::new(Shared::new(0));
        wg.add(1);
        let worker = {
            let (wg, cell) = (wg.clone(), cell.clone());
            thread::spawn(move || {
                cell.set(7);
                wg.done();
            })
        };
        let waiter = {
            let (wg, cell) = (wg.clone(), cell.clone());
            thread::spawn(move || {
                wg.wait();
                assert_eq!(cell.get(), 7);
            })
        };
        wg.wait();
        assert_eq!(cell.get(), 7);
        waiter.join().unwrap();
        worker.join().unwrap();
    });
}

// ---------------------------------------------------------------- Once

/// Two callers: exactly one runs the function, and both see its write when
/// call_once returns.
#[test]
fn once_two_callers() {
    model("once_two_callers", || {
        let once = Arc::new(Once::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let cell = Arc::new(Shared::new(0));
        let call = {
            let (once, runs, cell) = (once.clone(), runs.clone(), cell.clone());
            move || {
                once.call_once(|| {
                    runs.fetch_add(1, Relaxed);
                    cell.set(9);
                });
                assert!(once.is_completed());
                assert_eq!(cell.get(), 9);
            }
        };
        let t = thread::spawn(call.clone());
        call();
        t.join().unwrap();
        assert_eq!(runs.load(Relaxed), 1);
    });
}

/// Three callers (one of them surely waits while another runs).
#[test]
fn once_three_callers() {
    model("once_three_callers", || {
        let once = Arc::new(Once::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let cell = Arc::new(Shared::new(0));
        let call = {
            let (once, runs, cell) = (once.clone(), runs.clone(), cell.clone());
            move || {
                once.call_once(|| {
                    runs.fetch_add(1, Relaxed);
                    cell.set(9);
                });
                assert_eq!(cell.get(), 9);
            }
        };
        let ts: Vec<_> = (0..2).map(|_| thread::spawn(call.clone())).collect();
        call();
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(runs.load(Relaxed), 1);
    });
}

// ---------------------------------------------------------------- Cond

/// The flag + mutex + cond handshake with `signal` sent after unlocking:
/// the waiter is never left asleep.
#[test]
fn cond_signal_handshake() {
    model("cond_signal_handshake", || {
        let pair = Arc::new((Mutex::new(false), Cond::new()));
        let t = {
            let pair = pair.clone();
            thread::spawn(move || {
                *pair.0.lock() = true;
                pair.1.signal();
            })
        };
        let mut ready = pair.0.lock();
        while !*ready {
            ready = pair.1.wait(ready);
        }
        drop(ready);
        t.join().unwrap();
    });
}

/// As above with `signal` sent while still holding the mutex (Go allows
/// both).
#[test]
fn cond_signal_under_lock() {
    model("cond_signal_under_lock", || {
        let pair = Arc::new((Mutex::new(false), Cond::new()));
        let t = {
            let pair = pair.clone();
            thread::spawn(move || {
                let mut g = pair.0.lock();
                *g = true;
                pair.1.signal();
                drop(g);
            })
        };
        let mut ready = pair.0.lock();
        while !*ready {
            ready = pair.1.wait(ready);
        }
        drop(ready);
        t.join().unwrap();
    });
}

/// `broadcast` wakes both of two waiters.
#[test]
fn cond_broadcast_two_waiters() {
    model("cond_broadcast_two_waiters", || {
        let pair = Arc::new((Mutex::new(false), Cond::new()));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let pair = pair.clone();
                thread::spawn(move || {
                    let mut ready = pair.0.lock();
                    while !*ready {
                        ready = pair.1.wait(ready);
                    }
                })
            })
            .collect();
        *pair.0.lock() = true;
        pair.1.broadcast();
        for t in waiters {
            t.join().unwrap();
        }
    });
}

/// Two waiters, two tokens each announced by one `signal`: every signal
/// reaches a waiter (FIFO queue, no lost or stolen wakeup), so both waiters
/// take a token and finish.
#[test]
fn cond_two_signals_two_waiters() {
    model("cond_two_signals_two_waiters", || {
        let pair = Arc::new((Mutex::new(0usize), Cond::new()));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let pair = pair.clone();
                thread::spawn(move || {
                    let mut tokens = pair.0.lock();
                    while *tokens == 0 {
                        tokens = pair.1.wait(tokens);
                    }
                    *tokens -= 1;
                })
            })
            .collect();
        for _ in 0..2 {
            *pair.0.lock() += 1;
            pair.1.signal();
        }
        for t in waiters {
            t.join().unwrap();
        }
        assert_eq!(*pair.0.lock(), 0);
    });
}

// ---------------------------------------------------------------- Semaphore

/// Semaphore::new(1) as a lock: exclusion over the cell, exact count, and
/// the permit is back at the end.
#[test]
fn semaphore_binary() {
    model("semaphore_binary", || {
        let sem = Arc::new(Semaphore::new(1));
        let cell = Arc::new(Shared::new(0));
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let (sem, cell) = (sem.clone(), cell.clone());
                thread::spawn(move || {
                    sem.acquire();
                    cell.incr();
                    sem.release();
                })
            })
            .collect();
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(cell.get(), 2);
        assert_eq!(sem.available_permits(), 1);
    });
}

/// Semaphore::new(2) with three threads: never more than two inside, every
/// one gets in, both permits are back at the end.
#[test]
fn semaphore_two_permits_three_threads() {
    model("semaphore_two_permits_three_threads", || {
        let sem = Arc::new(Semaphore::new(2));
        let inside = Arc::new(AtomicUsize::new(0));
        let entered = Arc::new(AtomicUsize::new(0));
        let ts: Vec<_> = (0..3)
            .map(|_| {
                let (sem, inside, entered) = (sem.clone(), inside.clone(), entered.clone());
                thread::spawn(move || {
                    sem.acquire();
                    let n = inside.fetch_add(1, SeqCst) + 1;
                    assert!(n <= 2, "{n} threads inside");
                    entered.fetch_add(1, Relaxed);
                    inside.fetch_sub(1, SeqCst);
                    sem.release();
                })
            })
            .collect();
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(entered.load(Relaxed), 3);
        assert_eq!(sem.available_permits(), 2);
    });
}

// ---- channel core: send, recv, close, and a two-channel select ----

use gort::chan::Chan;

#[test]
fn chan_unbuffered_rendezvous() {
    model("chan_unbuffered_rendezvous", || {
        let c = Chan::<usize>::new(0);
        let tx = c.clone();
        let t = thread::spawn(move || tx.send(7).is_ok());
        assert_eq!(c.recv(), Some(7));
        assert!(t.join().unwrap());
    });
}

#[test]
fn chan_buffered_fifo_then_close() {
    model("chan_buffered_fifo_then_close", || {
        let c = Chan::<usize>::new(1);
        let tx = c.clone();
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
            tx.close();
        });
        assert_eq!(c.recv(), Some(1));
        assert_eq!(c.recv(), Some(2));
        assert_eq!(c.recv(), None);
        t.join().unwrap();
    });
}

#[test]
fn chan_close_wakes_receiver_and_returns_senders_value() {
    model("chan_close_wakes_both_sides", || {
        let r = Chan::<usize>::new(0);
        let s = Chan::<usize>::new(0);
        let (r2, s2) = (r.clone(), s.clone());
        let receiver = thread::spawn(move || r2.recv());
        let sender = thread::spawn(move || s2.send(5).map_err(|e| e.0));
        r.close();
        s.close();
        assert_eq!(receiver.join().unwrap(), None);
        assert_eq!(sender.join().unwrap(), Err(5));
    });
}

/// A select on two channels, each fed by its own sender: exactly one case
/// completes, and the other value stays in its channel (never lost, never
/// delivered twice).
#[test]
fn select_two_channels_completes_exactly_once() {
    model("select_two_channels", || {
        let (c1, c2) = (Chan::<usize>::new(1), Chan::<usize>::new(1));
        let (a, b) = (c1.clone(), c2.clone());
        let t1 = thread::spawn(move || a.send(1).unwrap());
        let t2 = thread::spawn(move || b.send(2).unwrap());
        let got = gort::select! {
            recv(c1) -> v => v.unwrap(),
            recv(c2) -> v => v.unwrap(),
        };
        t1.join().unwrap();
        t2.join().unwrap();
        let rest: Vec<usize> = [&c1, &c2]
            .iter()
            .filter_map(|c| c.try_recv().ok())
            .collect();
        assert_eq!(rest.len(), 1);
        assert_eq!(got + rest[0], 3);
    });
}

/// The seed's deadlock shape on unbuffered channels: two selects over the
/// same two channels in opposite orders, served by a third party. No
/// interleaving deadlocks, and each select completes exactly once.
#[test]
fn select_opposite_orders_with_server() {
    model("select_opposite_orders", || {
        let (c1, c2) = (Chan::<usize>::new(0), Chan::<usize>::new(0));
        let (a1, a2) = (c1.clone(), c2.clone());
        let a = thread::spawn(move || {
            gort::select! {
                recv(a1) -> v => { assert_eq!(v, None); 0 },
                send(a2, 10) -> r => { r.unwrap(); 10 },
            }
        });
        let (b1, b2) = (c1.clone(), c2.clone());
        let b = thread::spawn(move || {
            gort::select! {
                send(b2, 20) -> r => { r.unwrap(); 20 },
                recv(b1) -> v => { assert_eq!(v, None); 0 },
            }
        });
        // Serve both: close c1 so every receive completes, and take sends
        // from c2 until both selects are done.
        let mut served = Vec::new();
        c1.close();
        let (ra, rb) = (a.join().unwrap(), b.join().unwrap());
        while let Ok(v) = c2.try_recv() {
            served.push(v);
        }
        // A select that sent was served by nobody but close: impossible on
        // an unbuffered channel unless we received it; here c2 has no
        // receiver, so both must have taken the closed c1 (value 0).
        assert_eq!((ra, rb), (0, 0));
        assert!(served.is_empty());
    });
}

/// A select with a send case and a receive case, each raced by a
/// counterpart; the loser is released by closing. Exactly one case wins,
/// and the losing counterpart sees its value conserved: the receiver gets
/// nothing, or the sender gets its value back.
#[test]
fn select_send_and_recv_race_conserves_values() {
    model("select_send_recv_race", || {
        let (c1, c2) = (Chan::<usize>::new(0), Chan::<usize>::new(0));
        let (a1, a2) = (c1.clone(), c2.clone());
        let a = thread::spawn(move || {
            gort::select! {
                send(a1, 1) -> r => { r.unwrap(); 1 },
                recv(a2) -> v => v.unwrap(),
            }
        });
        let b1 = c1.clone();
        let b = thread::spawn(move || b1.recv());
        let c2s = c2.clone();
        let c = thread::spawn(move || c2s.send(2).map_err(|e| e.0));
        let chose = a.join().unwrap();
        c1.close();
        c2.close();
        let (got_b, sent_c) = (b.join().unwrap(), c.join().unwrap());
        match chose {
            1 => assert_eq!((got_b, sent_c), (Some(1), Err(2))),
            2 => assert_eq!((got_b, sent_c), (None, Ok(()))),
            other => panic!("select returned {other}"),
        }
    });
}

// ---- buffered channels: the lock-free ring and its wait queues ----

/// Both sides of a one-place buffer block in turn (the sender on full, the
/// receiver on empty): no wakeup is lost, every value arrives once, in
/// order.
#[test]
fn chan_buffered_both_sides_block() {
    model("chan_buffered_both_sides_block", || {
        let c = Chan::<usize>::new(1);
        let tx = c.clone();
        let t = thread::spawn(move || {
            for v in 1..=3 {
                tx.send(v).unwrap();
            }
        });
        assert_eq!((c.recv(), c.recv(), c.recv()), (Some(1), Some(2), Some(3)));
        t.join().unwrap();
        assert_eq!(c.try_recv(), Err(gort::chan::TryRecvError::Empty));
    });
}

/// Two receivers wait on an empty buffer; one value and then `close`
/// arrive. One receiver gets the value, the other sees the close: the
/// woken-but-robbed receiver waits again instead of being lost.
#[test]
fn chan_buffered_two_receivers_one_value_then_close() {
    model("chan_buffered_two_receivers_close", || {
        let c = Chan::<usize>::new(1);
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let rx = c.clone();
                thread::spawn(move || rx.recv())
            })
            .collect();
        c.send(9).unwrap();
        c.close();
        let mut got: Vec<_> = receivers.into_iter().map(|t| t.join().unwrap()).collect();
        got.sort();
        assert_eq!(got, [None, Some(9)]);
    });
}

/// Two senders race for one free place while a receiver drains: both
/// values arrive exactly once; the sender that lost the place waits and is
/// woken by the receive that frees it.
#[test]
fn chan_buffered_two_senders_one_place() {
    model("chan_buffered_two_senders", || {
        let c = Chan::<usize>::new(1);
        let senders: Vec<_> = [1, 2]
            .into_iter()
            .map(|v| {
                let tx = c.clone();
                thread::spawn(move || tx.send(v).unwrap())
            })
            .collect();
        let sum = c.recv().unwrap() + c.recv().unwrap();
        for t in senders {
            t.join().unwrap();
        }
        assert_eq!(sum, 3);
        assert!(c.is_empty());
    });
}

/// A receive that frees a place moves a blocked sender's value into it;
/// a second receiver that found the ring empty a moment before must still
/// be woken for that value. Every value arrives exactly once, and the
/// blocked send completes.
#[test]
fn chan_buffered_hand_off_wakes_a_queued_receiver() {
    model("chan_buffered_hand_off_wakes_a_queued_receiver", || {
        let c = Chan::<usize>::new(1);
        c.send(1).unwrap();
        let receivers: Vec<_> = (0..2)
            .map(|_| {
                let rx = c.clone();
                thread::spawn(move || rx.recv().unwrap())
            })
            .collect();
        c.send(2).unwrap();
        let mut got: Vec<_> = receivers.into_iter().map(|t| t.join().unwrap()).collect();
        got.sort();
        assert_eq!(got, [1, 2]);
        assert!(c.is_empty());
    });
}

/// A select waits on two buffered channels, one fed and one closed by
/// other threads: it completes exactly once, and a value it did not take
/// stays buffered.
#[test]
fn select_buffered_value_or_close() {
    model("select_buffered_value_or_close", || {
        let (c1, c2) = (Chan::<usize>::new(1), Chan::<usize>::new(1));
        let a = c1.clone();
        let b = c2.clone();
        let t1 = thread::spawn(move || a.send(1).unwrap());
        let t2 = thread::spawn(move || b.close());
        let got = gort::select! {
            recv(c1) -> v => v,
            recv(c2) -> v => v,
        };
        t1.join().unwrap();
        t2.join().unwrap();
        match got {
            Some(1) => assert!(c1.is_empty()),
            None => assert_eq!(c1.try_recv(), Ok(1)),
            other => panic!("select got {other:?}"),
        }
    });
}

/// A receive that found a buffered channel ready while queueing removes
/// its entry before it goes on: here the same thread then blocks on an
/// unbuffered channel, and a stale entry left on `a` would let a later
/// send on `a` "complete" that unrelated receive.
#[test]
fn buffered_ready_path_leaves_no_stale_entry() {
    model("buffered_ready_path_leaves_no_stale_entry", || {
        let (a, b) = (Chan::<usize>::new(1), Chan::<usize>::new(0));
        let (a2, b2) = (a.clone(), b.clone());
        let t = thread::spawn(move || (a2.recv(), b2.recv()));
        a.send(1).unwrap();
        a.send(2).unwrap();
        b.send(3).unwrap();
        assert_eq!(t.join().unwrap(), (Some(1), Some(3)));
        assert_eq!(a.try_recv(), Ok(2));
    });
}

/// A push claims its place before it publishes the value, and `close`
/// lands between the two. Both receivers then find the ring neither
/// holding a value nor drained, and queue (if they had queued before,
/// `close` woke them and they queue again); the late publish must wake
/// both, not one: one takes the value, the other sees closed-and-drained.
/// Every value sent Ok is received exactly once, and nobody is left
/// asleep. (The closer is also a receiver: one thread fewer to model.)
#[test]
fn chan_buffered_close_between_claim_and_publish() {
    model("chan_buffered_close_between_claim_and_publish", || {
        let c = Chan::<usize>::new(1);
        let pusher = {
            let tx = c.clone();
            thread::spawn(move || tx.send(7).is_ok())
        };
        let receiver = {
            let rx = c.clone();
            thread::spawn(move || rx.recv())
        };
        close_and_account(&c, pusher, receiver);
    });
}

/// As above with the other receiver in a `select!` (two cases: the
/// buffered channel, and an unbuffered one nobody uses), which registers
/// on both channels and is woken through its case's entry.
#[test]
fn select_buffered_close_between_claim_and_publish() {
    model("select_buffered_close_between_claim_and_publish", || {
        let (c, idle) = (Chan::<usize>::new(1), Chan::<usize>::new(0));
        let pusher = {
            let tx = c.clone();
            thread::spawn(move || tx.send(7).is_ok())
        };
        let receiver = {
            let (rx, idle) = (c.clone(), idle.clone());
            thread::spawn(move || {
                gort::select! {
                    recv(rx) -> v => v,
                    recv(idle) -> _ => unreachable!("nobody sends on idle"),
                }
            })
        };
        close_and_account(&c, pusher, receiver);
    });
}

/// The end of both close-between-claim-and-publish models: close, receive
/// here too, and check the value was received exactly once if its send
/// succeeded, and that the channel then reads closed and drained.
fn close_and_account(
    c: &Chan<usize>,
    pusher: thread::JoinHandle<bool>,
    receiver: thread::JoinHandle<Option<usize>>,
) {
    c.close();
    let mine = c.recv();
    let sent = pusher.join().unwrap();
    let got: Vec<_> = [mine, receiver.join().unwrap()]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(got, if sent { vec![7] } else { vec![] });
    assert_eq!(c.try_recv(), Err(gort::chan::TryRecvError::Closed));
}

/// The M:N processor hand-off (`task/proc_status.rs`): a thread runs a
/// goroutine that pushes to the processor's queue from inside it, then
/// switches back and uses the queue again; meanwhile the system monitor
/// may retake the processor and hand it to a thread that uses the queue
/// at once. The queue is a checked cell: any overlap, or a use not ordered
/// after the previous holder's, fails the model. Each push lands exactly
/// once, on the queue or (after a retake) on the global queue.
#[test]
fn processor_retake_never_shares_the_queue() {
    use gort::task::proc_status::ProcStatus;
    model("processor_retake_never_shares_the_queue", || {
        let status = Arc::new(ProcStatus::default());
        let queue = Arc::new(Shared::new(0usize));
        let global = Arc::new(AtomicUsize::new(0));
        status.take_over();
        let holder = {
            let (status, queue, global) = (status.clone(), queue.clone(), global.clone());
            thread::spawn(move || {
                let running = status.enter_goroutine();
                // A ready from inside the goroutine.
                // SAFETY (model): `while_held` claims exclusion; loom checks it.
                let pushed =
                    status.while_held(running, || queue.0.with_mut(|q| unsafe { *q += 1 }));
                if pushed.is_none() {
                    global.fetch_add(1, Relaxed);
                }
                let kept = status.leave_goroutine(running);
                if kept {
                    // SAFETY (model): back in SCHED; loom checks it.
                    queue.0.with_mut(|q| unsafe { *q += 1 });
                } else {
                    global.fetch_add(1, Relaxed);
                }
                kept
            })
        };
        let monitor = {
            let (status, queue) = (status.clone(), queue.clone());
            thread::spawn(move || {
                let (seen, running) = status.load();
                if !(running && status.retake(seen)) {
                    return false;
                }
                // Handed to a new thread (a spawn orders it in the real code).
                let next = thread::spawn(move || {
                    status.take_over();
                    // SAFETY (model): the new holder's use; loom checks it.
                    queue.0.with_mut(|q| unsafe { *q += 10 });
                });
                next.join().unwrap();
                true
            })
        };
        let kept = holder.join().unwrap();
        let retook = monitor.join().unwrap();
        assert!(
            kept != retook,
            "exactly one of the holder and the monitor ends with it"
        );
        // SAFETY (model): both threads joined.
        let q = queue.0.with(|q| unsafe { *q });
        let local = q % 10;
        assert_eq!(local + global.load(Relaxed), 2, "each push landed once");
        assert_eq!(q / 10, usize::from(retook));
    });
}

/// The goroutine gives its processor away itself before it blocks
/// (`gort::blocking`) while the monitor looks at it too: only one of them
/// can take it, and the goroutine's thread then never touches the queue.
#[test]
fn processor_given_away_once() {
    use gort::task::proc_status::ProcStatus;
    model("processor_given_away_once", || {
        let status = Arc::new(ProcStatus::default());
        let handed = Arc::new(AtomicUsize::new(0));
        status.take_over();
        let running = status.enter_goroutine();
        let monitor = {
            let (status, handed) = (status.clone(), handed.clone());
            thread::spawn(move || {
                let (seen, _) = status.load();
                if status.retake(seen) {
                    handed.fetch_add(1, Relaxed);
                }
            })
        };
        if status.retake(running) {
            handed.fetch_add(1, Relaxed);
        }
        assert!(status.while_held(running, || ()).is_none());
        assert!(!status.leave_goroutine(running));
        monitor.join().unwrap();
        assert_eq!(handed.load(Relaxed), 1);
    });
}

// ------------------------------------------------------------ readiness

/// A socket's readiness word (`task::readiness`): an event that lands
/// between the waiter's look at the count and its sleep is never lost.
/// The "socket" is a flag the notifier raises before it notifies, as the
/// kernel makes data readable before the poller reports it.
#[test]
fn readiness_event_between_try_and_wait() {
    use gort::task::readiness::Readiness;
    model("readiness_event_between_try_and_wait", || {
        let r = Arc::new(Readiness::default());
        let data = Arc::new(AtomicUsize::new(0));
        let t = {
            let (r, data) = (r.clone(), data.clone());
            thread::spawn(move || {
                data.store(1, Release);
                r.notify();
            })
        };
        loop {
            let seen = r.observe();
            // The I/O: read the data or answer WouldBlock. (A load: loom
            // lets a `swap` here read its own earlier write rather than
            // the notifier's store that happens before it.)
            if data.load(Acquire) == 1 {
                break;
            }
            assert!(r.wait(seen, None));
        }
        t.join().unwrap();
    });
}

/// One notify (a shutdown, say) wakes both of two sleeping waiters.
#[test]
fn readiness_notify_wakes_every_waiter() {
    use gort::task::readiness::Readiness;
    model("readiness_notify_wakes_every_waiter", || {
        let r = Arc::new(Readiness::default());
        let shut = Arc::new(AtomicUsize::new(0));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let (r, shut) = (r.clone(), shut.clone());
                thread::spawn(move || {
                    loop {
                        let seen = r.observe();
                        if shut.load(Acquire) == 1 {
                            break;
                        }
                        r.wait(seen, None);
                    }
                })
            })
            .collect();
        shut.store(1, Release);
        r.notify();
        for t in waiters {
            t.join().unwrap();
        }
    });
}
