//! `gort::net` on loopback, under both schedulers: echo with every byte
//! checked, timeouts and deadlines, EOF and `shutdown` waking blocked
//! readers, refused connections, UDP round trips, plain threads sharing
//! sockets with goroutines, idle readers that must not stall the
//! scheduler, and reused descriptors that must not see stale events.
//!
//! Every test runs under a watchdog (a lost wakeup is a failure, not a
//! hang), counts exactly what it sent and received, and bounds every loop
//! in count and time. Waits that only make a state likely (a reader
//! parked before its peer acts) never decide a result.
#![cfg(gort_net)]

mod common;

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::Watchdog;
use gort::chan::Chan;
use gort::net::{TcpListener, TcpStream, UdpSocket};
use gort::{Builder, Scheduler};

const LIMIT: Duration = Duration::from_secs(120);

/// A generous bound on "promptly" (a timeout that fired, a reader that
/// woke): many times what it should take on a loaded 2-core machine.
const PROMPT: Duration = Duration::from_secs(5);

/// Lets a goroutine reach the state a test wants (parked in a read):
/// makes the interesting path likely, decides nothing.
fn settle() {
    gort::time::sleep(Duration::from_millis(50));
}

/// Waits (bounded) until `cond` holds; panics naming `what` if it never does.
fn wait_until(what: &dyn Fn() -> String, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never happened: {}",
            what()
        );
        gort::time::sleep(Duration::from_millis(2));
    }
}

fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

/// A connected pair (client, server) through `l`.
fn pair_on(l: &TcpListener) -> (TcpStream, TcpStream) {
    let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (server, peer) = l.accept().unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(server.local_addr().unwrap(), client.peer_addr().unwrap());
    (client, server)
}

fn pair() -> (TcpStream, TcpStream) {
    pair_on(&listener())
}

/// Deterministic bytes for (`seed`, `len`): a message checks every byte.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Message sizes from 1 byte to 16 KiB (more than one loopback segment,
/// less than the socket buffers, so write-then-read cannot deadlock).
fn msg_len(conn: usize, msg: usize) -> usize {
    const FIXED: [usize; 6] = [1, 7, 64, 1500, 4096, 16384];
    if msg < FIXED.len() && conn.is_multiple_of(2) {
        FIXED[msg]
    } else {
        1 + (pattern((conn * 1000 + msg) as u64, 2)
            .iter()
            .fold(0usize, |a, &b| a << 8 | b as usize)
            % 16384)
    }
}

/// The OS threads of this process, where the OS lists them.
fn os_threads() -> Option<usize> {
    let dir = std::path::Path::new("/proc/self/task");
    if !dir.exists() {
        return None;
    }
    Some(std::fs::read_dir(dir).ok()?.count())
}

/// Runs `body` under each scheduler with one worker (the threads
/// scheduler ignores the count), under a watchdog.
fn each_scheduler_one_worker<F>(name: &str, body: F)
where
    F: Fn() + Send + Sync + Clone + 'static,
{
    for sched in common::schedulers() {
        let _dog = Watchdog::new(&format!("{name} [{sched:?}, 1 worker]"), LIMIT);
        let rt = Builder::new().scheduler(sched).workers(1).build();
        rt.run(body.clone());
    }
}

// ---------------------------------------------------------------- echo

/// 500 on Linux; fewer under Wine, where each socket call is a wineserver
/// round trip.
const ECHO_CONNS: usize = if cfg!(windows) { 100 } else { 500 };
const ECHO_MSGS: usize = 8;

/// `conns` clients in goroutines, each echoed by its own server goroutine,
/// `msgs` messages each, every byte checked. Each client greets its
/// server with a byte and then sends its messages only once every server
/// goroutine waits in a read; with `max_threads`, the process's OS threads
/// are counted then and must stay below it.
fn echo(conns: usize, msgs: usize, max_threads: Option<usize>) {
    let l = Arc::new(listener());
    let addr = l.local_addr().unwrap();
    // Progress, for the message when the set-up never completes.
    let connected = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicUsize::new(0));
    let reading = Arc::new(AtomicUsize::new(0));
    let echoed = Chan::<io::Result<u64>>::new(conns);
    {
        let (reading, echoed, accepted) = (reading.clone(), echoed.clone(), accepted.clone());
        gort::go(move || {
            for _ in 0..conns {
                let (mut s, _) = l.accept().unwrap();
                accepted.fetch_add(1, Ordering::SeqCst);
                let (reading, echoed) = (reading.clone(), echoed.clone());
                gort::go(move || {
                    let mut buf = vec![0u8; 8192];
                    let mut total = 0u64;
                    let r = loop {
                        match s.read(&mut buf) {
                            Ok(0) => break Ok(total),
                            Ok(n) => {
                                if let Err(e) = s.write_all(&buf[..n]) {
                                    break Err(e);
                                }
                                if total == 0 {
                                    // The greeting: the next read waits.
                                    reading.fetch_add(1, Ordering::SeqCst);
                                }
                                total += n as u64;
                            }
                            Err(e) => break Err(e),
                        }
                    };
                    echoed.send(r).unwrap();
                });
            }
        });
    }
    let go_ahead = Chan::<()>::new(0);
    let clients: Vec<_> = (0..conns)
        .map(|c| {
            let (go_ahead, connected) = (go_ahead.clone(), connected.clone());
            gort::spawn(move || -> u64 {
                let mut s = TcpStream::connect(addr).unwrap();
                // A greeting first: the client speaks first, as in most
                // protocols (a handshake the listener's full queue dropped
                // completes when data comes; silence would wait forever).
                s.write_all(&[c as u8]).unwrap();
                let mut greeting = [0u8; 1];
                s.read_exact(&mut greeting).unwrap();
                assert_eq!(greeting, [c as u8]);
                connected.fetch_add(1, Ordering::SeqCst);
                assert_eq!(go_ahead.recv(), None, "released by a close");
                let mut sent = 0u64;
                let mut back = vec![0u8; 16384];
                for m in 0..msgs {
                    let want = pattern((c * msgs + m) as u64, msg_len(c, m));
                    s.write_all(&want).unwrap();
                    s.read_exact(&mut back[..want.len()]).unwrap();
                    assert!(
                        back[..want.len()] == want[..],
                        "conn {c} message {m}: echoed bytes differ"
                    );
                    sent += want.len() as u64;
                }
                sent
            })
        })
        .collect();
    let progress = || {
        format!(
            "{} of {conns} clients greeted, {} accepted, {} server goroutines reading",
            connected.load(Ordering::SeqCst),
            accepted.load(Ordering::SeqCst),
            reading.load(Ordering::SeqCst)
        )
    };
    wait_until(&progress, || reading.load(Ordering::SeqCst) == conns);
    if let Some(max) = max_threads {
        settle();
        let mut most = 0;
        for _ in 0..10 {
            most = most.max(os_threads().expect("a thread count"));
            gort::time::sleep(Duration::from_millis(20));
        }
        assert!(
            most < max,
            "{most} OS threads while {conns} goroutines wait in reads (want < {max})"
        );
        println!("echo: at most {most} OS threads while {conns} goroutines wait in reads");
    }
    go_ahead.close();
    let want: u64 = (0..conns)
        .flat_map(|c| (0..msgs).map(move |m| msg_len(c, m) as u64))
        .sum();
    let sent: u64 = clients.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sent, want);
    let mut got = 0;
    for _ in 0..conns {
        got += echoed
            .recv()
            .unwrap()
            .expect("a server goroutine's read or write");
    }
    assert_eq!(got, want + conns as u64, "bytes echoed, greetings included");
    assert!(echoed.try_recv().is_err(), "one report per connection");
}

