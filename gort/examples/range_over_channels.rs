//! Go by Example: range over channels. `for v in &ch` (or `ch.iter()`) is
//! Go's `for v := range ch`: it receives until the channel is closed and
//! drained. A closed channel still hands out the values it buffered.

use gort::chan::Chan;

#[gort::main]
fn main() {
    let colours = Chan::new(3);
    for c in ["red", "green", "blue"] {
        colours.send(c).expect("open");
    }
    // Closed with three values still inside: the loop gets all three,
    // then ends instead of waiting for a fourth.
    colours.close();

    for colour in &colours {
        gort::println!("{colour}");
    }
    gort::println!("the loop ended: closed and empty");
}
