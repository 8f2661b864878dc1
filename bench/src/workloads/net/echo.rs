//! `tcp_echo`: `connections` clients connect to one listener, where a task
//! per accepted connection echoes what it reads until EOF. Once every
//! client is connected they start together, each sending `messages`
//! messages of `MESSAGE` bytes one at a time and checking each echo byte
//! for byte. Timed from that start until the last client has its last
//! echo; the set-up (listening, connecting) is outside the time, the
//! servers' ends after it. The same run's peak OS threads is a metric of
//! its own (`tcp_echo_threads`): every contender runs in a process of its
//! own, whose threads a sampler counts (`super::with_peak_threads`).
//!
//! The blocking-style contenders (gort, may, std: a `Read + Write` stream
//! and a task per connection) share one body, `run`, over `Sockets`;
//! tokio has its async twin.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::harness::{Party, PartyResult, check};
use crate::workload::{Contender, Metric, Params, Sample, SampleResult, Side, Unit, Workload};

/// The size of every message.
pub const MESSAGE: usize = 64;

/// The key of the threads metric in a run's sample (the Go program prints
/// the same word).
const THREADS: &str = "threads";

/// Byte `j` of message `i` on connection `c` (the Go program sends the
/// same).
fn pattern(c: usize, i: usize, j: usize) -> u8 {
    (c.wrapping_mul(131) + i * 7 + j) as u8
}

fn message(c: usize, i: usize) -> [u8; MESSAGE] {
    std::array::from_fn(|j| pattern(c, i, j))
}

/// Writes back what `s` reads until EOF.
fn serve(mut s: impl Read + Write) -> io::Result<()> {
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf)? {
            0 => return Ok(()),
            n => s.write_all(&buf[..n])?,
        }
    }
}

/// Client `id`'s round trips; the bytes it checked.
fn client(mut s: impl Read + Write, id: usize, messages: usize) -> Result<u64, String> {
    let mut echo = [0u8; MESSAGE];
    for i in 0..messages {
        let out = message(id, i);
        s.write_all(&out).map_err(|e| format!("write: {e}"))?;
        s.read_exact(&mut echo).map_err(|e| format!("read: {e}"))?;
        if echo != out {
            return Err(format!("connection {id} message {i}: the echo differs"));
        }
    }
    Ok((messages * MESSAGE) as u64)
}

/// What a blocking-style contender brings: its sockets, its tasks, and
/// its way to start parties together.
pub trait Sockets {
    type Listener: Send + 'static;
    type Stream: Read + Write + Send + 'static;
    fn bind() -> io::Result<(Self::Listener, SocketAddr)>;
    fn accept(l: &Self::Listener) -> io::Result<Self::Stream>;
    fn connect(addr: SocketAddr) -> io::Result<Self::Stream>;
    /// Starts `f` as a task of this kind; calling the handle joins it
    /// (false: it panicked).
    fn start(f: Box<dyn FnOnce() + Send>) -> Box<dyn FnOnce() -> bool>;
    /// Runs the parties on tasks of this kind that start together.
    fn together(parties: Vec<Party>) -> PartyResult;
}

/// One run: the time and the bytes checked (run on a task of `S`'s kind,
/// as a Go program's `main` is a goroutine).
pub fn run<S: Sockets>(p: &Params) -> Result<(Duration, u64), String> {
    let (conns, messages) = (p.n("connections"), p.n("messages"));
    super::need_descriptors(2 * conns as u64)?;
    let (listener, addr) = S::bind().map_err(|e| format!("bind: {e}"))?;
    let acceptor = S::start(Box::new(move || {
        let servers: Vec<_> = (0..conns)
            .map(|_| {
                let s = S::accept(&listener).expect("accept");
                S::start(Box::new(move || serve(s).expect("echo server")))
            })
            .collect();
        for joined in servers {
            assert!(joined(), "an echo server panicked");
        }
    }));
    let streams = (0..conns)
        .map(|_| S::connect(addr))
        .collect::<io::Result<Vec<_>>>()
        .map_err(|e| format!("connect: {e}"))?;
    let parties = streams
        .into_iter()
        .enumerate()
        .map(|(id, s)| {
            Box::new(move || client(s, id, messages).unwrap_or_else(|e| panic!("{e}"))) as Party
        })
        .collect();
    let (elapsed, checked) = S::together(parties)?;
    if !acceptor() {
        return Err("the acceptor or a server panicked".into());
    }
    let want = (conns * messages * MESSAGE) as u64;
    check("echoed bytes checked", checked.iter().sum(), want)?;
    Ok((elapsed, want))
}

