//! What the garbage collector needs from a POSIX system to stop the world
//! and find its roots: a signal sent to one thread, its handler on an
//! alternate signal stack reading where the interrupted code was, the
//! registers of a running thread saved where a stack scan sees them, a
//! thread's stack and thread pointer, the process's threads (Linux:
//! `/proc/self/task`), the memory mapping around an address (Linux:
//! `/proc/self/maps`), and the writable segments of every loaded object
//! (`dl_iterate_phdr`, so PIE and shared libraries are found where they
//! were loaded).
//!
//! Invariants:
//! - the stop signal's handler is installed with `SA_RESTART` (a thread
//!   blocked in `read` or `accept` resumes its call) and `SA_ONSTACK`: on
//!   a thread with an alternate signal stack it runs there, not on a stack
//!   that may be nearly full, and the interrupted stack pointer and
//!   registers are read from the `ucontext` the kernel saved on it
//!   (`interrupted_sp`; the collector scans that signal stack too); on a
//!   thread without one it runs on the interrupted stack, below the saved
//!   registers;
//! - a registered thread has a signal stack of at least `SIGNAL_STACK`
//!   bytes (`install_signal_stack`: its own, or one of ours, removed when
//!   the thread unregisters);
//! - everything the handler or a stopped world calls here is
//!   async-signal-safe: raw syscalls into caller-provided buffers, no
//!   allocation, no locks (`list_threads`, `find_mappings`, `send_stop`,
//!   `signal_stack_at`, `thread_pointer`, `errno` access);
//! - `with_registers_spilled` stores every callee-saved register into its
//!   own frame before it reads the stack pointer, so a scan from that
//!   pointer up sees every value the callers kept in registers.

#[cfg(any(target_os = "linux", target_os = "freebsd"))]
use core::mem::MaybeUninit;

/// The ELF program header flag of a writable segment.
#[cfg(any(target_os = "linux", target_os = "freebsd"))]
const PF_W: u32 = 2;

/// An OS thread, as the stop signal addresses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OsThread {
    /// The kernel's thread id (`gettid` on Linux, `pthread_getthreadid_np`
    /// on FreeBSD; on macOS the low bits of `pthread_threadid_np`, which
    /// counts up from a 64-bit start): never 0, which marks an empty slot
    /// in the collector's table.
    pub(crate) tid: i32,
    pub(crate) pthread: libc::pthread_t,
}

/// The calling thread (async-signal-safe).
pub(crate) fn current_thread() -> OsThread {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid has no arguments and cannot fail.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) } as i32;
    #[cfg(target_os = "freebsd")]
    // SAFETY: no arguments; returns the calling thread's id.
    let tid = unsafe { libc::pthread_getthreadid_np() };
    #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
    let tid = {
        let mut id = 0u64;
        // SAFETY: a null thread means the calling one; `id` is ours.
        unsafe { libc::pthread_threadid_np(0 as libc::pthread_t, &mut id) };
        (id as i32 & i32::MAX).max(1)
    };
    OsThread {
        tid,
        // SAFETY: pthread_self cannot fail.
        pthread: unsafe { libc::pthread_self() },
    }
}

/// The default stop signal: the first real-time signal that the C library
/// leaves to programs plus 3 (Boehm's collector uses +5 and +6; glibc's
/// own are below SIGRTMIN). macOS has no real-time signals: SIGXCPU, which
/// nothing sends to a process that sets no CPU limit.
pub(crate) fn default_stop_signal() -> i32 {
    #[cfg(target_os = "linux")]
    return libc::SIGRTMIN() + 3;
    // FreeBSD's SIGRTMIN is 65 (the libc crate does not export it).
    #[cfg(target_os = "freebsd")]
    return 65 + 3;
    #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
    return libc::SIGXCPU;
}

/// `pthread_t` as a number (it is one, or a pointer, depending on the OS).
#[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
pub(crate) fn pthread_bits(p: libc::pthread_t) -> usize {
    p as usize
}

