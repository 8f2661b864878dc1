//! A short tour of gort, in four stops:
//! 1. goroutines spread over every core (CPU-bound work, and the OS
//!    threads and CPUs it ran on);
//! 2. `select!` with a timeout;
//! 3. the concurrent prime sieve: a chain of goroutines, one per prime;
//! 4. the deadlock detector's report, from a child process that deadlocks.
//!
//! `main` itself runs as goroutine 1 (`#[gort::main]`), as in Go: what it
//! does with channels is a goroutine's fast path, and the deadlock report
//! counts it.
//!
//! `cargo run --release --example tour` (`-- --quick`: smaller sizes, for
//! tests and debug builds; `GORT_SCHEDULER=threads`: one OS thread per
//! goroutine instead of M:N).

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gort::Scheduler;
use gort::chan::Chan;
use gort::sync::{Mutex, WaitGroup};

#[allow(dead_code)] // its `main`
#[path = "prime_sieve.rs"]
mod prime_sieve;

/// The child process of stop 4 runs with this argument.
const DEADLOCK_CHILD: &str = "--deadlock-child";

struct Sizes {
    /// Stop 1 counts primes below this.
    primes_below: u64,
    /// Stop 3 finds this many primes.
    sieve_primes: usize,
}

#[gort::main]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == DEADLOCK_CHILD) {
        deadlock_child();
    }
    let sizes = if args.iter().any(|a| a == "--quick") {
        Sizes {
            primes_below: 200_000,
            sieve_primes: 300,
        }
    } else {
        Sizes {
            primes_below: 3_000_000,
            sieve_primes: 2_000,
        }
    };
    let started = Instant::now();
    gort::println!(
        "gort tour: {} CPUs, {:?} scheduler, GOMAXPROCS {}",
        gort::num_cpu(),
        gort::Builder::new().scheduler_choice(),
        gort::gomaxprocs()
    );
    every_core(&sizes);
    select_with_timeout();
    sieve(&sizes);
    if args.iter().any(|a| a == "--no-child") {
        gort::println!("\n4. the deadlock detector: skipped (--no-child)");
    } else {
        deadlock_report();
    }
    gort::println!("\ntour done in {:.2?}", started.elapsed());
}

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

/// The CPU this thread runs on now, where the OS says.
fn current_cpu() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sched_getcpu has no preconditions; -1 means unknown.
        let cpu = unsafe { libc::sched_getcpu() };
        usize::try_from(cpu).ok()
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Stop 1: CPU-bound goroutines, four per worker; each reports the OS
/// thread (and CPU) it finished on.
fn every_core(sizes: &Sizes) {
    let n = sizes.primes_below;
    let goroutines = 4 * gort::gomaxprocs();
    gort::println!(
        "\n1. goroutines on every core: {goroutines} goroutines count the primes below {n}"
    );
    let report = Arc::new(Mutex::new(Vec::new()));
    let wg = WaitGroup::new();
    let start = Instant::now();
    for g in 0..goroutines as u64 {
        wg.add(1);
        let (wg, report) = (wg.clone(), report.clone());
        gort::go(move || {
            // Interleaved slices keep the goroutines' shares even.
            let count = (g..n).step_by(goroutines).filter(|&k| is_prime(k)).count();
            let thread = std::thread::current().id();
            report.lock().push((g, count, thread, current_cpu()));
            wg.done();
        });
    }
    wg.wait();
    let parallel = start.elapsed();
    let report = report.lock();
    let total: usize = report.iter().map(|r| r.1).sum();

    let mut by_thread: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut cpus = BTreeSet::new();
    for (g, _, thread, cpu) in report.iter() {
        by_thread.entry(format!("{thread:?}")).or_default().push(*g);
        cpus.extend(*cpu);
    }
    for (i, (_, mut gs)) in by_thread.into_iter().enumerate() {
        gs.sort_unstable();
        let list: Vec<String> = gs.iter().map(u64::to_string).collect();
        gort::println!("   OS thread {}: goroutines {}", i + 1, list.join(" "));
    }
    if !cpus.is_empty() {
        let list: Vec<String> = cpus.iter().map(usize::to_string).collect();
        gort::println!("   CPUs used: {}", list.join(" "));
    }
    let start = Instant::now();
    let alone = (0..n).filter(|&k| is_prime(k)).count();
    let sequential = start.elapsed();
    assert_eq!(alone, total, "the goroutines' counts add up");
    gort::println!(
        "   {total} primes in {parallel:.2?}; one thread alone: {sequential:.2?} ({:.1}x)",
        sequential.as_secs_f64() / parallel.as_secs_f64()
    );
}

