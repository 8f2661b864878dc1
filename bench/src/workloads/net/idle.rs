//! `idle_connections`: what an open, idle connection costs a server. A run
//! listens on loopback, starts a holder process that opens `connections`
//! connections to it and keeps them open, accepts them all with a task
//! per connection blocked reading one byte, and measures how much the
//! resident set grew from before the holder started to 100 ms after the
//! last reader started, per connection. Then the holder closes its ends,
//! and every reader must see EOF.
//!
//! Two processes because 10,000 connections on loopback in one process
//! are 20,000 descriptors, past the hard limit of many systems (20,000
//! here). Each process raises its soft limit to its hard one
//! (`super::open_files_limit`); a run that still cannot open its
//! connections says so. The holder is `gort-bench --hold <port> <count>`
//! (blocking `std::net` sockets; it ends when its stdin closes), and the
//! Go program's own `idle_hold` for Go. Every run has a process of its
//! own (allocator and stack caches of earlier runs would hide the cost).

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gort_bench::resident::now as resident_bytes;

use crate::workload::{Contender, Params, Side, Unit, ValueResult, Workload};

/// Lets the last readers finish parking before the second reading.
const SETTLE: Duration = Duration::from_millis(100);

/// The first argument that makes gort-bench a holder.
pub const HOLD_FLAG: &str = "--hold";

/// The holder's side: `args` after `--hold` are the port and the count.
/// Connects that many times to 127.0.0.1:port, prints `held <count>`, and
/// keeps them until stdin closes.
pub fn hold_main(args: &[String]) -> ExitCode {
    let parsed = match args {
        [port, n] => port.parse::<u16>().ok().zip(n.parse::<u64>().ok()),
        _ => None,
    };
    let Some((port, n)) = parsed else {
        eprintln!("usage: gort-bench {HOLD_FLAG} <port> <connections>");
        return ExitCode::from(2);
    };
    if let Err(e) = super::need_descriptors(n) {
        eprintln!("gort-bench {HOLD_FLAG}: {e}");
        return ExitCode::FAILURE;
    }
    let mut held = Vec::with_capacity(n as usize);
    for i in 0..n {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => held.push(s),
            Err(e) => {
                eprintln!("gort-bench {HOLD_FLAG}: connection {i}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("held {}", held.len());
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    ExitCode::SUCCESS
}

/// A holder process: started by `start`, its line read by `held`, its ends
/// closed by `release`.
pub struct Holder {
    child: Child,
}

impl Holder {
    /// Starts `gort-bench --hold port n` (this executable must be
    /// gort-bench: the contender runs only in its child processes).
    pub fn start(port: u16, n: u64) -> Result<Holder, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find gort-bench: {e}"))?;
        let child = Command::new(exe)
            .args([HOLD_FLAG.to_string(), port.to_string(), n.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the holder: {e}"))?;
        Ok(Holder { child })
    }

    /// Waits for the holder to say it holds all `n` connections.
    pub fn held(&mut self, n: u64) -> Result<(), String> {
        let mut line = String::new();
        let out = self.child.stdout.as_mut().expect("piped");
        let _ = BufReader::new(out).read_line(&mut line);
        if line.trim() == format!("held {n}") {
            return Ok(());
        }
        let mut err = String::new();
        if let Some(e) = self.child.stderr.as_mut() {
            let _ = e.read_to_string(&mut err);
        }
        Err(format!("the holder said {line:?}: {}", err.trim()))
    }

    /// Closes the holder's stdin: it closes every connection and exits.
    pub fn release(mut self) -> Result<(), String> {
        drop(self.child.stdin.take());
        let status = self.child.wait().map_err(|e| e.to_string())?;
        status
            .success()
            .then_some(())
            .ok_or_else(|| format!("the holder ended with {status}"))
    }
}

/// Bytes per connection from two readings of the resident set.
fn per_connection(before: u64, after: u64, n: u64) -> ValueResult {
    if n == 0 {
        return Err("no connections".into());
    }
    Ok(after.saturating_sub(before) as f64 / n as f64)
}

/// gort: a goroutine per accepted `gort::net::TcpStream`, parked in
/// `read` until the poller finds the socket readable (here: at EOF).
fn gort_idle(p: &Params) -> ValueResult {
    let n = p.get("connections");
    super::need_descriptors(n)?;
    crate::harness::in_goroutine(move || {
        let listener = super::loopback_listener()
            .map(gort::net::TcpListener::from)
            .map_err(|e| format!("bind: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let (started, finished) = (gort::sync::WaitGroup::new(), gort::sync::WaitGroup::new());
        let eof = Arc::new(AtomicU64::new(0));
        let before = resident_bytes()?;
        let mut holder = Holder::start(port, n)?;
        for _ in 0..n {
            let (mut s, _) = listener.accept().map_err(|e| format!("accept: {e}"))?;
            let (started, finished, eof) = (started.clone(), finished.clone(), eof.clone());
            started.add(1);
            finished.add(1);
            gort::go(move || {
                started.done();
                if matches!(std::io::Read::read(&mut s, &mut [0u8; 1]), Ok(0)) {
                    eof.fetch_add(1, Ordering::Relaxed);
                }
                drop(s);
                finished.done();
            });
        }
        started.wait();
        gort::blocking(|| holder.held(n))?;
        gort::time::sleep(SETTLE);
        let after = resident_bytes()?;
        gort::blocking(|| holder.release())?;
        finished.wait();
        crate::harness::check("idle readers woken by EOF", eof.load(Ordering::Relaxed), n)?;
        per_connection(before, after, n)
    })
}

pub fn workload() -> Workload {
    Workload {
        name: "idle_connections",
        family: "net",
        about: "connections idle loopback connections accepted, each with a goroutine blocked reading it (far ends in another process): resident memory growth per connection",
        full: Params::new(&[("connections", 10_000)]),
        quick: Params::new(&[("connections", 2_000)]),
        ops: |p| p.get("connections"),
        unit: Unit::BytesPerItem,
        also: &[],
        // The gort run starts gort-bench as its holder: only a child
        // process of gort-bench can.
        contenders: vec![
            Contender::measuring(
                "gort",
                "gort::go goroutine per connection, gort::net",
                Side::Gort,
                gort_idle,
            )
            .only_in_child(None),
        ],
    }
}
