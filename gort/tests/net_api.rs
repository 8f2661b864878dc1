//! `gort::net`'s API, one family of methods per test: what std's would
//! answer (addresses, errors and their kinds), Go's deadlines, and that a
//! call parked on the netpoller wakes for the event that should wake it.
//! Every test runs under both schedulers, on loopback, under a watchdog.
#![cfg(not(any(target_family = "wasm", loom)))]

mod common;

use std::io::{ErrorKind, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use common::each_scheduler;
use gort::net::{TcpListener, TcpStream, UdpSocket};

const LIMIT: Duration = Duration::from_secs(60);
/// A short timeout, and the generous bound a "did not hang" check allows.
const SHORT: Duration = Duration::from_millis(50);
const GENEROUS: Duration = Duration::from_secs(10);

/// A connected pair on loopback: (client, server side).
fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, peer) = listener.accept().unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    (client, server)
}

/// Like std's: every socket type may move to, and be shared with, other
/// goroutines.
#[test]
fn sockets_are_send_and_sync() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<TcpListener>();
    send_sync::<TcpStream>();
    send_sync::<UdpSocket>();
    #[cfg(unix)]
    {
        send_sync::<gort::net::UnixListener>();
        send_sync::<gort::net::UnixStream>();
        send_sync::<gort::net::UnixDatagram>();
    }
}

#[test]
fn accept_connect_echo() {
    each_scheduler("accept_connect_echo", LIMIT, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(addr.ip().is_loopback() && addr.port() != 0);
        let server = gort::spawn(move || {
            let (mut conn, peer) = listener.accept().unwrap();
            assert_eq!(conn.peer_addr().unwrap(), peer);
            let mut buf = [0u8; 1024];
            let mut total = 0;
            loop {
                let n = conn.read(&mut buf).unwrap();
                if n == 0 {
                    return total; // the client shut its write half
                }
                total += n;
                conn.write_all(&buf[..n]).unwrap();
            }
        });
        let mut client = TcpStream::connect(addr).unwrap();
        assert_eq!(client.peer_addr().unwrap(), addr);
        let msg: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let reader = client.try_clone().unwrap();
        let echo = gort::spawn(move || {
            let mut back = Vec::new();
            (&reader).read_to_end(&mut back).unwrap();
            back
        });
        for chunk in msg.chunks(1000) {
            client.write_all(chunk).unwrap();
        }
        client.flush().unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        assert_eq!(server.join().unwrap(), msg.len());
        assert_eq!(echo.join().unwrap(), msg);
    });
}

#[test]
fn vectored_read_and_write() {
    each_scheduler("vectored_read_and_write", LIMIT, || {
        let (mut client, mut server) = tcp_pair();
        let n = client
            .write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])
            .unwrap();
        assert_eq!(n, 4);
        let (mut x, mut y) = ([0u8; 1], [0u8; 3]);
        let mut bufs = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
        // One segment on loopback: it arrives whole.
        assert_eq!(server.read_vectored(&mut bufs).unwrap(), 4);
        assert_eq!((&x, &y), (b"a", b"bcd"));
    });
}

#[test]
fn connect_refused() {
    each_scheduler("connect_refused", LIMIT, || {
        // A port nobody listens on: bound, then closed.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let err = TcpStream::connect(addr).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
        let err = TcpStream::connect_timeout(&addr, GENEROUS).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    });
}