/// A run in `Sample` form: the seconds, and the peak threads.
fn sampled(run: impl FnOnce() -> Result<(Duration, u64), String>) -> SampleResult {
    let (timed, threads) = super::with_peak_threads(run);
    let (elapsed, _) = timed?;
    Ok(Sample {
        value: elapsed.as_secs_f64(),
        also: vec![(THREADS, threads? as f64)],
        cpu: None,
    })
}

/// gort's goroutines and `gort::net`: a goroutine blocked in a read parks
/// until the poller finds its socket ready.
struct Gort;

impl Sockets for Gort {
    type Listener = gort::net::TcpListener;
    type Stream = gort::net::TcpStream;
    fn bind() -> io::Result<(Self::Listener, SocketAddr)> {
        let l = gort::net::TcpListener::from(super::loopback_listener()?);
        let a = l.local_addr()?;
        Ok((l, a))
    }
    fn accept(l: &Self::Listener) -> io::Result<Self::Stream> {
        l.accept().map(|(s, _)| s)
    }
    fn connect(addr: SocketAddr) -> io::Result<Self::Stream> {
        gort::net::TcpStream::connect(addr)
    }
    fn start(f: Box<dyn FnOnce() + Send>) -> Box<dyn FnOnce() -> bool> {
        let h = gort::spawn(f);
        Box::new(move || h.join().is_ok())
    }
    fn together(parties: Vec<Party>) -> PartyResult {
        crate::harness::timed_goroutines(parties)
    }
}

/// Threads blocked in `std::net` calls: a thread per connection on each
/// side.
struct StdThreads;

impl Sockets for StdThreads {
    type Listener = std::net::TcpListener;
    type Stream = std::net::TcpStream;
    fn bind() -> io::Result<(Self::Listener, SocketAddr)> {
        let l = super::loopback_listener()?;
        let a = l.local_addr()?;
        Ok((l, a))
    }
    fn accept(l: &Self::Listener) -> io::Result<Self::Stream> {
        l.accept().map(|(s, _)| s)
    }
    fn connect(addr: SocketAddr) -> io::Result<Self::Stream> {
        std::net::TcpStream::connect(addr)
    }
    fn start(f: Box<dyn FnOnce() + Send>) -> Box<dyn FnOnce() -> bool> {
        let h = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(f)
            .expect("spawn a thread");
        Box::new(move || h.join().is_ok())
    }
    fn together(parties: Vec<Party>) -> PartyResult {
        crate::harness::timed_os_threads(parties)
    }
}

/// may's coroutines and `may::net`.
struct May;

impl Sockets for May {
    type Listener = may::net::TcpListener;
    type Stream = may::net::TcpStream;
    fn bind() -> io::Result<(Self::Listener, SocketAddr)> {
        let l = may_listener(super::loopback_listener()?);
        let a = l.local_addr()?;
        Ok((l, a))
    }
    fn accept(l: &Self::Listener) -> io::Result<Self::Stream> {
        l.accept().map(|(s, _)| s)
    }
    fn connect(addr: SocketAddr) -> io::Result<Self::Stream> {
        may::net::TcpStream::connect(addr)
    }
    fn start(f: Box<dyn FnOnce() + Send>) -> Box<dyn FnOnce() -> bool> {
        let h = may::go!(f);
        Box::new(move || h.join().is_ok())
    }
    fn together(parties: Vec<Party>) -> PartyResult {
        crate::may_peer::timed_coroutines(parties)
    }
}

/// may's listener over `l`.
fn may_listener(l: std::net::TcpListener) -> may::net::TcpListener {
    use std::os::fd::{FromRawFd as _, IntoRawFd as _};
    // SAFETY: the descriptor comes from `into_raw_fd`, so it is open and
    // owned by nothing else; may's listener takes it over.
    unsafe { may::net::TcpListener::from_raw_fd(l.into_raw_fd()) }
}