/// The `pthread_t` whose bits `pthread_bits` gave.
#[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
pub(crate) fn pthread_from_bits(bits: usize) -> libc::pthread_t {
    bits as libc::pthread_t
}

/// A stop signal's handler: `(signal, siginfo, ucontext)`.
pub(crate) type StopHandler = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);

/// Installs `handler` for `signal`: `SA_RESTART`, `SA_ONSTACK`, with
/// every other signal left deliverable.
pub(crate) fn install_stop_handler(signal: i32, handler: StopHandler) {
    // SAFETY: a zeroed sigaction is "no flags, empty mask"; we set the
    // handler and flags before installing it.
    unsafe {
        let mut action: libc::sigaction = core::mem::zeroed();
        action.sa_sigaction = handler as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART | libc::SA_ONSTACK;
        libc::sigemptyset(&mut action.sa_mask);
        if libc::sigaction(signal, &action, core::ptr::null_mut()) != 0 {
            panic!("gort: cannot install the collector's stop signal handler ({signal})");
        }
    }
}

/// Lets `signal` through the calling thread's signal mask.
pub(crate) fn unblock_signal(signal: i32) {
    // SAFETY: `set` is initialised by sigemptyset before use; the call
    // changes the calling thread's own mask.
    unsafe {
        let mut set: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, core::ptr::null_mut());
    }
}

/// Whether `signal` queues (a real-time signal: each one sent is
/// delivered) rather than merging with one already pending.
pub(crate) fn signal_queues(signal: i32) -> bool {
    #[cfg(target_os = "linux")]
    return signal >= libc::SIGRTMIN();
    #[cfg(target_os = "freebsd")]
    return signal >= 65;
    #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
    {
        let _ = signal;
        false
    }
}

/// What became of a stop signal sent to a thread.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Sent {
    Queued,
    /// The thread no longer exists.
    Gone,
    /// The kernel could not queue it now (its queue of pending real-time
    /// signals is full): try again later.
    Again,
}

/// Sends `signal` to `thread`.
pub(crate) fn send_stop(thread: OsThread, signal: i32) -> Sent {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: tgkill only names a thread of our own process.
        let r = unsafe {
            libc::syscall(
                libc::SYS_tgkill,
                libc::getpid(),
                thread.tid,
                signal as libc::c_long,
            )
        };
        if r == 0 {
            return Sent::Queued;
        }
        // SAFETY: the calling thread's errno slot.
        match unsafe { *errno_location() } {
            libc::ESRCH => Sent::Gone,
            _ => Sent::Again,
        }
    }
    #[cfg(not(target_os = "linux"))]
    // SAFETY: `pthread` names a registered thread, which unregisters (under
    // the registry lock the collector holds) before it ends.
    unsafe {
        match libc::pthread_kill(thread.pthread, signal) {
            0 => Sent::Queued,
            libc::ESRCH => Sent::Gone,
            _ => Sent::Again,
        }
    }
}

/// Sends `signal` to the calling thread (async-signal-safe).
pub(crate) fn raise_here(signal: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: tgkill names the calling thread.
    unsafe {
        libc::syscall(
            libc::SYS_tgkill,
            libc::getpid(),
            libc::syscall(libc::SYS_gettid),
            signal as libc::c_long,
        );
    }
    #[cfg(not(target_os = "linux"))]
    // SAFETY: pthread_self names the calling thread.
    unsafe {
        libc::pthread_kill(libc::pthread_self(), signal);
    }
}

/// Bytes of signal stack a registered thread has at least: room for the
/// kernel's signal frame (a few KiB with AVX-512 or SVE state) and for a
/// marking helper's frames.
pub(crate) const SIGNAL_STACK: usize = 32 * 1024;

