//! CPU time of a run: the process's user + system time (every thread, the
//! ended ones included: `getrusage(RUSAGE_SELF)`), read before the run and
//! after it once the process has gone quiet again.
//!
//! Invariants:
//! - A run is billed from just before it starts until its threads are
//!   idle after it: `settle` waits for the first `WINDOW` in which the
//!   whole process used less than `QUIET` of CPU, and the reading taken
//!   at that window's start ends the run. So workers that spin after the
//!   work is done count (users pay for that spinning), and the quiet
//!   window itself does not.
//! - Before a run, `settle` again: what an earlier run's threads still
//!   burn (a peer's runtime winding down, gort's workers spinning before
//!   they sleep) is over before the first reading, so it bills no one.
//!   Threads that stay busy longer than `LIMIT` (none should) bill
//!   whichever run comes next; idle threads (gort's parked workers) cost
//!   nothing.
//! - The same rule on every side: in-process runs (`runner`), a child
//!   process's run (`child`, `gort-bench-gc`), and the Go program, which
//!   reads its own `getrusage` the same way around its workload.
//! - Without `getrusage` (not Unix), there is no reading: `None`, shown as
//!   `n/a`.

use std::time::{Duration, Instant};

/// A quiet window: the process used less than `QUIET` of CPU in it.
const WINDOW: Duration = Duration::from_millis(10);
/// 10% of one CPU over `WINDOW`: a spinning thread uses all of it.
const QUIET: Duration = Duration::from_millis(1);
/// The longest wait for quiet.
const LIMIT: Duration = Duration::from_secs(1);

/// User + system CPU time of the whole process so far.
#[cfg(unix)]
pub fn process() -> Option<Duration> {
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable `rusage` for the call to fill.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return None;
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Some(time(ru.ru_utime) + time(ru.ru_stime))
}

/// No reading here.
#[cfg(not(unix))]
pub fn process() -> Option<Duration> {
    None
}

/// Waits (at most `LIMIT`) until the process is quiet, and returns its
/// CPU time at the start of the first quiet window.
pub fn settle() -> Option<Duration> {
    let started = Instant::now();
    let mut before = process()?;
    loop {
        std::thread::sleep(WINDOW);
        let now = process()?;
        if now.saturating_sub(before) < QUIET || started.elapsed() >= LIMIT {
            return Some(before);
        }
        before = now;
    }
}

/// Runs `f` and returns its result with the CPU seconds it cost the
/// process (see the module's invariants), `None` where there is no
/// reading.
pub fn measured<T>(f: impl FnOnce() -> T) -> (T, Option<f64>) {
    let before = settle();
    let r = f();
    let after = settle();
    let cpu = match (before, after) {
        (Some(b), Some(a)) => Some(a.saturating_sub(b).as_secs_f64()),
        _ => None,
    };
    (r, cpu)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CPU a run's other thread burns is billed to the run, all of it:
    /// the thread spins until the process's own reading has moved on by
    /// `BURN` (so the check holds however loaded the machine is).
    #[test]
    fn a_busy_thread_is_billed() {
        const BURN: Duration = Duration::from_millis(30);
        let Some(_) = process() else {
            return; // no reading on this system
        };
        let ((), cpu) = measured(|| {
            std::thread::spawn(|| {
                let (start, t) = (process().unwrap(), Instant::now());
                while process().unwrap() - start < BURN && t.elapsed() < Duration::from_secs(60) {
                    std::hint::spin_loop();
                }
            })
            .join()
            .unwrap();
        });
        let cpu = cpu.unwrap();
        assert!(cpu >= BURN.as_secs_f64(), "{cpu}");
    }
}
