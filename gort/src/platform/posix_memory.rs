//! Memory for goroutine stacks on Unix: large regions mapped once, a guard
//! page at the low end of each stack, pages given back when a stack goes
//! cold. `StackCarver` carves the stacks out of the regions; the pool that
//! keeps and reuses them is `task::stacks`.
//!
//! Invariants:
//! - a carved stack is `[guard page][usable]` inside one region, its guard
//!   installed when it is carved and kept as long as its region;
//! - regions are unmapped only when their carver is dropped, which its
//!   owner does after every stack carved from it is gone;
//! - pages go back to the OS in one call per run of neighbouring stacks
//!   (each call interrupts every CPU to flush its TLB); a guard survives
//!   that (`MADV_DONTNEED` keeps guard markers, and never touches an
//!   `mprotect`ed page's protection).
//!
//! On Linux 6.13 and later a guard page is a page-table marker
//! (`MADV_GUARD_INSTALL`) inside the region's one mapping, so a million
//! stacks need no million mappings (`vm.max_map_count` is 65,530 by
//! default). Elsewhere, or on an older kernel, the guard is `mprotect`ed
//! to no access, which splits the mapping: two mappings per stack.

use std::io;
#[cfg(target_os = "linux")]
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

/// Maps `len` bytes (a multiple of the page size) readable and writable,
/// without reserving swap for them: pages are committed when touched.
pub(crate) fn map_region(len: usize) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK;
    #[cfg(not(target_os = "linux"))]
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
    // SAFETY: an anonymous mapping at an address the kernel chooses touches
    // no existing memory.
    let p = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            flags,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        Err(io::Error::last_os_error())
    } else {
        Ok(p as usize)
    }
}

/// Unmaps a region from `map_region`.
///
/// # Safety
/// Nothing may use any byte of `[addr, addr + len)` afterwards.
pub(crate) unsafe fn unmap_region(addr: usize, len: usize) {
    // SAFETY: the caller gives up the whole range.
    unsafe { libc::munmap(addr as *mut libc::c_void, len) };
}

/// `madvise` advice that installs guard markers (Linux 6.13); not in the
/// libc crate yet.
#[cfg(target_os = "linux")]
const MADV_GUARD_INSTALL: libc::c_int = 102;

/// Whether guard markers work here: not tried yet, yes, or no (an older
/// kernel refuses them; an emulator such as qemu-user may accept the call
/// and ignore it, which only a probe reveals).
#[cfg(target_os = "linux")]
static GUARD_MARKERS: AtomicU8 = AtomicU8::new(MARKERS_UNTRIED);
#[cfg(target_os = "linux")]
const MARKERS_UNTRIED: u8 = 0;
#[cfg(target_os = "linux")]
const MARKERS_WORK: u8 = 1;
#[cfg(target_os = "linux")]
const MARKERS_FAIL: u8 = 2;

/// Makes `[addr, addr + len)` (page-aligned, inside a region) fault on any
/// access, for good.
pub(crate) fn guard_pages(addr: usize, len: usize) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    if GUARD_MARKERS.load(Relaxed) != MARKERS_FAIL {
        // SAFETY: the range is inside a region of ours that nothing uses
        // yet; guard markers only change how it faults.
        if unsafe { libc::madvise(addr as *mut libc::c_void, len, MADV_GUARD_INSTALL) } == 0 {
            if GUARD_MARKERS.load(Relaxed) == MARKERS_WORK || markers_fault(addr) {
                GUARD_MARKERS.store(MARKERS_WORK, Relaxed);
                return Ok(());
            }
        } else {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINVAL) {
                return Err(e);
            }
        }
        GUARD_MARKERS.store(MARKERS_FAIL, Relaxed);
    }
    // SAFETY: as above; the range becomes inaccessible, which is the point.
    if unsafe { libc::mprotect(addr as *mut libc::c_void, len, libc::PROT_NONE) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether reading the guarded page at `addr` faults, asked without a
/// signal: the kernel copying from it into a pipe fails with `EFAULT`.
#[cfg(target_os = "linux")]
fn markers_fault(addr: usize) -> bool {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return false;
    }
    // SAFETY: write reads one byte at `addr` in the kernel, which reports
    // a fault as EFAULT rather than raising a signal; the descriptors are
    // ours and closed right after.
    let wrote = unsafe { libc::write(fds[1], addr as *const libc::c_void, 1) };
    let fault = wrote < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT);
    // SAFETY: closing the two descriptors pipe2 just gave us.
    unsafe {
        libc::close(fds[0]);
        libc::close(fds[1]);
    }
    fault
}