/// Gives the calling thread a signal stack of `SIGNAL_STACK` bytes (with
/// a guard page below) unless it has one at least that large. Returns the
/// mapping made, `(start, len)`, for `remove_signal_stack`; `(0, 0)` if
/// none was needed.
pub(crate) fn install_signal_stack() -> (usize, usize) {
    // SAFETY: sigaltstack with a null new stack only reads the current one
    // into `old`.
    let old = unsafe {
        let mut old: libc::stack_t = core::mem::zeroed();
        libc::sigaltstack(core::ptr::null(), &mut old);
        old
    };
    if old.ss_flags & libc::SS_DISABLE == 0 && old.ss_size >= SIGNAL_STACK {
        return (0, 0);
    }
    let page = super::page_size();
    let len = SIGNAL_STACK + page;
    let Ok(start) = super::map_region(len) else {
        return (0, 0); // keep the old one (or none): the handler still works
    };
    // SAFETY: the guard page is ours, inside the mapping just made; then
    // the rest becomes this thread's signal stack. The thread is not on
    // its signal stack now (registration runs in ordinary code).
    unsafe {
        if super::guard_pages(start, page).is_err() {
            super::unmap_region(start, len);
            return (0, 0);
        }
        let new = libc::stack_t {
            ss_sp: (start + page) as *mut libc::c_void,
            ss_flags: 0,
            ss_size: SIGNAL_STACK,
        };
        if libc::sigaltstack(&new, core::ptr::null_mut()) != 0 {
            super::unmap_region(start, len);
            return (0, 0);
        }
    }
    (start, len)
}

