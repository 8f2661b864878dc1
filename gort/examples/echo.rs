//! A TCP echo server and its clients over `gort::net`: a goroutine per
//! connection on each side, every one of them parked on the runtime's
//! network poller while it waits (no OS thread each, as in Go).
//!
//! ```text
//! cargo run --example echo                            # both sides, on a free loopback port
//! cargo run --example echo -- serve 127.0.0.1:7007    # the server, until Ctrl-C
//! cargo run --example echo -- serve 127.0.0.1:0 3     # a free port; exit after 3 connections
//! cargo run --example echo -- connect 127.0.0.1:7007  # the clients, against a running server
//! ```
//!
//! The server prints the address it listens on, then (when given a
//! connection count) a summary once those connections have closed. The
//! clients print what each sent and got back, in client order, whatever
//! order the goroutines ran in.

#[cfg(gort_net)]
mod echo {
    use std::io::{self, BufRead, BufReader, Read, Write};
    use std::net::SocketAddr;

    use gort::chan::Chan;
    use gort::net::{TcpListener, TcpStream};

    const CLIENTS: usize = 3;
    const LINES: usize = 3;

    /// Echoes what `conn` sends until it closes; returns the bytes echoed.
    fn echo(mut conn: TcpStream) -> io::Result<u64> {
        let mut buf = [0; 1024];
        let mut echoed = 0;
        loop {
            let n = conn.read(&mut buf)?;
            if n == 0 {
                return Ok(echoed);
            }
            conn.write_all(&buf[..n])?;
            echoed += n as u64;
        }
    }

    /// Accepts `limit` connections (forever with `None`), a goroutine
    /// each; with a limit, returns the connections and bytes echoed once
    /// every one has closed.
    pub fn serve(listener: TcpListener, limit: Option<usize>) -> io::Result<(usize, u64)> {
        let done = Chan::new(limit.unwrap_or(0));
        let mut accepted = 0;
        while limit.is_none_or(|n| accepted < n) {
            let (conn, _peer) = listener.accept()?;
            accepted += 1;
            let done = done.clone();
            gort::go(move || {
                let echoed = echo(conn).unwrap_or(0);
                if limit.is_some() {
                    let _ = done.send(echoed);
                }
            });
        }
        let echoed = (0..accepted).map(|_| done.recv().unwrap_or(0)).sum();
        Ok((accepted, echoed))
    }

    /// Client `id`: sends its lines one at a time, reading each echo back;
    /// returns what it would print.
    fn client(addr: SocketAddr, id: usize) -> io::Result<Vec<String>> {
        let conn = TcpStream::connect(addr)?;
        // `&TcpStream` reads and writes too: one for the buffered reader,
        // one to write with.
        let mut lines = BufReader::new(&conn);
        let mut transcript = Vec::new();
        for n in 1..=LINES {
            let sent = format!("hello from client {id}, line {n}");
            (&conn).write_all(format!("{sent}\n").as_bytes())?;
            let mut got = String::new();
            lines.read_line(&mut got)?;
            let same = if got.trim_end() == sent {
                "echoed"
            } else {
                "WRONG"
            };
            transcript.push(format!("client {id}: {sent:?} {same}"));
        }
        Ok(transcript)
    }

    /// Runs the clients at once, a goroutine each, and prints their
    /// transcripts in client order.
    pub fn connect(addr: SocketAddr) -> io::Result<()> {
        let clients: Vec<_> = (1..=CLIENTS)
            .map(|id| gort::spawn(move || client(addr, id)))
            .collect();
        for c in clients {
            for line in c.join().expect("a client panicked")? {
                gort::println!("{line}");
            }
        }
        Ok(())
    }

    pub fn main() -> io::Result<()> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let arg = |i: usize| args.get(i).map(String::as_str);
        match (arg(0), arg(1)) {
            (None, _) => {
                let listener = TcpListener::bind("127.0.0.1:0")?;
                let addr = listener.local_addr()?;
                gort::println!("server: listening on a free loopback port");
                let server = gort::spawn(move || serve(listener, Some(CLIENTS)));
                connect(addr)?;
                let (conns, bytes) = server.join().expect("the server panicked")?;
                gort::println!("server: {conns} connections closed, {bytes} bytes echoed");
            }
            (Some("serve"), Some(addr)) => {
                let limit = arg(2).map(|n| n.parse().expect("a connection count"));
                let listener = TcpListener::bind(addr)?;
                gort::println!("server: listening on {}", listener.local_addr()?);
                let (conns, bytes) = serve(listener, limit)?;
                gort::println!("server: {conns} connections closed, {bytes} bytes echoed");
            }
            (Some("connect"), Some(addr)) => {
                let addr = addr.parse().expect("an address like 127.0.0.1:7007");
                connect(addr)?;
            }
            _ => {
                eprintln!("usage: echo [serve <addr> [connections] | connect <addr>]");
                std::process::exit(2);
            }
        }
        Ok(())
    }
}

#[cfg(gort_net)]
#[gort::main]
fn main() -> std::io::Result<()> {
    echo::main()
}

#[cfg(not(gort_net))]
fn main() {
    eprintln!("gort::net is not available on this platform");
}
