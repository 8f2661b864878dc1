//! TCP: `TcpListener` and `TcpStream`, std's API over mio's non-blocking
//! sockets and the netpoller.
//!
//! Invariants: as `net` (the module): one registered socket per value and
//! its clones; every call that can wait goes through `Socket::io`.

use core::fmt;
use core::time::Duration;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use super::registration::Direction;
use super::{Socket, deadline_methods, each_addr, raw_handle, stream_io, timeout_methods};

/// A TCP socket server, listening for connections: std's `TcpListener`,
/// whose `accept` parks the calling goroutine (or thread) until a
/// connection arrives.
///
/// ```
/// use std::io::{Read, Write};
/// use gort::net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let server = gort::spawn(move || -> std::io::Result<()> {
///     let (mut conn, _peer) = listener.accept()?;
///     let mut buf = [0; 5];
///     conn.read_exact(&mut buf)?;
///     conn.write_all(&buf) // echo
/// });
/// let mut client = TcpStream::connect(addr)?;
/// client.write_all(b"hello")?;
/// let mut echoed = [0; 5];
/// client.read_exact(&mut echoed)?;
/// assert_eq!(&echoed, b"hello");
/// server.join().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpListener {
    sock: Arc<Socket<mio::net::TcpListener>>,
}

impl TcpListener {
    /// Creates a listener bound to `addr`, as std's `bind`: each address
    /// `addr` resolves to in turn, the first that binds (else the last
    /// error). Port 0 asks the OS for a free port (see `local_addr`).
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(addr, |a| {
            Ok(TcpListener {
                sock: Socket::new(listen_on(a)?)?,
            })
        })
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get().local_addr()
    }

    /// Another handle to the same socket (its deadline and non-blocking
    /// mode are shared, as std's duplicated descriptor shares them).
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(TcpListener {
            sock: self.sock.clone(),
        })
    }

    /// Waits for a connection and returns it with the peer's address.
    /// Answers `TimedOut` once the deadline passes (`set_deadline`).
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, addr) = self.sock.io(Direction::Read, |l| l.accept())?;
        Ok((TcpStream::from_mio(s)?, addr))
    }

    /// An endless iterator over the connections as they arrive: `accept`
    /// in a loop, without the peers' addresses.
    ///
    /// ```
    /// use std::io::Write;
    /// use gort::net::{TcpListener, TcpStream};
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let addr = listener.local_addr()?;
    /// gort::go(move || {
    ///     for conn in listener.incoming().take(2) {
    ///         let _ = conn.and_then(|mut c| c.write_all(b"hi"));
    ///     }
    /// });
    /// for _ in 0..2 {
    ///     let mut reply = String::new();
    ///     std::io::Read::read_to_string(&mut TcpStream::connect(addr)?, &mut reply)?;
    ///     assert_eq!(reply, "hi");
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// Sets `IP_TTL` for the connections this listener accepts.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.get().set_ttl(ttl)
    }

    /// `IP_TTL` (see `set_ttl`).
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.get().ttl()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.get().take_error()
    }
}

deadline_methods!(TcpListener);
raw_handle!(TcpListener);

impl From<std::net::TcpListener> for TcpListener {
    /// Takes over a std listener: makes it non-blocking and registers it.
    ///
    /// # Panics
    /// If the socket cannot be made non-blocking or registered with the
    /// netpoller (the process is out of file descriptors, say).
    #[track_caller]
    fn from(l: std::net::TcpListener) -> TcpListener {
        if let Err(e) = l.set_nonblocking(true) {
            panic!("gort::net: cannot make the socket non-blocking: {e}");
        }
        TcpListener {
            sock: Socket::new_or_panic(mio::net::TcpListener::from_std(l)),
        }
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpListener");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        super::debug_handle(&mut d, self.sock.get());
        d.finish()
    }
}

/// The iterator of [`TcpListener::incoming`]: it never ends.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A TCP connection: std's `TcpStream`, whose reads, writes and connects
/// park the calling goroutine (or thread) until the socket is ready.
///
/// `Read` and `Write` are implemented for `TcpStream` and `&TcpStream`,
/// so one goroutine may read while another writes.
///
/// ```
/// use std::io::{Read, Write};
/// use std::time::Duration;
/// use gort::net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let client = TcpStream::connect(listener.local_addr()?)?;
/// let (mut server, _) = listener.accept()?;
///
/// // Nobody writes: the read times out, as std's would.
/// client.set_read_timeout(Some(Duration::from_millis(10)))?;
/// let err = (&client).read(&mut [0; 8]).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
///
/// server.write_all(b"late")?;
/// let mut buf = [0; 4];
/// (&client).read_exact(&mut buf)?;
/// assert_eq!(&buf, b"late");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TcpStream {
    sock: Arc<Socket<mio::net::TcpStream>>,
}

