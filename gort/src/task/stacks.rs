//! Goroutine stacks for the M:N scheduler: a pool that reuses them, each
//! with a guard page at its low end, and gives idle ones' pages back.
//!
//! Invariants:
//! - a stack is `[guard page][usable]`, the usable part being the
//!   configured size rounded up to whole pages; its guard is installed
//!   when it is carved and stays as long as its region;
//! - a stack is in exactly one place: owned by one goroutine (a `GoStack`
//!   value), in `warm` (pages kept), or in `cold` (pages given back to the
//!   OS; address range and guard kept). A goroutine owns its stack from
//!   its spawn until its task is released (`mn`: its record may sit at
//!   the top of the stack, kept from the coroutine by `reserve_top`, which
//!   is 0 again whenever the stack is in the pool);
//! - a released goroutine's stack goes to the top of `warm`, and new ones
//!   come from the top, so the bottom holds the longest unused. Warm
//!   stacks beyond `MAX_WARM` that went unused for a whole
//!   `SCAVENGE_PERIOD` (below `low_water`, the fewest warm stacks seen in
//!   the period) go cold at the next `scavenge`; the scheduler calls it
//!   when `scavenge_deadline` passes, from a busy worker's loop or an idle
//!   worker's timed sleep. So a burst of goroutines reuses committed
//!   stacks, and its memory goes back a few seconds after it ends;
//! - pages go back to the OS through `platform::release_stack_pages`,
//!   which keeps the stacks it leaves in the list (address range and
//!   guard kept: they go cold) and frees the others;
//! - regions are unmapped only when the pool is dropped, which is after
//!   its scheduler and so after every goroutine (every stack) of it.
//!
//! The memory and its carving come from `platform` (`PooledStack`,
//! `StackCarver`): on Unix stacks carved out of large regions (see
//! `posix_memory`: on Linux 6.13+ a guard costs no extra mapping, so a
//! million goroutines fit the default `vm.max_map_count`); on Windows each
//! stack is corosensei's own `DefaultStack` (for its thread-block fields),
//! pooled the same way.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::lockrank::LockRank;
use crate::platform::{self, PooledStack, ShortLock, ShortLockGuard, StackCarver};

/// Warm stacks kept however long they go unused.
const MAX_WARM: usize = 1024;

/// How long a warm stack beyond `MAX_WARM` may go unused before its pages
/// go back to the OS, in nanoseconds.
const SCAVENGE_PERIOD: u64 = 2_000_000_000;

/// A goroutine stack, with what the collector knows of it.
pub(crate) type GoStack = PooledStack<StackTag>;

/// What the pool keeps beside each stack: the collector's record of it,
/// where there is a collector.
pub(crate) struct StackTag {
    #[cfg(gort_gc)]
    record: *mut crate::task::registry::StackRecord,
}

// SAFETY: the record is shared with the collector through atomics and the
// registry's lock only; nothing else in it belongs to a thread.
unsafe impl Send for StackTag {}

impl StackTag {
    /// Records the stack whose usable range is `[lo, hi)`.
    #[cfg(gort_gc)]
    fn new(lo: usize, hi: usize) -> StackTag {
        StackTag {
            record: crate::task::registry::add_stack(lo, hi),
        }
    }

    #[cfg(not(gort_gc))]
    fn new(_lo: usize, _hi: usize) -> StackTag {
        StackTag {}
    }
}

#[cfg(gort_gc)]
impl Drop for StackTag {
    fn drop(&mut self) {
        // SAFETY: the record came from `add_stack` in `StackTag::new` and
        // is removed once, here, while the stack is still mapped (a
        // `PooledStack` drops its tag first, and regions are unmapped
        // after every stack is dropped).
        unsafe { crate::task::registry::remove_stack(self.record) };
    }
}

#[cfg(gort_gc)]
impl GoStack {
    /// The collector's record of this stack.
    pub(crate) fn record(&self) -> *mut crate::task::registry::StackRecord {
        self.tag.record
    }
}

/// A scheduler's stacks, all of one size.
pub(crate) struct Stacks {
    /// Usable bytes per stack (whole pages).
    usable: usize,
    pool: ShortLock<Pool>,
    /// When `scavenge` has work (a `now_nanos` time), `u64::MAX` if none.
    scavenge_at: AtomicU64,
}

#[derive(Default)]
struct Pool {
    warm: Vec<GoStack>,
    /// The fewest stacks `warm` held since the last scavenge.
    low_water: usize,
    cold: Vec<GoStack>,
    /// Last: dropped after every stack above.
    carver: StackCarver,
}

impl Stacks {
    pub(crate) fn new(stack_size: usize) -> Stacks {
        let page = platform::page_size();
        let usable = stack_size
            .max(corosensei::stack::MIN_STACK_SIZE)
            .checked_next_multiple_of(page)
            .unwrap_or(usize::MAX - usize::MAX % page);
        Stacks {
            usable,
            pool: ShortLock::new(LockRank::StackPool, Pool::default()),
            scavenge_at: AtomicU64::new(u64::MAX),
        }
    }

    fn lock(&self) -> ShortLockGuard<'_, Pool> {
        self.pool.lock()
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
        pool.carver.carve(self.usable, StackTag::new)
    }

    /// Takes back the stack of a released goroutine (it stays warm).
    pub(crate) fn give(&self, stack: GoStack) {
        let mut pool = self.lock();
        pool.warm.push(stack);
        if pool.warm.len() > MAX_WARM && self.scavenge_at.load(Relaxed) == u64::MAX {
            pool.low_water = pool.warm.len();
            let at = platform::now_nanos().saturating_add(SCAVENGE_PERIOD);
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
        let mut idle: Vec<GoStack> = pool.warm.drain(..unused).collect();
        pool.low_water = pool.warm.len();
        let next = if pool.warm.len() > MAX_WARM {
            now.saturating_add(SCAVENGE_PERIOD)
        } else {
            u64::MAX
        };
        self.scavenge_at.store(next, Relaxed);
        drop(pool);
        platform::release_stack_pages(&mut idle);
        self.lock().cold.append(&mut idle);
    }
}

