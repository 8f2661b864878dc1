//! Layer 1: everything that differs per OS or chip.
//!
//! Each backend is one file named for its OS and exports the same small set
//! of functions; nothing above this module mentions an OS or a `cfg` of one.
//!
//! The futex contract every backend keeps:
//! - `futex_wait(word, expected, timeout)` sleeps only while `*word ==
//!   expected` (checked atomically with going to sleep by the OS), may return
//!   early for any reason (signals, spurious wakeups), and returns `false`
//!   only when the timeout elapsed. `None` means no timeout. Timeouts too
//!   large to represent mean "wait forever", never an overflow panic.
//! - `futex_wake(word)` wakes at least one thread sleeping on `word` if there
//!   is one; `futex_wake_all(word)` wakes them all. Both may be called on an
//!   address nobody waits on.
//! - Timeouts are measured on `now_nanos()`'s clock, which each OS backend
//!   keeps in agreement with the clock its kernel waits on; `EINTR` and
//!   early kernel returns are retried until that deadline, so a signal never
//!   looks like a timeout and a wait never reports `false` early.
//! - A zero or expired timeout may report `false` without looking at the
//!   word: `false` never means "the word is unchanged".
//! - `now_nanos()` is one monotonic clock for the whole process (a reading
//!   on any thread is never behind an earlier reading on another: the timer
//!   thread and the sleepers compare across threads), in nanoseconds since
//!   an arbitrary start, used for deadlines and for the Mutex's starvation threshold.

#[cfg(all(target_os = "linux", not(loom)))]
mod linux;
#[cfg(all(target_os = "linux", not(loom)))]
pub(crate) use linux::*;

#[cfg(all(any(target_os = "macos", target_os = "ios"), not(loom)))]
mod macos;
#[cfg(all(any(target_os = "macos", target_os = "ios"), not(loom)))]
pub(crate) use macos::*;

#[cfg(all(windows, not(loom)))]
mod windows;
#[cfg(all(windows, not(loom)))]
pub(crate) use windows::*;

#[cfg(all(target_os = "freebsd", not(loom)))]
mod freebsd;
#[cfg(all(target_os = "freebsd", not(loom)))]
pub(crate) use freebsd::*;

#[cfg(all(unix, feature = "std", not(loom)))]
mod posix_faults;
#[cfg(all(unix, feature = "std", not(loom)))]
pub(crate) use posix_faults::{exit_now, on_memory_fault, page_size, write_stderr};

#[cfg(gort_gc)]
mod posix_stop;
#[cfg(gort_gc)]
pub(crate) use posix_stop::*;

#[cfg(all(unix, feature = "std", not(loom)))]
mod posix_memory;
/// Goroutine stacks for the M:N scheduler's pool (`task::stacks`): each
/// backend has `PooledStack<X>` (a corosensei `Stack` with the pool's data
/// `X` beside it), `StackCarver` (makes them; `Default`) and
/// `release_stack_pages` (gives idle stacks' pages back; the stacks it
/// leaves in the list are kept for reuse).
#[cfg(all(unix, gort_mn))]
pub(crate) use posix_memory::{PooledStack, StackCarver, release_stack_pages};
#[cfg(all(unix, feature = "std", not(loom)))]
pub(crate) use posix_memory::{guard_pages, map_region, unmap_region};

/// What a memory fault hook (`on_memory_fault`) is told. The hook, with
/// `write_stderr`, `exit_now` and `page_size`, serves the M:N scheduler's
/// stacks, so only its targets have them (Unix, Windows; not wasm).
#[cfg(gort_mn)]
#[derive(Clone, Copy, Debug)]
pub(crate) enum MemoryFault {
    /// An access to this address faulted (Unix signals, Windows access
    /// violations).
    At(usize),
    /// The running thread overflowed the stack it runs on (Windows reports
    /// this as such, without an address).
    #[cfg_attr(unix, allow(dead_code))]
    StackOverflow,
}

