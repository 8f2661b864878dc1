//! Layer 7: `gort::net`, sockets whose blocking calls park the goroutine
//! on the scheduler's netpoller (`task::netpoll`) instead of blocking its
//! thread, with std::net's names, signatures and errors, plus Go's
//! deadlines.
//!
//! Invariants:
//! - every socket here is non-blocking in the OS and registered once
//!   (`Registration`); a call that would block waits in `Registration::io`,
//!   unless `set_nonblocking(true)` asked for std's `WouldBlock` instead;
//! - a value and its `try_clone`s share one `Socket` (an `Arc`): timeouts,
//!   deadlines and the non-blocking flag are per socket, as std's
//!   `SO_RCVTIMEO` and `O_NONBLOCK` are shared by duplicated descriptors;
//!   the socket closes when the last of them drops;
//! - names are resolved as a system call (`task::mn::syscall`): a lookup
//!   that blocks hands its processor to the other goroutines.
#![cfg_attr(doc, doc = include_str!("../../../docs/NET.md"))]

mod registration;
mod tcp;
mod udp;
#[cfg(gort_net_unix)]
pub mod unix;

pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(gort_net_unix)]
pub use unix::{UnixDatagram, UnixListener, UnixStream};

use core::time::Duration;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use mio::event::Source;

use registration::{Direction, Registration};

/// A registered socket, shared by a value and its `try_clone`s.
pub(crate) struct Socket<S: Source> {
    reg: Registration<S>,
    /// std's `set_nonblocking(true)`: calls answer `WouldBlock` at once.
    nonblocking: AtomicBool,
}

impl<S: Source> Socket<S> {
    /// Registers `source` (non-blocking already: mio's types are).
    fn new(source: S) -> io::Result<Arc<Self>> {
        Ok(Arc::new(Socket {
            reg: Registration::new(source)?,
            nonblocking: AtomicBool::new(false),
        }))
    }

    /// As `new`, for `From<std::net::X>`, which cannot fail.
    #[track_caller]
    fn new_or_panic(source: S) -> Arc<Self> {
        match Socket::new(source) {
            Ok(s) => s,
            Err(e) => panic!("gort::net: cannot register the socket with the netpoller: {e}"),
        }
    }

    /// The socket, for calls that never block.
    fn get(&self) -> &S {
        self.reg.get()
    }

    /// Runs `op`, waiting for readiness in `dir` while it answers
    /// `WouldBlock` (see `Registration::io`).
    fn io<R>(&self, dir: Direction, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        if self.nonblocking.load(Relaxed) {
            return op(self.get());
        }
        self.reg.io(dir, op)
    }

    fn set_nonblocking(&self, on: bool) {
        self.nonblocking.store(on, Relaxed);
        // Whoever waits now answers by the old rule; later calls by the new.
    }

    fn set_deadline(&self, dir: Option<Direction>, deadline: Option<Instant>) {
        match dir {
            Some(d) => self.reg.set_deadline(d, deadline),
            None => {
                self.reg.set_deadline(Direction::Read, deadline);
                self.reg.set_deadline(Direction::Write, deadline);
            }
        }
    }

    /// Shut down in the OS: wake every waiter to see it (the poller may
    /// not report it on every platform).
    fn after_shutdown(&self) {
        self.reg.wake_all();
    }

    /// Waits until a non-blocking connect finishes (writable, then no
    /// pending error and a peer), at most `timeout`.
    fn finish_connect(
        &self,
        timeout: Option<Duration>,
        take_error: impl Fn(&S) -> io::Result<Option<io::Error>>,
        peer: impl Fn(&S) -> io::Result<()>,
    ) -> io::Result<()> {
        self.reg.set_timeout(Direction::Write, timeout)?;
        let result = self.reg.io(Direction::Write, |s| {
            if let Some(e) = take_error(s)? {
                return Err(e);
            }
            match peer(s) {
                Err(e) if still_connecting(&e) => Err(io::ErrorKind::WouldBlock.into()),
                r => r,
            }
        });
        self.reg.set_timeout(Direction::Write, None)?;
        result
    }
}

/// What `peer_addr` answers while a connect is in progress.
fn still_connecting(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotConnected || in_progress(e)
}

#[cfg(gort_net_unix)]
fn in_progress(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EINPROGRESS)
}

#[cfg(not(gort_net_unix))]
fn in_progress(_: &io::Error) -> bool {
    false
}

/// std's `ToSocketAddrs`, as a system call (Go's `entersyscall`): a
/// name lookup that blocks loses its processor to the other goroutines
/// after one look of the monitor; an address costs two stores.
fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<Vec<SocketAddr>> {
    crate::task::mn::syscall(|| addr.to_socket_addrs().map(Iterator::collect))
}

