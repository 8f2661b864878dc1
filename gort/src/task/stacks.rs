//! Goroutine stacks for the M:N scheduler: carved out of large regions,
//! each with a guard page at its low end, and reused.
//!
//! Invariants:
//! - a stack is `[guard page][usable]`, the usable part being the
//!   configured size rounded up to whole pages; its guard is installed
//!   when it is carved and stays as long as its region;
//! - a stack is in exactly one place: owned by one goroutine (a `GoStack`
//!   value), in `warm` (pages kept), or in `cold` (pages given back to the
//!   OS; address range and guard kept);
//! - a finished goroutine's stack goes to the top of `warm`, and new ones
//!   come from the top, so the bottom holds the longest unused. Warm
//!   stacks beyond `MAX_WARM` that went unused for a whole
//!   `SCAVENGE_PERIOD` (below `low_water`, the fewest warm stacks seen in
//!   the period) go cold at the next `scavenge`; the scheduler calls it
//!   when `scavenge_deadline` passes, from a busy worker's loop or an idle
//!   worker's timed sleep. So a burst of goroutines reuses committed
//!   stacks, and its memory goes back a few seconds after it ends;
//! - pages go back to the OS in one call per run of neighbouring stacks
//!   (each call interrupts every CPU to flush its TLB); a guard survives
//!   that (`MADV_DONTNEED` keeps guard markers, and never touches an
//!   `mprotect`ed page's protection);
//! - regions are unmapped only when the pool is dropped, which is after
//!   its scheduler and so after every goroutine (every stack) of it.
//!
//! On Unix the memory comes from `platform` (see `posix_memory`: on Linux
//! 6.13+ a guard costs no extra mapping, so a million goroutines fit the
//! default `vm.max_map_count`); elsewhere each stack is corosensei's own
//! `DefaultStack` (needed on Windows for its thread-block fields), pooled
//! the same way.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Warm stacks kept however long they go unused.
const MAX_WARM: usize = 1024;

/// How long a warm stack beyond `MAX_WARM` may go unused before its pages
/// go back to the OS, in nanoseconds.
const SCAVENGE_PERIOD: u64 = 2_000_000_000;

/// Stacks carved from one region at a time (bounded to 64 MiB a region).
#[cfg(unix)]
const STACKS_PER_REGION: usize = 64;
#[cfg(unix)]
const MAX_REGION: usize = 64 << 20;

#[cfg(unix)]
pub(crate) use unix::GoStack;
#[cfg(not(unix))]
pub(crate) type GoStack = corosensei::stack::DefaultStack;

/// A scheduler's stacks, all of one size.
pub(crate) struct Stacks {
    /// Usable bytes per stack (whole pages).
    usable: usize,
    pool: Mutex<Pool>,
    /// When `scavenge` has work (a `now_nanos` time), `u64::MAX` if none.
    scavenge_at: AtomicU64,
}

#[derive(Default)]
struct Pool {
    warm: Vec<GoStack>,
    /// The fewest stacks `warm` held since the last scavenge.
    low_water: usize,
    cold: Vec<GoStack>,
    #[cfg(unix)]
    carve: unix::Carver,
}