#[test]
fn connect_tries_each_address() {
    each_scheduler("connect_tries_each_address", LIMIT, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let dead = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let addrs = [dead, listener.local_addr().unwrap()];
        let s = TcpStream::connect(&addrs[..]).unwrap();
        assert_eq!(s.peer_addr().unwrap(), addrs[1]);
        // The last error when none connects; InvalidInput when none given.
        let err = TcpStream::connect(&[dead, dead][..]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        let err = TcpStream::connect(&[][..] as &[SocketAddr]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        // bind likewise: the address in use fails, the next one binds.
        let busy = listener.local_addr().unwrap();
        let free: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let l2 = TcpListener::bind(&[busy, free][..]).unwrap();
        assert_ne!(l2.local_addr().unwrap(), busy);
        let err = TcpListener::bind(busy).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
        // Names resolve (on a hand-off).
        let l3 = TcpListener::bind("localhost:0").unwrap();
        assert!(l3.local_addr().unwrap().ip().is_loopback());
    });
}

#[test]
fn connect_timeout_connects_and_rejects_zero() {
    each_scheduler("connect_timeout", LIMIT, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let s = TcpStream::connect_timeout(&addr, GENEROUS).unwrap();
        assert_eq!(s.peer_addr().unwrap(), addr);
        // The connect's timeout is not left on the stream.
        assert_eq!(s.write_timeout().unwrap(), None);
        let err = TcpStream::connect_timeout(&addr, Duration::ZERO).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    });
}

/// A listener whose accept queue is full drops new SYNs (Linux), so a
/// connect waits until its timeout.
#[cfg(target_os = "linux")]
#[test]
fn connect_timeout_expires() {
    use std::os::fd::AsRawFd;
    each_scheduler("connect_timeout_expires", LIMIT, || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        // SAFETY: a listening socket's fd; listen again only shrinks the queue.
        assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
        let addr = listener.local_addr().unwrap();
        let mut held = Vec::new();
        let mut timed_out = None;
        for _ in 0..16 {
            let start = Instant::now();
            match TcpStream::connect_timeout(&addr, SHORT) {
                Ok(s) => held.push(s),
                Err(e) => {
                    timed_out = Some((e, start.elapsed()));
                    break;
                }
            }
        }
        let (err, took) = timed_out.expect("the accept queue never filled");
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert_eq!(err.to_string(), "connection timed out");
        assert!(took >= SHORT && took < GENEROUS, "{took:?}");
        assert!(!held.is_empty());
    });
}

#[test]
fn zero_timeouts_are_invalid_input() {
    each_scheduler("zero_timeouts_are_invalid_input", LIMIT, || {
        let (client, _server) = tcp_pair();
        for r in [
            client.set_read_timeout(Some(Duration::ZERO)),
            client.set_write_timeout(Some(Duration::ZERO)),
        ] {
            assert_eq!(r.unwrap_err().kind(), ErrorKind::InvalidInput);
        }
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let err = udp.set_read_timeout(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(client.read_timeout().unwrap(), None);
        client.set_read_timeout(Some(SHORT)).unwrap();
        client.set_write_timeout(Some(GENEROUS)).unwrap();
        assert_eq!(client.read_timeout().unwrap(), Some(SHORT));
        assert_eq!(client.write_timeout().unwrap(), Some(GENEROUS));
        client.set_read_timeout(None).unwrap();
        assert_eq!(client.read_timeout().unwrap(), None);
    });
}

#[test]
fn read_timeout_answers_timed_out() {
    each_scheduler("read_timeout_answers_timed_out", LIMIT, || {
        let (mut client, mut server) = tcp_pair();
        client.set_read_timeout(Some(SHORT)).unwrap();
        let start = Instant::now();
        let err = client.read(&mut [0; 16]).unwrap_err();
        let took = start.elapsed();
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert!(took >= SHORT && took < GENEROUS, "{took:?}");
        // The timeout counts from each call: data that comes is read.
        server.write_all(b"x").unwrap();
        let mut b = [0; 1];
        client.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"x");
        // Peeks and accepts time out too.
        let err = client.peek(&mut b).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
    });
}

#[test]
fn write_timeout_answers_timed_out() {
    each_scheduler("write_timeout_answers_timed_out", LIMIT, || {
        let (client, _server) = tcp_pair(); // nobody reads
        client.set_write_timeout(Some(SHORT)).unwrap();
        let chunk = vec![7u8; 64 * 1024];
        let mut err = None;
        for _ in 0..20_000 {
            // Fills both socket buffers (a few MiB at most), then waits.
            if let Err(e) = (&client).write(&chunk) {
                err = Some(e);
                break;
            }
        }
        let err = err.expect("the buffers never filled");
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
    });
}

