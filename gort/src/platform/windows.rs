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

/// The registered fault check (a `fn(MemoryFault)`), 0 until one is.
static CHECK: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Calls `check` on every access violation (with its address) and stack
/// overflow, before any other handler, from a vectored exception handler.
/// `check` must not return if it handled the fault (it ends the process).
pub(crate) fn on_memory_fault(check: fn(super::MemoryFault)) {
    use windows_sys::Win32::System::Diagnostics::Debug::AddVectoredExceptionHandler;
    static INSTALL: std::sync::Once = std::sync::Once::new();
    CHECK.store(check as usize, core::sync::atomic::Ordering::Release);
    INSTALL.call_once(|| {
        // SAFETY: `on_fault` has the signature the API asks for and lives
        // for the whole program; it is never removed.
        let added = unsafe { AddVectoredExceptionHandler(1, Some(on_fault)) };
        assert!(!added.is_null(), "gort: cannot add an exception handler");
    });
}

unsafe extern "system" fn on_fault(
    info: *mut windows_sys::Win32::System::Diagnostics::Debug::EXCEPTION_POINTERS,
) -> i32 {
    use windows_sys::Win32::Foundation::{EXCEPTION_ACCESS_VIOLATION, EXCEPTION_STACK_OVERFLOW};
    const EXCEPTION_CONTINUE_SEARCH: i32 = 0;
    // SAFETY: Windows passes valid exception pointers to the handler.
    let record = unsafe { &*(*info).ExceptionRecord };
    let fault = match record.ExceptionCode {
        EXCEPTION_STACK_OVERFLOW => super::MemoryFault::StackOverflow,
        EXCEPTION_ACCESS_VIOLATION if record.NumberParameters >= 2 => {
            super::MemoryFault::At(record.ExceptionInformation[1])
        }
        _ => return EXCEPTION_CONTINUE_SEARCH,
    };
    let check = CHECK.load(core::sync::atomic::Ordering::Acquire);
    if check != 0 {
        // SAFETY: CHECK only ever holds a `fn(MemoryFault)` stored above.
        let check: fn(super::MemoryFault) = unsafe { core::mem::transmute(check) };
        check(fault);
    }
    EXCEPTION_CONTINUE_SEARCH
}

/// Writes `bytes` to standard error with one system call and no locks or
/// allocation (it runs in the fault handler, on what is left of a stack).
pub(crate) fn write_stderr(bytes: &[u8]) {
    use windows_sys::Win32::Storage::FileSystem::WriteFile;
    use windows_sys::Win32::System::Console::{GetStdHandle, STD_ERROR_HANDLE};
    let mut written = 0u32;
    // SAFETY: the buffer is valid for its length; a null overlapped is a
    // synchronous write; a bad handle only makes the call fail.
    unsafe {
        WriteFile(
            GetStdHandle(STD_ERROR_HANDLE),
            bytes.as_ptr(),
            bytes.len().min(u32::MAX as usize) as u32,
            &mut written,
            core::ptr::null_mut(),
        );
    }
}

/// Ends the process at once with `code`, running no destructors.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: ExitProcess has no preconditions.
    unsafe { windows_sys::Win32::System::Threading::ExitProcess(code as u32) }
}

/// The process's thread count, from a Toolhelp snapshot of the system's
/// threads (the deadlock monitor's census; it asks at most every 100 ms).
pub(crate) fn thread_count() -> Option<usize> {
    use windows_sys::Win32::Foundation::{CloseHandle, INVALID_HANDLE_VALUE};
    use windows_sys::Win32::System::Diagnostics::ToolHelp::{
        CreateToolhelp32Snapshot, TH32CS_SNAPTHREAD, THREADENTRY32, Thread32First, Thread32Next,
    };
    use windows_sys::Win32::System::Threading::GetCurrentProcessId;
    // SAFETY: plain calls with valid arguments; the snapshot handle is
    // closed below, and `entry` has its size set as the API requires.
    unsafe {
        let snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
        if snapshot == INVALID_HANDLE_VALUE {
            return None;
        }
        let me = GetCurrentProcessId();
        let mut entry: THREADENTRY32 = core::mem::zeroed();
        entry.dwSize = core::mem::size_of::<THREADENTRY32>() as u32;
        let mut count = 0;
        let mut more = Thread32First(snapshot, &mut entry) != 0;
        while more {
            if entry.th32OwnerProcessID == me {
                count += 1;
            }
            more = Thread32Next(snapshot, &mut entry) != 0;
        }
        CloseHandle(snapshot);
        (count > 0).then_some(count)
    }
}

