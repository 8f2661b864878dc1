//! Goroutines that block their thread outside gort (`std::thread::sleep`,
//! a busy loop, a std lock, a socket read) do not stall the others: under
//! M:N the monitor hands a stuck worker's processor to another thread; on
//! the threads scheduler every goroutine has a thread of its own.
//!
//! Each test holds every worker with such blockers, and only the other
//! goroutines' finished work releases them: without a hand-off that is a
//! hang, which the watchdog turns into a failure. Every test runs under
//! both schedulers at 1 and 2 workers.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use common::Watchdog;
use gort::Builder;
use gort::chan::Chan;

const LIMIT: Duration = Duration::from_secs(60);

/// Round trips of the work that releases the blockers.
const ROUNDS: u64 = 1000;

/// Runs `body(workers)` as the root goroutine of a runtime of each
/// scheduler with 1 and with 2 workers, under a watchdog.
fn each_config<F>(name: &str, body: F)
where
    F: Fn(usize) + Send + Sync + Clone + 'static,
{
    for sched in common::schedulers() {
        for workers in [1, 2] {
            let _dog = Watchdog::new(&format!("{name} [{sched:?}, {workers} workers]"), LIMIT);
            let rt = Builder::new().scheduler(sched).workers(workers).build();
            let body = body.clone();
            rt.run(move || body(workers));
        }
    }
}

/// Two fresh goroutines bounce a count `ROUNDS` times over unbuffered gort
/// channels; returns the final count once both have finished.
fn ping_pong() -> u64 {
    let (ping, pong) = (Chan::<u64>::new(0), Chan::<u64>::new(0));
    let (ping2, pong2) = (ping.clone(), pong.clone());
    let echo = gort::spawn(move || {
        let mut echoed = 0;
        for v in &ping2 {
            pong2.send(v + 1).unwrap();
            echoed += 1;
        }
        echoed
    });
    let mut v = 0;
    for _ in 0..ROUNDS {
        ping.send(v).unwrap();
        v = pong.recv().unwrap();
    }
    ping.close();
    assert_eq!(echo.join().unwrap(), ROUNDS);
    v
}

/// What one blocker goroutine runs: it holds its thread outside gort until
/// released, and returns what the release told it.
type Blocker = Box<dyn FnOnce() -> u64 + Send>;

/// Starts a goroutine per blocker; each announces itself on a gort channel
/// and then blocks its thread. Once all have announced themselves (so they
/// hold or wait for every worker), two fresh goroutines play `ping_pong`
/// and give the final count to `release`, which unblocks the blockers.
/// Returns what each blocker returned, in order.
fn blocked_until_others_finish(
    blockers: Vec<Blocker>,
    release: impl FnOnce(u64) + Send + 'static,
) -> Vec<u64> {
    let n = blockers.len();
    let started = Chan::<usize>::new(n);
    let handles: Vec<_> = blockers
        .into_iter()
        .enumerate()
        .map(|(i, block)| {
            let started = started.clone();
            gort::spawn(move || {
                started.send(i).unwrap();
                block()
            })
        })
        .collect();
    let mut seen: Vec<usize> = (0..n).map(|_| started.recv().unwrap()).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..n).collect::<Vec<_>>());
    let work = gort::spawn(move || {
        let count = ping_pong();
        release(count);
        count
    });
    assert_eq!(work.join().unwrap(), ROUNDS);
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// A blocker that sleeps its thread in 1 ms steps (never calling gort)
/// until `done` holds the count.
fn sleeper(done: &Arc<AtomicU64>) -> Blocker {
    let done = done.clone();
    Box::new(move || {
        loop {
            match done.load(Ordering::Acquire) {
                0 => std::thread::sleep(Duration::from_millis(1)),
                count => return count,
            }
        }
    })
}

#[test]
fn thread_sleep_does_not_stall_other_goroutines() {
    each_config("thread_sleep_does_not_stall_other_goroutines", |workers| {
        let done = Arc::new(AtomicU64::new(0));
        let blockers = (0..workers).map(|_| sleeper(&done)).collect();
        let got = blocked_until_others_finish(blockers, move |n| done.store(n, Ordering::Release));
        assert_eq!(got, vec![ROUNDS; workers]);
    });
}

