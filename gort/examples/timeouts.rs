//! Go by Example: timeouts. A `select!` with a `recv` on
//! `gort::time::after(d)` (Go's `time.After`) gives up on a slow
//! operation after `d`; for a single receive, `recv_timeout(d)` says the
//! same thing in one call.

use std::time::Duration;

use gort::chan::Chan;

#[gort::main]
fn main() {
    // A slow job. Buffered, so its late send never blocks it (Go's example
    // does the same, so the goroutine can finish even if nobody listens).
    let slow = Chan::new(1);
    // Go's example has the job sleep past the timeout; a sleep is not a
    // guarantee on a busy machine, so this job waits for `gave_up`, closed
    // only after the timeout fired: it cannot finish in time.
    let gave_up = Chan::<()>::new(0);
    let (out, wait) = (slow.clone(), gave_up.clone());
    gort::go(move || {
        wait.recv();
        out.send("slow answer").expect("open");
    });

    let timeout = gort::time::after(Duration::from_millis(20));
    gort::select! {
        recv(slow) -> res => gort::println!("{}", res.unwrap()),
        recv(timeout) -> _ => gort::println!("no answer within 20ms"),
    }
    gave_up.close();
    // The answer comes, too late to be waited for above.
    gort::println!("later: {}", slow.recv().unwrap());

    // A quick job, and a timeout generous enough (seconds, not the job's
    // milliseconds) that it is met even on a slow machine.
    let quick = Chan::new(1);
    let out = quick.clone();
    gort::go(move || {
        gort::time::sleep(Duration::from_millis(10));
        out.send("quick answer").expect("open");
    });
    match quick.recv_timeout(Duration::from_secs(5)) {
        Ok(answer) => gort::println!("{answer}"),
        Err(e) => gort::println!("no quick answer: {e}"),
    }
}
