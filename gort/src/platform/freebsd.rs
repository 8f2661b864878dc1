//! FreeBSD: `_umtx_op(2)` with `UMTX_OP_WAIT_UINT_PRIVATE` and
//! `UMTX_OP_WAKE_PRIVATE` on a process-private 32-bit word. Timed waits pass a
//! `struct _umtx_time` with `UMTX_ABSTIME` on `CLOCK_MONOTONIC`, so retrying
//! after `EINTR` never stretches the timeout.

use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::AtomicU32;
use core::time::Duration;

/// `_umtx_time::_clockid` is a `u32`; libc's `clockid_t` is `c_int` (the
/// monotonic clock is id 4, so the cast is lossless).
const CLOCK_MONOTONIC_ID: u32 = libc::CLOCK_MONOTONIC as u32;

/// Waking "all" is a count of `INT_MAX`: the kernel reads the count as an int.
const WAKE_ALL: libc::c_ulong = i32::MAX as libc::c_ulong;

pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    // `None` (no timeout, or one too large to represent) waits forever.
    let deadline = timeout.and_then(absolute_deadline);
    // For the timed form `uaddr` carries the size of the struct that `uaddr2`
    // points at; that is how the kernel tells `_umtx_time` from a timespec.
    let (size_arg, time_ptr) = match &deadline {
        Some(t) => (
            ptr::without_provenance_mut::<c_void>(core::mem::size_of_val(t)),
            ptr::from_ref(t).cast_mut().cast::<c_void>(),
        ),
        None => (ptr::null_mut(), ptr::null_mut()),
    };
    loop {
        // SAFETY: `word` is a live, aligned u32 for the whole call and the
        // kernel only reads it; `time_ptr` is null or points at `deadline`,
        // a live `_umtx_time` whose size `size_arg` states, and is only read.
        let r = unsafe {
            libc::_umtx_op(
                word.as_ptr().cast::<c_void>(),
                libc::UMTX_OP_WAIT_UINT_PRIVATE,
                libc::c_ulong::from(expected),
                size_arg,
                time_ptr,
            )
        };
        if r == 0 {
            // Woken, or the word no longer held `expected`.
            return true;
        }
        match errno() {
            // The deadline is absolute: retrying cannot stretch it.
            libc::EINTR => continue,
            libc::ETIMEDOUT => return false,
            _ => return true,
        }
    }
}

pub(crate) fn futex_wake(word: &AtomicU32) {
    wake(word, 1);
}

pub(crate) fn futex_wake_all(word: &AtomicU32) {
    wake(word, WAKE_ALL);
}

fn wake(word: &AtomicU32, count: libc::c_ulong) {
    // SAFETY: UMTX_OP_WAKE_PRIVATE uses the address only as a key and reads
    // no memory; `word` is live for the call; both extra arguments are unused.
    unsafe {
        libc::_umtx_op(
            word.as_ptr().cast::<c_void>(),
            libc::UMTX_OP_WAKE_PRIVATE,
            count,
            ptr::null_mut(),
            ptr::null_mut(),
        );
    }
}

/// `CLOCK_MONOTONIC` now + `timeout` as an absolute `_umtx_time`, or `None`
/// when it does not fit (then the wait has no timeout).
fn absolute_deadline(timeout: Duration) -> Option<libc::_umtx_time> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid out-pointer; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    // Checked Duration arithmetic, with no casts that differ between
    // 64-bit and 32-bit `time_t` / `c_long`.
    let now = Duration::new(
        u64::try_from(now.tv_sec).ok()?,
        u32::try_from(now.tv_nsec).ok()?,
    );
    let deadline = now.checked_add(timeout)?;
    Some(libc::_umtx_time {
        _timeout: libc::timespec {
            // time_t is 32 bits on i686: a far deadline there means forever.
            tv_sec: deadline.as_secs().try_into().ok()?,
            // Below 10^9, so it fits in any c_long.
            tv_nsec: deadline.subsec_nanos() as libc::c_long,
        },
        _flags: libc::UMTX_ABSTIME,
        _clockid: CLOCK_MONOTONIC_ID,
    })
}

fn errno() -> i32 {
    // SAFETY: `__error` returns this thread's errno slot, valid to read.
    unsafe { *libc::__error() }
}

/// The process's thread count, from `kern.proc.pid.<pid>`.
#[cfg(feature = "std")]
pub(crate) fn thread_count() -> Option<usize> {
    // SAFETY: kinfo_proc is plain data, for which zero is valid.
    let mut info: libc::kinfo_proc = unsafe { core::mem::zeroed() };
    let mut len = core::mem::size_of::<libc::kinfo_proc>();
    // SAFETY: getpid has no preconditions.
    let mib = [
        libc::CTL_KERN,
        libc::KERN_PROC,
        libc::KERN_PROC_PID,
        unsafe { libc::getpid() },
    ];
    // SAFETY: `info` is writable for `len` bytes and `len` says so; the
    // name is 4 integers long.
    let rc = unsafe {
        libc::sysctl(
            mib.as_ptr(),
            mib.len() as libc::c_uint,
            (&mut info as *mut libc::kinfo_proc).cast(),
            &mut len,
            core::ptr::null(),
            0,
        )
    };
    (rc == 0 && info.ki_numthreads > 0).then_some(info.ki_numthreads as usize)
}