/// Gives the pages of `[addr, addr + len)` back to the OS; the range stays
/// mapped and reads as zeros (or its old bytes) when touched again.
///
/// # Safety
/// Nothing may rely on the range's contents afterwards.
pub(crate) unsafe fn discard_pages(addr: usize, len: usize) {
    #[cfg(target_os = "linux")]
    let advice = libc::MADV_DONTNEED;
    #[cfg(not(target_os = "linux"))]
    let advice = libc::MADV_FREE;
    // SAFETY: the caller no longer needs the contents; the mapping stays.
    unsafe { libc::madvise(addr as *mut libc::c_void, len, advice) };
}

/// Stacks carved from one region at a time (bounded to 64 MiB a region).
#[cfg(gort_mn)]
const STACKS_PER_REGION: usize = 64;
#[cfg(gort_mn)]
const MAX_REGION: usize = 64 << 20;

/// One goroutine stack inside a region, `[guard page][usable]`, with what
/// its pool keeps beside it (`tag`).
#[cfg(gort_mn)]
pub(crate) struct PooledStack<X> {
    /// The pool's data for this stack (declared first: dropped first).
    pub(crate) tag: X,
    /// One past the highest usable byte (the stack grows down from it).
    top: usize,
    /// Bytes from the guard page's start to `top`.
    len: usize,
    /// Bytes at the top kept from the coroutine (`reserve_top`).
    reserved: usize,
}

// SAFETY: `base` is the top of memory the carver's regions hold for as
// long as this value exists (module invariants), `limit` its lowest byte
// including the guard page, as the trait asks; both are page-aligned, so
// aligned to `STACK_ALIGNMENT`.
#[cfg(gort_mn)]
unsafe impl<X> corosensei::stack::Stack for PooledStack<X> {
    fn base(&self) -> corosensei::stack::StackPointer {
        corosensei::stack::StackPointer::new(self.top - self.reserved)
            .expect("a stack is never at address 0")
    }
    fn limit(&self) -> corosensei::stack::StackPointer {
        corosensei::stack::StackPointer::new(self.top - self.len)
            .expect("a stack is never at address 0")
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
        self.top
    }
}

/// Gives the pages of `stacks` (owned by no goroutine) back to the OS, one
/// call per run of neighbouring stacks. The stacks stay carved, address
/// range and guard kept, for reuse. Sorts `stacks`.
#[cfg(gort_mn)]
#[allow(clippy::ptr_arg)] // a `Vec`, as on Windows, where the stacks are freed
pub(crate) fn release_stack_pages<X>(stacks: &mut Vec<PooledStack<X>>) {
    stacks.sort_unstable_by_key(|s| s.top);
    let mut i = 0;
    while i < stacks.len() {
        // Runs from the first usable byte of stacks[i] (past its guard) to
        // the top of the last neighbour; guards inside stay guards.
        let low = stacks[i].top - stacks[i].len + super::page_size();
        let mut top = stacks[i].top;
        i += 1;
        while i < stacks.len() && stacks[i].top - stacks[i].len == top {
            top = stacks[i].top;
            i += 1;
        }
        // SAFETY: these stacks are owned by no goroutine: their contents
        // are dead, and the range is inside our regions.
        unsafe { discard_pages(low, top - low) };
    }
}

/// Carves stacks out of regions, mapping a new region when the current
/// one is used up; unmaps every region when dropped.
#[cfg(gort_mn)]
#[derive(Default)]
pub(crate) struct StackCarver {
    next: usize,
    end: usize,
    regions: Vec<(usize, usize)>,
}

#[cfg(gort_mn)]
impl StackCarver {
    /// A new stack of `usable` bytes (whole pages) above its guard page;
    /// `tag` makes its pool's data from its usable range `[lo, hi)`.
    pub(crate) fn carve<X>(
        &mut self,
        usable: usize,
        tag: impl FnOnce(usize, usize) -> X,
    ) -> io::Result<PooledStack<X>> {
        let page = super::page_size();
        let len = usable
            .checked_add(page)
            .ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        if self.end - self.next < len {
            let region = len
                .saturating_mul(STACKS_PER_REGION)
                .min(MAX_REGION.max(len));
            let start = map_region(region)?;
            self.regions.push((start, region));
            self.next = start;
            self.end = start + region - region % len;
        }
        guard_pages(self.next, page)?;
        let stack = PooledStack {
            tag: tag(self.next + page, self.next + len),
            top: self.next + len,
            len,
            reserved: 0,
        };
        self.next += len;
        Ok(stack)
    }
}

#[cfg(gort_mn)]
impl Drop for StackCarver {
    fn drop(&mut self) {
        for &(start, len) in &self.regions {
            // SAFETY: the carver is dropped after every stack carved from
            // it (module invariants), so nothing uses the regions.
            unsafe { unmap_region(start, len) };
        }
    }
}
