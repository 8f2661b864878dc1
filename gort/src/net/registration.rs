//! A socket registered with the netpoller, and the loop every blocking
//! call of `gort::net` runs: try the non-blocking call; on `WouldBlock`,
//! park until the poller reports the direction ready (or a deadline
//! passes), and try again.
//!
//! Invariants:
//! - the socket is non-blocking and registered once, for both directions,
//!   for its whole life; dropping the `Registration` deregisters it before
//!   the socket closes, and frees its poller slot (`task::netpoll`);
//! - a waiter observes its direction's word before each try, so readiness
//!   that arrives between the try and the park is never lost;
//! - timeouts and deadlines live here, not in the OS: a read's deadline is
//!   the earlier of the read deadline and the read timeout counted from
//!   the call; an expired deadline fails a call before it tries (as in
//!   Go), and changing a deadline wakes the waiters so they look again.
//!   Waiting for one is a scheduler timer, never a thread.

use core::time::Duration;
use std::io;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use mio::event::Source;

use crate::task::netpoll::{self, Readiness, Slot};

/// Which way a call moves data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// A mio socket registered with the netpoller, with its timeouts and
/// deadlines.
pub(crate) struct Registration<S: Source> {
    source: S,
    slot: Option<Slot>,
    /// Per direction: the timeout (nanoseconds, 0: none) and the deadline
    /// (`platform::now_nanos`, 0: none).
    timeouts: [AtomicU64; 2],
    deadlines: [AtomicU64; 2],
}

impl<S: Source> Registration<S> {
    /// Registers `source` (already non-blocking) with the poller.
    pub(crate) fn new(mut source: S) -> io::Result<Self> {
        let slot = netpoll::poller()?.register(&mut source)?;
        Ok(Registration {
            source,
            slot: Some(slot),
            timeouts: Default::default(),
            deadlines: Default::default(),
        })
    }

    /// The socket, for calls that do not block.
    pub(crate) fn get(&self) -> &S {
        &self.source
    }

    fn readiness(&self, dir: Direction) -> &Readiness {
        let desc = self.slot.as_ref().expect("registered until dropped").desc();
        match dir {
            Direction::Read => &desc.read,
            Direction::Write => &desc.write,
        }
    }

    /// Runs `op` until it answers something other than `WouldBlock` (or
    /// `Interrupted`), parking between tries until the socket is ready in
    /// `dir`. Answers `TimedOut` once the deadline or timeout passes.
    pub(crate) fn io<R>(
        &self,
        dir: Direction,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        let d = dir as usize;
        let timeout = match self.timeouts[d].load(Relaxed) {
            0 => None,
            t => Some(crate::platform::now_nanos().saturating_add(t)),
        };
        let readiness = self.readiness(dir);
        loop {
            let seen = readiness.observe();
            let deadline = match (self.deadlines[d].load(Relaxed), timeout) {
                (0, t) => t,
                (dl, None) => Some(dl),
                (dl, Some(t)) => Some(dl.min(t)),
            };
            if deadline.is_some_and(|dl| crate::platform::now_nanos() >= dl) {
                return Err(timed_out());
            }
            match op(&self.source) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                result => return result,
            }
            netpoll::wait(readiness, seen, deadline);
        }
    }

    /// std's `set_read_timeout` / `set_write_timeout`: `Some(0)` is an
    /// error, as in std.
    pub(crate) fn set_timeout(&self, dir: Direction, timeout: Option<Duration>) -> io::Result<()> {
        let nanos = match timeout {
            None => 0,
            Some(t) if t.is_zero() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "cannot set a 0 duration timeout",
                ));
            }
            Some(t) => u64::try_from(t.as_nanos()).unwrap_or(u64::MAX).max(1),
        };
        self.timeouts[dir as usize].store(nanos, Relaxed);
        Ok(())
    }

    pub(crate) fn timeout(&self, dir: Direction) -> Option<Duration> {
        match self.timeouts[dir as usize].load(Relaxed) {
            0 => None,
            t => Some(Duration::from_nanos(t)),
        }
    }

    /// Go's `SetReadDeadline` / `SetWriteDeadline`: `None` clears it; a
    /// time already past fails the calls waiting now and every later one
    /// with `TimedOut`.
    pub(crate) fn set_deadline(&self, dir: Direction, deadline: Option<Instant>) {
        let nanos = deadline.map_or(0, |d| {
            let now = Instant::now();
            let base = crate::platform::now_nanos().max(1);
            let ahead = d.saturating_duration_since(now);
            base.saturating_add(u64::try_from(ahead.as_nanos()).unwrap_or(u64::MAX))
        });
        self.deadlines[dir as usize].store(nanos, Relaxed);
        self.readiness(dir).notify();
    }

    /// Wakes every waiter to try again (after `shutdown`, which the OS
    /// may not report as an event on every platform).
    pub(crate) fn wake_all(&self) {
        self.readiness(Direction::Read).notify();
        self.readiness(Direction::Write).notify();
    }
}