#[test]
fn deadlines() {
    each_scheduler("deadlines", LIMIT, || {
        let (client, mut server) = tcp_pair();
        let mut b = [0u8; 4];
        // Already past: fails before trying, even with data waiting.
        server.write_all(b"data").unwrap();
        client.set_read_deadline(Some(Instant::now())).unwrap();
        let err = (&client).read(&mut b).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        // Cleared: the read succeeds.
        client.set_read_deadline(None).unwrap();
        (&client).read_exact(&mut b).unwrap();
        assert_eq!(&b, b"data");
        // In the future: a blocked read wakes at it.
        let start = Instant::now();
        client.set_deadline(Some(start + SHORT)).unwrap();
        let err = (&client).read(&mut b).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        let took = start.elapsed();
        assert!(took >= SHORT && took < GENEROUS, "{took:?}");
        // The write deadline is separate from the read one.
        client.set_read_deadline(None).unwrap();
        let err = (&client).write(b"w").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        client.set_write_deadline(None).unwrap();
        (&client).write_all(b"w").unwrap();
        server.read_exact(&mut b[..1]).unwrap();
        assert_eq!(b[0], b'w');
    });
}

#[test]
fn deadline_set_from_another_goroutine_wakes_a_blocked_read() {
    each_scheduler("deadline_wakes", LIMIT, || {
        let (client, _server) = tcp_pair();
        let reader = client.try_clone().unwrap();
        let (started, started_rx) = std::sync::mpsc::channel();
        let h = gort::spawn(move || {
            started.send(()).unwrap();
            (&reader).read(&mut [0; 8]).unwrap_err().kind()
        });
        started_rx.recv().unwrap();
        gort::time::sleep(SHORT); // most likely parked by now; either way:
        client.set_read_deadline(Some(Instant::now())).unwrap();
        assert_eq!(h.join().unwrap(), ErrorKind::TimedOut);
    });
}

#[test]
fn shutdown_wakes_a_blocked_reader() {
    each_scheduler("shutdown_wakes_a_blocked_reader", LIMIT, || {
        let (client, _server) = tcp_pair();
        let reader = client.try_clone().unwrap();
        let h = gort::spawn(move || (&reader).read(&mut [0; 8]).unwrap());
        gort::time::sleep(SHORT);
        client.shutdown(Shutdown::Read).unwrap();
        assert_eq!(h.join().unwrap(), 0);
    });
}

#[test]
fn eof_when_the_peer_closes() {
    each_scheduler("eof_when_the_peer_closes", LIMIT, || {
        let (mut client, server) = tcp_pair();
        let h = gort::spawn(move || {
            let mut all = Vec::new();
            client.read_to_end(&mut all).unwrap();
            all
        });
        (&server).write_all(b"bye").unwrap();
        drop(server);
        assert_eq!(h.join().unwrap(), b"bye");
    });
}

#[test]
fn peek_leaves_the_bytes() {
    each_scheduler("peek_leaves_the_bytes", LIMIT, || {
        let (mut client, server) = tcp_pair();
        let h = gort::spawn(move || {
            let mut b = [0u8; 5];
            let n = client.peek(&mut b).unwrap(); // waits for the data
            assert!(n >= 1 && b[..n] == b"hello"[..n], "{n}");
            client.read_exact(&mut b).unwrap();
            b
        });
        gort::time::sleep(Duration::from_millis(5));
        (&server).write_all(b"hello").unwrap();
        assert_eq!(&h.join().unwrap(), b"hello");
    });
}