/// Undoes `install_signal_stack` for the calling thread: disables the
/// signal stack if it is still ours, then unmaps it.
pub(crate) fn remove_signal_stack(mapping: (usize, usize)) {
    let (start, len) = mapping;
    if len == 0 {
        return;
    }
    // SAFETY: reads the current signal stack; disables it only if it is
    // the one we made (the thread is not running on it: this is ordinary
    // code), after which nothing refers to the mapping.
    unsafe {
        let mut cur: libc::stack_t = core::mem::zeroed();
        libc::sigaltstack(core::ptr::null(), &mut cur);
        let sp = cur.ss_sp as usize;
        if cur.ss_flags & libc::SS_DISABLE == 0 && sp >= start && sp < start + len {
            let off = libc::stack_t {
                ss_sp: core::ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            libc::sigaltstack(&off, core::ptr::null_mut());
        }
        super::unmap_region(start, len);
    }
}

/// The calling thread's signal stack, `[lo, hi)`, if `here` is on it (a
/// handler running there); async-signal-safe.
pub(crate) fn signal_stack_at(here: usize) -> Option<(usize, usize)> {
    // SAFETY: only reads the current signal stack into `cur`.
    let cur = unsafe {
        let mut cur: libc::stack_t = core::mem::zeroed();
        libc::sigaltstack(core::ptr::null(), &mut cur);
        cur
    };
    let lo = cur.ss_sp as usize;
    let hi = lo + cur.ss_size;
    (cur.ss_flags & libc::SS_DISABLE == 0 && here >= lo && here < hi).then_some((lo, hi))
}

/// Bytes below the stack pointer that the interrupted code may still use
/// (the ABI's red zone): a scan from an interrupted stack pointer starts
/// this much lower.
#[cfg(any(target_arch = "x86_64", target_os = "macos"))]
pub(crate) const RED_ZONE: usize = 128;
#[cfg(not(any(target_arch = "x86_64", target_os = "macos")))]
pub(crate) const RED_ZONE: usize = 0;

/// The interrupted stack pointer in a signal handler's `ucontext`.
///
/// # Safety
/// `ctx` is the third argument the kernel passed to an `SA_SIGINFO`
/// handler that is still running.
pub(crate) unsafe fn interrupted_sp(ctx: *mut libc::c_void) -> usize {
    let uc = ctx as *const libc::ucontext_t;
    // SAFETY: the caller passes the kernel's ucontext.
    unsafe {
        #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
        return (*uc).uc_mcontext.gregs[libc::REG_RSP as usize] as usize;
        #[cfg(all(target_os = "linux", target_arch = "aarch64"))]
        return (*uc).uc_mcontext.sp as usize;
        #[cfg(all(target_os = "freebsd", target_arch = "x86_64"))]
        return (*uc).uc_mcontext.mc_rsp as usize;
        #[cfg(all(target_os = "freebsd", target_arch = "aarch64"))]
        return (*uc).uc_mcontext.mc_gpregs.gp_sp as usize;
        #[cfg(all(target_os = "macos", target_arch = "x86_64"))]
        return (*(*uc).uc_mcontext).__ss.__rsp as usize;
        #[cfg(all(target_os = "macos", target_arch = "aarch64"))]
        return (*(*uc).uc_mcontext).__ss.__sp as usize;
    }
}

/// Makes `signal` wait until the code interrupted by the running handler
/// (whose `ucontext` is `ctx`) ends: blocks it in the mask that code gets
/// back, and sends it to this thread again. For a stop that arrives while
/// the thread runs another handler on its signal stack: it is taken when
/// that handler returns, on the thread's own stack. Async-signal-safe.
///
/// # Safety
/// As for `interrupted_sp`; `signal` is the one being handled.
pub(crate) unsafe fn stop_after_handler(ctx: *mut libc::c_void, signal: i32) {
    let uc = ctx as *mut libc::ucontext_t;
    // SAFETY: the kernel restores the mask from this ucontext when the
    // running handler returns; the signal is blocked while it runs, so the
    // one sent here waits until then (and past it, until the interrupted
    // handler returns in turn).
    unsafe { libc::sigaddset(&mut (*uc).uc_sigmask, signal) };
    raise_here(signal);
}

/// The calling thread's `errno` (async-signal-safe), to be saved and
/// restored by a signal handler.
pub(crate) fn errno_location() -> *mut libc::c_int {
    #[cfg(target_os = "linux")]
    // SAFETY: returns the calling thread's errno slot.
    return unsafe { libc::__errno_location() };
    #[cfg(not(target_os = "linux"))]
    // SAFETY: as above.
    return unsafe { libc::__error() };
}

/// The thread pointer: where the calling thread's static TLS block is (0
/// on macOS, whose TLS the collector does not locate yet).
pub(crate) fn thread_pointer() -> usize {
    let tp: usize;
    #[cfg(target_os = "macos")]
    {
        tp = 0;
    }
    #[cfg(all(target_arch = "x86_64", not(target_os = "macos")))]
    // SAFETY: on x86-64 Unix, %fs:0 holds the thread block's own address.
    unsafe {
        core::arch::asm!("mov {}, fs:0", out(reg) tp, options(nostack, readonly, preserves_flags));
    }
    #[cfg(all(target_arch = "aarch64", not(target_os = "macos")))]
    // SAFETY: reading TPIDR_EL0 has no side effects.
    unsafe {
        core::arch::asm!("mrs {}, tpidr_el0", out(reg) tp, options(nostack, nomem, preserves_flags));
    }
    tp
}

/// Calls `f(sp)` where `sp` is a stack address at or below everything the
/// callers keep: their frames, and every callee-saved register, stored in
/// this frame first (hand-written because no crate offers it: the values
/// must land on the stack being scanned, not in a buffer elsewhere).
/// Inlined, it still holds: the stack pointer is read after the stores,
/// in the frame that holds them, and the calling frame's own values are
/// in that frame or in the registers stored.
#[inline(always)]
pub(crate) fn with_registers_spilled<R>(f: impl FnOnce(usize) -> R) -> R {
    let mut regs = [0usize; 12];
    let sp: usize;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: stores six registers into `regs`, which has room for twelve,
    // and reads the stack pointer; nothing else changes.
    unsafe {
        core::arch::asm!(
            "mov [{r}], rbx",
            "mov [{r} + 8], rbp",
            "mov [{r} + 16], r12",
            "mov [{r} + 24], r13",
            "mov [{r} + 32], r14",
            "mov [{r} + 40], r15",
            "mov {sp}, rsp",
            r = in(reg) regs.as_mut_ptr(),
            sp = out(reg) sp,
            options(nostack, preserves_flags),
        );
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: stores x19–x30 (twelve registers) into `regs` and reads the
    // stack pointer; nothing else changes.
    unsafe {
        core::arch::asm!(
            "stp x19, x20, [{r}]",
            "stp x21, x22, [{r}, #16]",
            "stp x23, x24, [{r}, #32]",
            "stp x25, x26, [{r}, #48]",
            "stp x27, x28, [{r}, #64]",
            "stp x29, x30, [{r}, #80]",
            "mov {sp}, sp",
            r = in(reg) regs.as_mut_ptr(),
            sp = out(reg) sp,
            options(nostack, preserves_flags),
        );
    }
    let result = f(sp);
    core::hint::black_box(&mut regs);
    result
}

/// The calling thread's stack, `(lowest, highest)` address, for a thread
/// that is not running on a goroutine stack. For threads started by the C
/// library the range includes the thread's static TLS block, which sits at
/// the top of the same mapping.
pub(crate) fn thread_stack_bounds() -> (usize, usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: `attr` is initialised by pthread_getattr_np before use and
    // destroyed after.
    unsafe {
        let mut attr = MaybeUninit::<libc::pthread_attr_t>::uninit();
        if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            panic!("gort: pthread_getattr_np failed");
        }
        let mut addr = core::ptr::null_mut();
        let mut size = 0;
        libc::pthread_attr_getstack(attr.as_ptr(), &mut addr, &mut size);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        (addr as usize, addr as usize + size)
    }
    #[cfg(target_os = "freebsd")]
    // SAFETY: as above, with FreeBSD's pthread_attr_get_np.
    unsafe {
        let mut attr = MaybeUninit::<libc::pthread_attr_t>::uninit();
        libc::pthread_attr_init(attr.as_mut_ptr());
        if libc::pthread_attr_get_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            panic!("gort: pthread_attr_get_np failed");
        }
        let mut addr = core::ptr::null_mut();
        let mut size = 0;
        libc::pthread_attr_getstack(attr.as_ptr(), &mut addr, &mut size);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        (addr as usize, addr as usize + size)
    }
    #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
    // SAFETY: both calls only read the calling thread's own record.
    unsafe {
        let me = libc::pthread_self();
        let hi = libc::pthread_get_stackaddr_np(me) as usize;
        (hi - libc::pthread_get_stacksize_np(me), hi)
    }
}