impl<S: Source> Drop for Registration<S> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            slot.release(&mut self.source);
        }
    }
}

/// The error of a call whose timeout or deadline passed (Go's "i/o
/// timeout").
pub(crate) fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "i/o timeout")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// An echo over registered mio sockets: every byte comes back, under
    /// every scheduler (the socket types' own tests are in tests/).
    fn echo(rt: crate::Runtime, conns: usize, rounds: usize) {
        rt.run(move || {
            let listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = listener.local_addr().unwrap();
            let listener = Registration::new(listener).unwrap();
            let server = crate::spawn(move || {
                for _ in 0..conns {
                    let (s, _) = listener.io(Direction::Read, |l| l.accept()).unwrap();
                    crate::go(move || {
                        let s = Registration::new(s).unwrap();
                        let mut buf = [0u8; 64];
                        loop {
                            let n = s.io(Direction::Read, |mut s| s.read(&mut buf)).unwrap();
                            if n == 0 {
                                return;
                            }
                            let mut done = 0;
                            while done < n {
                                done += s
                                    .io(Direction::Write, |mut s| s.write(&buf[done..n]))
                                    .unwrap();
                            }
                        }
                    });
                }
            });
            let clients: Vec<_> = (0..conns)
                .map(|c| {
                    crate::spawn(move || {
                        let s =
                            Registration::new(mio::net::TcpStream::connect(addr).unwrap()).unwrap();
                        s.io(Direction::Write, |s| {
                            s.take_error()?.map_or(Ok(()), Err)?;
                            s.peer_addr().map_err(|e| match e.kind() {
                                io::ErrorKind::NotConnected => io::ErrorKind::WouldBlock.into(),
                                _ => e,
                            })
                        })
                        .unwrap();
                        for r in 0..rounds {
                            let msg = [(c + r) as u8; 64];
                            let mut done = 0;
                            while done < 64 {
                                done += s
                                    .io(Direction::Write, |mut s| s.write(&msg[done..]))
                                    .unwrap();
                            }
                            let mut got = [0u8; 64];
                            let mut have = 0;
                            while have < 64 {
                                let n = s
                                    .io(Direction::Read, |mut s| s.read(&mut got[have..]))
                                    .unwrap();
                                assert_ne!(n, 0, "early EOF");
                                have += n;
                            }
                            assert_eq!(got, msg);
                        }
                    })
                })
                .collect();
            for c in clients {
                c.join().unwrap();
            }
            server.join().unwrap();
        });
    }

    /// Round trips per connection: fewer under Wine, where every socket
    /// call and every AFD re-arm is a wineserver round trip (~0.1-0.3 ms).
    const ROUNDS: usize = if cfg!(gort_net_windows) { 20 } else { 200 };

    #[test]
    fn echo_under_every_scheduler() {
        use crate::{Builder, Scheduler};
        let _s = crate::task::timers::tests::serial();
        let mn = |n| Builder::new().scheduler(Scheduler::MN).workers(n).build();
        echo(mn(1), 20, ROUNDS);
        echo(mn(2), 50, ROUNDS);
        echo(
            Builder::new().scheduler(Scheduler::Threads).build(),
            20,
            ROUNDS,
        );
    }

    #[test]
    fn a_read_deadline_answers_timed_out() {
        let _s = crate::task::timers::tests::serial();
        let rt = crate::Builder::new()
            .scheduler(crate::Scheduler::MN)
            .workers(1)
            .build();
        rt.run(|| {
            let listener = mio::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let addr = listener.local_addr().unwrap();
            let _keep = std::net::TcpStream::connect(addr).unwrap();
            let listener = Registration::new(listener).unwrap();
            let (s, _) = listener.io(Direction::Read, |l| l.accept()).unwrap();
            let s = Registration::new(s).unwrap();
            s.set_timeout(Direction::Read, Some(Duration::from_millis(30)))
                .unwrap();
            let start = Instant::now();
            let err = s
                .io(Direction::Read, |mut s| s.read(&mut [0u8; 8]))
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::TimedOut);
            assert!(start.elapsed() >= Duration::from_millis(30));
        });
    }
}
