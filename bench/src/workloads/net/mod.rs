//! Network family: sockets on loopback.
//!
//! - `tcp_echo` (`echo.rs`): many connections, each echoing small
//!   messages one round trip at a time; the time, and the peak OS threads
//!   of the run's process.
//! - `http_hello` (`http.rs`): keep-alive GETs from one load generator
//!   (gort-bench's own: a `std::thread` per connection) against hello-world
//!   servers; on few cores the generator competes with the server, so only
//!   the ratios mean much.
//! - `idle_connections` (`idle.rs`): resident memory per open idle
//!   connection, each with a goroutine blocked reading it.
//!
//! Every socket is on 127.0.0.1, and every Rust contender's listener is
//! made by `loopback_listener`, with Go's backlog. Each run checks its work (every echoed
//! byte, every response, every idle reader woken by EOF) and fails if any
//! is wrong.

mod echo;
mod http;
mod idle;

pub use idle::{HOLD_FLAG, hold_main};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::workload::Workload;

pub fn workloads() -> Vec<Workload> {
    vec![echo::workload(), http::workload(), idle::workload()]
}

/// Raises this process's soft limit on open descriptors to its hard limit
/// (once) and returns the soft limit then in force; `None` where there is
/// no such limit to read.
pub fn open_files_limit() -> Option<u64> {
    static LIMIT: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(raise_open_files)
}

#[cfg(unix)]
fn raise_open_files() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for the call to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit; asking for the hard limit as
        // the soft one is always allowed.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim = raised;
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every Unix
    Some(lim.rlim_cur as u64)
}

#[cfg(not(unix))]
fn raise_open_files() -> Option<u64> {
    None
}

/// A listener on a free loopback port whose accept queue is as long as
/// Go's: the system's `somaxconn` (std and mio listen with 128, which a
/// burst of a thousand connects overflows; each dropped handshake costs
/// its client a one-second retransmit, outside the measured part but not
/// outside the session). Each contender turns it into its own type.
pub fn loopback_listener() -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let backlog = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096);
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    s.bind(&addr.into())?;
    s.listen(backlog)?;
    Ok(s.into())
}

/// Fails a run that would need more than this process may open: `fds`
/// descriptors besides a margin for the process's own.
pub fn need_descriptors(fds: u64) -> Result<(), String> {
    const MARGIN: u64 = 64;
    match open_files_limit() {
        Some(limit) if fds + MARGIN > limit => Err(format!(
            "needs {fds} open descriptors (+{MARGIN}), but this process may open {limit} \
             (its hard limit, `ulimit -Hn`)"
        )),
        _ => Ok(()),
    }
}

/// The process's thread count now: `num_threads`, field 20 of
/// `/proc/self/stat` (Linux).
pub fn os_threads() -> Result<u64, String> {
    let stat = std::fs::read_to_string("/proc/self/stat")
        .map_err(|e| format!("a thread count needs /proc/self/stat (Linux): {e}"))?;
    // The fields after the command name, which ends at the last ')'.
    let rest = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
    rest.split_whitespace()
        .nth(17)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("bad /proc/self/stat: {stat:?}"))
}

/// Runs `f` while a sampler thread reads `os_threads` every millisecond;
/// returns `f`'s result and the most threads seen, the sampler not
/// counted.
pub fn with_peak_threads<T>(f: impl FnOnce() -> T) -> (T, Result<u64, String>) {
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || -> Result<(), String> {
            loop {
                let done = stop.load(Ordering::Acquire);
                peak.fetch_max(os_threads()?, Ordering::Relaxed);
                if done {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let out = f();
    stop.store(true, Ordering::Release);
    let sampled = match sampler.join() {
        Ok(r) => r,
        Err(_) => Err("the thread sampler panicked".into()),
    };
    let threads = sampled.map(|()| peak.load(Ordering::Relaxed).saturating_sub(1));
    (out, threads)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// Eight threads alive for 20 ms are seen (with the caller's: nine at
    /// least, whatever other tests' threads do meanwhile).
    #[test]
    fn peak_threads_sees_threads_that_came_and_went() {
        let ((), peak) = super::with_peak_threads(|| {
            let gate = std::sync::Arc::new(std::sync::Barrier::new(9));
            let held: Vec<_> = (0..8)
                .map(|_| {
                    let gate = gate.clone();
                    std::thread::spawn(move || {
                        gate.wait();
                    })
                })
                .collect();
            std::thread::sleep(std::time::Duration::from_millis(20));
            gate.wait();
            for h in held {
                h.join().unwrap();
            }
        });
        let peak = peak.unwrap();
        assert!(peak >= 9, "peak {peak}");
        assert!(super::open_files_limit().unwrap() > 0);
    }
}
