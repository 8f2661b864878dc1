//! Unix domain sockets: `UnixListener`, `UnixStream` and `UnixDatagram`,
//! the API of `std::os::unix::net` over mio's non-blocking sockets and the
//! netpoller. (Only where `cfg(gort_net_unix)`.)
//!
//! Invariants: as `net` (the module): one registered socket per value and
//! its clones; every call that can wait goes through `Socket::io`, except
//! a `connect` the OS refuses to start without blocking (the listener's
//! backlog is full), which std's blocking connect finishes on a hand-off.

use core::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use super::registration::Direction;
use super::{Socket, deadline_methods, raw_handle, stream_io, timeout_methods};

/// Takes over a std socket for `From`: non-blocking, then registered.
#[track_caller]
fn adopt<S: mio::event::Source>(
    set_nonblocking: io::Result<()>,
    source: impl FnOnce() -> S,
) -> Arc<Socket<S>> {
    if let Err(e) = set_nonblocking {
        panic!("gort::net: cannot make the socket non-blocking: {e}");
    }
    Socket::new_or_panic(source())
}

/// A Unix domain socket server: `std::os::unix::net::UnixListener`, whose
/// `accept` parks the calling goroutine (or thread).
///
/// ```
/// use std::io::{Read, Write};
/// use gort::net::{UnixListener, UnixStream};
///
/// let path = std::env::temp_dir().join(format!("gort-doc-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// let listener = UnixListener::bind(&path)?;
/// let server = gort::spawn(move || -> std::io::Result<()> {
///     let (mut conn, _) = listener.accept()?;
///     conn.write_all(b"hello")
/// });
/// let mut client = UnixStream::connect(&path)?;
/// let mut reply = String::new();
/// client.read_to_string(&mut reply)?;
/// assert_eq!(reply, "hello");
/// server.join().unwrap()?;
/// std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixListener {
    sock: Arc<Socket<mio::net::UnixListener>>,
}

impl UnixListener {
    /// Creates a listener bound to the socket file `path` (which must not
    /// exist yet).
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        Ok(UnixListener {
            sock: Socket::new(mio::net::UnixListener::bind(path)?)?,
        })
    }

    /// Waits for a connection and returns it with the peer's address.
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (s, addr) = self.sock.io(Direction::Read, |l| l.accept())?;
        Ok((UnixStream::from_mio(s)?, addr))
    }

    /// An endless iterator over the connections as they arrive.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get().local_addr()
    }

    /// Another handle to the same socket (its deadline and non-blocking
    /// mode are shared).
    pub fn try_clone(&self) -> io::Result<UnixListener> {
        Ok(UnixListener {
            sock: self.sock.clone(),
        })
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.get().take_error()
    }
}

deadline_methods!(UnixListener);
raw_handle!(UnixListener);

impl From<std::os::unix::net::UnixListener> for UnixListener {
    /// Takes over a std listener: makes it non-blocking and registers it.
    ///
    /// # Panics
    /// If the socket cannot be made non-blocking or registered with the
    /// netpoller.
    #[track_caller]
    fn from(l: std::os::unix::net::UnixListener) -> UnixListener {
        UnixListener {
            sock: adopt(l.set_nonblocking(true), || {
                mio::net::UnixListener::from_std(l)
            }),
        }
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixListener");
        super::debug_handle(&mut d, self.sock.get());
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        d.finish()
    }
}

/// The iterator of [`UnixListener::incoming`]: it never ends.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a UnixListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<UnixStream>;

    fn next(&mut self) -> Option<io::Result<UnixStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A Unix domain stream: `std::os::unix::net::UnixStream`, whose reads
/// and writes park the calling goroutine (or thread). `Read` and `Write`
/// are implemented for `UnixStream` and `&UnixStream`.
///
/// ```
/// use std::io::{Read, Write};
/// use gort::net::UnixStream;
///
/// let (mut a, mut b) = UnixStream::pair()?;
/// a.write_all(b"ping")?;
/// let mut buf = [0; 4];
/// b.read_exact(&mut buf)?;
/// assert_eq!(&buf, b"ping");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixStream {
    sock: Arc<Socket<mio::net::UnixStream>>,
}