#[test]
fn echo_500_connections_every_byte_checked() {
    common::each_scheduler("echo_500_connections", LIMIT, || {
        echo(ECHO_CONNS, ECHO_MSGS, None)
    });
}

/// In a child process of its own (no other test's threads, no threads a
/// threads-scheduler run left lingering): under M:N, 500 goroutines
/// blocked in reads hold fewer than 64 OS threads.
#[test]
fn echo_500_connections_hold_few_threads_under_mn() {
    const NAME: &str = "echo_500_connections_hold_few_threads_under_mn";
    if common::is_child() {
        let _dog = Watchdog::new(NAME, LIMIT);
        common::runtime(Scheduler::MN).run(|| echo(ECHO_CONNS, 2, Some(64)));
        return;
    }
    if !Scheduler::MN.is_available() || os_threads().is_none() {
        println!("{NAME}: skipped (needs M:N and /proc/self/task)");
        return;
    }
    let (code, out, err) = common::run_child(NAME, &[]);
    assert_eq!(code, Some(0), "child failed:\n{out}\n{err}");
    assert!(out.contains("echo: at most"), "child did not count:\n{out}");
}

// ------------------------------------------------- timeouts, deadlines

fn expect_timed_out<T: std::fmt::Debug>(r: io::Result<T>, what: &str) {
    match r {
        Err(e) => assert_eq!(e.kind(), ErrorKind::TimedOut, "{what}: {e}"),
        Ok(v) => panic!("{what}: succeeded ({v:?}), want TimedOut"),
    }
}

#[test]
fn read_timeout_answers_timed_out_within_bounds() {
    common::each_scheduler("read_timeout", LIMIT, || {
        let (mut client, mut server) = pair();
        let timeout = Duration::from_millis(50);
        server.set_read_timeout(Some(timeout)).unwrap();
        assert_eq!(server.read_timeout().unwrap(), Some(timeout));
        let mut buf = [0u8; 16];
        for _ in 0..3 {
            let start = Instant::now();
            expect_timed_out(server.read(&mut buf), "read with a timeout");
            let took = start.elapsed();
            assert!(took >= timeout, "timed out early: {took:?} < {timeout:?}");
            assert!(took < PROMPT, "timed out late: {took:?}");
        }
        // The timeout counts per call: data that comes is read.
        client.write_all(b"late").unwrap();
        assert_eq!(server.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"late");
        // Cleared, a read waits as long as it takes.
        server.set_read_timeout(None).unwrap();
        assert_eq!(server.read_timeout().unwrap(), None);
        let reader = gort::spawn(move || {
            let mut buf = [0u8; 16];
            let n = server.read(&mut buf).unwrap();
            buf[..n].to_vec()
        });
        gort::time::sleep(timeout * 3);
        assert!(!reader.is_finished(), "a read without timeout returned");
        client.write_all(b"after").unwrap();
        assert_eq!(reader.join().unwrap(), b"after");
        // As std: a zero timeout is refused.
        let e = client.set_read_timeout(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = client.set_write_timeout(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    });
}

#[test]
fn past_read_deadline_answers_timed_out_at_once() {
    common::each_scheduler("past_read_deadline", LIMIT, || {
        let (mut client, mut server) = pair();
        let past = Instant::now()
            .checked_sub(Duration::from_secs(1))
            .unwrap_or_else(Instant::now);
        server.set_read_deadline(Some(past)).unwrap();
        let mut buf = [0u8; 16];
        let start = Instant::now();
        expect_timed_out(server.read(&mut buf), "read past its deadline");
        assert!(start.elapsed() < PROMPT);
        // As Go: an expired deadline fails the call even with data there.
        client.write_all(b"data").unwrap();
        settle();
        expect_timed_out(server.read(&mut buf), "read past its deadline, data ready");
        // Cleared: the data is still there, whole.
        server.set_read_deadline(None).unwrap();
        let mut got = [0u8; 4];
        server.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"data");
    });
}

#[test]
fn deadline_set_by_another_goroutine_wakes_a_blocked_read() {
    common::each_scheduler("deadline_from_another_goroutine", LIMIT, || {
        let (mut client, server) = pair();
        let server = Arc::new(server);
        // A deadline in the future, set while the read waits without one.
        let s = server.clone();
        let reader = gort::spawn(move || {
            let mut buf = [0u8; 16];
            let r = (&*s).read(&mut buf);
            (r.map_err(|e| e.kind()), Instant::now())
        });
        settle();
        assert!(!reader.is_finished(), "the read returned without data");
        let deadline = Instant::now() + Duration::from_millis(50);
        let setter = {
            let s = server.clone();
            gort::spawn(move || s.set_read_deadline(Some(deadline)).unwrap())
        };
        setter.join().unwrap();
        let (r, woke) = reader.join().unwrap();
        assert_eq!(r, Err(ErrorKind::TimedOut));
        assert!(woke >= deadline, "woke before the deadline");
        assert!(woke - deadline < PROMPT, "woke late: {:?}", woke - deadline);

        // A deadline in the past, set while the read waits: wakes it now.
        server.set_read_deadline(None).unwrap();
        let s = server.clone();
        let reader = gort::spawn(move || {
            let mut buf = [0u8; 16];
            (&*s).read(&mut buf).map_err(|e| e.kind())
        });
        settle();
        assert!(!reader.is_finished(), "the read returned without data");
        let s = server.clone();
        let set_at = Instant::now();
        gort::spawn(move || s.set_read_deadline(Some(Instant::now())).unwrap())
            .join()
            .unwrap();
        assert_eq!(reader.join().unwrap(), Err(ErrorKind::TimedOut));
        assert!(set_at.elapsed() < PROMPT);

        // Cleared: a later read succeeds.
        server.set_read_deadline(None).unwrap();
        client.write_all(b"ok").unwrap();
        let mut got = [0u8; 2];
        (&*server).read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ok");
    });
}

#[test]
fn write_deadline_answers_timed_out_and_loses_nothing() {
    common::each_scheduler("write_deadline", LIMIT, || {
        let (mut client, mut server) = pair();
        // Nobody reads: the writes fill both socket buffers and then wait.
        let chunk = vec![7u8; 64 * 1024];
        let deadline = Instant::now() + Duration::from_millis(100);
        client.set_write_deadline(Some(deadline)).unwrap();
        let mut accepted = 0u64;
        let timed_out = loop {
            assert!(
                accepted < 1 << 30,
                "1 GiB written to a peer that reads nothing"
            );
            match client.write(&chunk) {
                Ok(n) => accepted += n as u64,
                Err(e) => break e,
            }
        };
        assert_eq!(timed_out.kind(), ErrorKind::TimedOut, "{timed_out}");
        let late = Instant::now();
        assert!(late >= deadline, "timed out before the deadline");
        assert!(late - deadline < PROMPT, "timed out late");
        // Cleared, writes wait for the reader; it gets every accepted byte.
        client.set_write_deadline(None).unwrap();
        let reader = gort::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            let mut total = 0u64;
            loop {
                match server.read(&mut buf).unwrap() {
                    0 => break total,
                    n => {
                        assert!(buf[..n].iter().all(|&b| b == 7));
                        total += n as u64;
                    }
                }
            }
        });
        client.write_all(&chunk).unwrap();
        drop(client);
        assert_eq!(reader.join().unwrap(), accepted + chunk.len() as u64);
    });
}

