//! Go by Example: goroutines. A call runs to completion before the next
//! statement; `gort::go` starts the same call concurrently and returns at
//! once. Here the goroutines' lines interleave in an order that changes
//! from run to run; a WaitGroup waits for them (Go's example sleeps).

use gort::sync::WaitGroup;

fn count(who: &str) {
    for i in 0..3 {
        gort::println!("{who} : {i}");
        gort::gosched(); // let the others interleave, as printing would in Go
    }
}

#[gort::main]
fn main() {
    // An ordinary call: all three lines before anything else.
    count("direct");

    let wg = WaitGroup::new();

    // The same function as a goroutine.
    wg.add(1);
    let done = wg.clone();
    gort::go(move || {
        count("goroutine");
        done.done();
    });

    // A closure as a goroutine, with its argument moved in.
    wg.add(1);
    let done = wg.clone();
    let msg = String::from("going");
    gort::go(move || {
        gort::println!("{msg}");
        done.done();
    });

    wg.wait();
    gort::println!("done");
}
