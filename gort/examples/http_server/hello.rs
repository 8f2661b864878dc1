//! The hello server's connection handler: HTTP/1.1 requests parsed with
//! `httparse`, answered in order as each is read, keep-alive until the
//! client closes or asks to. Generic over the stream (no gort inside), so
//! gort-bench's `http_hello` measures this very code.
//!
//! Invariant: `buf[..filled]` holds the bytes read and not yet answered,
//! starting at a request's first byte.

use std::io::{Read, Write};

pub const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\nHello, World!\n";
pub const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 19\r\n\r\n404 page not found\n";
pub const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

/// Requests answered on one connection, by answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub hello: u64,
    pub not_found: u64,
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

/// Serves one connection until the client closes it (or asks to): `GET /`
/// gets `HELLO`, any other request `NOT_FOUND`, a malformed one (or one
/// bigger than the buffer) `BAD_REQUEST` and the end. Returns what it
/// answered; an I/O error (a client gone mid-request) ends it too.
pub fn serve_connection(mut conn: impl Read + Write) -> Counts {
    let mut counts = Counts::default();
    let mut buf = [0; 8192];
    let mut filled = 0;
    loop {
        let n = match conn.read(&mut buf[filled..]) {
            Ok(0) | Err(_) => return counts,
            Ok(n) => n,
        };
        filled += n;
        let mut at = 0;
        loop {
            let req = match parse(&buf[at..filled]) {
                Ok(Some(req)) => req,
                // Incomplete, with room to read the rest.
                Ok(None) if filled - at < buf.len() => break,
                _ => {
                    let _ = conn.write_all(BAD_REQUEST);
                    return counts;
                }
            };
            let answer = if req.hello {
                counts.hello += 1;
                HELLO
            } else {
                counts.not_found += 1;
                NOT_FOUND
            };
            if conn.write_all(answer).is_err() || req.close {
                return counts;
            }
            at += req.len;
        }
        buf.copy_within(at..filled, 0);
        filled -= at;
    }
}
