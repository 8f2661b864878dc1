//! Go by Example: channel buffering. `Chan::new(n)` is Go's
//! `make(chan T, n)`: it holds up to `n` values, so a send waits only when
//! the buffer is full, and the same goroutine can send and later receive
//! without any other goroutine taking part.

use gort::chan::Chan;

#[gort::main]
fn main() {
    // Room for two values.
    let fruit = Chan::new(2);

    // No receiver yet: both sends complete at once, into the buffer.
    fruit.send("apple").expect("open");
    fruit.send("pear").expect("open");
    gort::println!("buffered {} of {}", fruit.len(), fruit.cap());

    // A third send would wait for a free place; try_send reports that.
    if let Err(e) = fruit.try_send("plum") {
        gort::println!("plum not sent: {e}");
    }

    // Values come out in the order they went in.
    gort::println!("{}", fruit.recv().expect("buffered"));
    gort::println!("{}", fruit.recv().expect("buffered"));
}
