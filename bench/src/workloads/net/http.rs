//! `http_hello`: `connections` keep-alive connections each make `requests`
//! `GET /` requests one after another, against a hello-world server that
//! answers `Hello, World!\n`. One load generator drives every server:
//! `drive`, a `std::thread` per connection with blocking sockets, which
//! parses every response (`httparse`) and checks its status and body. All
//! connections are open before the clock starts; it stops at the last
//! response.
//!
//! The servers: gort's (a goroutine per connection over `gort::net`,
//! running `serve_connection` of `gort/examples/http_server/hello.rs`,
//! which parses requests with `httparse`), tokio + hyper 1 (HTTP/1 only, a task per
//! connection), and Go's `net/http` (`bench/go`'s `http_hello_server`, a
//! process of its own). gort's and hyper's run in the generator's process.
//! The generator's threads compete with the server for the CPUs, the same
//! way for every server: compare the ratios, not the rates.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};

use crate::harness::{Party, check};
use crate::workload::{Contender, Params, RunResult, Sample, SampleResult, Side, Unit, Workload};

/// The body of every `GET /` answer.
pub const HELLO: &[u8] = b"Hello, World!\n";

/// gort's hello server's connection handler: the example's own code
/// (`serve_connection`, generic over the stream).
#[path = "../../../../gort/examples/http_server/hello.rs"]
mod hello;

/// gort: a goroutine per connection (`hello::serve_connection`) over
/// `gort::net`.
fn gort_server(p: &Params) -> RunResult {
    let conns = p.n("connections");
    let listener = super::loopback_listener()
        .map(gort::net::TcpListener::from)
        .map_err(|e| format!("bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = gort::spawn(move || -> io::Result<hello::Counts> {
        let served = (0..conns)
            .map(|_| {
                let (s, _) = listener.accept()?;
                s.set_nodelay(true)?;
                Ok(gort::spawn(move || hello::serve_connection(s)))
            })
            .collect::<io::Result<Vec<_>>>()?;
        let mut total = hello::Counts::default();
        for h in served {
            let c = h
                .join()
                .map_err(|_| io::Error::other("a server panicked"))?;
            total.hello += c.hello;
            total.not_found += c.not_found;
        }
        Ok(total)
    });
    let elapsed = drive(addr, p)?;
    let answered = server
        .join()
        .map_err(|_| "the server panicked".to_string())?
        .map_err(|e| format!("the server failed: {e}"))?;
    check(
        "requests answered hello",
        answered.hello,
        p.get("connections") * p.get("requests"),
    )?;
    check("requests answered 404", answered.not_found, 0)?;
    Ok(elapsed)
}

/// The request every client sends.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// One client's `requests` round trips on `s`; the responses checked.
fn client(mut s: TcpStream, requests: usize) -> Result<u64, String> {
    let mut buf = Vec::with_capacity(4096);
    for i in 0..requests {
        s.write_all(REQUEST).map_err(|e| format!("write: {e}"))?;
        let body = read_response(&mut s, &mut buf).map_err(|e| format!("response {i}: {e}"))?;
        if body != HELLO {
            return Err(format!(
                "response {i}: body {:?}",
                String::from_utf8_lossy(&body)
            ));
        }
    }
    Ok(requests as u64)
}

/// Reads one response from `s` (what `buf` holds of it already first),
/// checks that it is a 200 with a Content-Length, and returns its body;
/// bytes past it stay in `buf`.
fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Vec<u8>, String> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut r = httparse::Response::new(&mut headers);
        match r.parse(buf).map_err(|e| format!("bad response: {e}"))? {
            httparse::Status::Complete(head) => {
                if r.code != Some(200) {
                    return Err(format!("status {:?}", r.code));
                }
                let length: usize = r
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                    .ok_or("no Content-Length")?;
                while buf.len() < head + length {
                    fill(s, buf)?;
                }
                let body = buf[head..head + length].to_vec();
                buf.drain(..head + length);
                return Ok(body);
            }
            httparse::Status::Partial => fill(s, buf)?,
        }
    }
}

