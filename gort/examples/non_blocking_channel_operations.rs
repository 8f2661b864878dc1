//! Go by Example: non-blocking channel operations. A `select!` with a
//! `default` case never waits: if no case can complete right now, the
//! default body runs (Go's `select` with `default`). For one operation,
//! `try_recv` and `try_send` do the same.

use gort::chan::Chan;

#[gort::main]
fn main() {
    let orders = Chan::<&str>::new(0);
    let alerts = Chan::<bool>::new(0);

    // Nothing was sent: the receive cannot complete, so default runs.
    gort::select! {
        recv(orders) -> order => gort::println!("got order {}", order.unwrap()),
        default => gort::println!("no order waiting"),
    }

    // Unbuffered and no receiver waiting: the send cannot complete either.
    let order = "two coffees";
    gort::select! {
        send(orders, order) -> _ => gort::println!("placed {order}"),
        default => gort::println!("nobody took {order}"),
    }

    // Several cases, none ready: still no waiting.
    gort::select! {
        recv(orders) -> order => gort::println!("got order {}", order.unwrap()),
        recv(alerts) -> alert => gort::println!("got alert {}", alert.unwrap()),
        default => gort::println!("all quiet"),
    }

    // With room in a buffer the same operations succeed at once.
    let tray = Chan::new(1);
    match tray.try_send("one tea") {
        Ok(()) => gort::println!("placed one tea"),
        Err(e) => gort::println!("not placed: {e}"),
    }
    match tray.try_recv() {
        Ok(order) => gort::println!("got order {order}"),
        Err(e) => gort::println!("no order: {e}"),
    }
}