#[test]
fn udp_read_timeout_answers_timed_out() {
    common::each_scheduler("udp_read_timeout", LIMIT, || {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let timeout = Duration::from_millis(50);
        s.set_read_timeout(Some(timeout)).unwrap();
        let mut buf = [0u8; 16];
        let start = Instant::now();
        expect_timed_out(s.recv_from(&mut buf), "recv_from with a timeout");
        let took = start.elapsed();
        assert!(took >= timeout && took < PROMPT, "took {took:?}");
        s.set_read_timeout(None).unwrap();
        s.set_read_deadline(Some(Instant::now())).unwrap();
        expect_timed_out(s.recv_from(&mut buf), "recv_from past its deadline");
    });
}

// ----------------------------------------------------- EOF, shutdown

#[test]
fn eof_wakes_a_blocked_reader() {
    common::each_scheduler("eof_wakes_a_blocked_reader", LIMIT, || {
        // The peer closes.
        let (client, mut server) = pair();
        let reader = gort::spawn(move || {
            let mut buf = [0u8; 16];
            server.read(&mut buf).map_err(|e| e.kind())
        });
        settle();
        assert!(!reader.is_finished(), "the read returned without data");
        drop(client);
        assert_eq!(reader.join().unwrap(), Ok(0));

        // The peer shuts its writing half: EOF, and the other way still works.
        let (mut client, mut server) = pair();
        let reader = gort::spawn(move || {
            let mut buf = [0u8; 16];
            let r = server.read(&mut buf).map_err(|e| e.kind());
            server.write_all(b"bye").unwrap();
            r
        });
        settle();
        assert!(!reader.is_finished(), "the read returned without data");
        client.shutdown(Shutdown::Write).unwrap();
        assert_eq!(reader.join().unwrap(), Ok(0));
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"bye");
    });
}

#[test]
fn shutdown_by_another_goroutine_wakes_a_blocked_reader() {
    common::each_scheduler("shutdown_wakes_a_blocked_reader", LIMIT, || {
        for how in [Shutdown::Read, Shutdown::Both] {
            let (_client, server) = pair();
            let server = Arc::new(server);
            let s = server.clone();
            let reader = gort::spawn(move || {
                let mut buf = [0u8; 16];
                (&*s).read(&mut buf).map_err(|e| e.kind())
            });
            settle();
            assert!(!reader.is_finished(), "the read returned without data");
            let s = server.clone();
            gort::spawn(move || s.shutdown(how).unwrap())
                .join()
                .unwrap();
            let start = Instant::now();
            let r = reader.join().unwrap();
            assert!(start.elapsed() < PROMPT);
            assert!(
                matches!(r, Ok(0) | Err(_)),
                "{how:?}: a shut reader read {r:?}"
            );
            // A read after the shutdown does not wait either.
            let mut buf = [0u8; 16];
            let r = (&*server).read(&mut buf);
            assert!(matches!(r, Ok(0) | Err(_)), "{how:?}: then read {r:?}");
        }
    });
}

#[test]
fn shutdown_by_another_goroutine_wakes_a_blocked_writer() {
    common::each_scheduler("shutdown_wakes_a_blocked_writer", LIMIT, || {
        let (_client, server) = pair();
        let server = Arc::new(server);
        let s = server.clone();
        let writer = gort::spawn(move || {
            let chunk = vec![1u8; 64 * 1024];
            for _ in 0..1 << 14 {
                if let Err(e) = (&*s).write(&chunk) {
                    return Some(e.kind());
                }
            }
            None
        });
        settle();
        assert!(
            !writer.is_finished(),
            "1 GiB written to a peer that reads nothing"
        );
        server.shutdown(Shutdown::Write).unwrap();
        let r = writer.join().unwrap();
        assert!(r.is_some(), "writes went on after shutdown: {r:?}");
    });
}

// ----------------------------------------------------------- refused

#[test]
fn connection_refused() {
    common::each_scheduler("connection_refused", LIMIT, || {
        // A port bound and never listening: nothing else can take it (no
        // SO_REUSEADDR), so a connection to it is refused whatever other
        // tests bind meanwhile. (A dropped listener's port, used before,
        // is free for any test's socket: under Wine a connect to one
        // once answered a reset.)
        let closed =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        closed
            .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        let addr = closed.local_addr().unwrap().as_socket().unwrap();
        let e = TcpStream::connect(addr).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
        let e = TcpStream::connect_timeout(&addr, PROMPT).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    });
}

// ---------------------------------------------------------------- UDP

const UDP_CLIENTS: usize = 16;
const UDP_ROUNDS: usize = 100;

#[test]
fn udp_round_trips() {
    common::each_scheduler("udp_round_trips", LIMIT, || {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let total = UDP_CLIENTS * UDP_ROUNDS;
        let echo = gort::spawn(move || {
            let mut buf = vec![0u8; 65536];
            let mut bytes = 0u64;
            for _ in 0..total {
                let (n, from) = server.recv_from(&mut buf).unwrap();
                assert_eq!(server.send_to(&buf[..n], from).unwrap(), n);
                bytes += n as u64;
            }
            bytes
        });
        let clients: Vec<_> = (0..UDP_CLIENTS)
            .map(|c| {
                gort::spawn(move || -> u64 {
                    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
                    // Half the clients connect and use send/recv.
                    let connected = c % 2 == 1;
                    if connected {
                        s.connect(addr).unwrap();
                        assert_eq!(s.peer_addr().unwrap(), addr);
                    }
                    let mut buf = vec![0u8; 65536];
                    let mut sent = 0u64;
                    for r in 0..UDP_ROUNDS {
                        let len = msg_len(c, r) % 8192 + 1;
                        let want = pattern((c * UDP_ROUNDS + r) as u64 ^ 0x5555, len);
                        let n = if connected {
                            let n = s.send(&want).unwrap();
                            assert_eq!(s.recv(&mut buf).unwrap(), len);
                            n
                        } else {
                            let n = s.send_to(&want, addr).unwrap();
                            let (m, from) = s.recv_from(&mut buf).unwrap();
                            assert_eq!((m, from), (len, addr));
                            n
                        };
                        assert_eq!(n, len);
                        assert!(buf[..len] == want[..], "client {c} round {r}: bytes differ");
                        sent += len as u64;
                    }
                    sent
                })
            })
            .collect();
        let sent: u64 = clients.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(echo.join().unwrap(), sent);
        let want: u64 = (0..UDP_CLIENTS)
            .flat_map(|c| (0..UDP_ROUNDS).map(move |r| (msg_len(c, r) % 8192 + 1) as u64))
            .sum();
        assert_eq!(sent, want);
    });
}

