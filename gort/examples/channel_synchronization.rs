//! Go by Example: channel synchronization. A goroutine reports that it is
//! finished by sending on a channel, and the receiver waits for that
//! message. In Go the channel is `chan bool`; a `Chan<()>` says the same
//! with no value. (To wait for many goroutines, see `waitgroups`.)

use std::time::Duration;

use gort::chan::Chan;

/// Does some work, then says so on `done`.
fn worker(done: Chan<()>) {
    gort::println!("worker: started");
    gort::time::sleep(Duration::from_millis(20));
    gort::println!("worker: finished");
    done.send(()).expect("main waits for this");
}

#[gort::main]
fn main() {
    // One place of buffer: the worker's send never waits for main.
    let done = Chan::new(1);
    let signal = done.clone();
    gort::go(move || worker(signal));

    // Without this receive, main could return (ending the process) before
    // the worker ran at all.
    done.recv().expect("the worker sends before anyone closes");
    gort::println!("main: worker is done");
}
