//! macOS / iOS: `os_sync_wait_on_address` and friends (macOS 14.4+), else the
//! private `__ulock_wait2` / `__ulock_wake` (macOS 11+), else `__ulock_wait`
//! (10.12+). All are found with `dlsym` at first use and cached in atomics, so
//! the binary still loads on systems that lack the newer symbols.

use core::ffi::{CStr, c_int, c_void};
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU8, AtomicU32, Ordering};
use core::time::Duration;

// xnu `bsd/sys/ulock.h` (private; not in libc).
/// Compare-and-wait on a process-private 32-bit word.
const UL_COMPARE_AND_WAIT: u32 = 1;
/// Wake every waiter instead of one.
const ULF_WAKE_ALL: u32 = 0x0000_0100;
/// Return `-errno` instead of setting `errno`.
const ULF_NO_ERRNO: u32 = 0x0100_0000;

/// The word is a `u32`: the `size` argument of the `os_sync_*` calls.
const WORD_SIZE: usize = core::mem::size_of::<u32>();

/// Longest single timed sleep. Longer timeouts are slept in slices (the loop
/// in `futex_wait` passes the time still remaining), which keeps every value
/// far from overflow in the kernel's nanoseconds-to-Mach-ticks conversion and
/// costs one extra wakeup a minute.
const MAX_SLICE_NANOS: u64 = 60 * 1_000_000_000;

/// Sleep between polls when no wait primitive was found at all (no macOS
/// that Rust supports lacks `__ulock_wait`, so this is a safety net only).
const POLL_NANOS: u64 = 100_000;

// C prototypes, as function-pointer types for the `dlsym` results. The
// `os_sync_*` ones match `<os/os_sync_wait_on_address.h>` (libc declares them
// as imports too, but linking those would stop the binary loading on macOS
// before 14.4); the `__ulock_*` ones match xnu's private `ulock.h`.
type OsSyncWait = unsafe extern "C" fn(*mut c_void, u64, usize, u32) -> c_int;
type OsSyncWaitTimeout = unsafe extern "C" fn(*mut c_void, u64, usize, u32, u32, u64) -> c_int;
type OsSyncWake = unsafe extern "C" fn(*mut c_void, usize, u32) -> c_int;
/// `__ulock_wait2(op, addr, value, timeout_ns /* 0 = forever */, value2)`.
type UlockWait2 = unsafe extern "C" fn(u32, *mut c_void, u64, u64, u64) -> c_int;
/// `__ulock_wait(op, addr, value, timeout_us /* 0 = forever */)`.
type UlockWait = unsafe extern "C" fn(u32, *mut c_void, u64, u32) -> c_int;
/// `__ulock_wake(op, addr, wake_value)`.
type UlockWake = unsafe extern "C" fn(u32, *mut c_void, u64) -> c_int;

/// The wait/wake family chosen for this process. Waits and wakes always use
/// the same family, so their kernel-side opcodes agree.
#[derive(Clone, Copy)]
enum Api {
    OsSync {
        wait: OsSyncWait,
        wait_timeout: OsSyncWaitTimeout,
        wake_any: OsSyncWake,
        wake_all: OsSyncWake,
    },
    Ulock2 {
        wait: UlockWait2,
        wake: UlockWake,
    },
    Ulock {
        wait: UlockWait,
        wake: UlockWake,
    },
    Poll,
}

/// How one kernel wait ended.
enum Outcome {
    /// Woken, the word differed, or an error the caller must re-check after.
    Woken,
    /// Interrupted or spurious: sleep again for the time remaining.
    Interrupted,
    /// This slice's timeout ran out.
    TimedOut,
}

pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    // `None` (no timeout, or one too large to represent) waits forever.
    let deadline = timeout.and_then(super::deadline_after);
    let api = api();
    loop {
        let slice = match deadline {
            None => None,
            Some(deadline) => {
                let now = super::now_nanos();
                if now >= deadline {
                    return false;
                }
                // At least 1 ns: `os_sync_*_with_timeout` rejects 0 and
                // `__ulock_wait2` reads 0 as "forever".
                Some((deadline - now).min(MAX_SLICE_NANOS))
            }
        };
        match wait_once(api, word, expected, slice) {
            Outcome::Woken => return true,
            // Both re-check the deadline above; a slice that timed out early
            // (or a capped slice) sleeps again for the rest.
            Outcome::Interrupted | Outcome::TimedOut => {}
        }
    }
}

pub(crate) fn futex_wake(word: &AtomicU32) {
    wake(word, false);
}

pub(crate) fn futex_wake_all(word: &AtomicU32) {
    wake(word, true);
}