/// Stop 2: a request to a server that answers only after the caller gave
/// up (so its 50 ms timeout always wins), then to one that answers at once
/// (and a caller that would wait seconds).
fn select_with_timeout() {
    gort::println!("\n2. select with a timeout");
    let servers = [
        ("slow server", true, Duration::from_millis(50)),
        ("fast server", false, Duration::from_secs(5)),
    ];
    for (server, answers_late, patience) in servers {
        let (request, reply) = (Chan::<u32>::new(0), Chan::<u32>::new(1));
        let gave_up = Chan::<()>::new(0);
        {
            let (request, reply, gave_up) = (request.clone(), reply.clone(), gave_up.clone());
            gort::go(move || {
                let question = request.recv().unwrap();
                if answers_late {
                    gave_up.recv(); // closed by the caller once it timed out
                }
                let _ = reply.send(question * 2);
            });
        }
        request.send(21).unwrap();
        let asked = Instant::now();
        gort::select! {
            recv(reply) -> answer => gort::println!(
                "   {server}: answered {} in {:.1?}",
                answer.unwrap(),
                asked.elapsed()
            ),
            default(patience) => gort::println!("   {server}: no answer within {patience:?}, gave up"),
        }
        gave_up.close();
    }
}

/// Stop 3: the prime sieve, one goroutine per prime found; then a shorter
/// chain on the other scheduler, for comparison.
fn sieve(sizes: &Sizes) {
    let count = sizes.sieve_primes;
    gort::println!("\n3. the concurrent prime sieve: a chain of {count} goroutines");
    let per_hop = sieve_run(count);
    let other = match gort::Builder::new().scheduler_choice() {
        Scheduler::MN => Scheduler::Threads,
        Scheduler::Threads => Scheduler::MN,
    };
    if other.is_available() {
        let count = count / 4;
        gort::println!("   the same with {count} primes on the {other:?} scheduler:");
        let rt = gort::Builder::new().scheduler(other).build();
        let other_per_hop = rt.run(move || sieve_run(count));
        let (mn, threads) = match other {
            Scheduler::Threads => (per_hop, other_per_hop),
            Scheduler::MN => (other_per_hop, per_hop),
        };
        gort::println!(
            "   per hand-off: {mn:.0} ns as M:N coroutines, {threads:.0} ns as OS threads ({:.1}x)",
            threads / mn
        );
    }
}

/// Runs the sieve for `count` primes, prints what it found and returns
/// the nanoseconds per channel hand-off.
fn sieve_run(count: usize) -> f64 {
    let start = Instant::now();
    let primes = prime_sieve::primes(count);
    let took = start.elapsed();
    let last = *primes.last().unwrap();
    // Every number up to the last prime crossed filters until one dropped it.
    let hops: u64 = (2..=last)
        .map(|k| primes.iter().take_while(|&&p| k % p != 0).count() as u64 + 1)
        .sum();
    let per_hop = took.as_nanos() as f64 / hops as f64;
    gort::println!(
        "   the first {count} primes in {took:.2?} (the last is {last}): \
         {hops} channel hand-offs, {per_hop:.0} ns each"
    );
    per_hop
}

/// Stop 4: runs this program again as a child that deadlocks, and shows
/// what the runtime printed before it ended the child.
fn deadlock_report() {
    gort::println!("\n4. the deadlock detector, in a child process:");
    let exe = std::env::current_exe().expect("this program's path");
    let child = Command::new(exe)
        .arg(DEADLOCK_CHILD)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            gort::println!("   could not start it: {e}");
            return;
        }
    };
    let stderr = child.stderr.take().unwrap();
    // The report is read on a plain thread, the wait with a time limit: a
    // detector that stays silent must not hang the tour.
    let reading = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let limit = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for the child") {
            break Some(status);
        }
        if Instant::now() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        gort::time::sleep(Duration::from_millis(5));
    };
    for line in reading.join().unwrap().lines() {
        gort::println!("   | {line}");
    }
    match status.and_then(|s| s.code()) {
        Some(code) => gort::println!("   the child exited with status {code}"),
        None => gort::println!("   the child reported nothing within 10 s and was killed"),
    }
}

/// The child of stop 4: two goroutines each wait for the other's message
/// and main (a goroutine too) waits for both; nothing can ever wake anyone.
fn deadlock_child() -> ! {
    let (ping, pong) = (Chan::<u32>::new(0), Chan::<u32>::new(0));
    let wg = WaitGroup::new();
    for (from, to) in [(ping.clone(), pong.clone()), (pong, ping)] {
        wg.add(1);
        let wg = wg.clone();
        gort::go(move || {
            let ball = from.recv().unwrap();
            to.send(ball + 1).unwrap();
            wg.done();
        });
    }
    wg.wait();
    unreachable!("the runtime ends a deadlocked program");
}
