//! Go by Example: timers. A `gort::time::Timer` (Go's `time.NewTimer`)
//! delivers the time once on its channel `c` after a duration; unlike a
//! sleep it can be stopped or reset before it fires. `stop` and `reset`
//! follow Go 1.23: once they return, `c` holds no stale value.

use std::time::Duration;

use gort::chan::Chan;
use gort::time::Timer;

#[gort::main]
fn main() {
    // Block on the timer's channel until it fires.
    let first = Timer::new(Duration::from_millis(20));
    first.c.recv().expect("a timer channel is never closed");
    gort::println!("timer 1 fired");
    // It fired and its value was received: nothing left to stop.
    gort::println!("stop timer 1 after it fired: {}", first.stop());

    // A goroutine waits on a second timer, which main stops. Go's example
    // gives it one second and stops it at once, which a stall could let
    // it win; an hour is certain to be still pending when `stop` runs.
    let second = Timer::new(Duration::from_secs(3600));
    let (fired, gave_up) = (second.c.clone(), Chan::<()>::new(0));
    let stopped = gave_up.clone();
    let waiter = gort::spawn(move || {
        // A stopped timer never sends and its channel stays open, so the
        // waiter also listens for main's word that it was stopped.
        gort::select! {
            recv(fired) -> _ => "timer 2 fired",
            recv(stopped) -> _ => "timer 2 never fired",
        }
    });
    gort::println!("stop timer 2 before it fired: {}", second.stop());
    gave_up.close();
    gort::println!("{}", waiter.join().unwrap());

    // Reset re-arms a pending timer with a new duration.
    let third = Timer::new(Duration::from_secs(3600));
    gort::println!(
        "reset timer 3 while pending: {}",
        third.reset(Duration::from_millis(10))
    );
    third.c.recv().unwrap();
    gort::println!("timer 3 fired after its reset");

    // A timer that fired but whose value nobody received yet: `stop`
    // returns true and takes the value back, so `c` is empty afterwards.
    let fourth = Timer::new(Duration::from_millis(1));
    while fourth.c.is_empty() {
        gort::time::sleep(Duration::from_millis(1)); // wait until it fired
    }
    gort::println!("stop timer 4 with its value unread: {}", fourth.stop());
    gort::println!("timer 4 values left to receive: {}", fourth.c.len());
}