/// One kernel wait of at most `slice_nanos` (`None` = no timeout).
fn wait_once(api: Api, word: &AtomicU32, expected: u32, slice_nanos: Option<u64>) -> Outcome {
    let addr = word.as_ptr().cast::<c_void>();
    let value = u64::from(expected);
    match api {
        Api::OsSync {
            wait, wait_timeout, ..
        } => {
            let r = match slice_nanos {
                // SAFETY: `wait` is libSystem's `os_sync_wait_on_address`
                // (see `decode`); `addr` points at a live, 4-byte-aligned u32
                // that the call only reads; size 4 and flags NONE are valid.
                None => unsafe { wait(addr, value, WORD_SIZE, libc::OS_SYNC_WAIT_ON_ADDRESS_NONE) },
                // SAFETY: as above, for `os_sync_wait_on_address_with_timeout`;
                // the clock is the only one it accepts and the timeout is > 0.
                Some(nanos) => unsafe {
                    wait_timeout(
                        addr,
                        value,
                        WORD_SIZE,
                        libc::OS_SYNC_WAIT_ON_ADDRESS_NONE,
                        libc::OS_CLOCK_MACH_ABSOLUTE_TIME,
                        nanos,
                    )
                },
            };
            if r >= 0 {
                return Outcome::Woken;
            }
            match errno() {
                libc::ETIMEDOUT => Outcome::TimedOut,
                libc::EINTR => Outcome::Interrupted,
                // EFAULT/ENOMEM are transient: report a spurious wakeup.
                _ => Outcome::Woken,
            }
        }
        Api::Ulock2 { wait, .. } => {
            // SAFETY: `wait` is libSystem's `__ulock_wait2` (see `decode`);
            // `addr` points at a live, aligned u32 the kernel only reads;
            // `slice_nanos` is never Some(0), and 0 means no timeout.
            let r = unsafe {
                wait(
                    UL_COMPARE_AND_WAIT | ULF_NO_ERRNO,
                    addr,
                    value,
                    slice_nanos.unwrap_or(0),
                    0,
                )
            };
            ulock_outcome(r)
        }
        Api::Ulock { wait, .. } => {
            // Round up to whole microseconds; a slice is at most 60 s, so it
            // fits in u32, and it is at least 1 (0 would mean forever).
            let micros =
                slice_nanos.map_or(0, |n| u32::try_from(n.div_ceil(1_000)).unwrap_or(u32::MAX));
            // SAFETY: `wait` is libSystem's `__ulock_wait` (see `decode`);
            // `addr` points at a live, aligned u32 the kernel only reads.
            let r = unsafe { wait(UL_COMPARE_AND_WAIT | ULF_NO_ERRNO, addr, value, micros) };
            ulock_outcome(r)
        }
        Api::Poll => {
            if word.load(Ordering::Acquire) != expected {
                return Outcome::Woken;
            }
            let nanos = slice_nanos.map_or(POLL_NANOS, |n| n.min(POLL_NANOS));
            let ts = libc::timespec {
                tv_sec: 0,
                // < 1 s, so it fits in c_long.
                tv_nsec: nanos as libc::c_long,
            };
            // SAFETY: `ts` is a valid timespec; a null remainder pointer is allowed.
            unsafe { libc::nanosleep(&ts, ptr::null_mut()) };
            // Not a wakeup: the loop polls again until the word changes or
            // the deadline passes.
            Outcome::Interrupted
        }
    }
}

/// Maps a `ULF_NO_ERRNO` wait result (`>= 0` or `-errno`) to an outcome.
fn ulock_outcome(r: c_int) -> Outcome {
    if r >= 0 {
        // Woken, or the word no longer held `expected`.
        Outcome::Woken
    } else if r == -libc::ETIMEDOUT {
        Outcome::TimedOut
    } else if r == -libc::EINTR {
        Outcome::Interrupted
    } else {
        // EFAULT/ENOMEM are transient: report a spurious wakeup.
        Outcome::Woken
    }
}

fn wake(word: &AtomicU32, all: bool) {
    let addr = word.as_ptr().cast::<c_void>();
    match api() {
        Api::OsSync {
            wake_any, wake_all, ..
        } => {
            let wake = if all { wake_all } else { wake_any };
            // SAFETY: `wake` is libSystem's `os_sync_wake_by_address_any` or
            // `_all` (see `decode`); they use `addr` only as a key. An ENOENT
            // result just means nobody was waiting.
            unsafe { wake(addr, WORD_SIZE, libc::OS_SYNC_WAKE_BY_ADDRESS_NONE) };
        }
        Api::Ulock2 { wake, .. } | Api::Ulock { wake, .. } => {
            let op = UL_COMPARE_AND_WAIT | ULF_NO_ERRNO | if all { ULF_WAKE_ALL } else { 0 };
            loop {
                // SAFETY: `wake` is libSystem's `__ulock_wake` (see `decode`);
                // it uses `addr` only as a key and reads no memory.
                let r = unsafe { wake(op, addr, 0) };
                // libpthread retries interrupted wakes too; -ENOENT means
                // nobody was waiting.
                if r != -libc::EINTR {
                    break;
                }
            }
        }
        Api::Poll => {}
    }
}

