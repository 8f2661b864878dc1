//! Linux: `futex(2)` with `FUTEX_PRIVATE_FLAG`.
//!
//! Timed waits use `FUTEX_WAIT_BITSET` with an absolute `CLOCK_MONOTONIC`
//! deadline, so retrying after `EINTR` never stretches the timeout.

use core::sync::atomic::AtomicU32;
use core::time::Duration;

pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    let deadline = timeout.and_then(absolute_deadline);
    loop {
        let ts_ptr = deadline
            .as_ref()
            .map_or(core::ptr::null(), |ts| ts as *const libc::timespec);
        // SAFETY: `word` is a valid, aligned u32 for the duration of the call;
        // `ts_ptr` is null or points at a live timespec; the kernel only reads
        // both. FUTEX_WAIT_BITSET with MATCH_ANY behaves as FUTEX_WAIT but
        // takes an absolute deadline.
        let r = unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG,
                expected,
                ts_ptr,
                core::ptr::null::<u32>(),
                !0u32, // FUTEX_BITSET_MATCH_ANY
            )
        };
        if r == 0 {
            return true;
        }
        match errno() {
            libc::EINTR => continue,
            libc::ETIMEDOUT => return false,
            // EAGAIN: the word no longer equals `expected`.
            _ => return true,
        }
    }
}

pub(crate) fn futex_wake(word: &AtomicU32) {
    wake(word, 1);
}

pub(crate) fn futex_wake_all(word: &AtomicU32) {
    wake(word, i32::MAX);
}

fn wake(word: &AtomicU32, count: i32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key; it never writes
    // memory, and `word` is live for the call.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            count,
        );
    }
}

/// `CLOCK_MONOTONIC` now + `timeout`, or `None` when it does not fit.
// `time_t` and `c_long` are 32 bits on some Linux targets: keep the
// conversions even where they are no-ops.
#[allow(clippy::useless_conversion)]
fn absolute_deadline(timeout: Duration) -> Option<libc::timespec> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid out-pointer; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    let secs = i64::try_from(timeout.as_secs()).ok()?;
    let mut tv_sec = i64::from(now.tv_sec).checked_add(secs)?;
    let mut tv_nsec = i64::from(now.tv_nsec) + i64::from(timeout.subsec_nanos());
    if tv_nsec >= 1_000_000_000 {
        tv_nsec -= 1_000_000_000;
        tv_sec = tv_sec.checked_add(1)?;
    }
    Some(libc::timespec {
        tv_sec: tv_sec.try_into().ok()?,
        tv_nsec: tv_nsec.try_into().ok()?,
    })
}

fn errno() -> i32 {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() }
}

/// The process's thread count, as the kernel reports it.
pub(crate) fn thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

/// A token naming the calling thread, for `thread_blocked` (0: none).
pub(crate) fn this_thread_token() -> u64 {
    // SAFETY: gettid has no preconditions.
    u64::try_from(unsafe { libc::gettid() }).unwrap_or(0)
}

/// Whether the thread named by `this_thread_token`'s token is blocked in
/// the kernel (sleeping, not runnable); `None` if unknown. Reads
/// `/proc`: for the system monitor, not for hot paths.
pub(crate) fn thread_blocked(token: u64) -> Option<bool> {
    if token == 0 {
        return None;
    }
    let stat = std::fs::read_to_string(format!("/proc/self/task/{token}/stat")).ok()?;
    // "tid (comm) S ...": the state follows the last ')'.
    let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
    Some(matches!(state, 'S' | 'D'))
}

/// Makes the calling thread's short sleeps last what they ask (the
/// kernel's default timer slack adds up to 50 µs to each).
pub(crate) fn precise_sleeps() {
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer argument.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong) };
}