#[test]
fn try_clone_shares_the_socket_and_its_timeouts() {
    each_scheduler("try_clone", LIMIT, || {
        let (client, mut server) = tcp_pair();
        let clone = client.try_clone().unwrap();
        (&clone).write_all(b"c").unwrap();
        let mut b = [0u8; 1];
        server.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"c");
        clone.set_read_timeout(Some(SHORT)).unwrap();
        assert_eq!(client.read_timeout().unwrap(), Some(SHORT));
        drop(client); // the clone keeps the connection open
        server.write_all(b"s").unwrap();
        (&clone).read_exact(&mut b).unwrap();
        assert_eq!(&b, b"s");
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let l2 = l.try_clone().unwrap();
        assert_eq!(l.local_addr().unwrap(), l2.local_addr().unwrap());
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        let u2 = u.try_clone().unwrap();
        assert_eq!(u.local_addr().unwrap(), u2.local_addr().unwrap());
    });
}

#[test]
fn incoming_yields_each_connection() {
    each_scheduler("incoming", LIMIT, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = gort::spawn(move || {
            let mut n = 0;
            for conn in listener.incoming().take(3) {
                conn.unwrap().write_all(&[n]).unwrap();
                n += 1;
            }
            n
        });
        for i in 0..3u8 {
            let mut c = TcpStream::connect(addr).unwrap();
            let mut b = [9u8; 1];
            c.read_exact(&mut b).unwrap();
            assert_eq!(b[0], i);
        }
        assert_eq!(server.join().unwrap(), 3);
    });
}

#[test]
fn accept_deadline_and_nonblocking() {
    each_scheduler("accept_deadline_and_nonblocking", LIMIT, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_deadline(Some(Instant::now() + SHORT)).unwrap();
        let err = listener.accept().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        listener.set_deadline(None).unwrap();
        listener.set_nonblocking(true).unwrap();
        let err = listener.accept().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        let (client, server) = tcp_pair();
        client.set_nonblocking(true).unwrap();
        let err = (&client).read(&mut [0; 4]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        client.set_nonblocking(false).unwrap();
        (&server).write_all(b"ok").unwrap();
        let mut b = [0; 2];
        (&client).read_exact(&mut b).unwrap();
        assert_eq!(&b, b"ok");
    });
}

#[test]
fn options_and_debug() {
    each_scheduler("options_and_debug", LIMIT, || {
        let (client, _server) = tcp_pair();
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        client.set_nodelay(false).unwrap();
        assert!(!client.nodelay().unwrap());
        client.set_ttl(42).unwrap();
        assert_eq!(client.ttl().unwrap(), 42);
        assert!(client.take_error().unwrap().is_none());
        let dbg = format!("{client:?}");
        let local = client.local_addr().unwrap().to_string();
        let peer = client.peer_addr().unwrap().to_string();
        assert!(dbg.starts_with("TcpStream {"), "{dbg}");
        assert!(dbg.contains(&local) && dbg.contains(&peer), "{dbg}");
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_ttl(17).unwrap();
        assert_eq!(l.ttl().unwrap(), 17);
        let dbg = format!("{l:?}");
        assert!(dbg.contains(&l.local_addr().unwrap().to_string()), "{dbg}");
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        u.set_broadcast(true).unwrap();
        assert!(u.broadcast().unwrap());
        u.set_ttl(9).unwrap();
        assert_eq!(u.ttl().unwrap(), 9);
        assert!(format!("{u:?}").starts_with("UdpSocket {"));
        #[cfg(unix)]
        {
            use std::os::fd::{AsFd, AsRawFd};
            assert!(dbg.contains(&format!("fd: {}", l.as_raw_fd())), "{dbg}");
            assert_eq!(client.as_fd().as_raw_fd(), client.as_raw_fd());
            assert_ne!(u.as_raw_fd(), l.as_raw_fd());
        }
        #[cfg(windows)]
        {
            use std::os::windows::io::{AsRawSocket, AsSocket};
            assert!(
                dbg.contains(&format!("socket: {}", l.as_raw_socket())),
                "{dbg}"
            );
            assert_eq!(client.as_socket().as_raw_socket(), client.as_raw_socket());
        }
    });
}