// ------------------------------------------ plain threads and goroutines

const WRITERS: usize = 4;
const FRAMES: usize = 200;

#[test]
fn plain_thread_reads_while_goroutines_write() {
    common::each_scheduler("plain_thread_reads", LIMIT, || {
        let (client, mut server) = pair();
        // The thread reads frames (writer u16, seq u32, len u16, bytes)
        // until EOF, checking each writer's frames arrive whole, in order.
        let report = Chan::<Result<[usize; WRITERS], String>>::new(1);
        let thread = {
            let report = report.clone();
            std::thread::spawn(move || {
                let mut next = [0usize; WRITERS];
                let r = (|| {
                    let mut head = [0u8; 8];
                    loop {
                        match server.read(&mut head[..1]).map_err(|e| e.to_string())? {
                            0 => return Ok(next),
                            _ => server
                                .read_exact(&mut head[1..])
                                .map_err(|e| e.to_string())?,
                        }
                        let w = u16::from_le_bytes([head[0], head[1]]) as usize;
                        let seq = u32::from_le_bytes(head[2..6].try_into().unwrap()) as usize;
                        let len = u16::from_le_bytes([head[6], head[7]]) as usize;
                        if w >= WRITERS || seq != next[w] {
                            return Err(format!("frame {w}/{seq}, want seq {next:?}"));
                        }
                        let mut body = vec![0u8; len];
                        server.read_exact(&mut body).map_err(|e| e.to_string())?;
                        if body != pattern((w * FRAMES + seq) as u64, len) {
                            return Err(format!("frame {w}/{seq}: bytes differ"));
                        }
                        next[w] += 1;
                    }
                })();
                report.send(r).unwrap();
            })
        };
        let client = Arc::new(client);
        let turn = Arc::new(gort::sync::Mutex::new(()));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (client, turn) = (client.clone(), turn.clone());
                gort::spawn(move || {
                    for seq in 0..FRAMES {
                        let len = msg_len(w, seq) % 4000;
                        let mut frame = Vec::with_capacity(8 + len);
                        frame.extend_from_slice(&(w as u16).to_le_bytes());
                        frame.extend_from_slice(&(seq as u32).to_le_bytes());
                        frame.extend_from_slice(&(len as u16).to_le_bytes());
                        frame.extend_from_slice(&pattern((w * FRAMES + seq) as u64, len));
                        let _g = turn.lock();
                        (&*client).write_all(&frame).unwrap();
                    }
                })
            })
            .collect();
        for h in writers {
            h.join().unwrap();
        }
        drop(client);
        assert_eq!(report.recv().unwrap(), Ok([FRAMES; WRITERS]));
        thread.join().unwrap();
    });
}

/// Echoes one connection until EOF; returns the bytes echoed.
fn echo_one(mut s: TcpStream) -> u64 {
    let mut buf = vec![0u8; 8192];
    let mut total = 0u64;
    loop {
        match s.read(&mut buf).unwrap() {
            0 => return total,
            n => {
                s.write_all(&buf[..n]).unwrap();
                total += n as u64;
            }
        }
    }
}

/// Sends `msgs` messages to `addr` and checks each echo; returns the bytes.
fn echo_client(addr: SocketAddr, seed: usize, msgs: usize) -> u64 {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    let mut back = vec![0u8; 16384];
    let mut sent = 0u64;
    for m in 0..msgs {
        let want = pattern((seed * msgs + m) as u64, msg_len(seed, m));
        s.write_all(&want).unwrap();
        s.read_exact(&mut back[..want.len()]).unwrap();
        assert!(back[..want.len()] == want[..], "message {m}: bytes differ");
        sent += want.len() as u64;
    }
    sent
}

#[test]
fn goroutine_serves_a_plain_thread_and_the_other_way() {
    common::each_scheduler("goroutine_serves_a_plain_thread", LIMIT, || {
        let msgs = 100;
        let want: u64 = (0..msgs).map(|m| msg_len(3, m) as u64).sum();

        // A goroutine accepts and echoes; a plain thread is the client.
        let l = listener();
        let addr = l.local_addr().unwrap();
        let server = gort::spawn(move || echo_one(l.accept().unwrap().0));
        let done = Chan::<u64>::new(1);
        let d = done.clone();
        let thread = std::thread::spawn(move || d.send(echo_client(addr, 3, msgs)).unwrap());
        assert_eq!(done.recv(), Some(want));
        assert_eq!(server.join().unwrap(), want);
        thread.join().unwrap();

        // A plain thread accepts and echoes; a goroutine is the client.
        let l = listener();
        let addr = l.local_addr().unwrap();
        let done = Chan::<u64>::new(1);
        let d = done.clone();
        let thread = std::thread::spawn(move || d.send(echo_one(l.accept().unwrap().0)).unwrap());
        assert_eq!(
            gort::spawn(move || echo_client(addr, 3, msgs))
                .join()
                .unwrap(),
            want
        );
        assert_eq!(done.recv(), Some(want));
        thread.join().unwrap();
    });
}

// --------------------------------------- idle readers stall nothing

/// Two fresh goroutines bounce a count `rounds` times over unbuffered
/// channels; returns the final count.
fn ping_pong(rounds: u64) -> u64 {
    let (ping, pong) = (Chan::<u64>::new(0), Chan::<u64>::new(0));
    let (ping2, pong2) = (ping.clone(), pong.clone());
    let echo = gort::spawn(move || {
        for v in &ping2 {
            pong2.send(v + 1).unwrap();
        }
    });
    let player = gort::spawn(move || {
        let mut v = 0;
        for _ in 0..rounds {
            ping.send(v).unwrap();
            v = pong.recv().unwrap();
        }
        ping.close();
        v
    });
    let v = player.join().unwrap();
    echo.join().unwrap();
    v
}

/// `readers` goroutines wait in reads on idle connections while two others
/// play `rounds` ping-pongs; then the peers close and every reader must
/// see EOF, none earlier.
fn ping_pong_beside_idle_readers(readers: usize, rounds: u64) {
    let l = listener();
    let waiting = Arc::new(AtomicUsize::new(0));
    let results = Chan::<io::Result<usize>>::new(readers);
    let mut peers = Vec::with_capacity(readers);
    for _ in 0..readers {
        let (client, mut server) = pair_on(&l);
        peers.push(client);
        let (waiting, results) = (waiting.clone(), results.clone());
        gort::go(move || {
            let mut buf = [0u8; 64];
            waiting.fetch_add(1, Ordering::SeqCst);
            results.send(server.read(&mut buf)).unwrap();
        });
    }
    wait_until(&|| format!("{readers} readers started"), || {
        waiting.load(Ordering::SeqCst) == readers
    });
    settle();
    assert_eq!(ping_pong(rounds), rounds);
    assert_eq!(results.len(), 0, "a reader returned with its peer idle");
    drop(peers);
    for i in 0..readers {
        match results.recv().unwrap() {
            Ok(0) => {}
            other => panic!("reader {i} of {readers}: {other:?}, want EOF"),
        }
    }
    assert!(results.try_recv().is_err());
}

