//! Go by Example: closing channels. `close()` says no more values will be
//! sent. Go's `v, ok := <-ch` is `ch.recv()` here: `Some(v)` for a value,
//! `None` once the channel is closed and its buffered values are gone.

use gort::chan::Chan;

#[gort::main]
fn main() {
    let tasks = Chan::new(4);
    let finished = Chan::<()>::new(0);

    let (input, report) = (tasks.clone(), finished.clone());
    gort::go(move || {
        loop {
            match input.recv() {
                Some(task) => gort::println!("worker got task {task}"),
                None => {
                    gort::println!("worker: no more tasks");
                    report.send(()).expect("main waits for this");
                    return;
                }
            }
        }
    });

    for task in [10, 20, 30] {
        tasks.send(task).expect("open");
        gort::println!("main sent task {task}");
    }
    gort::println!("main closes tasks");
    tasks.close();

    // Wait for the worker to see the close (channel synchronization).
    finished.recv();

    // Receiving from a closed, drained channel returns at once with None.
    let more = tasks.recv();
    gort::println!("another task? {more:?}");
}