/// std's rule for `bind` and `connect`: each address in turn; the first
/// success, else the last error.
fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in resolve(addr)? {
        match f(a) {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}

/// Adds the OS handle to a `Debug` output, named as std names it.
#[cfg(gort_net_unix)]
fn debug_handle<S: std::os::fd::AsRawFd>(d: &mut core::fmt::DebugStruct<'_, '_>, s: &S) {
    d.field("fd", &s.as_raw_fd());
}

#[cfg(gort_net_windows)]
fn debug_handle<S: std::os::windows::io::AsRawSocket>(
    d: &mut core::fmt::DebugStruct<'_, '_>,
    s: &S,
) {
    d.field("socket", &s.as_raw_socket());
}

#[cfg(not(any(gort_net_unix, gort_net_windows)))]
fn debug_handle<S>(_: &mut core::fmt::DebugStruct<'_, '_>, _: &S) {}

/// `set_nonblocking` and Go's `set_deadline`, for every socket type.
macro_rules! deadline_methods {
    ($t:ident) => {
        impl $t {
            /// Moves this socket into or out of non-blocking mode, as std's
            /// `set_nonblocking`: calls that would wait answer
            /// [`io::ErrorKind::WouldBlock`](std::io::ErrorKind::WouldBlock)
            /// at once instead of parking. Shared with `try_clone`s.
            pub fn set_nonblocking(&self, nonblocking: bool) -> std::io::Result<()> {
                self.sock.set_nonblocking(nonblocking);
                Ok(())
            }

            /// Go's `SetDeadline`: every call on this socket (and its
            /// `try_clone`s) that waits past `deadline` answers
            /// [`io::ErrorKind::TimedOut`](std::io::ErrorKind::TimedOut),
            /// including calls waiting now; `None` clears it. A deadline
            /// already past fails calls before they try. Unlike a timeout,
            /// it is a point in time: it does not restart with each call.
            pub fn set_deadline(
                &self,
                deadline: Option<std::time::Instant>,
            ) -> std::io::Result<()> {
                self.sock.set_deadline(None, deadline);
                Ok(())
            }
        }
    };
}

/// std's read and write timeouts and Go's read and write deadlines, for
/// the types that read and write.
macro_rules! timeout_methods {
    ($t:ident) => {
        $crate::net::deadline_methods!($t);

        impl $t {
            /// Sets the read timeout, as std's `set_read_timeout`: a read
            /// that waits longer answers
            /// [`io::ErrorKind::TimedOut`](std::io::ErrorKind::TimedOut)
            /// ("i/o timeout"); `None` waits forever.
            ///
            /// # Errors
            /// `Some(Duration::ZERO)` is an
            /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) error,
            /// as in std.
            pub fn set_read_timeout(
                &self,
                dur: Option<core::time::Duration>,
            ) -> std::io::Result<()> {
                self.sock.reg.set_timeout($crate::net::Direction::Read, dur)
            }

            /// Sets the write timeout, as std's `set_write_timeout` (see
            /// `set_read_timeout`).
            pub fn set_write_timeout(
                &self,
                dur: Option<core::time::Duration>,
            ) -> std::io::Result<()> {
                self.sock
                    .reg
                    .set_timeout($crate::net::Direction::Write, dur)
            }

            /// The read timeout (`None`: reads wait forever).
            pub fn read_timeout(&self) -> std::io::Result<Option<core::time::Duration>> {
                Ok(self.sock.reg.timeout($crate::net::Direction::Read))
            }

            /// The write timeout (`None`: writes wait forever).
            pub fn write_timeout(&self) -> std::io::Result<Option<core::time::Duration>> {
                Ok(self.sock.reg.timeout($crate::net::Direction::Write))
            }

            /// Go's `SetReadDeadline`: as `set_deadline`, for reads
            /// (receives, peeks) only.
            pub fn set_read_deadline(
                &self,
                deadline: Option<std::time::Instant>,
            ) -> std::io::Result<()> {
                self.sock
                    .set_deadline(Some($crate::net::Direction::Read), deadline);
                Ok(())
            }

            /// Go's `SetWriteDeadline`: as `set_deadline`, for writes
            /// (sends) only.
            pub fn set_write_deadline(
                &self,
                deadline: Option<std::time::Instant>,
            ) -> std::io::Result<()> {
                self.sock
                    .set_deadline(Some($crate::net::Direction::Write), deadline);
                Ok(())
            }
        }
    };
}

/// The OS handle: `AsRawFd`/`AsFd` on Unix, `AsRawSocket`/`AsSocket` on
/// Windows.
macro_rules! raw_handle {
    ($t:ident) => {
        #[cfg(gort_net_unix)]
        impl std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.sock.get().as_raw_fd()
            }
        }

        #[cfg(gort_net_unix)]
        impl std::os::fd::AsFd for $t {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.sock.get().as_fd()
            }
        }

        #[cfg(gort_net_windows)]
        impl std::os::windows::io::AsRawSocket for $t {
            fn as_raw_socket(&self) -> std::os::windows::io::RawSocket {
                self.sock.get().as_raw_socket()
            }
        }

        #[cfg(gort_net_windows)]
        impl std::os::windows::io::AsSocket for $t {
            fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
                self.sock.get().as_socket()
            }
        }
    };
}

/// `Read` and `Write` for a stream type and for a reference to it (std's
/// pairs), each call parking on the socket's readiness.
macro_rules! stream_io {
    ($t:ident) => {
        impl std::io::Read for &$t {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.sock
                    .io(Direction::Read, |mut s| std::io::Read::read(&mut s, buf))
            }

            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                self.sock.io(Direction::Read, |mut s| {
                    std::io::Read::read_vectored(&mut s, bufs)
                })
            }
        }

        impl std::io::Write for &$t {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.sock
                    .io(Direction::Write, |mut s| std::io::Write::write(&mut s, buf))
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                self.sock.io(Direction::Write, |mut s| {
                    std::io::Write::write_vectored(&mut s, bufs)
                })
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        impl std::io::Read for $t {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::io::Read::read(&mut &*self, buf)
            }

            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                std::io::Read::read_vectored(&mut &*self, bufs)
            }
        }

        impl std::io::Write for $t {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                std::io::Write::write(&mut &*self, buf)
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                std::io::Write::write_vectored(&mut &*self, bufs)
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    };
}

use {deadline_methods, raw_handle, stream_io, timeout_methods};