#[test]
fn busy_loop_does_not_stall_other_goroutines() {
    each_config("busy_loop_does_not_stall_other_goroutines", |workers| {
        let done = Arc::new(AtomicU64::new(0));
        let spinner = |done: Arc<AtomicU64>| -> Blocker {
            Box::new(move || {
                loop {
                    match done.load(Ordering::Acquire) {
                        0 => std::hint::spin_loop(),
                        count => return count,
                    }
                }
            })
        };
        let blockers = (0..workers).map(|_| spinner(done.clone())).collect();
        let got = blocked_until_others_finish(blockers, move |n| done.store(n, Ordering::Release));
        assert_eq!(got, vec![ROUNDS; workers]);
    });
}

#[test]
fn std_mutex_held_by_a_plain_thread_does_not_stall_other_goroutines() {
    each_config(
        "std_mutex_held_by_a_plain_thread_does_not_stall_other_goroutines",
        |workers| {
            let lock = Arc::new(std::sync::Mutex::new(0u64));
            let locked = Chan::<()>::new(0);
            let (release, count) = mpsc::channel::<u64>();
            let holder = {
                let (lock, locked) = (lock.clone(), locked.clone());
                std::thread::spawn(move || {
                    let mut guard = lock.lock().unwrap();
                    locked.send(()).unwrap();
                    *guard = count.recv().unwrap();
                })
            };
            locked.recv().unwrap();
            let blockers = (0..workers)
                .map(|_| {
                    let lock = lock.clone();
                    Box::new(move || *lock.lock().unwrap()) as Blocker
                })
                .collect();
            let got = blocked_until_others_finish(blockers, move |n| release.send(n).unwrap());
            assert_eq!(got, vec![ROUNDS; workers]);
            holder.join().unwrap();
        },
    );
}

/// A connected pair of blocking sockets.
#[cfg(unix)]
fn socket_pair() -> (
    std::os::unix::net::UnixStream,
    std::os::unix::net::UnixStream,
) {
    std::os::unix::net::UnixStream::pair().unwrap()
}

/// A connected pair of blocking sockets (TCP over loopback).
#[cfg(not(any(unix, target_family = "wasm")))]
fn socket_pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let a = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (b, _) = listener.accept().unwrap();
    (a, b)
}

#[test]
#[cfg(not(target_family = "wasm"))]
fn socket_read_does_not_stall_other_goroutines() {
    use std::io::{Read, Write};
    each_config("socket_read_does_not_stall_other_goroutines", |workers| {
        let (ours, theirs): (Vec<_>, Vec<_>) = (0..workers).map(|_| socket_pair()).unzip();
        let blockers = ours
            .into_iter()
            .map(|mut s| {
                Box::new(move || {
                    let mut word = [0u8; 8];
                    s.read_exact(&mut word).unwrap();
                    u64::from_le_bytes(word)
                }) as Blocker
            })
            .collect();
        let got = blocked_until_others_finish(blockers, move |n| {
            for mut s in theirs {
                s.write_all(&n.to_le_bytes()).unwrap();
            }
        });
        assert_eq!(got, vec![ROUNDS; workers]);
    });
}

/// 64 goroutines block their threads at once (half in a std channel's
/// `recv`, half sleeping), far more than there are workers.
#[test]
fn many_goroutines_blocking_at_once_do_not_stall_the_others() {
    const BLOCKERS: usize = 64;
    each_config(
        "many_goroutines_blocking_at_once_do_not_stall_the_others",
        |_| {
            let done = Arc::new(AtomicU64::new(0));
            let mut senders = Vec::new();
            let blockers = (0..BLOCKERS)
                .map(|i| {
                    if i % 2 == 0 {
                        let (tx, rx) = mpsc::channel::<u64>();
                        senders.push(tx);
                        Box::new(move || rx.recv().unwrap()) as Blocker
                    } else {
                        sleeper(&done)
                    }
                })
                .collect();
            let got = blocked_until_others_finish(blockers, move |n| {
                done.store(n, Ordering::Release);
                for tx in senders {
                    tx.send(n).unwrap();
                }
            });
            assert_eq!(got, vec![ROUNDS; BLOCKERS]);
        },
    );
}

