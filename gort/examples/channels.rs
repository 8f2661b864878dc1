//! Go by Example: channels. A channel connects goroutines: one sends a
//! value, another receives it. `Chan::new(0)` is Go's `make(chan T)`;
//! `ch.send(v)` is `ch <- v` and `ch.recv()` is `<-ch`, which returns
//! `None` only once the channel is closed. Both wait for the other side.

use gort::chan::Chan;

#[gort::main]
fn main() {
    // Unbuffered: a send completes only when a receiver takes the value.
    let greetings = Chan::new(0);

    // A clone is another handle to the same channel, moved into the goroutine.
    let out = greetings.clone();
    gort::go(move || {
        out.send(String::from("hello over a channel"))
            .expect("main is still receiving");
    });

    // Parks until the goroutine's value arrives.
    let msg = greetings.recv().expect("the channel is not closed");
    gort::println!("{msg}");
}
