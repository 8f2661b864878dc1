//! wasm32 with threads (`wasm32-wasip1-threads`): the futex on wasm.
//!
//! The wasm instructions `memory.atomic.wait32` / `memory.atomic.notify` are
//! this target's futex, but stable Rust cannot reach them
//! (`core::arch::wasm32::memory_atomic_wait32` is unstable, and so is wasm
//! `asm!`). So there are two implementations:
//!
//! - Default (stable): a fixed table of buckets chosen by hashing the word's
//!   address, each a std `Mutex<()>` plus a `Condvar` (std's own compile to
//!   the wait/notify instructions on this target). A waiter locks its bucket,
//!   returns at once if the word no longer equals `expected`, and otherwise
//!   sleeps on the condvar, which releases the lock only once the waiter is
//!   queued. A waker stores to the word *before* calling `futex_wake`, which
//!   locks the same bucket before notifying. No wakeup is lost: either the
//!   waker's lock comes after the waiter's compare-and-sleep, and the
//!   waiter is queued on the condvar when `notify_all` runs, or it comes
//!   before, and the lock's release/acquire makes the store visible to the
//!   waiter's compare, so the waiter does not sleep. Buckets are shared by
//!   addresses that hash alike, so wakes use `notify_all` (`notify_one` could
//!   wake a waiter on another address and leave ours asleep); waiters on the
//!   other addresses see a spurious wakeup, which the contract allows.
//! - Feature `nightly-wasm-atomics` (nightly only): the instructions
//!   themselves through `core::arch::wasm32`, keyed by the exact address.
//!   Needs `feature(stdarch_wasm_atomic_wait)` at the crate root.
//!
//! Both measure timeouts as a deadline on `now_nanos()`'s clock: a timeout
//! the runtime reports before that deadline is waited out again, so `false`
//! never comes early.

#[cfg(not(feature = "nightly-wasm-atomics"))]
pub(crate) use table::{futex_wait, futex_wake, futex_wake_all};

#[cfg(feature = "nightly-wasm-atomics")]
pub(crate) use direct::{futex_wait, futex_wake, futex_wake_all};

#[cfg(not(feature = "nightly-wasm-atomics"))]
mod table {
    use core::sync::atomic::{AtomicU32, Ordering};
    use core::time::Duration;
    use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

    use crate::platform::{deadline_after, now_nanos};

    /// Number of buckets (a power of two; `SHIFT` picks the top bits).
    const BUCKETS: usize = 64;
    const SHIFT: u32 = 32 - BUCKETS.trailing_zeros();

    /// One lock + condvar, padded so neighbouring buckets do not share a
    /// cache line.
    #[repr(align(64))]
    struct Bucket {
        lock: Mutex<()>,
        cond: Condvar,
    }

    static TABLE: [Bucket; BUCKETS] = [const {
        Bucket {
            lock: Mutex::new(()),
            cond: Condvar::new(),
        }
    }; BUCKETS];

    /// The bucket for `word`: Fibonacci hashing of the address (words are
    /// 4-aligned, so the low two bits carry nothing; on wasm64 the cast
    /// drops the high address bits, which is fine for a hash).
    fn bucket(word: &AtomicU32) -> &'static Bucket {
        let addr = word.as_ptr().addr() as u32 >> 2;
        &TABLE[(addr.wrapping_mul(0x9E37_79B9) >> SHIFT) as usize]
    }

    fn lock(bucket: &Bucket) -> MutexGuard<'_, ()> {
        // Panics abort on wasm, so the lock cannot really be poisoned; and
        // the `()` it guards has no state to be left half-updated anyway.
        bucket.lock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
        // No deadline (none given, or too far to represent) = forever.
        let deadline = timeout.and_then(deadline_after);
        let bucket = bucket(word);
        let mut guard = lock(bucket);
        loop {
            // Under the bucket lock: a waker's store made before its `lock`
            // is visible here, and its notify cannot run until we are queued.
            // Checked again after an early timeout, since a store + wake may
            // have come between the condvar's timeout and its relock.
            if word.load(Ordering::Acquire) != expected {
                return true;
            }
            let Some(deadline) = deadline else {
                let _guard = bucket.cond.wait(guard);
                return true;
            };
            let now = now_nanos();
            if now >= deadline {
                return false;
            }
            // Any wakeup (ours, a neighbour's in the bucket, or spurious)
            // returns `true`; callers re-check and wait again if needed.
            let (g, result) = bucket
                .cond
                .wait_timeout(guard, Duration::from_nanos(deadline - now))
                .unwrap_or_else(PoisonError::into_inner);
            if !result.timed_out() {
                return true;
            }
            guard = g;
        }
    }

    pub(crate) fn futex_wake(word: &AtomicU32) {
        // `notify_all`, not `notify_one`: the bucket may hold waiters on
        // other addresses (see the module comment).
        futex_wake_all(word);
    }

    pub(crate) fn futex_wake_all(word: &AtomicU32) {
        let bucket = bucket(word);
        let _guard = lock(bucket);
        bucket.cond.notify_all();
    }
}

#[cfg(feature = "nightly-wasm-atomics")]
mod direct {
    use core::arch::wasm32::{memory_atomic_notify, memory_atomic_wait32};
    use core::sync::atomic::AtomicU32;
    use core::time::Duration;

    use crate::platform::{deadline_after, now_nanos};

    /// `memory.atomic.wait32` result meaning the timeout elapsed.
    const TIMED_OUT: i32 = 2;

    pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
        // No deadline (none given, or too far to represent) = forever.
        let deadline = timeout.and_then(deadline_after);
        loop {
            // A negative timeout means "forever".
            let timeout_ns = match deadline {
                None => -1,
                Some(deadline) => {
                    let now = now_nanos();
                    if now >= deadline {
                        return false;
                    }
                    i64::try_from(deadline - now).unwrap_or(-1)
                }
            };
            // SAFETY: `word` is a live, 4-aligned u32 for the whole call and
            // the instruction only reads it (atomically, as an `i32` with the
            // same bits as `expected`). It compares and enqueues as one step,
            // which is the futex contract. On a memory that is not shared it
            // traps instead of sleeping, but on this target every thread's
            // memory is.
            let r = unsafe {
                memory_atomic_wait32(
                    word.as_ptr().cast::<i32>(),
                    expected.cast_signed(),
                    timeout_ns,
                )
            };
            // 0 = woken by notify, 1 = word differed, 2 = timed out (then
            // loop: wait out what is left of the deadline on our clock).
            if r != TIMED_OUT || deadline.is_none() {
                return true;
            }
        }
    }

    pub(crate) fn futex_wake(word: &AtomicU32) {
        notify(word, 1);
    }

    pub(crate) fn futex_wake_all(word: &AtomicU32) {
        notify(word, u32::MAX);
    }

    fn notify(word: &AtomicU32, count: u32) {
        // SAFETY: `notify` only uses the address as a key and writes no
        // memory; `word` is live and aligned for the call.
        unsafe {
            memory_atomic_notify(word.as_ptr().cast::<i32>(), count);
        }
    }
}

/// Writes straight to standard error, for fatal errors (no lock, no
/// allocation).
pub(crate) fn write_stderr(bytes: &[u8]) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(bytes);
}

/// Ends the process at once with `code` (WASI's `proc_exit`: no
/// destructors, no other thread runs on).
pub(crate) fn exit_now(code: i32) -> ! {
    std::process::exit(code)
}