/// Appends what one read of `s` gives to `buf`; EOF is an error.
fn fill(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), String> {
    let mut chunk = [0u8; 4096];
    match s.read(&mut chunk).map_err(|e| format!("read: {e}"))? {
        0 => Err("the server closed the connection".into()),
        n => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(())
        }
    }
}

/// The load generator: opens every connection to `addr`, then times their
/// requests from a common start to the last response.
fn drive(addr: SocketAddr, p: &Params) -> RunResult {
    let (conns, requests) = (p.n("connections"), p.n("requests"));
    let streams = (0..conns)
        .map(|_| {
            let s = TcpStream::connect(addr)?;
            s.set_nodelay(true)?;
            Ok(s)
        })
        .collect::<io::Result<Vec<_>>>()
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    let parties = streams
        .into_iter()
        .map(|s| Box::new(move || client(s, requests).unwrap_or_else(|e| panic!("{e}"))) as Party)
        .collect();
    let (elapsed, answered) = crate::harness::timed_os_threads(parties)?;
    check(
        "responses checked",
        answered.iter().sum(),
        (conns * requests) as u64,
    )?;
    Ok(elapsed)
}

/// tokio + hyper: a task per connection on tokio's multi-threaded runtime
/// (as many workers as `GOMAXPROCS`), hyper's HTTP/1 connection, a
/// `service_fn` answering `GET /` (404 otherwise).
fn tokio_hyper(p: &Params) -> RunResult {
    use bytes::Bytes;
    use http_body_util::Full;
    use hyper::{Request, Response, StatusCode, body::Incoming};

    async fn hello(
        req: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
        Ok(
            if req.method() == hyper::Method::GET && req.uri().path() == "/" {
                Response::new(Full::new(Bytes::from_static(HELLO)))
            } else {
                let mut r = Response::new(Full::new(Bytes::from_static(b"404 page not found\n")));
                *r.status_mut() = StatusCode::NOT_FOUND;
                r
            },
        )
    }

    let conns = p.n("connections");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(gort::gomaxprocs())
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let listener = super::loopback_listener()
        .and_then(|l| {
            l.set_nonblocking(true)?;
            let _entered = rt.enter();
            tokio::net::TcpListener::from_std(l)
        })
        .map_err(|e| format!("bind: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = rt.spawn(async move {
        let mut served = Vec::with_capacity(conns);
        for _ in 0..conns {
            let (s, _) = listener.accept().await.map_err(|e| e.to_string())?;
            s.set_nodelay(true).map_err(|e| e.to_string())?;
            served.push(tokio::spawn(
                hyper::server::conn::http1::Builder::new().serve_connection(
                    hyper_util::rt::TokioIo::new(s),
                    hyper::service::service_fn(hello),
                ),
            ));
        }
        for s in served {
            s.await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("hyper: {e}"))?;
        }
        Ok::<(), String>(())
    });
    let elapsed = drive(addr, p)?;
    rt.block_on(server)
        .map_err(|e| format!("the server panicked: {e}"))??;
    Ok(elapsed)
}