#[test]
fn from_std_sockets() {
    each_scheduler("from_std_sockets", LIMIT, || {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_listener.local_addr().unwrap();
        let listener = TcpListener::from(std_listener);
        let std_client = std::net::TcpStream::connect(addr).unwrap();
        let (server, _) = listener.accept().unwrap();
        let client = TcpStream::from(std_client);
        (&client).write_all(b"std").unwrap();
        let mut b = [0; 3];
        (&server).read_exact(&mut b).unwrap();
        assert_eq!(&b, b"std");
        client.set_read_timeout(Some(SHORT)).unwrap();
        let err = (&client).read(&mut b).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut); // parked, not blocked
        let u = UdpSocket::from(std::net::UdpSocket::bind("127.0.0.1:0").unwrap());
        u.set_read_timeout(Some(SHORT)).unwrap();
        assert_eq!(u.recv(&mut b).unwrap_err().kind(), ErrorKind::TimedOut);
    });
}

#[test]
fn udp_round_trips() {
    each_scheduler("udp_round_trips", LIMIT, || {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        assert_eq!(a.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
        let echo = gort::spawn(move || {
            let mut buf = [0u8; 64];
            for _ in 0..10 {
                let (n, from) = b.recv_from(&mut buf).unwrap();
                b.send_to(&buf[..n], from).unwrap();
            }
            b
        });
        let mut buf = [0u8; 64];
        for i in 0..10u8 {
            assert_eq!(a.send_to(&[i; 3], b_addr).unwrap(), 3);
            let (n, from) = a.peek_from(&mut buf).unwrap();
            assert_eq!((n, from), (3, b_addr));
            let (n, from) = a.recv_from(&mut buf).unwrap();
            assert_eq!((&buf[..n], from), (&[i; 3][..], b_addr));
        }
        let b = echo.join().unwrap();
        // Connected: send and recv, peek.
        a.connect(b_addr).unwrap();
        b.connect(a_addr).unwrap();
        assert_eq!(a.peer_addr().unwrap(), b_addr);
        let h = gort::spawn(move || {
            let mut buf = [0u8; 8];
            let n = b.peek(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"conn");
            let n = b.recv(&mut buf).unwrap();
            buf[..n].to_vec()
        });
        gort::time::sleep(Duration::from_millis(5));
        a.send(b"conn").unwrap();
        assert_eq!(h.join().unwrap(), b"conn");
        // Timeouts and deadlines.
        a.set_read_timeout(Some(SHORT)).unwrap();
        assert_eq!(a.recv(&mut buf).unwrap_err().kind(), ErrorKind::TimedOut);
        a.set_read_timeout(None).unwrap();
        a.set_read_deadline(Some(Instant::now())).unwrap();
        assert_eq!(a.recv(&mut buf).unwrap_err().kind(), ErrorKind::TimedOut);
        let err = a.send_to(b"x", &[][..] as &[SocketAddr]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    });
}

#[test]
fn a_plain_thread_uses_the_same_calls() {
    let _dog = common::Watchdog::new("a_plain_thread_uses_the_same_calls", LIMIT);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        let mut b = [0; 4];
        c.read_exact(&mut b).unwrap();
        c.write_all(&b).unwrap();
    });
    let mut c = TcpStream::connect(addr).unwrap();
    c.write_all(b"thrd").unwrap();
    let mut b = [0; 4];
    c.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"thrd");
    t.join().unwrap();
    c.set_read_timeout(Some(SHORT)).unwrap();
    assert_eq!(c.read(&mut b).unwrap(), 0); // the peer closed
}

#[cfg(unix)]
mod unix {
    use super::*;
    use gort::net::{UnixDatagram, UnixListener, UnixStream};

