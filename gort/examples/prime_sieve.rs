//! The concurrent prime sieve: a goroutine generates 2, 3, 4, ...; each
//! prime found adds a goroutine to a chain that drops that prime's
//! multiples, so the number leaving the end of the chain is the next
//! prime. Every hand-off is an unbuffered channel, as in Go's classic,
//! and `main` is a goroutine too (`#[gort::main]`), as Go's is.
//!
//! `cargo run --release --example prime_sieve -- 1000` prints the first
//! 1000 primes (default 10).

use gort::chan::{Chan, RecvOnly, SendOnly};

/// Sends 2, 3, 4, ... until the receiver goes away (the channel closes).
fn generate(out: SendOnly<u64>) {
    for n in 2.. {
        if out.send(n).is_err() {
            return;
        }
    }
}

/// Passes on what `prime` does not divide; stops when either side closes.
fn filter(input: RecvOnly<u64>, out: SendOnly<u64>, prime: u64) {
    for n in &input {
        if n % prime != 0 && out.send(n).is_err() {
            return;
        }
    }
}

/// The first `count` primes, found by a chain of `count` goroutines.
pub fn primes(count: usize) -> Vec<u64> {
    let first = Chan::new(0);
    gort::go({
        let out = first.send_only();
        move || generate(out)
    });
    let mut links = vec![first.clone()];
    let mut input = first;
    let mut found = Vec::with_capacity(count);
    for _ in 0..count {
        let prime = input.recv().expect("the chain never ends on its own");
        found.push(prime);
        let next = Chan::new(0);
        let (from, to) = (input.recv_only(), next.send_only());
        gort::go(move || filter(from, to, prime));
        links.push(next.clone());
        input = next;
    }
    // Closing every link ends every goroutine of the chain: each is
    // blocked sending into a closed link or receiving from one.
    for link in links {
        link.close();
    }
    found
}

#[gort::main]
fn main() {
    let count = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("usage: prime_sieve [COUNT]"))
        .unwrap_or(10);
    for p in primes(count) {
        gort::println!("{p}");
    }
}