/// Writes the ids of the process's threads into `out` and returns how
/// many there are (which may exceed `out.len()`: then call again with
/// more room). `None` where the OS does not list them (not Linux): there
/// only registered threads are stopped. Async-signal-safe.
pub(crate) fn list_threads(out: &mut [i32]) -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        let mut count = 0;
        let mut buf = [0u8; 4096];
        // SAFETY: a NUL-terminated path; the descriptor is closed below.
        let fd = unsafe {
            libc::open(
                c"/proc/self/task".as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return None;
        }
        loop {
            // SAFETY: getdents64 writes at most `buf.len()` bytes into buf.
            let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
            if n <= 0 {
                break;
            }
            let mut at = 0usize;
            while at < n as usize {
                // linux_dirent64: d_ino u64, d_off i64, d_reclen u16,
                // d_type u8, then the NUL-terminated name.
                let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
                let name = &buf[at + 19..at + reclen];
                let mut tid: i64 = 0;
                let mut digits = 0;
                for &b in name.iter().take_while(|&&b| b != 0) {
                    if !b.is_ascii_digit() {
                        digits = 0;
                        break;
                    }
                    tid = tid * 10 + i64::from(b - b'0');
                    digits += 1;
                }
                if digits > 0 {
                    if count < out.len() {
                        out[count] = tid as i32;
                    }
                    count += 1;
                }
                at += reclen;
            }
        }
        // SAFETY: fd is ours.
        unsafe { libc::close(fd) };
        Some(count)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = out;
        None
    }
}