    fn temp_path(name: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("gort-net-api-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p
    }

    #[test]
    fn unix_stream_pair_and_shutdown() {
        each_scheduler("unix_stream_pair", LIMIT, || {
            let (a, mut b) = UnixStream::pair().unwrap();
            let reader = a.try_clone().unwrap();
            let h = gort::spawn(move || {
                let mut all = Vec::new();
                (&reader).read_to_end(&mut all).unwrap();
                all
            });
            b.write_all(b"pair").unwrap();
            b.shutdown(Shutdown::Write).unwrap();
            assert_eq!(h.join().unwrap(), b"pair");
            // Timeouts, deadlines, and shutdown waking a blocked reader.
            let (c, _d) = UnixStream::pair().unwrap();
            c.set_read_timeout(Some(SHORT)).unwrap();
            let err = (&c).read(&mut [0; 4]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::TimedOut);
            c.set_read_timeout(None).unwrap();
            let reader = c.try_clone().unwrap();
            let h = gort::spawn(move || (&reader).read(&mut [0; 4]).unwrap());
            gort::time::sleep(SHORT);
            c.shutdown(Shutdown::Read).unwrap();
            assert_eq!(h.join().unwrap(), 0);
            assert!(format!("{c:?}").starts_with("UnixStream {"));
        });
    }

    #[test]
    fn unix_listener_accepts() {
        each_scheduler("unix_listener_accepts", LIMIT, || {
            let path = temp_path("listener.sock");
            let listener = UnixListener::bind(&path).unwrap();
            assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(&*path));
            let server = gort::spawn(move || {
                for (i, conn) in listener.incoming().take(2).enumerate() {
                    let mut conn = conn.unwrap();
                    let mut b = [0u8; 1];
                    conn.read_exact(&mut b).unwrap();
                    conn.write_all(&[b[0] + i as u8]).unwrap();
                }
            });
            for i in 0..2u8 {
                let mut c = UnixStream::connect(&path).unwrap();
                assert_eq!(c.peer_addr().unwrap().as_pathname(), Some(&*path));
                c.write_all(&[10]).unwrap();
                let mut b = [0u8; 1];
                c.read_exact(&mut b).unwrap();
                assert_eq!(b[0], 10 + i);
            }
            server.join().unwrap();
            let err = UnixStream::connect(temp_path("nobody.sock")).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound);
            std::fs::remove_file(&path).unwrap();
        });
    }

    #[test]
    fn unix_datagrams() {
        each_scheduler("unix_datagrams", LIMIT, || {
            let (a, b) = UnixDatagram::pair().unwrap();
            let h = gort::spawn(move || {
                let mut buf = [0u8; 8];
                let n = b.recv(&mut buf).unwrap();
                buf[..n].to_vec()
            });
            gort::time::sleep(Duration::from_millis(5));
            a.send(b"dgram").unwrap();
            assert_eq!(h.join().unwrap(), b"dgram");
            let path = temp_path("dgram.sock");
            let bound = UnixDatagram::bind(&path).unwrap();
            let sender = UnixDatagram::unbound().unwrap();
            sender.send_to(b"to", &path).unwrap();
            let mut buf = [0u8; 8];
            let (n, _from) = bound.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"to");
            sender.connect(&path).unwrap();
            assert_eq!(sender.peer_addr().unwrap().as_pathname(), Some(&*path));
            sender.send(b"again").unwrap();
            let n = bound.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"again");
            bound.set_read_deadline(Some(Instant::now())).unwrap();
            assert_eq!(
                bound.recv(&mut buf).unwrap_err().kind(),
                ErrorKind::TimedOut
            );
            std::fs::remove_file(&path).unwrap();
        });
    }

    #[test]
    fn unix_from_std() {
        each_scheduler("unix_from_std", LIMIT, || {
            let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
            let (a, b) = (UnixStream::from(a), UnixStream::from(b));
            (&a).write_all(b"s").unwrap();
            let mut buf = [0u8; 1];
            (&b).read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"s");
            b.set_read_timeout(Some(SHORT)).unwrap();
            assert_eq!((&b).read(&mut buf).unwrap_err().kind(), ErrorKind::TimedOut);
        });
    }
}