/// A goroutine stack: corosensei's own `DefaultStack` (a reservation with
/// a guard page, and the thread-block fields Windows needs when a thread
/// switches stacks), with what its pool keeps beside it (`tag`).
#[cfg(gort_mn)]
pub(crate) struct PooledStack<X> {
    /// The pool's data for this stack (declared first: dropped first).
    /// Read only where there is a collector (none here).
    #[allow(dead_code)]
    pub(crate) tag: X,
    memory: corosensei::stack::DefaultStack,
    /// Bytes at the top kept from the coroutine (`reserve_top`).
    reserved: usize,
}

// SAFETY: every method passes through to `DefaultStack`, which keeps the
// trait's contract for as long as it exists (and it lives as long as this
// value).
#[cfg(gort_mn)]
unsafe impl<X> corosensei::stack::Stack for PooledStack<X> {
    fn base(&self) -> corosensei::stack::StackPointer {
        corosensei::stack::StackPointer::new(self.memory.base().get() - self.reserved)
            .expect("a stack is never at address 0")
    }
    fn limit(&self) -> corosensei::stack::StackPointer {
        self.memory.limit()
    }
    fn teb_fields(&self) -> corosensei::stack::StackTebFields {
        self.memory.teb_fields()
    }
    fn update_teb_fields(&mut self, stack_limit: usize, guaranteed_stack_bytes: usize) {
        self.memory
            .update_teb_fields(stack_limit, guaranteed_stack_bytes);
    }
}

/// Makes each stack a `DefaultStack` of its own (there are no regions to
/// carve from here).
#[cfg(gort_mn)]
#[derive(Default)]
pub(crate) struct StackCarver;

#[cfg(gort_mn)]
impl StackCarver {
    /// A new stack of `usable` bytes; `tag` makes its pool's data from its
    /// usable range `[lo, hi)`.
    pub(crate) fn carve<X>(
        &mut self,
        usable: usize,
        tag: impl FnOnce(usize, usize) -> X,
    ) -> std::io::Result<PooledStack<X>> {
        use corosensei::stack::Stack;
        let memory = corosensei::stack::DefaultStack::new(usable)?;
        let top = memory.base().get();
        Ok(PooledStack {
            tag: tag(top - usable, top),
            memory,
            reserved: 0,
        })
    }
}

#[cfg(gort_mn)]
impl<X> PooledStack<X> {
    /// Keeps the top `bytes` (a multiple of 16, less than a page) out of
    /// the coroutine's stack: `base` is that much lower. The memory stays
    /// the owner's; 0 gives it back.
    pub(crate) fn reserve_top(&mut self, bytes: usize) {
        assert!(bytes.is_multiple_of(16) && bytes < super::page_size());
        self.reserved = bytes;
    }

    /// One past the highest usable byte, reserved part included.
    pub(crate) fn top(&self) -> usize {
        use corosensei::stack::Stack;
        self.memory.base().get()
    }
}

/// Gives the pages of `stacks` (owned by no goroutine) back to the OS:
/// here that frees them, so `stacks` ends empty.
#[cfg(gort_mn)]
pub(crate) fn release_stack_pages<X>(stacks: &mut Vec<PooledStack<X>>) {
    stacks.clear();
}

/// How long one wait for a socket may last before the waiter retries its
/// call whatever the poller said: no limit on Windows, 50 ms under Wine.
///
/// Wine (8.0, and its source since) completes an AFD poll by an APC to
/// the thread that submitted it, which writes the poll's result into the
/// caller's memory; if that thread has exited, the packet still reaches
/// the completion port but the result is never written. mio then reads
/// its own request back (`POLL_LOCAL_CLOSE` among the flags it asked
/// for), takes the socket for closed and never polls it again. mio submits
/// polls from whichever thread polls or re-arms a socket, and threads that
/// did so exit (a runtime's workers when it shuts down, an idle
/// threads-scheduler worker): seen as a reader that never woke although
/// its data had come, in about one run in five of `tests/net.rs`. Windows
/// itself keeps I/O on a handle bound to a completion port alive when its
/// thread exits. Under Wine a waiter therefore retries every 50 ms, which
/// costs a system call per wait that long and finds the data of a socket
/// the poller has lost.
#[cfg(gort_net)]
pub(crate) fn socket_wait_limit() -> Option<Duration> {
    use std::sync::OnceLock;
    static UNDER_WINE: OnceLock<bool> = OnceLock::new();
    let wine = *UNDER_WINE.get_or_init(|| {
        use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
        // SAFETY: both names are NUL-terminated; ntdll is loaded in every
        // process, and a null module handle makes GetProcAddress fail.
        unsafe {
            let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
            !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
        }
    });
    wine.then_some(Duration::from_millis(50))
}
