//! Go by Example: WaitGroups. `WaitGroup` is Go's `sync.WaitGroup`: `add`
//! before starting a goroutine, `done` when it ends, `wait` parks until the
//! count is back to zero. Go shares the group by pointer; here each
//! goroutine gets a clone, a handle to the same counter. `wg.go(f)` (Go
//! 1.25's `wg.Go`) does the add, the goroutine and the done in one call.

use std::time::Duration;

use gort::sync::WaitGroup;

/// A task that takes a little while.
fn task(id: u32) {
    gort::println!("task {id} begins");
    gort::time::sleep(Duration::from_millis(5));
    gort::println!("task {id} ends");
}

#[gort::main]
fn main() {
    let wg = WaitGroup::new();

    for id in 1..=4 {
        wg.add(1);
        let wg = wg.clone();
        gort::go(move || {
            task(id);
            wg.done(); // Go would `defer wg.Done()`
        });
    }

    // The same, in one call each.
    for id in 5..=6 {
        wg.go(move || task(id));
    }

    // Blocks until all six called done; the tasks finish in any order.
    wg.wait();
    gort::println!("all tasks ended");
}
