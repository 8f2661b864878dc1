//! Go by Example: context. A `gort::context::Context` carries a
//! cancellation signal (and values) down a tree of calls, like Go's
//! `context.Context`: `ctx.done()` is a channel closed when the context
//! ends, for a `select!`; `ctx.err()` says why. Cancelling a context ends
//! its whole subtree; a deadline ends it on time.

use std::time::Duration;

use gort::context::{self, Context};
use gort::time::Instant;

/// The value a request carries in its context (keyed by its type, as Go
/// code keys values by a private type).
struct RequestId(u32);

/// Work that takes an hour, unless its context ends first. It reports
/// which came first.
fn handle(name: &'static str, ctx: Context) -> String {
    let id = match ctx.value::<RequestId>() {
        Some(RequestId(n)) => format!(" (request {n})"),
        None => String::new(),
    };
    let finished = gort::time::after(Duration::from_secs(3600));
    let done = ctx.done();
    gort::select! {
        recv(finished) -> _ => format!("{name}{id}: finished"),
        recv(done) -> _ => format!("{name}{id}: {}", ctx.err().unwrap()),
    }
}

/// A context's state in words.
fn state(ctx: &Context) -> String {
    ctx.err().map_or("not done".into(), |e| e.to_string())
}

#[gort::main]
fn main() {
    // A tree: root -> {a, b}; a -> a.req (carries a value); a -> a.c.
    let (root, cancel_root) = context::with_cancel(&context::background());
    let (a, _cancel_a) = context::with_cancel(&root);
    let (b, cancel_b) = context::with_cancel(&root);
    let req = context::with_value(&a, RequestId(42));
    let (c, _cancel_c) = context::with_timeout(&a, Duration::from_secs(3600));
    // A separate tree, for contrast.
    let (other, _cancel_other) = context::with_cancel(&context::background());

    let nodes = [("a", a), ("b", b.clone()), ("a.req", req), ("a.c", c)];
    let workers: Vec<_> = nodes
        .into_iter()
        .map(|(name, ctx)| gort::spawn(move || handle(name, ctx)))
        .collect();

    // Cancelling a leaf ends that leaf alone.
    cancel_b.cancel();
    gort::println!("cancelled b: b {}, root {}", state(&b), state(&root));

    // Cancelling the root reaches every node under it, however deep (a.c
    // too, although its own deadline is an hour away).
    cancel_root.cancel();
    for worker in workers {
        gort::println!("{}", worker.join().unwrap());
    }
    gort::println!("root: {}", state(&root));
    gort::println!("the other tree: {}", state(&other));

    // A deadline: the context ends by itself when it passes.
    let (timed, cancel_timed) = context::with_deadline(
        &context::background(),
        Instant::now() + Duration::from_millis(20),
    );
    // A child asking for a later deadline keeps its parent's earlier one.
    let (inner, _cancel_inner) = context::with_timeout(&timed, Duration::from_secs(3600));
    gort::println!(
        "inner has its parent's deadline: {}",
        inner.deadline() == timed.deadline()
    );
    gort::println!("{}", handle("slow", inner.clone()));
    gort::println!("timed: {}", state(&timed));
    // Go code calls cancel when done with a context (`defer cancel()`),
    // even after its deadline; then it changes nothing.
    cancel_timed.cancel();
    gort::println!("timed after cancel: {}", state(&timed));

    // Work that ends well before its deadline (ten seconds away).
    let (quick, cancel_quick) =
        context::with_timeout(&context::background(), Duration::from_secs(10));
    let done = quick.done();
    let answer = gort::chan::Chan::new(1);
    answer.send("quick work finished").unwrap();
    gort::select! {
        recv(answer) -> v => gort::println!("{}", v.unwrap()),
        recv(done) -> _ => gort::println!("quick work: {}", state(&quick)),
    }
    gort::println!("quick before cancel: {}", state(&quick));
    cancel_quick.cancel();
    gort::println!("quick after cancel: {}", state(&quick));
}