#[test]
fn ping_pongs_finish_while_200_goroutines_wait_in_reads() {
    common::each_scheduler("ping_pongs_beside_200_readers", LIMIT, || {
        ping_pong_beside_idle_readers(200, 10_000)
    });
}

/// Under M:N a goroutine blocked in a read holds no thread: one worker
/// serves 50 readers and the ping-pong.
#[test]
fn readers_hold_no_worker() {
    each_scheduler_one_worker("readers_hold_no_worker", || {
        ping_pong_beside_idle_readers(50, 2_000);
        // And a computation beside them, on the same single worker.
        let l = listener();
        let mut peers = Vec::new();
        let mut readers = Vec::new();
        for _ in 0..50 {
            let (client, mut server) = pair_on(&l);
            peers.push(client);
            readers.push(gort::spawn(move || {
                server.read(&mut [0u8; 8]).map_err(|e| e.kind())
            }));
        }
        settle();
        let sum = gort::spawn(|| (0..1_000_000u64).fold(0u64, |a, x| a.wrapping_add(x * x)))
            .join()
            .unwrap();
        assert_eq!(sum, (0..1_000_000u64).map(|x| x * x).sum::<u64>());
        for (i, mut p) in peers.into_iter().enumerate() {
            p.write_all(&[i as u8]).unwrap();
        }
        for h in readers {
            assert_eq!(h.join().unwrap(), Ok(1));
        }
    });
}

// --------------------------------------------------------- fd reuse

const REUSE_ROUNDS: usize = 200;

/// One round on `l`: a connection is dropped with readiness pending (data
/// it never read, after a reader waited on it), and the next connection
/// most likely gets its descriptor number. A reader on the new one must
/// wait for its own peer and get exactly its peer's bytes: a stale event
/// may not wake it with an error or a spurious result. Returns whether
/// the number was reused.
fn reuse_round(l: &TcpListener, round: usize, wait: bool) -> bool {
    let (mut old_client, mut old_server) = pair_on(l);
    let old_fd = raw(&old_server);
    if round.is_multiple_of(2) {
        // A waiter came and went on the old socket.
        let r = gort::spawn(move || {
            let mut b = [0u8; 1];
            old_server.read_exact(&mut b).unwrap();
            old_server
        });
        gort::gosched();
        old_client.write_all(&[1]).unwrap();
        old_server = r.join().unwrap();
    }
    // Readiness pending on both directions of the old socket.
    old_client.write_all(&pattern(round as u64, 1000)).unwrap();
    gort::gosched();
    drop(old_server);
    // The new client socket takes the lowest free number, most likely the
    // old one's: the reader reads on whichever did.
    let (client, server) = pair_on(l);
    let reused = raw(&client) == old_fd || raw(&server) == old_fd;
    let (mut server, mut client) = if raw(&client) == old_fd {
        (client, server)
    } else {
        (server, client)
    };
    drop(old_client);
    let reader = gort::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match server.read(&mut buf) {
                Ok(0) => return Ok(got),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => return Err(e.kind()),
            }
        }
    });
    if wait {
        settle();
    } else {
        gort::gosched();
    }
    assert!(
        !reader.is_finished(),
        "round {round}: the new reader returned early"
    );
    let tag = format!("round {round}");
    client.write_all(tag.as_bytes()).unwrap();
    drop(client);
    assert_eq!(
        reader.join().unwrap(),
        Ok(tag.into_bytes()),
        "round {round}"
    );
    reused
}

#[test]
fn reused_descriptor_sees_no_stale_event() {
    common::each_scheduler("reused_descriptor", LIMIT, || {
        let l = listener();
        let reused = (0..REUSE_ROUNDS)
            .filter(|&round| reuse_round(&l, round, round.is_multiple_of(10)))
            .count();
        println!("reused_descriptor: {reused} of {REUSE_ROUNDS} rounds reused the descriptor");
        // The same from four goroutines at once: descriptors freed by one
        // are taken by another, while events for them are in flight.
        let rounds: Vec<_> = (0..4)
            .map(|g| {
                gort::spawn(move || {
                    let l = listener();
                    (0..REUSE_ROUNDS / 4)
                        .filter(|&r| reuse_round(&l, g * 1000 + r, false))
                        .count()
                })
            })
            .collect();
        let reused: usize = rounds.into_iter().map(|h| h.join().unwrap()).sum();
        println!("reused_descriptor: {reused} of {REUSE_ROUNDS} concurrent rounds reused one");
    });
}

#[cfg(unix)]
fn raw(s: &TcpStream) -> i64 {
    use std::os::fd::AsRawFd;
    s.as_raw_fd() as i64
}

#[cfg(windows)]
fn raw(s: &TcpStream) -> i64 {
    use std::os::windows::io::AsRawSocket;
    s.as_raw_socket() as i64
}

// ------------------------------------------------ one socket, many users

const SHARERS: usize = 20;

/// Goroutines and a plain thread read one socket at once (std allows it
/// through `&TcpStream`): each byte written goes to exactly one of them,
/// and every one of them wakes for its byte.
#[test]
fn concurrent_readers_share_one_socket() {
    common::each_scheduler("concurrent_readers", LIMIT, || {
        let (mut client, server) = pair();
        let server = Arc::new(server);
        let got = Chan::<io::Result<u8>>::new(SHARERS);
        let read_one = |s: Arc<TcpStream>, got: Chan<io::Result<u8>>| {
            move || {
                let mut b = [0u8; 1];
                got.send((&*s).read(&mut b).and_then(|n| match n {
                    1 => Ok(b[0]),
                    _ => Err(ErrorKind::UnexpectedEof.into()),
                }))
                .unwrap();
            }
        };
        for _ in 0..SHARERS - 1 {
            gort::go(read_one(server.clone(), got.clone()));
        }
        let thread = std::thread::spawn(read_one(server.clone(), got.clone()));
        settle();
        assert_eq!(got.len(), 0, "a reader returned without data");
        for i in 0..SHARERS {
            client.write_all(&[i as u8]).unwrap();
            // One byte at a time, so that one read takes one byte.
            gort::time::sleep(Duration::from_millis(2));
        }
        let mut bytes: Vec<u8> = (0..SHARERS).map(|_| got.recv().unwrap().unwrap()).collect();
        bytes.sort_unstable();
        assert_eq!(bytes, (0..SHARERS as u8).collect::<Vec<_>>());
        thread.join().unwrap();
    });
}

// ------------------------------------- the poller and a busy scheduler