/// tokio: a task per connection on its multi-threaded runtime (as many
/// workers as `GOMAXPROCS`), `tokio::net`.
fn tokio_run(p: &Params) -> Result<(Duration, u64), String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let (conns, messages) = (p.n("connections"), p.n("messages"));
    super::need_descriptors(2 * conns as u64)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(gort::gomaxprocs())
        .enable_io()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    rt.block_on(async move {
        let listener = super::loopback_listener()
            .and_then(|l| {
                l.set_nonblocking(true)?;
                tokio::net::TcpListener::from_std(l)
            })
            .map_err(|e| format!("bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let acceptor = tokio::spawn(async move {
            let mut servers = Vec::with_capacity(conns);
            for _ in 0..conns {
                let (mut s, _) = listener.accept().await?;
                servers.push(tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    loop {
                        match s.read(&mut buf).await? {
                            0 => return io::Result::Ok(()),
                            n => s.write_all(&buf[..n]).await?,
                        }
                    }
                }));
            }
            for s in servers {
                s.await.map_err(io::Error::other)??;
            }
            io::Result::Ok(())
        });
        let mut streams = Vec::with_capacity(conns);
        for _ in 0..conns {
            let s = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            streams.push(s);
        }
        // The clock starts before the gate opens (see `harness`).
        let (gate, open) = tokio::sync::watch::channel(false);
        let clients: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(id, mut s)| {
                let mut open = open.clone();
                tokio::spawn(async move {
                    open.wait_for(|&go| go)
                        .await
                        .map_err(|e| format!("gate: {e}"))?;
                    let mut echo = [0u8; MESSAGE];
                    for i in 0..messages {
                        let out = message(id, i);
                        s.write_all(&out).await.map_err(|e| format!("write: {e}"))?;
                        s.read_exact(&mut echo)
                            .await
                            .map_err(|e| format!("read: {e}"))?;
                        if echo != out {
                            return Err(format!("connection {id} message {i}: the echo differs"));
                        }
                    }
                    Ok((messages * MESSAGE) as u64)
                })
            })
            .collect();
        let start = Instant::now();
        gate.send_replace(true);
        let mut checked = 0;
        for c in clients {
            checked += c.await.map_err(|e| format!("a client panicked: {e}"))??;
        }
        let elapsed = start.elapsed();
        acceptor
            .await
            .map_err(|e| format!("the acceptor panicked: {e}"))?
            .map_err(|e| format!("a server failed: {e}"))?;
        check(
            "echoed bytes checked",
            checked,
            (conns * messages * MESSAGE) as u64,
        )?;
        Ok((elapsed, checked))
    })
}

pub fn workload() -> Workload {
    let own = |c: Contender| c.in_own_process(&[]);
    Workload {
        name: "tcp_echo",
        family: "net",
        about: "connections loopback TCP clients, each echoing messages 64-byte messages one round trip at a time through a task per accepted connection; until the last echo",
        full: Params::new(&[("connections", 1_000), ("messages", 100)]),
        quick: Params::new(&[("connections", 1_000), ("messages", 20)]),
        ops: |p| p.get("connections") * p.get("messages"),
        unit: Unit::Seconds,
        also: &[Metric {
            name: "tcp_echo_threads",
            key: THREADS,
            about: "the same runs: the most OS threads the run's process had",
            unit: Unit::Threads,
            lacking: &[],
        }],
        contenders: vec![
            own(Contender::sampling(
                "gort",
                "gort::go goroutines, gort::net",
                Side::Gort,
                |p| {
                    let p = p.clone();
                    sampled(|| crate::harness::in_goroutine(move || run::<Gort>(&p)))
                },
            )),
            own(Contender::sampling(
                "may",
                "may::go! coroutines, may::net",
                Side::Peer,
                |p| {
                    let p = p.clone();
                    sampled(|| crate::may_peer::in_coroutine(move || run::<May>(&p)))
                },
            )),
            own(Contender::sampling(
                "tokio",
                "tokio tasks on its multi-threaded runtime, tokio::net",
                Side::Peer,
                |p| sampled(|| tokio_run(p)),
            )),
            own(Contender::sampling(
                "std",
                "a std::thread per connection on each side, std::net",
                Side::Peer,
                |p| sampled(|| run::<StdThreads>(p)),
            )),
        ],
    }
}
