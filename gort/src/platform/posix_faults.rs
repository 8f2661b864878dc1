//! Memory faults on POSIX systems (Linux, macOS, FreeBSD): lets the M:N
//! scheduler recognise a goroutine overflowing its stack into the guard
//! page, and hands every other fault to the handler that was there before
//! (std's, which reports thread stack overflows, or the default action).
//!
//! Invariants:
//! - the handler is installed once, for SIGSEGV and SIGBUS, with
//!   `SA_ONSTACK`: an overflowed stack cannot run it, so it runs on the
//!   thread's alternate signal stack (std gives every thread it starts
//!   one; gort's workers are std threads);
//! - the handler does only async-signal-safe things: it reads the fault
//!   address, calls the registered check (which must be async-signal-safe
//!   too), and otherwise re-raises through the previous action.

use core::mem::MaybeUninit;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

/// `fn(fault_address)`: returns only if the fault is not its business.
static CHECK: AtomicUsize = AtomicUsize::new(0);
static mut PREVIOUS: [MaybeUninit<libc::sigaction>; 2] = [MaybeUninit::zeroed(); 2];

/// Calls `check(MemoryFault::At(address))` on every SIGSEGV/SIGBUS before
/// anything else. `check` must be async-signal-safe and must not return if
/// it handled the fault (it ends the process).
pub(crate) fn on_memory_fault(check: fn(super::MemoryFault)) {
    static INSTALL: Once = Once::new();
    CHECK.store(check as usize, Ordering::Release);
    INSTALL.call_once(|| {
        for (i, sig) in [libc::SIGSEGV, libc::SIGBUS].into_iter().enumerate() {
            // SAFETY: a zeroed sigaction is a valid "no flags, empty mask"
            // value; we fill handler and flags before installing it, and
            // PREVIOUS is written only here, once, before the handler can
            // run for this signal.
            unsafe {
                let mut action: libc::sigaction = core::mem::zeroed();
                action.sa_sigaction = handler as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let previous = (*core::ptr::addr_of_mut!(PREVIOUS))[i].as_mut_ptr();
                if libc::sigaction(sig, &action, previous) != 0 {
                    panic!("gort: cannot install a handler for signal {sig}");
                }
            }
        }
    });
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { fault_address(info) };
    let check = CHECK.load(Ordering::Acquire);
    if check != 0 {
        // SAFETY: CHECK only ever holds a `fn(MemoryFault)` stored above.
        let check: fn(super::MemoryFault) = unsafe { core::mem::transmute(check) };
        check(super::MemoryFault::At(addr));
    }
    let i = if sig == libc::SIGSEGV { 0 } else { 1 };
    // SAFETY: PREVIOUS[i] was written by sigaction before this handler was
    // installed for `sig`, and is never written again.
    let previous = unsafe { (*core::ptr::addr_of!(PREVIOUS))[i].assume_init_ref() };
    let prev = previous.sa_sigaction;
    if prev == libc::SIG_DFL || prev == libc::SIG_IGN {
        // Restore the default and return: the faulting instruction runs
        // again and the default action (a core dump) happens.
        // SAFETY: resetting a signal to its default action is always valid.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was installed with SA_SIGINFO, so
        // it has this signature; we pass it our own arguments unchanged.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { core::mem::transmute(prev) };
        f(sig, info, ctx);
    } else {
        // SAFETY: a handler installed without SA_SIGINFO takes the signal
        // number only.
        let f: extern "C" fn(libc::c_int) = unsafe { core::mem::transmute(prev) };
        f(sig);
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
unsafe fn fault_address(info: *mut libc::siginfo_t) -> usize {
    // SAFETY: for SIGSEGV/SIGBUS, si_addr is the faulting address.
    unsafe { (*info).si_addr() as usize }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
unsafe fn fault_address(info: *mut libc::siginfo_t) -> usize {
    // SAFETY: for SIGSEGV/SIGBUS, si_addr is the faulting address.
    unsafe { (*info).si_addr as usize }
}

/// The size of a memory page (a stack's guard is one).
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as usize } else { 4096 }
}

/// Writes `bytes` to standard error (async-signal-safe).
pub(crate) fn write_stderr(bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: `rest` is a valid buffer of its length.
        let n = unsafe { libc::write(2, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            return;
        }
        rest = &rest[n as usize..];
    }
}

/// Ends the process at once with `code` (async-signal-safe).
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` is async-signal-safe and does not return.
    unsafe { libc::_exit(code) }
}