fn errno() -> c_int {
    // SAFETY: `__error` returns this thread's errno slot, valid to read.
    unsafe { *libc::__error() }
}

// Lookup cache: `KIND` says which family was found and how to read `SLOTS`.
const UNRESOLVED: u8 = 0;
const KIND_OS_SYNC: u8 = 1;
const KIND_ULOCK2: u8 = 2;
const KIND_ULOCK: u8 = 3;
const KIND_POLL: u8 = 4;

static KIND: AtomicU8 = AtomicU8::new(UNRESOLVED);
static SLOTS: [AtomicPtr<c_void>; 4] = [const { AtomicPtr::new(ptr::null_mut()) }; 4];

/// The cached API, resolving it on first use. Racing first calls each run
/// `dlsym` and store identical values, so no lock is needed.
fn api() -> Api {
    match KIND.load(Ordering::Acquire) {
        UNRESOLVED => resolve(),
        // Acquire above pairs with the Release in `resolve`: the slots
        // written before `KIND` are visible here.
        kind => decode(
            kind,
            core::array::from_fn(|i| SLOTS[i].load(Ordering::Relaxed)),
        ),
    }
}

fn resolve() -> Api {
    let os_sync = [
        lookup(c"os_sync_wait_on_address"),
        lookup(c"os_sync_wait_on_address_with_timeout"),
        lookup(c"os_sync_wake_by_address_any"),
        lookup(c"os_sync_wake_by_address_all"),
    ];
    let (kind, slots) = if os_sync.iter().all(|p| !p.is_null()) {
        (KIND_OS_SYNC, os_sync)
    } else {
        let null = ptr::null_mut();
        let wake = lookup(c"__ulock_wake");
        let wait2 = lookup(c"__ulock_wait2");
        if wake.is_null() {
            (KIND_POLL, [null; 4])
        } else if !wait2.is_null() {
            (KIND_ULOCK2, [wait2, wake, null, null])
        } else {
            let wait = lookup(c"__ulock_wait");
            if wait.is_null() {
                (KIND_POLL, [null; 4])
            } else {
                (KIND_ULOCK, [wait, wake, null, null])
            }
        }
    };
    for (slot, p) in SLOTS.iter().zip(slots) {
        slot.store(p, Ordering::Relaxed);
    }
    KIND.store(kind, Ordering::Release);
    decode(kind, slots)
}

/// Typed function pointers from the slots `resolve` filled for `kind`.
fn decode(kind: u8, s: [*mut c_void; 4]) -> Api {
    // SAFETY: for each `kind`, `resolve` filled exactly the slots read here,
    // each with the non-null address `dlsym` returned for the libSystem
    // function named there, whose C prototype the target type spells out
    // (the aliases above). Data and function pointers have the same size and
    // representation on every Apple target.
    unsafe {
        match kind {
            KIND_OS_SYNC => Api::OsSync {
                wait: core::mem::transmute::<*mut c_void, OsSyncWait>(s[0]),
                wait_timeout: core::mem::transmute::<*mut c_void, OsSyncWaitTimeout>(s[1]),
                wake_any: core::mem::transmute::<*mut c_void, OsSyncWake>(s[2]),
                wake_all: core::mem::transmute::<*mut c_void, OsSyncWake>(s[3]),
            },
            KIND_ULOCK2 => Api::Ulock2 {
                wait: core::mem::transmute::<*mut c_void, UlockWait2>(s[0]),
                wake: core::mem::transmute::<*mut c_void, UlockWake>(s[1]),
            },
            KIND_ULOCK => Api::Ulock {
                wait: core::mem::transmute::<*mut c_void, UlockWait>(s[0]),
                wake: core::mem::transmute::<*mut c_void, UlockWake>(s[1]),
            },
            _ => Api::Poll,
        }
    }
}

/// Address of `name` in the images already loaded (libSystem among them),
/// or null when this OS version lacks it.
fn lookup(name: &CStr) -> *mut c_void {
    // SAFETY: RTLD_DEFAULT is a valid pseudo-handle, `name` is NUL-terminated
    // and outlives the call, and dlsym is thread-safe on Darwin.
    unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }
}

/// The process's thread count, from the kernel's task info.
#[cfg(feature = "std")]
pub(crate) fn thread_count() -> Option<usize> {
    // SAFETY: proc_taskinfo is plain integers, for which zero is valid.
    let mut info: libc::proc_taskinfo = unsafe { core::mem::zeroed() };
    let size = core::mem::size_of::<libc::proc_taskinfo>() as libc::c_int;
    // SAFETY: `info` is a writable buffer of exactly `size` bytes, as
    // PROC_PIDTASKINFO asks; getpid has no preconditions.
    let got = unsafe {
        libc::proc_pidinfo(
            libc::getpid(),
            libc::PROC_PIDTASKINFO,
            0,
            (&mut info as *mut libc::proc_taskinfo).cast(),
            size,
        )
    };
    (got == size && info.pti_threadnum > 0).then_some(info.pti_threadnum as usize)
}
