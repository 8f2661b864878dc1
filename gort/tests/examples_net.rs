//! The output of the network examples in `gort/examples/` (run by
//! `common::examples`, under each scheduler): the echo server and clients
//! in one process and in two, and the HTTP server answering concurrent
//! keep-alive clients (plain `std::net` clients here, so the example is
//! checked against sockets it does not share code with). Not on wasm (no
//! child processes, no `gort::net`).
#![cfg(not(any(target_family = "wasm", loom)))]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdout, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use common::examples::{check_example, example_path, run_with};

/// What a run of the echo example's clients prints.
fn echo_transcript() -> Vec<String> {
    let mut lines = Vec::new();
    for id in 1..=3 {
        for n in 1..=3 {
            lines.push(format!(
                "client {id}: \"hello from client {id}, line {n}\" echoed"
            ));
        }
    }
    lines
}

/// 3 clients x 3 lines of "hello from client i, line n\n" (28 bytes).
const ECHO_SUMMARY: &str = "server: 3 connections closed, 252 bytes echoed";

#[test]
fn echo_both_sides_in_one_process() {
    check_example("echo", &[], |out| {
        let mut want = vec!["server: listening on a free loopback port".to_string()];
        want.extend(echo_transcript());
        want.push(ECHO_SUMMARY.to_string());
        assert_eq!(out.lines(), want);
    });
}

/// A server example running in a child process: killed if it outlives
/// `LIMIT` (so a hung test cannot leave it behind) or is dropped unwaited.
struct Server {
    child: Arc<Mutex<Child>>,
    out: BufReader<ChildStdout>,
    cancel: Option<mpsc::Sender<()>>,
    name: String,
}

const LIMIT: Duration = Duration::from_secs(60);

impl Server {
    /// Starts example `name` with `args` under `sched` and reads its first
    /// line, which must be `prefix` followed by the address it listens on.
    fn start(name: &str, args: &[&str], sched: &str, prefix: &str) -> (Server, SocketAddr) {
        let mut child = common::child_command(&example_path(name))
            .args(args)
            .env("GORT_SCHEDULER", sched)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting example {name}: {e}"));
        let out = BufReader::new(child.stdout.take().unwrap());
        let child = Arc::new(Mutex::new(child));
        let (cancel, cancelled) = mpsc::channel::<()>();
        let killer = child.clone();
        std::thread::spawn(move || {
            if cancelled.recv_timeout(LIMIT) == Err(mpsc::RecvTimeoutError::Timeout) {
                let _ = killer.lock().unwrap().kill();
            }
        });
        let mut server = Server {
            child,
            out,
            cancel: Some(cancel),
            name: format!("{name} [{sched}]"),
        };
        let first = server.line();
        let addr = first
            .strip_prefix(prefix)
            .and_then(|rest| rest.trim_end_matches('/').parse().ok())
            .unwrap_or_else(|| panic!("{}: first line {first:?}", server.name));
        (server, addr)
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        line.trim_end().to_string()
    }

    /// Waits for the server to exit by itself (status 0); the rest of its
    /// output.
    fn finish(mut self) -> Vec<String> {
        let mut rest = String::new();
        self.out.read_to_string(&mut rest).unwrap();
        let status = self.child.lock().unwrap().wait().unwrap();
        assert!(status.success(), "{} ended with {status}", self.name);
        rest.lines().map(str::to_string).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.cancel.take());
        let mut child = self.child.lock().unwrap();
        if child.try_wait().ok().flatten().is_none() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn scheduler_names() -> Vec<&'static str> {
    common::schedulers()
        .into_iter()
        .map(|s| match s {
            gort::Scheduler::Threads => "threads",
            gort::Scheduler::MN => "mn",
        })
        .collect()
}

#[test]
fn echo_server_and_clients_in_two_processes() {
    for sched in scheduler_names() {
        let (server, addr) = Server::start(
            "echo",
            &["serve", "127.0.0.1:0", "3"],
            sched,
            "server: listening on ",
        );
        let clients = run_with("echo", &["connect", &addr.to_string()], sched, LIMIT);
        assert_eq!(clients.code, Some(0), "{}", clients.stderr);
        assert_eq!(clients.lines(), echo_transcript(), "[{sched}]");
        assert_eq!(server.finish(), [ECHO_SUMMARY], "[{sched}]");
    }
}

const CLIENTS: usize = 8;
const REQUESTS: usize = 26;

const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\nHello, World!\n";
const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 19\r\n\r\n404 page not found\n";

/// One client's keep-alive requests: `GET /` but for one `GET /missing`
/// in the middle, each response read and compared byte for byte. Every
/// client connects before any sends, and keeps its connection until all
/// are done: all `CLIENTS` connections are open at once.
fn http_client(addr: SocketAddr, id: usize, together: &Barrier) {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    together.wait();
    for i in 0..REQUESTS {
        let (path, want) = if i == REQUESTS / 2 {
            ("/missing", NOT_FOUND)
        } else {
            ("/", HELLO)
        };
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: client {id}\r\n\r\n");
        conn.write_all(request.as_bytes()).unwrap();
        let mut got = vec![0; want.len()];
        conn.read_exact(&mut got).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want),
            "client {id}, request {i}"
        );
    }
    together.wait();
}

#[test]
fn http_server_answers_concurrent_keep_alive_clients() {
    for sched in scheduler_names() {
        let (server, addr) = Server::start(
            "http_server",
            &["127.0.0.1:0", &CLIENTS.to_string()],
            sched,
            "listening on http://",
        );
        let together = Arc::new(Barrier::new(CLIENTS));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| {
                let together = together.clone();
                std::thread::spawn(move || http_client(addr, id, &together))
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        let hello = CLIENTS * (REQUESTS - 1);
        assert_eq!(
            server.finish(),
            [format!(
                "served {CLIENTS} connections, {} requests ({hello} hello, {CLIENTS} not found)",
                CLIENTS * REQUESTS
            )],
            "[{sched}]"
        );
    }
}

/// Pipelined requests, one split across writes, a body to skip, and a
/// request to close: answered in order, and the server closes.
#[test]
fn http_server_reads_pipelined_and_split_requests() {
    for sched in scheduler_names() {
        let (server, addr) = Server::start(
            "http_server",
            &["127.0.0.1:0", "1"],
            sched,
            "listening on http://",
        );
        let mut conn = TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        conn.write_all(b"GET / HTTP/1.1\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody")
            .unwrap();
        conn.write_all(b"GET / HTTP/1.1\r\nConn").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        conn.write_all(b"ection: close\r\n\r\n").unwrap();
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap(); // the server closes after the third
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&[HELLO, NOT_FOUND, HELLO].concat()),
            "[{sched}]"
        );
        assert_eq!(
            server.finish(),
            ["served 1 connections, 3 requests (2 hello, 1 not found)"],
            "[{sched}]"
        );
    }
}
