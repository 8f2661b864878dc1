//! Windows: `WaitOnAddress` / `WakeByAddressSingle` / `WakeByAddressAll`
//! (Windows 8+, through windows-sys). Timed waits keep an absolute deadline
//! on `now_nanos()` and pass the time left, rounded up to whole milliseconds,
//! so an early or spurious return neither ends nor stretches the timeout.

use core::ffi::c_void;
use core::sync::atomic::AtomicU32;
use core::time::Duration;

use windows_sys::Win32::Foundation::{ERROR_TIMEOUT, GetLastError};
use windows_sys::Win32::System::Threading::{
    INFINITE, WaitOnAddress, WakeByAddressAll, WakeByAddressSingle,
};

/// Longest single finite wait: one below `INFINITE` (about 49.7 days). A
/// longer timeout waits this long and then again for what is left.
const MAX_FINITE_MS: u32 = INFINITE - 1;

pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    // `None` here (no timeout, or one too large to represent) waits forever.
    let deadline = timeout.and_then(super::deadline_after);
    loop {
        let ms = deadline.map_or(INFINITE, |d| {
            remaining_ms(d.saturating_sub(super::now_nanos()))
        });
        // SAFETY: `word.as_ptr()` is a valid, aligned u32 that lives for the
        // whole call (we hold `&AtomicU32`); `&raw const expected` points at a
        // live local u32; the size passed (4) matches both. WaitOnAddress only
        // reads the two values and uses `word`'s address as a key.
        let woke = unsafe {
            WaitOnAddress(
                word.as_ptr().cast::<c_void>().cast_const(),
                (&raw const expected).cast::<c_void>(),
                size_of::<u32>(),
                ms,
            )
        };
        if woke != 0 {
            // Woken, the word differs from `expected`, or a spurious return.
            return true;
        }
        // SAFETY: GetLastError only reads this thread's last-error value.
        let err = unsafe { GetLastError() };
        if err != ERROR_TIMEOUT {
            // Not documented to happen; report an early return rather than
            // spin on a persistent error. Callers re-check their condition.
            return true;
        }
        match deadline {
            // The timer may fire a little before our clock reaches the
            // deadline (tick granularity); then wait again for the rest.
            Some(d) if super::now_nanos() < d => continue,
            Some(_) => return false,
            // An INFINITE wait cannot time out; treat it as spurious.
            None => return true,
        }
    }
}

pub(crate) fn futex_wake(word: &AtomicU32) {
    // SAFETY: WakeByAddressSingle uses the address only as a key; it never
    // dereferences or writes it, and `word` is live for the call.
    unsafe { WakeByAddressSingle(word.as_ptr().cast::<c_void>().cast_const()) }
}

pub(crate) fn futex_wake_all(word: &AtomicU32) {
    // SAFETY: as in `futex_wake`: the address is only a key.
    unsafe { WakeByAddressAll(word.as_ptr().cast::<c_void>().cast_const()) }
}

/// Nanoseconds left → milliseconds for WaitOnAddress: rounded up, so a wait
/// never ends before the deadline because of truncation, and capped below
/// `INFINITE`, so a long finite wait never turns into an endless one.
fn remaining_ms(nanos: u64) -> u32 {
    u32::try_from(nanos.div_ceil(1_000_000)).map_or(MAX_FINITE_MS, |ms| ms.min(MAX_FINITE_MS))
}