impl TcpStream {
    fn from_mio(s: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            sock: Socket::new(s)?,
        })
    }

    /// Opens a connection to `addr`, as std's `connect`: each address it
    /// resolves to in turn (a slow name lookup gives its processor to
    /// the other goroutines), the first that connects, else the last
    /// error (a
    /// refused connection answers
    /// [`ConnectionRefused`](io::ErrorKind::ConnectionRefused)).
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, |a| TcpStream::connect_addr(a, None))
    }

    /// Opens a connection to `addr`, waiting at most `timeout`, as std's
    /// `connect_timeout`: [`TimedOut`](io::ErrorKind::TimedOut) when it
    /// passes.
    ///
    /// # Errors
    /// A zero `timeout` is an [`InvalidInput`](io::ErrorKind::InvalidInput)
    /// error, as in std.
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        TcpStream::connect_addr(*addr, Some(timeout)).map_err(|e| match e.kind() {
            io::ErrorKind::TimedOut => {
                io::Error::new(io::ErrorKind::TimedOut, "connection timed out")
            }
            _ => e,
        })
    }

    fn connect_addr(addr: SocketAddr, timeout: Option<Duration>) -> io::Result<TcpStream> {
        let stream = TcpStream::from_mio(mio::net::TcpStream::connect(addr)?)?;
        stream
            .sock
            .finish_connect(timeout, mio::net::TcpStream::take_error, |s| {
                s.peer_addr().map(drop)
            })?;
        Ok(stream)
    }

    /// The address of the other end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get().peer_addr()
    }

    /// The address of this end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get().local_addr()
    }

    /// Shuts down the read half, the write half or both, as std's
    /// `shutdown`; calls waiting on this socket (in any goroutine) wake
    /// and see it: a read answers 0 bytes once the read half is shut.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.sock.get().shutdown(how)?;
        self.sock.after_shutdown();
        Ok(())
    }

    /// Another handle to the same connection. Its timeouts, deadlines and
    /// non-blocking mode are shared with this one, as std's duplicated
    /// descriptor shares `SO_RCVTIMEO`.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream {
            sock: self.sock.clone(),
        })
    }

    /// Sets `TCP_NODELAY` (no Nagle delay before small writes go out).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.sock.get().set_nodelay(nodelay)
    }

    /// `TCP_NODELAY` (see `set_nodelay`).
    pub fn nodelay(&self) -> io::Result<bool> {
        self.sock.get().nodelay()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.get().set_ttl(ttl)
    }

    /// `IP_TTL` (see `set_ttl`).
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.get().ttl()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.get().take_error()
    }

    /// Reads without taking the bytes from the socket, waiting for some
    /// as `read` does.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.io(Direction::Read, |s| s.peek(buf))
    }
}

timeout_methods!(TcpStream);
raw_handle!(TcpStream);

stream_io!(TcpStream);

impl From<std::net::TcpStream> for TcpStream {
    /// Takes over a connected std stream: makes it non-blocking and
    /// registers it. Its OS timeouts no longer apply: set gort's.
    ///
    /// # Panics
    /// If the socket cannot be made non-blocking or registered with the
    /// netpoller (the process is out of file descriptors, say).
    #[track_caller]
    fn from(s: std::net::TcpStream) -> TcpStream {
        if let Err(e) = s.set_nonblocking(true) {
            panic!("gort::net: cannot make the socket non-blocking: {e}");
        }
        TcpStream {
            sock: Socket::new_or_panic(mio::net::TcpStream::from_std(s)),
        }
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TcpStream");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        if let Ok(peer) = self.peer_addr() {
            d.field("peer", &peer);
        }
        super::debug_handle(&mut d, self.sock.get());
        d.finish()
    }
}

/// A non-blocking listening socket on `addr`, as Go makes one: the
/// address reusable at once on Unix (not on Windows, where that would let
/// another program take the port over), and the system's largest accept
/// queue (Linux truncates the backlog to `net.core.somaxconn`, the BSDs to
/// `kern.ipc.somaxconn`; Windows reads `i32::MAX` as its `SOMAXCONN`, "a
/// reasonable maximum"). std's and mio's 128 overflow under a burst of
/// connects, and a client whose handshake then completes by syncookie is
/// accepted only once it sends something.
fn listen_on(addr: SocketAddr) -> io::Result<mio::net::TcpListener> {
    use socket2::{Domain, Protocol, Type};
    let s = socket2::Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if !cfg!(gort_net_windows) {
        s.set_reuse_address(true)?;
    }
    s.bind(&addr.into())?;
    s.listen(i32::MAX)?;
    s.set_nonblocking(true)?;
    Ok(mio::net::TcpListener::from_std(s.into()))
}