/// With one worker, a goroutine that never parks (a busy loop, or one that
/// only yields) holds the worker until a reader, woken by a plain
/// thread's write, releases it: the poller must still be looked at (the
/// monitor polls when no worker has for a while).
#[test]
fn reader_wakes_while_the_only_worker_is_busy() {
    each_scheduler_one_worker("reader_wakes_while_busy", || {
        for yields in [false, true] {
            let (client, mut server) = pair();
            let released = Arc::new(AtomicUsize::new(0));
            let busy = {
                let released = released.clone();
                gort::spawn(move || {
                    let start = Instant::now();
                    let mut turns = 0u64;
                    while released.load(Ordering::SeqCst) == 0 {
                        assert!(start.elapsed() < Duration::from_secs(60), "never released");
                        turns += 1;
                        if yields {
                            gort::gosched();
                        } else {
                            std::hint::spin_loop();
                        }
                    }
                    turns
                })
            };
            let reader = {
                let released = released.clone();
                gort::spawn(move || {
                    let mut b = [0u8; 4];
                    let r = server.read_exact(&mut b).map(|()| b);
                    released.store(1, Ordering::SeqCst);
                    r.map_err(|e| e.kind())
                })
            };
            let writer = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                (&client).write_all(b"wake").unwrap();
                client
            });
            assert_eq!(reader.join().unwrap(), Ok(*b"wake"), "yields: {yields}");
            assert!(busy.join().unwrap() > 0);
            drop(writer.join().unwrap());
        }
    });
}

/// With one worker idle in the poller (every goroutine waits on the
/// network or a channel, no timer pending), a plain thread's channel send
/// must wake it: the poller's wait is broken when work arrives.
#[test]
fn plain_thread_work_wakes_a_worker_in_the_poller() {
    each_scheduler_one_worker("work_wakes_the_poller", || {
        let l = listener();
        let mut peers = Vec::new();
        let mut readers = Vec::new();
        for _ in 0..4 {
            let (client, mut server) = pair_on(&l);
            peers.push(client);
            readers.push(gort::spawn(move || {
                server.read(&mut [0u8; 8]).map_err(|e| e.kind())
            }));
        }
        let work = Chan::<u32>::new(0);
        for round in 0..20u32 {
            let w = work.clone();
            let thread = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(if round % 2 == 0 { 20 } else { 0 }));
                w.send(round).unwrap();
            });
            let start = Instant::now();
            assert_eq!(work.recv(), Some(round));
            assert!(start.elapsed() < PROMPT, "round {round}: woke late");
            thread.join().unwrap();
        }
        drop(peers);
        for h in readers {
            assert_eq!(h.join().unwrap(), Ok(0));
        }
    });
}

// ------------------------------------- more waits and their wake-ups

/// A reader that times out every millisecond while a writer trickles
/// data: whatever the race between the timeout and the data, no byte is
/// lost, duplicated or reordered.
#[test]
fn timeouts_lose_no_data() {
    common::each_scheduler("timeouts_lose_no_data", LIMIT, || {
        let (client, mut server) = pair();
        let total = 20_000usize;
        let data = pattern(99, total);
        let writer = {
            let data = data.clone();
            gort::spawn(move || {
                let mut client = client;
                for (i, chunk) in data.chunks(97).enumerate() {
                    client.write_all(chunk).unwrap();
                    if i % 3 == 0 {
                        gort::time::sleep(Duration::from_micros(700));
                    }
                }
            })
        };
        server
            .set_read_timeout(Some(Duration::from_millis(1)))
            .unwrap();
        let mut got = Vec::with_capacity(total);
        let mut buf = [0u8; 64];
        let mut timeouts = 0u64;
        let start = Instant::now();
        loop {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "stuck at {} bytes",
                got.len()
            );
            match server.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::TimedOut => timeouts += 1,
                Err(e) => panic!("read: {e}"),
            }
        }
        writer.join().unwrap();
        assert_eq!(got.len(), total);
        assert!(got == data, "bytes differ");
        println!("timeouts_lose_no_data: {timeouts} timeouts");
    });
}

/// A deadline set by another goroutine wakes a writer blocked on a full
/// socket, and one on the listener wakes a blocked `accept`.
#[test]
fn deadlines_wake_blocked_writers_and_accepts() {
    common::each_scheduler("deadlines_wake_writers_and_accepts", LIMIT, || {
        let (_client, server) = pair();
        let server = Arc::new(server);
        let s = server.clone();
        let writer = gort::spawn(move || {
            let chunk = vec![3u8; 64 * 1024];
            for _ in 0..1 << 14 {
                if let Err(e) = (&*s).write(&chunk) {
                    return Some(e.kind());
                }
            }
            None
        });
        settle();
        assert!(
            !writer.is_finished(),
            "1 GiB written to a peer that reads nothing"
        );
        let s = server.clone();
        gort::spawn(move || s.set_write_deadline(Some(Instant::now())).unwrap())
            .join()
            .unwrap();
        assert_eq!(writer.join().unwrap(), Some(ErrorKind::TimedOut));

        let l = Arc::new(listener());
        let addr = l.local_addr().unwrap();
        let l2 = l.clone();
        let acceptor = gort::spawn(move || l2.accept().map(|_| ()).map_err(|e| e.kind()));
        settle();
        assert!(!acceptor.is_finished(), "accept returned without a client");
        let deadline = Instant::now() + Duration::from_millis(30);
        l.set_deadline(Some(deadline)).unwrap();
        assert_eq!(acceptor.join().unwrap(), Err(ErrorKind::TimedOut));
        assert!(Instant::now() >= deadline);
        // Past: at once. Cleared: accepts again.
        expect_timed_out(l.accept().map(|_| ()), "accept past its deadline");
        l.set_deadline(None).unwrap();
        let c = TcpStream::connect(addr).unwrap();
        let (s, peer) = l.accept().unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
        assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
    });
}

/// Dropping one handle of a socket (its `try_clone` lives on) disturbs
/// nobody waiting on the other; `peek` leaves the data; `incoming`
/// yields the connections in turn.
#[test]
fn clones_peek_and_incoming() {
    common::each_scheduler("clones_peek_and_incoming", LIMIT, || {
        let (mut client, server) = pair();
        let clone = server.try_clone().unwrap();
        let reader = gort::spawn(move || {
            let mut clone = clone;
            let mut b = [0u8; 5];
            clone.read_exact(&mut b).map(|()| b).map_err(|e| e.kind())
        });
        settle();
        drop(server);
        settle();
        assert!(!reader.is_finished(), "dropping a clone woke the reader");
        client.write_all(b"clone").unwrap();
        assert_eq!(reader.join().unwrap(), Ok(*b"clone"));

        let (mut client, mut server) = pair();
        let peeker = gort::spawn(move || {
            let mut b = [0u8; 8];
            let n = server.peek(&mut b).unwrap();
            let mut all = [0u8; 4];
            server.read_exact(&mut all).unwrap();
            (b[..n].to_vec(), all)
        });
        settle();
        client.write_all(b"peek").unwrap();
        let (peeked, read) = peeker.join().unwrap();
        assert!(
            !peeked.is_empty() && b"peek".starts_with(&peeked),
            "{peeked:?}"
        );
        assert_eq!(&read, b"peek");

        let l = listener();
        let addr = l.local_addr().unwrap();
        let clients: Vec<_> = (0..10u8)
            .map(|i| {
                gort::spawn(move || {
                    let mut c = TcpStream::connect(addr).unwrap();
                    c.write_all(&[i]).unwrap();
                })
            })
            .collect();
        let mut seen: Vec<u8> = l
            .incoming()
            .take(10)
            .map(|c| {
                let mut b = [0u8; 1];
                c.unwrap().read_exact(&mut b).unwrap();
                b[0]
            })
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..10).collect::<Vec<u8>>());
        for h in clients {
            h.join().unwrap();
        }
    });
}