/// For each address in `addrs`, the mapping that contains it, `(start,
/// end)`, or `(0, 0)` if none (or if the OS cannot tell: not Linux).
/// Reads `/proc/self/maps` with raw calls into `buf`; async-signal-safe.
pub(crate) fn find_mappings(addrs: &[usize], out: &mut [(usize, usize)], buf: &mut [u8]) {
    out.iter_mut().for_each(|o| *o = (0, 0));
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a NUL-terminated path; the descriptor is closed below.
        let fd = unsafe {
            libc::open(
                c"/proc/self/maps".as_ptr(),
                libc::O_RDONLY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return;
        }
        let mut filled = 0usize;
        loop {
            // SAFETY: reads into the unused tail of `buf`.
            let n =
                unsafe { libc::read(fd, buf[filled..].as_mut_ptr().cast(), buf.len() - filled) };
            if n < 0 && *unsafe_errno() == libc::EINTR {
                continue;
            }
            let end = filled + n.max(0) as usize;
            let mut line_start = 0;
            while let Some(nl) = buf[line_start..end].iter().position(|&b| b == b'\n') {
                let line = &buf[line_start..line_start + nl];
                if let Some((lo, hi)) = parse_range(line) {
                    for (a, o) in addrs.iter().zip(out.iter_mut()) {
                        if *a >= lo && *a < hi {
                            *o = (lo, hi);
                        }
                    }
                }
                line_start += nl + 1;
            }
            if n <= 0 {
                break;
            }
            buf.copy_within(line_start..end, 0);
            filled = end - line_start;
            if filled == buf.len() {
                break; // a line longer than the buffer: give up on the rest
            }
        }
        // SAFETY: fd is ours.
        unsafe { libc::close(fd) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (addrs, buf);
}

#[cfg(target_os = "linux")]
fn unsafe_errno() -> &'static mut libc::c_int {
    // SAFETY: the calling thread's errno slot lives as long as the thread.
    unsafe { &mut *errno_location() }
}

/// `start-end` at the head of a `/proc/self/maps` line.
#[cfg(target_os = "linux")]
fn parse_range(line: &[u8]) -> Option<(usize, usize)> {
    let mut parts = [0usize; 2];
    let mut i = 0;
    for (k, part) in parts.iter_mut().enumerate() {
        let mut v = 0usize;
        let start = i;
        while i < line.len() {
            let d = match line[i] {
                b @ b'0'..=b'9' => b - b'0',
                b @ b'a'..=b'f' => b - b'a' + 10,
                _ => break,
            };
            v = v.checked_mul(16)? + d as usize;
            i += 1;
        }
        if i == start || (k == 0 && line.get(i) != Some(&b'-')) {
            return None;
        }
        *part = v;
        i += 1;
    }
    Some((parts[0], parts[1]))
}

/// Calls `f(start, len)` for every writable segment of every loaded
/// object (the executable, shared libraries): their statics. Takes the
/// loader's lock, so call it while the world runs.
pub(crate) fn writable_segments(f: &mut dyn FnMut(usize, usize)) {
    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
    {
        unsafe extern "C" fn each(
            info: *mut libc::dl_phdr_info,
            _size: libc::size_t,
            data: *mut libc::c_void,
        ) -> libc::c_int {
            // SAFETY: `data` is the `&mut &mut dyn FnMut` passed below, and
            // the loader passes a valid `info` for the call's duration.
            unsafe {
                let f = &mut *(data as *mut &mut dyn FnMut(usize, usize));
                let info = &*info;
                for i in 0..info.dlpi_phnum as usize {
                    let ph = &*info.dlpi_phdr.add(i);
                    if ph.p_type == libc::PT_LOAD && ph.p_flags & PF_W != 0 {
                        f(
                            info.dlpi_addr as usize + ph.p_vaddr as usize,
                            ph.p_memsz as usize,
                        );
                    }
                }
            }
            0
        }
        let mut f = f;
        // SAFETY: `each` only uses `data` as the pointer we pass.
        unsafe {
            libc::dl_iterate_phdr(
                Some(each),
                (&mut f as *mut &mut dyn FnMut(usize, usize)).cast(),
            );
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
    {
        // macOS: the images' __DATA segments through dyld (see DEVELOPING.md:
        // built, not run here).
        // SAFETY: dyld's image list calls take no locks the caller holds.
        unsafe {
            for i in 0.._dyld_image_count() {
                let header = _dyld_get_image_header(i);
                let slide = _dyld_get_image_vmaddr_slide(i);
                for name in [c"__DATA", c"__DATA_CONST", c"__DATA_DIRTY"] {
                    let mut size: libc::c_ulong = 0;
                    let p = getsegmentdata(header.cast(), name.as_ptr(), &mut size);
                    if !p.is_null() && size > 0 {
                        let _ = slide; // getsegmentdata returns slid addresses
                        f(p as usize, size as usize);
                    }
                }
            }
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
unsafe extern "C" {
    fn _dyld_image_count() -> u32;
    fn _dyld_get_image_header(i: u32) -> *const libc::c_void;
    fn _dyld_get_image_vmaddr_slide(i: u32) -> isize;
    fn getsegmentdata(
        header: *const libc::c_void,
        name: *const libc::c_char,
        size: *mut libc::c_ulong,
    ) -> *mut u8;
}

/// Writes the name of thread `tid` into `buf` (Linux; for the fatal error
/// naming a thread that did not stop); returns its length.
pub(crate) fn thread_name(tid: i32, buf: &mut [u8]) -> usize {
    let n = read_task_file(tid, b"comm", buf);
    buf[..n].iter().position(|&b| b == b'\n').unwrap_or(n)
}

/// Reads `/proc/self/task/<tid>/<file>` into `buf` (Linux; raw calls, so
/// async-signal-safe); returns the bytes read, 0 if it cannot.
fn read_task_file(tid: i32, file: &[u8], buf: &mut [u8]) -> usize {
    #[cfg(target_os = "linux")]
    {
        let mut path = [0u8; 64];
        let mut digits = [0u8; 20];
        let tid = super::format_u64(u64::from(tid.unsigned_abs()), &mut digits);
        let mut len = 0;
        for part in [&b"/proc/self/task/"[..], tid, b"/", file, b"\0"] {
            if len + part.len() > path.len() {
                return 0;
            }
            path[len..len + part.len()].copy_from_slice(part);
            len += part.len();
        }
        // SAFETY: `path` is NUL-terminated; the descriptor is closed below.
        let fd = unsafe { libc::open(path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return 0;
        }
        // SAFETY: reads into `buf`.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        // SAFETY: fd is ours.
        unsafe { libc::close(fd) };
        n.max(0) as usize
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (tid, file, buf);
        0
    }
}

/// Gives pages back to the OS; they read as zero when next touched.
///
/// # Safety
/// Nothing may rely on the contents of `[addr, addr + len)`.
pub(crate) unsafe fn zero_pages(addr: usize, len: usize) {
    // SAFETY: the caller gives up the contents.
    unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_DONTNEED) };
}

/// Bytes of static TLS all loaded objects declare (their `PT_TLS`
/// segments, each rounded to its alignment): how far from the thread
/// pointer a thread's static TLS may reach.
pub(crate) fn static_tls_size() -> usize {
    #[allow(unused_mut)]
    let mut total = 0usize;
    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
    {
        unsafe extern "C" fn each(
            info: *mut libc::dl_phdr_info,
            _size: libc::size_t,
            data: *mut libc::c_void,
        ) -> libc::c_int {
            // SAFETY: `data` is the `&mut usize` passed below; `info` is
            // valid for the call.
            unsafe {
                let total = &mut *(data as *mut usize);
                let info = &*info;
                for i in 0..info.dlpi_phnum as usize {
                    let ph = &*info.dlpi_phdr.add(i);
                    if ph.p_type == libc::PT_TLS {
                        let align = (ph.p_align as usize).max(1);
                        *total += (ph.p_memsz as usize).next_multiple_of(align) + align;
                    }
                }
            }
            0
        }
        // SAFETY: `each` only uses `data` as the pointer we pass.
        unsafe {
            libc::dl_iterate_phdr(Some(each), (&mut total as *mut usize).cast());
        }
    }
    total
}

/// Where the calling thread's static TLS may be: a range around the
/// thread pointer, clipped to the mapping that holds it (Linux), or
/// `(0, 0)` if unknown. Not async-signal-safe (it allocates a buffer).
pub(crate) fn static_tls_range() -> (usize, usize) {
    let tp = thread_pointer();
    if tp == 0 {
        return (0, 0);
    }
    let reach = static_tls_size() + 4096;
    #[cfg(target_arch = "x86_64")]
    let (lo, hi) = (tp.saturating_sub(reach), tp + 64);
    #[cfg(target_arch = "aarch64")]
    let (lo, hi) = (tp, tp + 16 + reach);
    let mut out = [(0usize, 0usize)];
    let mut buf = vec![0u8; 16 * 1024];
    find_mappings(&[tp], &mut out, &mut buf);
    let (mlo, mhi) = out[0];
    if mhi == 0 {
        return (0, 0);
    }
    (lo.max(mlo), hi.min(mhi))
}

/// What a thread's signal state says about `signal` (Linux: from
/// `/proc/self/task/<tid>/status` and `.../syscall`).
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct SignalState {
    /// Its mask blocks the signal, or blocks nearly everything (as an
    /// emulator's own threads do; qemu-user maps a guest's signal numbers
    /// to other host ones).
    pub(crate) blocked: bool,
    /// The signal is pending for it (or, for a thread that blocks nearly
    /// everything, some signal is).
    pub(crate) pending: bool,
    /// It sleeps in `sigwait` (`rt_sigtimedwait`), which takes signals of
    /// its set without running their handlers.
    pub(crate) in_sigwait: bool,
}

/// Thread `tid`'s `SignalState` for `signal`; all false if unknown (not
/// Linux, or the thread is gone). Async-signal-safe.
pub(crate) fn signal_state(tid: i32, signal: i32) -> SignalState {
    let mut buf = [0u8; 4096];
    let n = read_task_file(tid, b"status", &mut buf);
    let text = &buf[..n];
    let mask = |key: &[u8]| -> u64 {
        let Some(at) = text.windows(key.len()).position(|w| w == key) else {
            return 0;
        };
        let mut mask = 0u64;
        for &b in text[at + key.len()..]
            .iter()
            .skip_while(|b| b.is_ascii_whitespace())
        {
            let v = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                _ => break,
            };
            mask = mask << 4 | u64::from(v);
        }
        mask
    };
    let bit = 1u64.checked_shl(signal as u32 - 1).unwrap_or(0);
    let (blocked, pending) = (mask(b"SigBlk:"), mask(b"SigPnd:"));
    let nearly_all = blocked.count_ones() >= 60;
    let mut call = [0u8; 32];
    let n = read_task_file(tid, b"syscall", &mut call);
    let number = call[..n]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |v, &b| v * 10 + i64::from(b - b'0'));
    #[cfg(target_os = "linux")]
    let in_sigwait = n > 0 && call[0].is_ascii_digit() && number == libc::SYS_rt_sigtimedwait;
    #[cfg(not(target_os = "linux"))]
    let in_sigwait = number < 0;
    SignalState {
        blocked: blocked & bit != 0 || nearly_all,
        pending: pending & bit != 0 || (nearly_all && pending != 0),
        in_sigwait,
    }
}
