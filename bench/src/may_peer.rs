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