const BIG: usize = 2 << 20;

/// Full duplex, several connections at once: each side writes 2 MiB
/// while reading the other's 2 MiB, so writers keep waiting for room and
/// readers for data. Every byte is checked.
#[test]
fn large_transfers_both_ways() {
    common::each_scheduler("large_transfers", LIMIT, || {
        let l = listener();
        let mut handles = Vec::new();
        for c in 0..4u64 {
            let (a, b) = pair_on(&l);
            for (seed, s) in [(c * 2, a), (c * 2 + 1, b)] {
                let peer_seed = seed ^ 1;
                let mut w = s.try_clone().unwrap();
                handles.push(gort::spawn(move || {
                    let data = pattern(seed, BIG);
                    for chunk in data.chunks(100_003) {
                        w.write_all(chunk).unwrap();
                    }
                    w.shutdown(Shutdown::Write).unwrap();
                    0
                }));
                let mut r = s;
                handles.push(gort::spawn(move || {
                    let want = pattern(peer_seed, BIG);
                    let mut got = Vec::with_capacity(BIG);
                    r.read_to_end(&mut got).unwrap();
                    assert_eq!(got.len(), BIG);
                    assert!(got == want, "stream {peer_seed}: bytes differ");
                    got.len()
                }));
            }
        }
        let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, 8 * BIG);
    });
}

// ------------------------------------------------------ Unix sockets

#[cfg(gort_net_unix)]
mod unix {
    use super::*;
    use gort::net::{UnixDatagram, UnixListener, UnixStream};

    /// A fresh socket path in the temporary directory (removed first).
    fn socket_path(name: &str) -> std::path::PathBuf {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("gort-net-{}-{name}-{n}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p
    }

    #[test]
    fn unix_stream_echo_eof_and_shutdown() {
        common::each_scheduler("unix_stream", LIMIT, || {
            let path = socket_path("stream");
            let l = UnixListener::bind(&path).unwrap();
            let clients: Vec<_> = (0..20)
                .map(|c| {
                    let path = path.clone();
                    gort::spawn(move || {
                        let mut s = UnixStream::connect(&path).unwrap();
                        let mut back = vec![0u8; 16384];
                        let mut sent = 0u64;
                        for m in 0..10 {
                            let want = pattern((c * 10 + m) as u64, msg_len(c, m));
                            s.write_all(&want).unwrap();
                            s.read_exact(&mut back[..want.len()]).unwrap();
                            assert!(back[..want.len()] == want[..], "conn {c} message {m}");
                            sent += want.len() as u64;
                        }
                        sent
                    })
                })
                .collect();
            let servers: Vec<_> = (0..20)
                .map(|_| {
                    let (mut s, _) = l.accept().unwrap();
                    gort::spawn(move || {
                        let mut buf = vec![0u8; 8192];
                        let mut total = 0u64;
                        loop {
                            match s.read(&mut buf).unwrap() {
                                0 => return total,
                                n => {
                                    s.write_all(&buf[..n]).unwrap();
                                    total += n as u64;
                                }
                            }
                        }
                    })
                })
                .collect();
            let sent: u64 = clients.into_iter().map(|h| h.join().unwrap()).sum();
            let echoed: u64 = servers.into_iter().map(|h| h.join().unwrap()).sum();
            assert_eq!(sent, echoed);
            let want: u64 = (0..20)
                .flat_map(|c| (0..10).map(move |m| msg_len(c, m) as u64))
                .sum();
            assert_eq!(sent, want);
            drop(l);
            let _ = std::fs::remove_file(&path);

            // EOF and shutdown wake blocked readers.
            let (a, mut b) = UnixStream::pair().unwrap();
            let reader = gort::spawn(move || b.read(&mut [0u8; 8]).map_err(|e| e.kind()));
            settle();
            assert!(!reader.is_finished(), "the read returned without data");
            drop(a);
            assert_eq!(reader.join().unwrap(), Ok(0));
            let (_a, b) = UnixStream::pair().unwrap();
            let b = Arc::new(b);
            let b2 = b.clone();
            let reader = gort::spawn(move || (&*b2).read(&mut [0u8; 8]).map_err(|e| e.kind()));
            settle();
            assert!(!reader.is_finished(), "the read returned without data");
            b.shutdown(Shutdown::Read).unwrap();
            let r = reader.join().unwrap();
            assert!(matches!(r, Ok(0) | Err(_)), "a shut reader read {r:?}");
        });
    }

    #[test]
    fn unix_datagram_round_trips_and_timeout() {
        common::each_scheduler("unix_datagram", LIMIT, || {
            let (a, b) = UnixDatagram::pair().unwrap();
            let echo = gort::spawn(move || {
                let mut buf = vec![0u8; 8192];
                let mut bytes = 0u64;
                for _ in 0..200 {
                    let n = b.recv(&mut buf).unwrap();
                    assert_eq!(b.send(&buf[..n]).unwrap(), n);
                    bytes += n as u64;
                }
                bytes
            });
            let mut buf = vec![0u8; 8192];
            let mut sent = 0u64;
            for r in 0..200 {
                let want = pattern(r as u64, msg_len(r, r) % 4096 + 1);
                assert_eq!(a.send(&want).unwrap(), want.len());
                assert_eq!(a.recv(&mut buf).unwrap(), want.len());
                assert!(buf[..want.len()] == want[..], "round {r}");
                sent += want.len() as u64;
            }
            assert_eq!(echo.join().unwrap(), sent);
            // Bound to paths, addressed with send_to / recv_from.
            let (pa, pb) = (socket_path("dgram-a"), socket_path("dgram-b"));
            let (x, y) = (
                UnixDatagram::bind(&pa).unwrap(),
                UnixDatagram::bind(&pb).unwrap(),
            );
            assert_eq!(x.send_to(b"to y", &pb).unwrap(), 4);
            let (n, from) = y.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"to y");
            assert_eq!(from.as_pathname(), Some(pa.as_path()));
            // Nothing more comes: a timeout answers TimedOut in bounds.
            let timeout = Duration::from_millis(50);
            y.set_read_timeout(Some(timeout)).unwrap();
            let start = Instant::now();
            expect_timed_out(y.recv(&mut buf), "recv with a timeout");
            let took = start.elapsed();
            assert!(took >= timeout && took < PROMPT, "took {took:?}");
            drop((x, y));
            let _ = std::fs::remove_file(&pa);
            let _ = std::fs::remove_file(&pb);
        });
    }
}

