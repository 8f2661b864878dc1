//! A small HTTP/1.1 server over `gort::net`: a goroutine per connection,
//! requests parsed with `httparse` (no web framework), keep-alive. `GET /`
//! answers "Hello, World!\n"; any other request gets a 404.
//!
//! ```text
//! cargo run --release --example http_server                   # 127.0.0.1:8080, until Ctrl-C
//! cargo run --release --example http_server -- 127.0.0.1:0 8  # a free port; exit after 8 connections
//! curl -i http://127.0.0.1:8080/
//! ```
//!
//! Its first line is the address it listens on. Given a connection count,
//! it stops accepting after that many and, once they have all closed,
//! prints how many requests it answered.

#[cfg(gort_net)]
mod server {
    use std::io::{self, Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    use gort::net::{TcpListener, TcpStream};
    use gort::sync::WaitGroup;

    const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\nHello, World!\n";
    const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 19\r\n\r\n404 page not found\n";
    const BAD_REQUEST: &[u8] =
        b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

    /// Requests answered, by answer.
    #[derive(Default)]
    pub struct Counts {
        hello: AtomicU64,
        not_found: AtomicU64,
    }

    /// One parsed request: how many bytes it took, and what it asked.
    struct Request {
        len: usize,
        hello: bool,
        /// `Connection: close`, or HTTP/1.0 without keep-alive.
        close: bool,
    }

    /// The request at the start of `buf`, `None` while it is incomplete.
    fn parse(buf: &[u8]) -> Result<Option<Request>, httparse::Error> {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        let httparse::Status::Complete(head) = req.parse(buf)? else {
            return Ok(None);
        };
        let header = |name: &str| {
            req.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value)
        };
        // A request body (none for GET) is skipped.
        let body: usize = header("content-length")
            .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse().ok())
            .unwrap_or(0);
        let close = match header("connection") {
            Some(v) if v.eq_ignore_ascii_case(b"close") => true,
            Some(v) if v.eq_ignore_ascii_case(b"keep-alive") => false,
            _ => req.version == Some(0),
        };
        if buf.len() < head + body {
            return Ok(None);
        }
        Ok(Some(Request {
            len: head + body,
            hello: req.method == Some("GET") && req.path == Some("/"),
            close,
        }))
    }

    /// Serves one connection until the client closes it (or asks to):
    /// each request is answered as soon as it has been read, in order.
    fn handle(mut conn: TcpStream, counts: &Counts) -> io::Result<()> {
        let mut buf = [0; 8192];
        let mut filled = 0;
        loop {
            let n = conn.read(&mut buf[filled..])?;
            if n == 0 {
                return Ok(());
            }
            filled += n;
            let mut at = 0;
            loop {
                let req = match parse(&buf[at..filled]) {
                    Ok(Some(req)) => req,
                    // Incomplete, with room to read the rest.
                    Ok(None) if filled - at < buf.len() => break,
                    // Malformed, or too big for the buffer.
                    _ => return conn.write_all(BAD_REQUEST),
                };
                let counter = if req.hello {
                    &counts.hello
                } else {
                    &counts.not_found
                };
                counter.fetch_add(1, Relaxed);
                conn.write_all(if req.hello { HELLO } else { NOT_FOUND })?;
                at += req.len;
                if req.close {
                    return Ok(());
                }
            }
            buf.copy_within(at..filled, 0);
            filled -= at;
        }
    }

    /// Accepts `limit` connections (forever with `None`), a goroutine
    /// each, and waits for them to close.
    pub fn serve(listener: TcpListener, limit: Option<usize>) -> io::Result<Arc<Counts>> {
        let counts = Arc::new(Counts::default());
        let open = WaitGroup::new();
        let mut accepted = 0;
        while limit.is_none_or(|n| accepted < n) {
            let (conn, _peer) = listener.accept()?;
            accepted += 1;
            let (counts, open) = (counts.clone(), open.clone());
            open.add(1);
            gort::go(move || {
                // A client that goes away mid-request is its own business.
                let _ = handle(conn, &counts);
                open.done();
            });
        }
        open.wait();
        Ok(counts)
    }

    pub fn main() -> io::Result<()> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let addr = args.first().map_or("127.0.0.1:8080", String::as_str);
        let limit = args.get(1).map(|n| n.parse().expect("a connection count"));
        let listener = TcpListener::bind(addr)?;
        gort::println!("listening on http://{}/", listener.local_addr()?);
        let counts = serve(listener, limit)?;
        let (hello, not_found) = (counts.hello.load(Relaxed), counts.not_found.load(Relaxed));
        gort::println!(
            "served {} connections, {} requests ({hello} hello, {not_found} not found)",
            limit.unwrap_or(0),
            hello + not_found,
        );
        Ok(())
    }
}

#[cfg(gort_net)]
fn main() -> std::io::Result<()> {
    server::main()
}

#[cfg(not(gort_net))]
fn main() {
    eprintln!("gort::net is not available on this platform");
}
