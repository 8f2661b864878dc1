//! Helpers shared by workload families: start N threads together and time
//! them, check results so the work cannot be optimized away.
//!
//! Invariant of every timed start here: the clock starts before any party
//! can begin its work. Parties wait at a gate that the measuring side
//! opens only after reading the clock (`Gate`; a gort channel closed, for
//! goroutines). A barrier would not do: the parties it releases may run
//! the whole workload while the measuring thread is still being woken
//! from it, and the run then measures (nearly) nothing.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The start line of OS-thread parties: each `arrive`s and waits; the
/// measuring thread waits for all of them in `open`, reads the clock, and
/// only then lets them go.
#[derive(Default)]
pub struct Gate {
    /// (parties arrived, open)
    state: Mutex<(usize, bool)>,
    changed: Condvar,
}

impl Gate {
    /// A party's side: counts itself in, then waits until the gate opens.
    pub fn arrive(&self) {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        st.0 += 1;
        self.changed.notify_all();
        while !st.1 {
            st = self
                .changed
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The measuring side: waits until `parties` have arrived, then reads
    /// the clock and opens the gate; returns the start time.
    pub fn open(&self, parties: usize) -> Instant {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        while st.0 < parties {
            st = self
                .changed
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let start = Instant::now();
        st.1 = true;
        self.changed.notify_all();
        start
    }
}

/// Runs `body(t)` on `threads` scoped OS threads that start together, and
/// returns the time from their common start until the last one finished.
/// Spawning the threads is outside the measurement.
pub fn timed_threads<F>(threads: usize, body: F) -> Duration
where
    F: Fn(usize) + Sync,
{
    let gate = Gate::default();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (gate, body) = (&gate, &body);
                s.spawn(move || {
                    gate.arrive();
                    body(t);
                })
            })
            .collect();
        let start = gate.open(threads);
        for h in handles {
            h.join().expect("benchmark thread panicked");
        }
        start.elapsed()
    })
}

/// Runs `body(t)` on `n` gort goroutines that start together (see
/// `timed_goroutines`); the goroutine counterpart of `timed_threads`.
pub fn timed_goroutine_workers<F>(n: usize, body: F) -> Duration
where
    F: Fn(usize) + Send + Sync + 'static,
{
    let body = std::sync::Arc::new(body);
    let parties = (0..n)
        .map(|t| {
            let body = body.clone();
            Box::new(move || {
                body(t);
                0u64
            }) as Party
        })
        .collect();
    timed_goroutines(parties)
        .expect("benchmark goroutine panicked")
        .0
}

/// Times `f` on the calling thread.
pub fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// Runs `f` on a goroutine and returns its result: gort's side spawns from
/// a goroutine, as a Go program's `main` does.
pub fn in_goroutine<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match gort::spawn(f).join() {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    }
}

/// What each goroutine of a fan-out runs, given its index.
pub type FanOutBody = std::sync::Arc<dyn Fn(u64) + Send + Sync>;

/// From a goroutine: starts `n` goroutines (`gort::go`) running `body(i)`
/// and waits for them with a gort `WaitGroup` (Go's idiom); returns the
/// time from the first start to the last `done`.
pub fn gort_fan_out(n: u64, body: FanOutBody) -> Duration {
    in_goroutine(move || {
        let wg = gort::sync::WaitGroup::new();
        timed(|| {
            wg.add(n as isize);
            for i in 0..n {
                let (wg, body) = (wg.clone(), body.clone());
                gort::go(move || {
                    body(i);
                    wg.done();
                });
            }
            wg.wait();
        })
    })
}

/// Fails a run whose result shows the work was not all done.
pub fn check(what: &str, got: u64, want: u64) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got}, want {want}"))
    }
}

/// One participant of a multi-party run (a producer, a consumer, ...),
/// started on its own goroutine or thread; it returns a checksum (e.g. the
/// sum of the values it received) that the workload checks afterwards.
pub type Party = Box<dyn FnOnce() -> u64 + Send + 'static>;

/// What a multi-party run gives back: the time from the common start until
/// the last party finished, and each party's checksum in order.
pub type PartyResult = Result<(Duration, Vec<u64>), String>;

/// Runs each party on its own gort goroutine (`gort::spawn`). They all wait
/// at a start gate (a gort `WaitGroup` to know they are ready, then a gort
/// channel closed to release them), so starting the goroutines is outside
/// the measurement; only gort primitives block the goroutines, which keeps
/// this valid under any gort scheduler.
pub fn timed_goroutines(parties: Vec<Party>) -> PartyResult {
    let ready = gort::sync::WaitGroup::new();
    let gate = gort::chan::Chan::<()>::new(0);
    ready.add(parties.len() as isize);
    let handles: Vec<_> = parties
        .into_iter()
        .map(|party| {
            let (ready, gate) = (ready.clone(), gate.clone());
            gort::spawn(move || {
                ready.done();
                let _ = gate.recv(); // None once closed: go
                party()
            })
        })
        .collect();
    ready.wait();
    let start = Instant::now();
    gate.close();
    let results: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
    let elapsed = start.elapsed();
    collect(elapsed, results)
}

/// Runs each party on its own `std::thread`, started together at a
/// `Gate`; spawning is outside the measurement.
pub fn timed_os_threads(parties: Vec<Party>) -> PartyResult {
    let gate = std::sync::Arc::new(Gate::default());
    let n = parties.len();
    let handles: Vec<_> = parties
        .into_iter()
        .map(|party| {
            let gate = gate.clone();
            std::thread::spawn(move || {
                gate.arrive();
                party()
            })
        })
        .collect();
    let start = gate.open(n);
    let results: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
    let elapsed = start.elapsed();
    collect(elapsed, results)
}

/// Each party's checksum, or which one panicked.
pub fn collect(elapsed: Duration, results: Vec<std::thread::Result<u64>>) -> PartyResult {
    let mut sums = Vec::with_capacity(results.len());
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(v) => sums.push(v),
            Err(p) => {
                let msg = p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(non-string panic payload)".into());
                return Err(format!("party {i} panicked: {msg}"));
            }
        }
    }
    Ok((elapsed, sums))
}
