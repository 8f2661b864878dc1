//! UDP: `UdpSocket`, std's API over mio's non-blocking socket and the
//! netpoller.
//!
//! Invariants: as `net` (the module): one registered socket per value and
//! its clones; every call that can wait goes through `Socket::io`.

use core::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use super::registration::Direction;
use super::{Socket, each_addr, raw_handle, resolve, timeout_methods};

/// A UDP socket: std's `UdpSocket`, whose sends and receives park the
/// calling goroutine (or thread) until the socket is ready.
///
/// ```
/// use gort::net::UdpSocket;
///
/// let a = UdpSocket::bind("127.0.0.1:0")?;
/// let b = UdpSocket::bind("127.0.0.1:0")?;
/// let b_addr = b.local_addr()?;
/// let echo = gort::spawn(move || -> std::io::Result<()> {
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf)?;
///     b.send_to(&buf[..n], from)?;
///     Ok(())
/// });
/// a.send_to(b"ping", b_addr)?;
/// let mut buf = [0; 16];
/// let (n, from) = a.recv_from(&mut buf)?;
/// assert_eq!((&buf[..n], from), (&b"ping"[..], b_addr));
/// echo.join().unwrap()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct UdpSocket {
    sock: Arc<Socket<mio::net::UdpSocket>>,
}

impl UdpSocket {
    /// Creates a socket bound to `addr`, as std's `bind`: each address it
    /// resolves to in turn, the first that binds (else the last error).
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(addr, |a| {
            let s = mio::net::UdpSocket::bind(a)?;
            Ok(UdpSocket {
                sock: Socket::new(s)?,
            })
        })
    }

    /// Receives one datagram and the address it came from, waiting for
    /// one; bytes past `buf`'s length are dropped.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.sock.io(Direction::Read, |s| s.recv_from(buf))
    }

    /// As `recv_from`, leaving the datagram queued.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.sock.io(Direction::Read, |s| s.peek_from(buf))
    }

    /// Sends `buf` to `addr` (the first address it resolves to, as std).
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let Some(target) = resolve(addr)?.into_iter().next() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no addresses to send data to",
            ));
        };
        self.sock.io(Direction::Write, |s| s.send_to(buf, target))
    }

    /// Sets the peer that `send` sends to and `recv` receives from only,
    /// as std's `connect`: each address in turn, the first that succeeds.
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(addr, |a| self.sock.get().connect(a))
    }

    /// Sends `buf` to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.sock.io(Direction::Write, |s| s.send(buf))
    }

    /// Receives one datagram from the connected peer, waiting for one.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.io(Direction::Read, |s| s.recv(buf))
    }

    /// As `recv`, leaving the datagram queued.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.sock.io(Direction::Read, |s| s.peek(buf))
    }

    /// The address this socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get().local_addr()
    }

    /// The connected peer's address (`NotConnected` if none).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock.get().peer_addr()
    }

    /// Another handle to the same socket. Its timeouts, deadlines and
    /// non-blocking mode are shared with this one.
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            sock: self.sock.clone(),
        })
    }

    /// Sets `SO_BROADCAST`.
    pub fn set_broadcast(&self, broadcast: bool) -> io::Result<()> {
        self.sock.get().set_broadcast(broadcast)
    }

    /// `SO_BROADCAST` (see `set_broadcast`).
    pub fn broadcast(&self) -> io::Result<bool> {
        self.sock.get().broadcast()
    }

    /// Sets `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.sock.get().set_ttl(ttl)
    }

    /// `IP_TTL` (see `set_ttl`).
    pub fn ttl(&self) -> io::Result<u32> {
        self.sock.get().ttl()
    }

    /// Sets `IP_MULTICAST_LOOP`.
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.sock.get().set_multicast_loop_v4(on)
    }

    /// `IP_MULTICAST_LOOP`.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.sock.get().multicast_loop_v4()
    }

    /// Sets `IP_MULTICAST_TTL`.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.sock.get().set_multicast_ttl_v4(ttl)
    }

    /// `IP_MULTICAST_TTL`.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.sock.get().multicast_ttl_v4()
    }

    /// Sets `IPV6_MULTICAST_LOOP`.
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.sock.get().set_multicast_loop_v6(on)
    }

    /// `IPV6_MULTICAST_LOOP`.
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.sock.get().multicast_loop_v6()
    }

    /// Joins a multicast group (`IP_ADD_MEMBERSHIP`).
    pub fn join_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.sock.get().join_multicast_v4(multiaddr, interface)
    }

    /// Joins a multicast group (`IPV6_ADD_MEMBERSHIP`).
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.sock.get().join_multicast_v6(multiaddr, interface)
    }

    /// Leaves a multicast group (`IP_DROP_MEMBERSHIP`).
    pub fn leave_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.sock.get().leave_multicast_v4(multiaddr, interface)
    }

    /// Leaves a multicast group (`IPV6_DROP_MEMBERSHIP`).
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.sock.get().leave_multicast_v6(multiaddr, interface)
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.sock.get().take_error()
    }
}

timeout_methods!(UdpSocket);
raw_handle!(UdpSocket);

impl From<std::net::UdpSocket> for UdpSocket {
    /// Takes over a std socket: makes it non-blocking and registers it.
    /// Its OS timeouts no longer apply: set gort's.
    ///
    /// # Panics
    /// If the socket cannot be made non-blocking or registered with the
    /// netpoller (the process is out of file descriptors, say).
    #[track_caller]
    fn from(s: std::net::UdpSocket) -> UdpSocket {
        if let Err(e) = s.set_nonblocking(true) {
            panic!("gort::net: cannot make the socket non-blocking: {e}");
        }
        UdpSocket {
            sock: Socket::new_or_panic(mio::net::UdpSocket::from_std(s)),
        }
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UdpSocket");
        if let Ok(addr) = self.local_addr() {
            d.field("addr", &addr);
        }
        super::debug_handle(&mut d, self.sock.get());
        d.finish()
    }
}
