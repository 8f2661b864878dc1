//! Go by Example: tickers. A `gort::time::Ticker` (Go's `time.NewTicker`)
//! sends the time on its channel `c` again and again, every period, until
//! `stop`. A goroutine takes the ticks in a `select!` that also watches a
//! `done` channel, the usual way to end such a loop in Go.

use std::time::Duration;

use gort::chan::Chan;
use gort::time::Ticker;

/// Ticks main waits for before it stops the ticker.
const WANTED: u32 = 3;

#[gort::main]
fn main() {
    let ticker = Ticker::new(Duration::from_millis(10));
    let done = Chan::<()>::new(0);
    // The goroutine says when it has taken WANTED ticks; Go's example
    // instead sleeps for about that long, which a slow machine can miss.
    let enough = Chan::<()>::new(1);

    let (ticks, quit, reached) = (ticker.c.clone(), done.clone(), enough.clone());
    let listener = gort::spawn(move || {
        let mut taken = 0;
        loop {
            gort::select! {
                recv(quit) -> _ => return taken,
                recv(ticks) -> _ => {
                    taken += 1;
                    gort::println!("tick {taken}");
                    if taken == WANTED {
                        reached.send(()).unwrap();
                    }
                }
            }
        }
    });

    enough.recv();
    // Another tick may slip in between the signal and `stop` when the
    // machine is slow, so the count below is at least WANTED, not exactly.
    ticker.stop();
    done.send(()).unwrap();
    let taken = listener.join().unwrap();
    gort::println!("ticker stopped after {taken} ticks");
}
