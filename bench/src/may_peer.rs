//! The `may` peer: Rust's stackful-coroutine runtime, the closest thing to
//! goroutines among the peers. Its workers are set once, to `GOMAXPROCS`
//! (as gort's), before its first coroutine.

use std::sync::Once;

/// Label prefix for may's contenders.
pub const LABEL: &str = "may::go! coroutines";

/// Runs `f` as a may coroutine and returns its result (the spawning side
/// of a workload is a coroutine, as gort's is a goroutine and Go's `main`
/// is one).
pub fn in_coroutine<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    static CONFIGURED: Once = Once::new();
    CONFIGURED.call_once(|| {
        may::config().set_workers(gort::gomaxprocs());
    });
    match may::go!(f).join() {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e),
    }
}

/// From a coroutine: starts `n` coroutines running `body(i)` and waits for
/// them with may's `WaitGroup` (a clone each, dropped as its `done`).
pub fn may_fan_out(n: u64, body: crate::harness::FanOutBody) -> std::time::Duration {
    in_coroutine(move || {
        crate::harness::timed(|| {
            let wg = may::sync::WaitGroup::new();
            for i in 0..n {
                let (wg, body) = (wg.clone(), body.clone());
                may::go!(move || {
                    body(i);
                    drop(wg);
                });
            }
            wg.wait();
        })
    })
}

/// Runs each party on its own may coroutine, started together from a
/// coroutine: each says it is ready (dropping its clone of a may
/// `WaitGroup`) and waits for a gate (a may channel whose sender is then
/// dropped), so starting the coroutines is outside the measurement.
pub fn timed_coroutines(parties: Vec<crate::harness::Party>) -> crate::harness::PartyResult {
    in_coroutine(move || {
        let ready = may::sync::WaitGroup::new();
        let (gate, gate_rx) = may::sync::mpmc::channel::<()>();
        let handles: Vec<_> = parties
            .into_iter()
            .map(|party| {
                let (ready, gate_rx) = (ready.clone(), gate_rx.clone());
                may::go!(move || {
                    drop(ready);
                    let _ = gate_rx.recv(); // Err once the gate is dropped: go
                    party()
                })
            })
            .collect();
        ready.wait();
        let start = std::time::Instant::now();
        drop((gate, gate_rx));
        let results: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        crate::harness::collect(start.elapsed(), results)
    })
}