/// The pool on its own (as the scheduler uses it): reuse, scavenging and
/// failure.
#[cfg(test)]
mod tests {
    use super::*;
    use corosensei::stack::Stack;

    /// The highest word of `s`'s usable part.
    fn top_word(s: &GoStack) -> *mut u64 {
        (s.base().get() - 8) as *mut u64
    }

    fn mark(s: &GoStack, value: u64) {
        // SAFETY: the stack is ours (taken, no coroutine runs on it), and
        // its top word is usable memory.
        unsafe { top_word(s).write(value) };
    }

    fn marker(s: &GoStack) -> u64 {
        // SAFETY: as in `mark`.
        unsafe { top_word(s).read() }
    }

    fn counts(stacks: &Stacks) -> (usize, usize) {
        let pool = stacks.lock();
        (pool.warm.len(), pool.cold.len())
    }

    #[test]
    fn a_given_back_stack_is_the_next_one_taken() {
        let stacks = Stacks::new(64 << 10);
        let (a, b) = (stacks.take().unwrap(), stacks.take().unwrap());
        assert_ne!(a.base(), b.base());
        assert!(
            a.base().get() - a.limit().get() > 64 << 10,
            "usable part too small"
        );
        let (a_base, b_base) = (a.base(), b.base());
        stacks.give(a);
        stacks.give(b);
        assert_eq!(counts(&stacks), (2, 0));
        // Last in, first out: the warmest stack first.
        assert_eq!(stacks.take().unwrap().base(), b_base);
        assert_eq!(stacks.take().unwrap().base(), a_base);
        assert_eq!(counts(&stacks), (0, 0));
        assert_eq!(stacks.scavenge_deadline(), u64::MAX, "nothing to scavenge");
    }

    #[test]
    fn scavenging_leaves_max_warm_stacks_and_the_rest_go_cold() {
        let extra = 75;
        let stacks = Stacks::new(corosensei::stack::MIN_STACK_SIZE);
        let taken: Vec<GoStack> = (0..MAX_WARM + 1 + extra)
            .map(|_| stacks.take().unwrap())
            .collect();
        for (i, s) in taken.iter().enumerate() {
            mark(s, i as u64 + 1);
        }
        // Given back oldest first, so the first ones end at the bottom.
        for s in taken {
            stacks.give(s);
        }
        assert_eq!(counts(&stacks), (MAX_WARM + 1 + extra, 0));
        let deadline = stacks.scavenge_deadline();
        assert_ne!(
            deadline,
            u64::MAX,
            "more than MAX_WARM warm: a scavenge is due"
        );

        // Before its deadline a scavenge does nothing.
        stacks.scavenge(deadline - 1);
        assert_eq!(counts(&stacks), (MAX_WARM + 1 + extra, 0));

        // When the pool went past MAX_WARM it held MAX_WARM + 1: only one
        // stack beyond MAX_WARM went unused for the whole period.
        stacks.scavenge(deadline);
        let (warm, cold) = counts(&stacks);
        assert_eq!(warm, MAX_WARM + extra);
        assert!(cold <= 1, "{cold} cold");
        let next = stacks.scavenge_deadline();
        assert!(next > deadline && next != u64::MAX, "still too many warm");

        // Nothing was taken in the next period: all the extra go.
        stacks.scavenge(next);
        let (warm, cold) = counts(&stacks);
        assert_eq!(warm, MAX_WARM);
        assert!(cold <= 1 + extra, "{cold} cold");
        assert_eq!(stacks.scavenge_deadline(), u64::MAX, "done");

        // The stacks that stayed warm are the last given back, with
        // their contents: their pages were kept. Then the cold ones.
        let mut retaken = Vec::new();
        for i in (1 + extra..MAX_WARM + 1 + extra).rev() {
            let s = stacks.take().unwrap();
            assert_eq!(marker(&s), i as u64 + 1);
            retaken.push(s);
        }
        assert_eq!(counts(&stacks), (0, cold));
        for _ in 0..cold {
            let s = stacks.take().unwrap();
            mark(&s, 1);
            assert_eq!(marker(&s), 1);
            retaken.push(s);
        }
        assert_eq!(counts(&stacks), (0, 0));
    }

    #[test]
    fn scavenging_with_few_warm_stacks_does_nothing() {
        let stacks = Stacks::new(corosensei::stack::MIN_STACK_SIZE);
        let s = stacks.take().unwrap();
        stacks.give(s);
        stacks.scavenge(u64::MAX - 1);
        assert_eq!(counts(&stacks), (1, 0));
    }

    #[test]
    fn an_absurd_stack_size_fails_to_take_and_leaves_the_pool_usable() {
        let huge = Stacks::new(usize::MAX / 16);
        assert!(huge.take().is_err(), "a stack of usize::MAX / 16 bytes");
        assert!(huge.take().is_err(), "and again");
        assert_eq!(counts(&huge), (0, 0));
        let fine = Stacks::new(64 << 10);
        let s = fine.take().unwrap();
        mark(&s, 7);
        assert_eq!(marker(&s), 7);
    }
}
