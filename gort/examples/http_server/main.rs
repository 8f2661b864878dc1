//! A small HTTP/1.1 server over `gort::net`: a goroutine per connection,
//! requests parsed with `httparse` (no web framework), keep-alive. `GET /`
//! answers "Hello, World!\n"; any other request gets a 404. The
//! connection handler is `hello.rs`.
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
mod hello;

#[cfg(gort_net)]
mod server {
    use std::io;

    use gort::chan::Chan;
    use gort::net::TcpListener;

    use crate::hello::{Counts, serve_connection};

    /// Accepts `limit` connections (forever with `None`), a goroutine
    /// each; with a limit, adds up what they answered once all have
    /// closed.
    pub fn serve(listener: TcpListener, limit: Option<usize>) -> io::Result<Counts> {
        let closed = Chan::new(limit.unwrap_or(0));
        let mut accepted = 0;
        while limit.is_none_or(|n| accepted < n) {
            let (conn, _peer) = listener.accept()?;
            accepted += 1;
            let closed = closed.clone();
            gort::go(move || {
                let counts = serve_connection(conn);
                if limit.is_some() {
                    let _ = closed.send(counts);
                }
            });
        }
        let mut total = Counts::default();
        for _ in 0..accepted {
            let c = closed.recv().expect("main keeps the channel open");
            total.hello += c.hello;
            total.not_found += c.not_found;
        }
        Ok(total)
    }

    pub fn main() -> io::Result<()> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let addr = args.first().map_or("127.0.0.1:8080", String::as_str);
        let limit = args.get(1).map(|n| n.parse().expect("a connection count"));
        let listener = TcpListener::bind(addr)?;
        gort::println!("listening on http://{}/", listener.local_addr()?);
        let Counts { hello, not_found } = serve(listener, limit)?;
        gort::println!(
            "served {} connections, {} requests ({hello} hello, {not_found} not found)",
            limit.unwrap_or(0),
            hello + not_found,
        );
        Ok(())
    }
}

#[cfg(gort_net)]
#[gort::main]
fn main() -> std::io::Result<()> {
    server::main()
}

#[cfg(not(gort_net))]
fn main() {
    eprintln!("gort::net is not available on this platform");
}