impl UnixStream {
    fn from_mio(s: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            sock: Socket::new(s)?,
        })
    }

    /// Connects to the socket file `path`.
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let path = path.as_ref();
        match mio::net::UnixStream::connect(path) {
            Ok(s) => {
                let stream = UnixStream::from_mio(s)?;
                stream
                    .sock
                    .finish_connect(None, mio::net::UnixStream::take_error, |s| {
                        s.peer_addr().map(drop)
                    })?;
                Ok(stream)
            }
            // The listener's backlog is full: no event says when it has
            // room, so wait as std does, without holding a processor.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let s =
                    crate::task::mn::blocking(|| std::os::unix::net::UnixStream::connect(path))?;
                s.set_nonblocking(true)?;
                UnixStream::from_mio(mio::net::UnixStream::from_std(s))
            }
            Err(e) => Err(e),
        }
    }

    /// A pair of connected, unnamed sockets.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
    }

    /// The address of this end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get().local_addr()
    }

    /// The address of the other end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get().peer_addr()
    }

    /// Shuts down the read half, the write half or both; calls waiting on
    /// this socket wake and see it (a read answers 0 bytes).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.sock.get().shutdown(how)?;
        self.sock.after_shutdown();
        Ok(())
    }

    /// Another handle to the same connection. Its timeouts, deadlines and
    /// non-blocking mode are shared with this one.
    pub fn try_clone(&self) -> io::Result<UnixStream> {
        Ok(UnixStream {
            sock: self.sock.clone(),
        })
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.get().take_error()
    }
}

timeout_methods!(UnixStream);
raw_handle!(UnixStream);

stream_io!(UnixStream);

impl From<std::os::unix::net::UnixStream> for UnixStream {
    /// Takes over a connected std stream: makes it non-blocking and
    /// registers it.
    ///
    /// # Panics
    /// If the socket cannot be made non-blocking or registered with the
    /// netpoller.
    #[track_caller]
    fn from(s: std::os::unix::net::UnixStream) -> UnixStream {
        UnixStream {
            sock: adopt(s.set_nonblocking(true), || {
                mio::net::UnixStream::from_std(s)
            }),
        }
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixStream");
        super::debug_handle(&mut d, self.sock.get());
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        if let Ok(addr) = self.peer_addr() {
            d.field("peer", &addr);
        }
        d.finish()
    }
}

/// A Unix domain datagram socket: `std::os::unix::net::UnixDatagram`,
/// whose sends and receives park the calling goroutine (or thread).
///
/// ```
/// use gort::net::UnixDatagram;
///
/// let (a, b) = UnixDatagram::pair()?;
/// a.send(b"one")?;
/// let mut buf = [0; 8];
/// let n = b.recv(&mut buf)?;
/// assert_eq!(&buf[..n], b"one");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UnixDatagram {
    sock: Arc<Socket<mio::net::UnixDatagram>>,
}

impl UnixDatagram {
    fn from_mio(s: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            sock: Socket::new(s)?,
        })
    }

    /// Creates a socket bound to the socket file `path`.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(mio::net::UnixDatagram::bind(path)?)
    }

    /// Creates a socket bound to no address.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_mio(mio::net::UnixDatagram::unbound()?)
    }

    /// A pair of connected, unnamed sockets.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_mio(a)?, UnixDatagram::from_mio(b)?))
    }

    /// Sets the peer that `send` sends to and `recv` receives from only.
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.sock.get().connect(path)
    }

    /// Sends `buf` to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.sock.io(Direction::Write, |s| s.send(buf))
    }

    /// Receives one datagram, waiting for one.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.io(Direction::Read, |s| s.recv(buf))
    }

    /// Sends `buf` to the socket file `path`.
    pub fn send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        let path = path.as_ref();
        self.sock.io(Direction::Write, |s| s.send_to(buf, path))
    }

    /// Receives one datagram and the address it came from.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.sock.io(Direction::Read, |s| s.recv_from(buf))
    }

    /// The address this socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get().peer_addr()
    }

    /// Shuts down the read half, the write half or both; waiting calls
    /// wake and see it.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.sock.get().shutdown(how)?;
        self.sock.after_shutdown();
        Ok(())
    }

    /// Another handle to the same socket. Its timeouts, deadlines and
    /// non-blocking mode are shared with this one.
    pub fn try_clone(&self) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            sock: self.sock.clone(),
        })
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.get().take_error()
    }
}

timeout_methods!(UnixDatagram);
raw_handle!(UnixDatagram);

impl From<std::os::unix::net::UnixDatagram> for UnixDatagram {
    /// Takes over a std socket: makes it non-blocking and registers it.
    ///
    /// # Panics
    /// If the socket cannot be made non-blocking or registered with the
    /// netpoller.
    #[track_caller]
    fn from(s: std::os::unix::net::UnixDatagram) -> UnixDatagram {
        UnixDatagram {
            sock: adopt(s.set_nonblocking(true), || {
                mio::net::UnixDatagram::from_std(s)
            }),
        }
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixDatagram");
        super::debug_handle(&mut d, self.sock.get());
        if let Ok(addr) = self.local_addr() {
            d.field("local", &addr);
        }
        if let Ok(addr) = self.peer_addr() {
            d.field("peer", &addr);
        }
        d.finish()
    }
}