impl Stacks {
    pub(crate) fn new(stack_size: usize) -> Stacks {
        let page = crate::platform::page_size();
        let usable = stack_size
            .max(corosensei::stack::MIN_STACK_SIZE)
            .next_multiple_of(page);
        Stacks {
            usable,
            pool: Mutex::new(Pool::default()),
            scavenge_at: AtomicU64::new(u64::MAX),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pool> {
        // Nothing panics while holding it; a poisoned pool is still sound.
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A stack for a new goroutine: warm, else cold, else a new one.
    pub(crate) fn take(&self) -> std::io::Result<GoStack> {
        let mut pool = self.lock();
        if let Some(s) = pool.warm.pop() {
            pool.low_water = pool.low_water.min(pool.warm.len());
            return Ok(s);
        }
        pool.low_water = 0;
        if let Some(s) = pool.cold.pop() {
            return Ok(s);
        }
        #[cfg(unix)]
        return pool.carve.next(self.usable);
        #[cfg(not(unix))]
        return GoStack::new(self.usable);
    }

    /// Takes back the stack of a finished goroutine (it stays warm).
    pub(crate) fn give(&self, stack: GoStack) {
        let mut pool = self.lock();
        pool.warm.push(stack);
        if pool.warm.len() > MAX_WARM && self.scavenge_at.load(Relaxed) == u64::MAX {
            pool.low_water = pool.warm.len();
            let at = crate::platform::now_nanos().saturating_add(SCAVENGE_PERIOD);
            self.scavenge_at.store(at, Relaxed);
        }
    }

    /// When `scavenge` next has work (`u64::MAX`: none).
    pub(crate) fn scavenge_deadline(&self) -> u64 {
        self.scavenge_at.load(Relaxed)
    }

    /// Gives back the pages of the warm stacks beyond `MAX_WARM` that went
    /// unused since the last scavenge, if its deadline passed.
    pub(crate) fn scavenge(&self, now: u64) {
        if now < self.scavenge_at.load(Relaxed) {
            return;
        }
        let mut pool = self.lock();
        if now < self.scavenge_at.load(Relaxed) {
            return; // another worker just did it
        }
        let unused = pool.low_water.min(pool.warm.len()).saturating_sub(MAX_WARM);
        let idle: Vec<GoStack> = pool.warm.drain(..unused).collect();
        pool.low_water = pool.warm.len();
        let next = if pool.warm.len() > MAX_WARM {
            now.saturating_add(SCAVENGE_PERIOD)
        } else {
            u64::MAX
        };
        self.scavenge_at.store(next, Relaxed);
        drop(pool);
        #[cfg(unix)]
        {
            let mut idle = idle;
            unix::discard_pages(&mut idle);
            self.lock().cold.append(&mut idle);
        }
        // Elsewhere an idle stack is simply unmapped.
        #[cfg(not(unix))]
        drop(idle);
    }
}

#[cfg(unix)]
mod unix {
    use corosensei::stack::{Stack, StackPointer};

    /// One goroutine stack inside a region: `[guard page][usable]`.
    pub(crate) struct GoStack {
        /// One past the highest usable byte (the stack grows down from it).
        top: usize,
        /// Bytes from the guard page's start to `top`.
        len: usize,
        /// What the collector knows of this stack.
        #[cfg(gort_gc)]
        record: *mut crate::task::registry::StackRecord,
    }

    // SAFETY: a stack is plain memory; its record is shared with the
    // collector through atomics only.
    unsafe impl Send for GoStack {}

    #[cfg(gort_gc)]
    impl GoStack {
        /// The collector's record of this stack.
        pub(crate) fn record(&self) -> *mut crate::task::registry::StackRecord {
            self.record
        }
    }

    #[cfg(gort_gc)]
    impl Drop for GoStack {
        fn drop(&mut self) {
            // SAFETY: the record came from `add_stack` in `Carver::next`
            // and is removed once, here, while the stack is still mapped
            // (the regions are unmapped after every stack is dropped).
            unsafe { crate::task::registry::remove_stack(self.record) };
        }
    }

    // SAFETY: `base` is the top of memory we own for as long as this value
    // exists (module invariants), `limit` its lowest byte including the
    // guard page, as the trait asks; both are page-aligned, so aligned to
    // `STACK_ALIGNMENT`.
    unsafe impl Stack for GoStack {
        fn base(&self) -> StackPointer {
            StackPointer::new(self.top).expect("a stack is never at address 0")
        }
        fn limit(&self) -> StackPointer {
            StackPointer::new(self.top - self.len).expect("a stack is never at address 0")
        }
    }

    /// Gives the pages of `stacks` (owned by no goroutine) back to the OS,
    /// one call per run of neighbouring stacks. Sorts `stacks`.
    pub(super) fn discard_pages(stacks: &mut [GoStack]) {
        stacks.sort_unstable_by_key(|s| s.top);
        let mut i = 0;
        while i < stacks.len() {
            // Runs from the first usable byte of stacks[i] (past its guard)
            // to the top of the last neighbour; guards inside stay guards.
            let low = stacks[i].top - stacks[i].len + crate::platform::page_size();
            let mut top = stacks[i].top;
            i += 1;
            while i < stacks.len() && stacks[i].top - stacks[i].len == top {
                top = stacks[i].top;
                i += 1;
            }
            // SAFETY: these stacks are in the pool, owned by no goroutine:
            // their contents are dead, and the range is inside our regions.
            unsafe { crate::platform::discard_pages(low, top - low) };
        }
    }

    /// Carves stacks out of regions, mapping a new region when the current
    /// one is used up; unmaps every region when dropped.
    #[derive(Default)]
    pub(super) struct Carver {
        next: usize,
        end: usize,
        regions: Vec<(usize, usize)>,
    }

    impl Carver {
        pub(super) fn next(&mut self, usable: usize) -> std::io::Result<GoStack> {
            let page = crate::platform::page_size();
            let len = usable + page;
            if self.end - self.next < len {
                let region = len
                    .saturating_mul(super::STACKS_PER_REGION)
                    .min(super::MAX_REGION.max(len));
                let start = crate::platform::map_region(region)?;
                self.regions.push((start, region));
                self.next = start;
                self.end = start + region - region % len;
            }
            crate::platform::guard_pages(self.next, page)?;
            let stack = GoStack {
                top: self.next + len,
                len,
                #[cfg(gort_gc)]
                record: crate::task::registry::add_stack(self.next + page, self.next + len),
            };
            self.next += len;
            Ok(stack)
        }
    }

    impl Drop for Carver {
        fn drop(&mut self) {
            for &(start, len) in &self.regions {
                // SAFETY: the pool is dropped after every stack carved from
                // it came back (module invariants), so nothing uses them.
                unsafe { crate::platform::unmap_region(start, len) };
            }
        }
    }
}