/// Go's `net/http` hello server (`bench/go`), in a process of its own that
/// ends when its stdin closes, printing its CPU seconds (`cpu=`): the
/// run's CPU time is the load generator's here plus the server's.
fn go_net_http(p: &Params) -> SampleResult {
    let bin = crate::go::binary()?;
    let mut server = Command::new(bin)
        .arg("http_hello_server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let mut line = String::new();
    let mut out = io::BufReader::new(server.stdout.take().expect("piped"));
    let read = io::BufRead::read_line(&mut out, &mut line);
    let addr = read
        .ok()
        .and_then(|_| line.trim().parse::<SocketAddr>().ok())
        .ok_or_else(|| format!("the Go server's first line is not an address: {line:?}"));
    let elapsed = addr.and_then(|addr| drive(addr, p));
    drop(server.stdin.take()); // it prints its CPU time and exits
    let mut rest = String::new();
    let _ = io::Read::read_to_string(&mut out, &mut rest);
    let _ = server.wait();
    let cpu = rest
        .lines()
        .find_map(|l| l.strip_prefix("cpu=")?.trim().parse().ok());
    Ok(Sample {
        cpu,
        ..Sample::of(elapsed?.as_secs_f64())
    })
}

pub fn workload() -> Workload {
    let go = if crate::go::version().is_some() {
        Contender::sampling(
            "go",
            "Go net/http hello server (bench/go), its own process",
            Side::Peer,
            go_net_http,
        )
    } else {
        Contender::unsupported("go", "Go net/http hello server", crate::go::NOT_FOUND)
    };
    Workload {
        name: "http_hello",
        family: "net",
        about: "connections keep-alive connections from gort-bench's load generator (a std::thread each) each GET / requests times from a hello-world server; until the last response",
        full: Params::new(&[("connections", 50), ("requests", 200)]),
        quick: Params::new(&[("connections", 50), ("requests", 100)]),
        ops: |p| p.get("connections") * p.get("requests"),
        unit: Unit::Seconds,
        also: &[],
        contenders: vec![
            Contender::gort(
                "gort",
                "gort::go goroutine per connection, gort::net, httparse",
                gort_server,
            ),
            Contender::peer(
                "tokio_hyper",
                "tokio + hyper 1 (http1, a task per connection)",
                tokio_hyper,
            ),
            go,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream whose reads give `input` in pieces of `piece` bytes and
    /// whose writes collect the output.
    struct Scripted {
        input: Vec<u8>,
        piece: usize,
        output: Vec<u8>,
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.piece.min(buf.len()).min(self.input.len());
            buf[..n].copy_from_slice(&self.input[..n]);
            self.input.drain(..n);
            Ok(n)
        }
    }

    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn served(input: &[u8], piece: usize) -> (u64, Vec<u8>) {
        let mut s = Scripted {
            input: input.to_vec(),
            piece,
            output: Vec::new(),
        };
        let c = hello::serve_connection(&mut s);
        (c.hello + c.not_found, s.output)
    }

    /// The example's handler, as gort's contender runs it: pipelined
    /// requests split anywhere are each answered once, in order; a body is
    /// skipped; `Connection: close` ends the connection.
    #[test]
    fn the_hello_server_answers_each_request() {
        use hello::{BAD_REQUEST, HELLO as OK, NOT_FOUND};
        let input = [
            REQUEST,
            b"GET /nope HTTP/1.1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
            REQUEST,
            b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
            REQUEST,
        ]
        .concat();
        let want = [OK, NOT_FOUND, NOT_FOUND, OK, OK].concat();
        for piece in [1, 3, 7, 4096] {
            assert_eq!(
                served(&input, piece),
                (5, want.clone()),
                "pieces of {piece}"
            );
        }
        assert_eq!(served(b"GET / HTTP/1.0\r\n\r\n", 5), (1, OK.to_vec()));
        assert_eq!(served(b"\x01junk\r\n\r\n", 64), (0, BAD_REQUEST.to_vec()));
    }

    /// The generator reads responses split anywhere and back to back.
    #[test]
    fn responses_in_pieces() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let one = b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nHello, World!\n";
            let two: Vec<u8> = [&one[..], &one[..]].concat();
            for piece in two.chunks(7) {
                s.write_all(piece).unwrap();
                s.flush().unwrap();
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
        });
        let mut s = TcpStream::connect(addr).unwrap();
        let mut buf = Vec::new();
        for _ in 0..2 {
            assert_eq!(read_response(&mut s, &mut buf).unwrap(), HELLO);
        }
        let e = read_response(&mut s, &mut buf).unwrap_err();
        assert_eq!(e, "status Some(404)");
        server.join().unwrap();
    }
}
