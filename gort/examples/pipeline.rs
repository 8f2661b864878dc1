//! A parallel pipeline, as in Go's "pipelines and cancellation" pattern:
//! a generator stage, several workers reading one channel (fan-out), a
//! merge of their output channels into one (fan-in) and a consumer. Each
//! stage takes `RecvOnly` inputs (Go's `<-chan`) and closes its output
//! when it ends; a `done` channel, closed by the consumer, stops them all
//! when it quits early, so no goroutine is left blocked.

use std::time::Duration;

use gort::chan::{Chan, RecvOnly};
use gort::sync::WaitGroup;

const WORKERS: usize = 3;

/// Sends `first..=last`, then closes its output; stops early on `done`.
fn generate(done: RecvOnly<()>, first: u64, last: u64) -> RecvOnly<u64> {
    let out = Chan::new(0);
    let view = out.recv_only();
    gort::go(move || {
        for n in first..=last {
            gort::select! {
                send(out, n) -> _ => {},
                recv(done) -> _ => break,
            }
        }
        out.close();
    });
    view
}

/// One worker: squares what it receives.
fn square(done: RecvOnly<()>, input: RecvOnly<u64>) -> RecvOnly<u64> {
    let out = Chan::new(0);
    let view = out.recv_only();
    gort::go(move || {
        // Ends when the input is closed: its stage has ended (after
        // finishing, or on `done`).
        for n in &input {
            gort::select! {
                send(out, n * n) -> _ => {},
                recv(done) -> _ => break,
            }
        }
        out.close();
    });
    view
}

/// Fan-in: one goroutine per input copies into `out`; a WaitGroup tells
/// the last one to close `out` once every copier has ended.
fn merge(done: RecvOnly<()>, inputs: Vec<RecvOnly<u64>>) -> RecvOnly<u64> {
    let out = Chan::new(0);
    let wg = WaitGroup::new();
    for input in inputs {
        wg.add(1);
        let (out, done, wg) = (out.clone(), done.clone(), wg.clone());
        gort::go(move || {
            for n in &input {
                gort::select! {
                    send(out, n) -> _ => {},
                    recv(done) -> _ => break,
                }
            }
            wg.done();
        });
    }
    let view = out.recv_only();
    gort::go(move || {
        wg.wait();
        out.close();
    });
    view
}

/// Builds the whole pipeline over `first..=last`.
fn pipeline(done: &Chan<()>, first: u64, last: u64) -> RecvOnly<u64> {
    let numbers = generate(done.recv_only(), first, last);
    // Fan-out: every worker reads the same channel; each number goes to
    // whichever worker is free.
    let squares = (0..WORKERS)
        .map(|_| square(done.recv_only(), numbers.clone()))
        .collect();
    merge(done.recv_only(), squares)
}

/// Waits (a while at most) for the goroutines to end: one that just
/// closed its output may still be on its way out.
fn settle(expected: usize) -> usize {
    for _ in 0..10_000 {
        if gort::num_goroutine() == expected {
            break;
        }
        gort::time::sleep(Duration::from_millis(1));
    }
    gort::num_goroutine()
}

#[gort::main]
fn main() {
    let start = gort::num_goroutine();
    gort::println!("goroutines at start: {start}");

    // A full run. Which worker squares which number, and so the order of
    // the results, changes from run to run; their sum does not.
    let done = Chan::<()>::new(0);
    let results = pipeline(&done, 1, 20);
    // Nothing can end before the consumer reads: generator, workers,
    // copiers and closer are all running now.
    gort::println!(
        "goroutines while running: {} (main, generator, {WORKERS} workers, {WORKERS} copiers, closer)",
        gort::num_goroutine()
    );
    let (mut count, mut sum) = (0, 0);
    for n in &results {
        count += 1;
        sum += n;
    }
    done.close(); // Go's `defer close(done)`: harmless after a full run
    gort::println!("full run: {count} squares, sum {sum}");
    gort::println!("goroutines after the full run: {}", settle(start));

    // An early stop: the consumer wants three results out of a million,
    // then closes `done`. Every stage blocked on a send sees it and ends,
    // closing its output, which ends the stage after it.
    let done = Chan::<()>::new(0);
    let results = pipeline(&done, 1, 1_000_000);
    let first: Vec<u64> = results.iter().take(3).collect();
    done.close();
    gort::println!("early stop: took {} squares", first.len());
    gort::println!("goroutines after the early stop: {}", settle(start));
}