/// `gort::blocking` on every worker and beyond (64 calls at once) keeps
/// the other goroutines running.
#[test]
fn many_blocking_calls_at_once_do_not_stall_the_others() {
    const BLOCKERS: usize = 64;
    each_config(
        "many_blocking_calls_at_once_do_not_stall_the_others",
        |_| {
            let mut senders = Vec::new();
            let blockers = (0..BLOCKERS)
                .map(|_| {
                    let (tx, rx) = mpsc::channel::<u64>();
                    senders.push(tx);
                    Box::new(move || gort::blocking(move || rx.recv().unwrap())) as Blocker
                })
                .collect();
            let got = blocked_until_others_finish(blockers, move |n| {
                for tx in senders {
                    tx.send(n).unwrap();
                }
            });
            assert_eq!(got, vec![ROUNDS; BLOCKERS]);
        },
    );
}

/// The echo server a newcomer writes with plain `std::net` sockets: one
/// goroutine accepts, one goroutine per connection echoes, and each
/// client goroutine makes round trips of fixed-size messages; every
/// socket call blocks its thread.
#[cfg(not(target_family = "wasm"))]
mod echo {
    use std::io::{Read, Write};
    use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};

    const CLIENTS: usize = 8;
    const TRIPS: usize = 200;
    const MESSAGE: usize = 64;

    /// Echoes until the client shuts its side; returns the bytes echoed.
    fn serve(mut conn: TcpStream) -> usize {
        conn.set_nodelay(true).unwrap();
        let mut buf = [0u8; 4 * MESSAGE];
        let mut echoed = 0;
        loop {
            match conn.read(&mut buf).unwrap() {
                0 => return echoed,
                n => {
                    conn.write_all(&buf[..n]).unwrap();
                    echoed += n;
                }
            }
        }
    }

    /// Client `c`: `TRIPS` round trips, each message its own bytes;
    /// returns the bytes that came back equal to what was sent.
    fn client(addr: SocketAddr, c: usize) -> usize {
        let mut conn = TcpStream::connect(addr).unwrap();
        conn.set_nodelay(true).unwrap();
        let mut back = [0u8; MESSAGE];
        let mut matched = 0;
        for trip in 0..TRIPS {
            let sent: [u8; MESSAGE] = std::array::from_fn(|k| (c * 31 + trip * 7 + k) as u8);
            conn.write_all(&sent).unwrap();
            conn.read_exact(&mut back).unwrap();
            assert_eq!(back, sent, "client {c}, trip {trip}");
            matched += MESSAGE;
        }
        conn.shutdown(Shutdown::Write).unwrap();
        assert_eq!(
            conn.read(&mut back).unwrap(),
            0,
            "client {c}: no extra bytes"
        );
        matched
    }

    #[test]
    fn echo_server_on_std_sockets_in_goroutines() {
        super::each_config("echo_server_on_std_sockets_in_goroutines", |_| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let server = gort::spawn(move || {
                let handlers: Vec<_> = (0..CLIENTS)
                    .map(|_| {
                        let (conn, _) = listener.accept().unwrap();
                        gort::spawn(move || serve(conn))
                    })
                    .collect();
                handlers
                    .into_iter()
                    .map(|h| h.join().unwrap())
                    .collect::<Vec<_>>()
            });
            let clients: Vec<_> = (0..CLIENTS)
                .map(|c| gort::spawn(move || client(addr, c)))
                .collect();
            let matched: Vec<usize> = clients.into_iter().map(|h| h.join().unwrap()).collect();
            assert_eq!(matched, vec![TRIPS * MESSAGE; CLIENTS]);
            assert_eq!(server.join().unwrap(), vec![TRIPS * MESSAGE; CLIENTS]);
        });
    }
}
