//! Helpers shared by workload families: start N threads together and time
//! them, check results so the work cannot be optimized away.

use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Runs `body(t)` on `threads` scoped OS threads that start together, and
/// returns the time from their common start until the last one finished.
/// Spawning the threads is outside the measurement.
pub fn timed_threads<F>(threads: usize, body: F) -> Duration
where
    F: Fn(usize) + Sync,
{
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (barrier, body) = (&barrier, &body);
                s.spawn(move || {
                    barrier.wait();
                    body(t);
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for h in handles {
            h.join().expect("benchmark thread panicked");
        }
        start.elapsed()
    })
}

/// Times `f` on the calling thread.
pub fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// Fails a run whose result shows the work was not all done.
pub fn check(what: &str, got: u64, want: u64) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got}, want {want}"))
    }
}