/// `n` in decimal, in `buf` (no allocation: usable in a signal handler).
#[cfg(any(gort_mn, all(gort_cores, feature = "board-rp2040")))]
pub(crate) fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Writes `parts` to standard error as one message (one write; cut at
/// 512 bytes), without allocating: for fatal errors from signal handlers
/// or a stopped world.
#[cfg(gort_mn)]
pub(crate) fn write_stderr_parts(parts: &[&[u8]]) {
    let mut msg = [0u8; 512];
    let mut len = 0;
    for part in parts {
        let take = part.len().min(msg.len() - len);
        msg[len..len + take].copy_from_slice(&part[..take]);
        len += take;
    }
    write_stderr(&msg[..len]);
}

/// How long one wait for a socket may last before the waiter retries its
/// call whatever the poller said: no limit but under Wine (see
/// `windows::socket_wait_limit`).
#[cfg(all(gort_net, not(windows)))]
pub(crate) fn socket_wait_limit() -> Option<core::time::Duration> {
    None
}

/// The size of a memory page: 4 KiB on every Windows target.
#[cfg(all(windows, feature = "std", not(loom)))]
pub(crate) fn page_size() -> usize {
    4096
}

/// The process's thread count; unknown here (wasm), so the deadlock
/// monitor stays off.
#[cfg(all(
    not(any(
        target_os = "linux",
        windows,
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd"
    )),
    feature = "std",
    not(loom)
))]
pub(crate) fn thread_count() -> Option<usize> {
    None
}

/// Elsewhere the system monitor does not see whether a thread is blocked
/// in the kernel: it goes by elapsed time alone.
#[cfg(all(gort_mn, not(target_os = "linux")))]
pub(crate) fn this_thread_token() -> u64 {
    0
}

#[cfg(all(gort_mn, not(target_os = "linux")))]
pub(crate) fn thread_blocked(_token: u64) -> Option<bool> {
    None
}

#[cfg(all(gort_mn, not(target_os = "linux")))]
pub(crate) fn precise_sleeps() {}

#[cfg(all(target_family = "wasm", not(loom)))]
mod wasm;
#[cfg(all(target_family = "wasm", not(loom)))]
pub(crate) use wasm::*;

/// Atomics for every algorithm (through `shim`): core's on hosted targets.
#[cfg(all(not(loom), not(target_os = "none")))]
pub(crate) mod atomic {
    #[allow(unused_imports)] // some are used by std-only modules
    pub use core::sync::atomic::{
        AtomicBool, AtomicI32, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering,
        fence,
    };
}
/// `Arc` and `Weak` (through `shim`): alloc's on hosted targets.
#[cfg(all(not(loom), not(target_os = "none")))]
pub(crate) use alloc::sync::{Arc, Weak};

#[cfg(all(target_os = "none", not(loom)))]
mod bare;
#[cfg(all(target_os = "none", not(loom)))]
pub(crate) use bare::*;

#[cfg(gort_cores)]
mod cortex_m;
#[cfg(gort_cores)]
pub(crate) use cortex_m::*;

#[cfg(all(gort_cores, feature = "board-mps2-an521"))]
mod mps2_an521;
#[cfg(all(gort_cores, feature = "board-mps2-an521"))]
pub(crate) use mps2_an521::*;

#[cfg(all(gort_cores, feature = "board-rp2040"))]
mod rp2040;
#[cfg(all(gort_cores, feature = "board-rp2040"))]
pub(crate) use rp2040::*;

#[cfg(any(all(feature = "std", not(loom)), gort_cores))]
mod short_lock;
#[cfg(any(all(feature = "std", not(loom)), gort_cores))]
pub(crate) use short_lock::*;

#[cfg(all(not(feature = "std"), not(target_os = "none")))]
compile_error!("gort without its `std` feature is for bare-metal targets (target_os = \"none\")");

// Under loom no OS backend is used: the futex is modelled.
#[cfg(loom)]
mod loom;
#[cfg(loom)]
pub(crate) use self::loom::{AtomicU32, futex_wait, futex_wake, futex_wake_all, yield_now};

#[cfg(feature = "std")]
mod clock_std;
#[cfg(feature = "std")]
pub(crate) use clock_std::now_nanos;

/// Gives the CPU to another ready thread, if any.
#[cfg(not(loom))]
#[allow(dead_code)]
pub(crate) fn yield_now() {
    #[cfg(feature = "std")]
    std::thread::yield_now();
    #[cfg(not(feature = "std"))]
    core::hint::spin_loop();
}

/// Number of CPUs the process may run on (at least 1).
#[cfg(all(feature = "std", not(loom)))]
pub(crate) fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Converts a relative timeout into an absolute deadline on `now_nanos()`'s
/// clock; `None` when it does not fit (treated as "no timeout").
#[allow(dead_code)]
pub(crate) fn deadline_after(timeout: core::time::Duration) -> Option<u64> {
    let nanos = u64::try_from(timeout.as_nanos()).ok()?;
    now_nanos().checked_add(nanos)
}