/// A goroutine still waiting in a read when its runtime's last handle
/// goes keeps the runtime alive: the peer's close, later, wakes it and it
/// finishes normally.
#[test]
fn reader_outlives_its_runtime_handle() {
    for sched in common::schedulers() {
        let _dog = Watchdog::new(
            &format!("reader_outlives_its_runtime_handle [{sched:?}]"),
            LIMIT,
        );
        let done = Chan::<io::Result<usize>>::new(1);
        let d = done.clone();
        let rt = common::runtime(sched);
        let client = rt.run(move || {
            let (client, mut server) = pair();
            gort::go(move || {
                d.send(server.read(&mut [0u8; 8])).unwrap();
            });
            settle();
            client
        });
        drop(rt);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(done.len(), 0, "the reader returned without data");
        drop(client);
        match done.recv_timeout(PROMPT) {
            Ok(Ok(0)) => {}
            other => panic!("[{sched:?}] the reader: {other:?}, want EOF"),
        }
    }
}

/// Names resolve through std's `ToSocketAddrs` (each address in turn, as
/// std): many goroutines at once on one worker connect by name.
#[test]
fn connect_by_name() {
    each_scheduler_one_worker("connect_by_name", || {
        let l = Arc::new(listener());
        let port = l.local_addr().unwrap().port();
        let server = {
            let l = l.clone();
            gort::spawn(move || {
                let mut sum = 0u32;
                for _ in 0..20 {
                    let (mut s, _) = l.accept().unwrap();
                    let mut b = [0u8; 1];
                    s.read_exact(&mut b).unwrap();
                    sum += u32::from(b[0]);
                }
                sum
            })
        };
        let clients: Vec<_> = (0..20u8)
            .map(|i| {
                gort::spawn(move || {
                    let mut s = TcpStream::connect(("localhost", port)).unwrap();
                    s.write_all(&[i]).unwrap();
                })
            })
            .collect();
        for h in clients {
            h.join().unwrap();
        }
        assert_eq!(server.join().unwrap(), (0..20).sum::<u32>());
    });
}

/// std's `set_nonblocking(true)`: a call that would wait answers
/// `WouldBlock` at once; back in blocking mode it waits again.
#[test]
fn nonblocking_mode_answers_would_block() {
    common::each_scheduler("nonblocking_mode", LIMIT, || {
        let (mut client, mut server) = pair();
        server.set_nonblocking(true).unwrap();
        let e = server.read(&mut [0u8; 8]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WouldBlock);
        let l = listener();
        l.set_nonblocking(true).unwrap();
        assert_eq!(l.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        u.set_nonblocking(true).unwrap();
        assert_eq!(
            u.recv_from(&mut [0u8; 8]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        server.set_nonblocking(false).unwrap();
        let reader = gort::spawn(move || {
            let mut b = [0u8; 2];
            server.read_exact(&mut b).map(|()| b).map_err(|e| e.kind())
        });
        settle();
        assert!(
            !reader.is_finished(),
            "a blocking read returned without data"
        );
        client.write_all(b"ok").unwrap();
        assert_eq!(reader.join().unwrap(), Ok(*b"ok"));
    });
}

// ------------------------------------------------------ a burst of connects

/// Clients connecting at once, then waiting silently for the server:
/// more than std's backlog of 128.
const BURST: usize = if cfg!(windows) { 200 } else { 600 };

/// A burst of silent connects is accepted in full once the server gets to
/// them. With std's (and mio's) backlog of 128 the accept queue overflows,
/// the kernel completes the excess handshakes by syncookie, and the server
/// never learns of a client that only waits (this test then fails at the
/// accept deadline); gort listens with the system's limit, as Go does.
#[test]
fn a_burst_of_silent_connects_is_accepted_in_full() {
    common::each_scheduler("burst_of_silent_connects", LIMIT, || {
        let l = listener();
        let addr = l.local_addr().unwrap();
        let connected = Arc::new(AtomicUsize::new(0));
        let clients: Vec<_> = (0..BURST)
            .map(|_| {
                let connected = connected.clone();
                gort::spawn(move || {
                    let mut c = TcpStream::connect(addr).unwrap();
                    connected.fetch_add(1, Ordering::SeqCst);
                    let mut greeting = [0u8; 5];
                    c.read_exact(&mut greeting).unwrap();
                    greeting
                })
            })
            .collect();
        wait_until(
            &|| format!("{} of {BURST} connected", connected.load(Ordering::SeqCst)),
            || connected.load(Ordering::SeqCst) == BURST,
        );
        // Only now does the server accept: every connection must be queued.
        l.set_deadline(Some(Instant::now() + Duration::from_secs(20)))
            .unwrap();
        let mut accepted = Vec::with_capacity(BURST);
        for i in 0..BURST {
            let (mut s, _) = l
                .accept()
                .unwrap_or_else(|e| panic!("accept {i} of {BURST}: {e}"));
            s.write_all(b"hello").unwrap();
            accepted.push(s);
        }
        for c in clients {
            assert_eq!(&c.join().unwrap(), b"hello");
        }
        assert_eq!(accepted.len(), BURST);
    });
}

// ------------------------------------------------ two runtimes, one poller

/// The poller is the process's: a processor of one runtime may block in it
/// for another runtime's goroutines, whose processors then sleep. When
/// that runtime shuts down, its processor leaves the poller; the other
/// runtime must take over, or its reader never wakes.
#[test]
fn a_runtime_shutting_down_hands_the_poller_to_another() {
    let _dog = Watchdog::new("a_runtime_shutting_down_hands_the_poller_to_another", LIMIT);
    let l = listener();
    let (a_client, a_server) = pair_on(&l);
    let (mut b_client, b_server) = pair_on(&l);
    // Runtime X: one goroutine reads A until EOF; X's idle processor
    // blocks in the poller.
    let x = std::thread::spawn(move || {
        let x = Builder::new().scheduler(Scheduler::MN).workers(1).build();
        x.run(move || {
            let mut a = a_server;
            assert_eq!(a.read(&mut [0u8; 8]).unwrap(), 0);
        });
        drop(x); // shut down: its processor leaves the poller
    });
    std::thread::sleep(Duration::from_millis(100));
    // Runtime Y: one goroutine reads B; Y's processor finds the poller
    // taken by X and sleeps.
    let y = std::thread::spawn(move || {
        let y = Builder::new().scheduler(Scheduler::MN).workers(1).build();
        y.run(move || {
            let mut b = b_server;
            let mut got = [0u8; 5];
            b.read_exact(&mut got).unwrap();
            got
        })
    });
    std::thread::sleep(Duration::from_millis(100));
    drop(a_client); // X's reader sees EOF, X shuts down
    x.join().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    b_client.write_all(b"hello").unwrap();
    assert_eq!(&y.join().unwrap(), b"hello");
}
