//! Go by Example: rate limiting. Receiving from `gort::time::tick(d)`
//! (Go's `time.Tick`) before each request serves at most one request per
//! `d`. A buffered channel of tokens, topped up by a ticking goroutine,
//! lets a burst through at once and then falls back to the tick's pace.

use std::time::Duration;

use gort::chan::Chan;
use gort::time::Instant;

const PERIOD: Duration = Duration::from_millis(10);
const REQUESTS: u32 = 5;
const BURST: usize = 3;

#[gort::main]
fn main() {
    // Steady: one request per tick.
    let requests = Chan::new(REQUESTS as usize);
    for id in 1..=REQUESTS {
        requests.send(id).unwrap();
    }
    requests.close();

    let start = Instant::now();
    let limiter = gort::time::tick(PERIOD);
    for id in &requests {
        limiter.recv(); // wait for the next tick
        gort::println!("request {id} served");
    }
    // The n-th tick comes no sooner than n periods after the ticker
    // started, so this is at least 50ms; how much more depends on the
    // machine.
    gort::println!(
        "steady: {REQUESTS} requests took {}ms",
        start.elapsed().as_millis()
    );

    // Bursty: the limiter is a channel of tokens holding up to BURST. A
    // token is `None` if it was put there up front, `Some(time)` if the
    // ticking goroutine added it.
    let bursty = Chan::<Option<Instant>>::new(BURST);
    for _ in 0..BURST {
        bursty.send(None).unwrap();
    }
    let start = Instant::now();
    let ticks = gort::time::tick(PERIOD);
    let done = Chan::<()>::new(0);
    let (tokens, quit) = (bursty.clone(), done.clone());
    let refill = gort::spawn(move || {
        loop {
            gort::select! {
                recv(quit) -> _ => return,
                recv(ticks) -> t => gort::select! {
                    recv(quit) -> _ => return,
                    // Blocks while the bucket is full, as Go's does.
                    send(tokens, t) -> _ => {},
                },
            }
        }
    });

    let requests = Chan::new(REQUESTS as usize);
    for id in 1..=REQUESTS {
        requests.send(id).unwrap();
    }
    requests.close();
    for id in &requests {
        // Tokens come out in the order they went in: the first BURST
        // requests get the tokens stored up front, however slow the
        // machine; the others wait for the ticks.
        let token = bursty.recv().unwrap();
        let from = if token.is_some() {
            "a tick"
        } else {
            "the burst"
        };
        gort::println!("bursty request {id} served with a token from {from}");
    }
    // Two requests had to wait for the first two ticks: at least 20ms.
    gort::println!(
        "bursty: {REQUESTS} requests took {}ms",
        start.elapsed().as_millis()
    );
    done.close();
    refill.join().unwrap();
}
