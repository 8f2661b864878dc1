//! Go by Example: channel directions. A parameter of type `SendOnly<T>`
//! (Go's `chan<- T`) may only send, one of type `RecvOnly<T>` (Go's
//! `<-chan T`) may only receive; the compiler rejects the other operation.
//! `ch.send_only()` and `ch.recv_only()` make these views of a `Chan<T>`.

use gort::chan::{Chan, RecvOnly, SendOnly};

/// Only sends: `serves` is send-only.
fn order(serves: SendOnly<String>, dish: &str) {
    serves.send(dish.to_string()).expect("open");
}

/// Receives from `serves`, sends on `plates`.
fn cook(serves: RecvOnly<String>, plates: SendOnly<String>) {
    let dish = serves.recv().expect("an order was placed");
    plates.send(format!("cooked {dish}")).expect("open");
}

/// A direction view works in `select!` too, on its own side: this offers
/// `dish` to `plates` without waiting, and says whether it was taken.
fn offer(plates: SendOnly<String>, dish: &str) -> bool {
    gort::select! {
        send(plates, dish.to_string()) -> res => res.is_ok(),
        default => false,
    }
}

#[gort::main]
fn main() {
    // One place each, so these calls need no other goroutine.
    let serves = Chan::new(1);
    let plates = Chan::new(1);

    order(serves.send_only(), "noodles");
    cook(serves.recv_only(), plates.send_only());
    gort::println!("{}", plates.recv().expect("cook sent one"));

    // `plates` is empty again: the first offer fills it, the second finds
    // it full.
    for dish in ["soup", "salad"] {
        let taken = offer(plates.send_only(), dish);
        gort::println!("{dish} offered: {}", if taken { "taken" } else { "full" });
    }
    gort::println!("{}", plates.recv().expect("soup was taken"));
}
