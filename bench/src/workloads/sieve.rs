//! Sieve family: Go's classic concurrent prime sieve, a daisy chain with one
//! filter goroutine per prime found, each passing on the numbers its prime
//! does not divide. Nearly all of its time is unbuffered hand-offs between
//! goroutines that just woke each other: the scheduler's fast path.
//!
//! Every contender stops the generator at the `primes`-th prime and lets
//! the chain close behind it (each filter closes its output when its input
//! closes), so no goroutine is left blocked; the run is timed until the
//! last prime arrives and checked against trial division. One generic body
//! (`sieve`) runs on each contender's channels and goroutines.

use std::time::Instant;

use crate::harness::check;
use crate::workload::{Contender, Params, RunResult, Unit, Workload};

/// A contender's channels and way to start a party of the chain.
trait Chain: 'static {
    type Tx: Send + 'static;
    type Rx: Send + 'static;
    fn pair() -> (Self::Tx, Self::Rx);
    /// False once the receiving side is gone.
    fn send(tx: &Self::Tx, v: u64) -> bool;
    /// `None` once the channel is closed.
    fn recv(rx: &Self::Rx) -> Option<u64>;
    /// Closes the channel (the sender is done).
    fn close(tx: Self::Tx);
    fn go(f: impl FnOnce() + Send + 'static);
    /// Runs the main party where this contender's `main` runs.
    fn main<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T;
}

struct Gort;

impl Chain for Gort {
    type Tx = gort::chan::Chan<u64>;
    type Rx = gort::chan::Chan<u64>;
    fn pair() -> (Self::Tx, Self::Rx) {
        let c = gort::chan::Chan::new(0);
        (c.clone(), c)
    }
    fn send(tx: &Self::Tx, v: u64) -> bool {
        tx.send(v).is_ok()
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.recv()
    }
    fn close(tx: Self::Tx) {
        tx.close();
    }
    fn go(f: impl FnOnce() + Send + 'static) {
        gort::go(f);
    }
    fn main<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        crate::harness::in_goroutine(f)
    }
}

/// may has only unbounded channels: the generator runs ahead instead of
/// waiting for each hand-off, which changes the schedule (not the work).
struct May;

impl Chain for May {
    type Tx = may::sync::mpsc::Sender<u64>;
    type Rx = may::sync::mpsc::Receiver<u64>;
    fn pair() -> (Self::Tx, Self::Rx) {
        may::sync::mpsc::channel()
    }
    fn send(tx: &Self::Tx, v: u64) -> bool {
        tx.send(v).is_ok()
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
    fn close(tx: Self::Tx) {
        drop(tx);
    }
    fn go(f: impl FnOnce() + Send + 'static) {
        may::go!(f);
    }
    fn main<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        crate::may_peer::in_coroutine(f)
    }
}

/// OS threads: one `std::thread` per filter, crossbeam rendezvous channels.
struct Threads;

impl Chain for Threads {
    type Tx = crossbeam_channel::Sender<u64>;
    type Rx = crossbeam_channel::Receiver<u64>;
    fn pair() -> (Self::Tx, Self::Rx) {
        crossbeam_channel::bounded(0)
    }
    fn send(tx: &Self::Tx, v: u64) -> bool {
        tx.send(v).is_ok()
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
    fn close(tx: Self::Tx) {
        drop(tx);
    }
    fn go(f: impl FnOnce() + Send + 'static) {
        std::thread::spawn(f);
    }
    fn main<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        f()
    }
}

/// The `n`-th prime (1-based), by trial division: the sieve's check.
fn nth_prime(n: usize) -> u64 {
    let is_prime = |c: u64| {
        (2..)
            .take_while(|d| d * d <= c)
            .all(|d| !c.is_multiple_of(d))
    };
    (2..)
        .filter(|&c| is_prime(c))
        .nth(n - 1)
        .expect("primes go on")
}

fn sieve<C: Chain>(p: &Params) -> RunResult {
    let n = p.n("primes");
    if n == 0 {
        return Err("primes must be at least 1".into());
    }
    let limit = nth_prime(n);
    let (elapsed, last) = C::main(move || {
        let start = Instant::now();
        let (tx, mut ch) = C::pair();
        C::go(move || {
            for i in 2..=limit {
                if !C::send(&tx, i) {
                    return;
                }
            }
            C::close(tx);
        });
        let mut last = 0;
        for k in 0..n {
            let Some(prime) = C::recv(&ch) else { break };
            last = prime;
            if k == n - 1 {
                break;
            }
            let (tx, next) = C::pair();
            let input = std::mem::replace(&mut ch, next);
            C::go(move || {
                while let Some(v) = C::recv(&input) {
                    if !v.is_multiple_of(prime) && !C::send(&tx, v) {
                        return;
                    }
                }
                C::close(tx);
            });
        }
        (start.elapsed(), last)
    });
    check("n-th prime", last, limit)?;
    Ok(elapsed)
}

pub fn workloads() -> Vec<Workload> {
    vec![Workload {
        name: "sieve",
        family: "sieve",
        about: "the daisy-chain prime sieve up to the primes-th prime, a goroutine per prime",
        full: Params::new(&[("primes", 2_000)]),
        quick: Params::new(&[("primes", 500)]),
        ops: |p| p.get("primes"),
        unit: Unit::Seconds,
        also: &[],
        contenders: vec![
            Contender::gort("gort", "gort::chan::Chan(0) + gort::go", sieve::<Gort>),
            Contender::peer(
                "may",
                "may::sync::mpsc (unbounded) + may::go!",
                sieve::<May>,
            ),
            Contender::peer(
                "crossbeam",
                "crossbeam_channel::bounded(0) + std::thread",
                sieve::<Threads>,
            ),
        ],
    }]
}

#[cfg(test)]
mod tests {
    #[test]
    fn nth_prime_by_trial_division() {
        assert_eq!(
            (1..=6).map(super::nth_prime).collect::<Vec<_>>(),
            [2, 3, 5, 7, 11, 13]
        );
        assert_eq!(super::nth_prime(2_000), 17_389);
    }
}
