//! The collected heap: one reserved address range, cut into 8 KiB pages;
//! a span is one page of equal small objects (a size class) or a run of
//! pages holding one large object. Threads allocate from spans they own
//! (thread-local caches), so allocating takes no shared lock except to get
//! a new span.
//!
//! Invariants:
//! - every page below `high_water` has a `Span` record saying what it is:
//!   free, a small-object span, the head of a large object, or a tail page
//!   (pointing at its head), so any address in the heap finds its object
//!   (interior pointers included) with one lookup;
//! - `alloc` bits say which objects may be live: set when handed out,
//!   reset to the mark bits when the span is swept; bits past a span's
//!   last object are always set (never handed out, never marked);
//! - memory is zeroed when it is handed out (pages never touched are zero
//!   already); freed memory keeps its contents, except in debug builds,
//!   where sweeping fills it with `POISON` so a wrongly freed object shows;
//! - a span is swept once per collection, by whoever wins the CAS of its
//!   `swept` generation to the current one; spans created after the
//!   collection start at the current generation;
//! - a thread owns the spans in its cache until the heap's `epoch`
//!   changes (every collection changes it while the world is stopped):
//!   only the owner sets `alloc` bits in an owned span, and after a
//!   collection it drops its spans unseen (they are swept with the rest);
//! - the heap's own bookkeeping keeps no object's address where the
//!   collector looks for roots (globals, thread stacks and TLS): a cache
//!   keeps its next object's address inverted, and page 0 is never handed
//!   out (the heap's base address, in a global, points at it), so a thread
//!   that stopped allocating does not keep its last objects alive;
//! - allocation runs in a `no_stop` section, so the world never stops
//!   with a span half handed out; the locks here (`pages`, `partial`) are
//!   taken only inside such sections or by the collector while the world
//!   runs or is stopped (no stopped thread holds one).

use core::cell::UnsafeCell;
use std::sync::OnceLock;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize};

pub(crate) const PAGE: usize = 8192;
const PAGE_SHIFT: u32 = 13;
/// The largest small object; bigger ones get pages of their own.
pub(crate) const SMALL_MAX: usize = 2048;
const CLASS_SIZES: [u32; 24] = [
    16, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024,
    1280, 1536, 1792, 2048,
];
const NCLASSES: usize = CLASS_SIZES.len();
/// Bit words per span: 8 KiB / 16 B = 512 objects.
const WORDS: usize = PAGE / 16 / 64;
/// What freed memory is filled with in debug builds.
pub(crate) const POISON: u8 = 0xdb;

const FREE: u8 = 0;
const SMALL: u8 = 1;
const LARGE: u8 = 2;
const TAIL: u8 = 3;

/// Large runs at least this big go back to the OS when freed.
const RETURN_TO_OS: usize = 256 * 1024;

/// One page's record.
pub(crate) struct Span {
    kind: AtomicU8,
    class: AtomicU8,
    /// TAIL: the head page. FREE run head: the run's page count.
    head: AtomicU32,
    npages: AtomicU32,
    obj_size: AtomicU32,
    nobj: AtomicU32,
    /// The sweep generation this span was last swept in (or made in).
    swept: AtomicU32,
    /// Link in a partial list or the free-run list: page index + 1.
    next: AtomicU32,
    alloc: [AtomicU64; WORDS],
    /// One mark byte per object: marking stores 1 without a locked
    /// read-modify-write (two markers may both see 0 and both scan the
    /// object: harmless), which made marking a third faster than bits.
    mark: [AtomicU8; OBJECTS],
}

/// Objects per span at most (8 KiB / 16 B).
const OBJECTS: usize = WORDS * 64;

/// A spin lock for the heap's short sections (a mutator never holds one
/// across a stop: see the module invariants).
pub(crate) struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through `with` or `lock`, one holder
// at a time.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    pub(crate) const fn new(value: T) -> Self {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock and returns the value; `unlock` gives it back.
    pub(crate) fn lock(&self) -> *mut T {
        let mut spins = 0u32;
        while self
            .locked
            .compare_exchange_weak(false, true, Acquire, Relaxed)
            .is_err()
        {
            spins += 1;
            if spins < 64 {
                core::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        self.value.get()
    }

    /// Gives back the lock `lock` took.
    ///
    /// # Safety
    /// The caller holds it (from `lock`), and no longer uses the value.
    pub(crate) unsafe fn unlock(&self) {
        self.locked.store(false, Release);
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: we hold the lock until `unlock`, and the reference does
        // not outlive `f`.
        unsafe {
            let r = f(&mut *self.lock());
            self.unlock();
            r
        }
    }
}

/// A word on a cache line of its own (read by every allocation, written
/// once per collection).
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

pub(crate) struct Heap {
    /// Changes at every collection: caches drop their spans.
    pub(crate) epoch: Padded<AtomicU32>,
    base: usize,
    /// Pages reserved.
    limit: usize,
    spans: *const Span,
    /// Pages handed out so far (those above were never touched).
    high_water: AtomicUsize,
    /// Head of the free page runs (page index + 1).
    free_runs: SpinLock<u32>,
    /// Per size class: spans swept this cycle that have free objects.
    partial: [SpinLock<u32>; NCLASSES],
    sweep_gen: AtomicU32,
    /// Next page the sweepers look at, and where they stop.
    sweep_next: AtomicUsize,
    sweep_end: AtomicUsize,
    /// Pages in spans (not free).
    pages_in_use: AtomicUsize,
    /// Bytes handed to caches and large objects since the last collection.
    pub(crate) allocated: AtomicUsize,
    /// Bytes marked by the last collection.
    pub(crate) live: AtomicUsize,
    /// A collection is due when `live + allocated` passes this.
    pub(crate) goal: AtomicUsize,
}

// SAFETY: `spans` points at memory the heap owns for the process's life;
// every field of a `Span` is atomic.
unsafe impl Sync for Heap {}
// SAFETY: as above.
unsafe impl Send for Heap {}

static HEAP: OnceLock<Heap> = OnceLock::new();

/// The heap, reserving its address range on first use.
pub(crate) fn heap() -> &'static Heap {
    HEAP.get_or_init(Heap::reserve)
}

/// The heap if it exists yet.
pub(crate) fn heap_if_any() -> Option<&'static Heap> {
    HEAP.get()
}

/// The smallest heap goal (Go's is 4 MiB too).
pub(crate) const MIN_GOAL: usize = 4 << 20;

impl Heap {
    fn reserve() -> Heap {
        // As much address space as the OS grants, up to 64 GiB: only
        // touched pages cost memory.
        let mut bytes: usize = 64 << 30;
        loop {
            let pages = bytes / PAGE;
            let meta = (pages * core::mem::size_of::<Span>()).next_multiple_of(PAGE);
            if let Ok(base) = crate::platform::map_region(bytes) {
                if let Ok(spans) = crate::platform::map_region(meta) {
                    return Heap {
                        base,
                        limit: pages,
                        spans: spans as *const Span,
                        // Page 0 is never used: `base` (in this global)
                        // points at it.
                        high_water: AtomicUsize::new(1),
                        free_runs: SpinLock::new(0),
                        partial: [const { SpinLock::new(0) }; NCLASSES],
                        epoch: Padded(AtomicU32::new(1)),
                        sweep_gen: AtomicU32::new(0),
                        sweep_next: AtomicUsize::new(0),
                        sweep_end: AtomicUsize::new(0),
                        pages_in_use: AtomicUsize::new(0),
                        allocated: AtomicUsize::new(0),
                        live: AtomicUsize::new(0),
                        goal: AtomicUsize::new(MIN_GOAL),
                    };
                }
                // SAFETY: we just mapped it and nothing uses it.
                unsafe { crate::platform::unmap_region(base, bytes) };
            }
            bytes /= 2;
            if bytes < 64 << 20 {
                crate::platform::write_stderr(b"fatal error: gort gc: cannot reserve a heap\n");
                crate::platform::exit_now(2);
            }
        }
    }

    fn span(&self, page: usize) -> &Span {
        debug_assert!(page < self.limit);
        // SAFETY: the span array has `limit` zero-initialised entries (a
        // valid all-zero `Span`: every field is an atomic integer).
        unsafe { &*self.spans.add(page) }
    }

    fn page_addr(&self, page: usize) -> usize {
        self.base + page * PAGE
    }

    /// Bytes of the heap in spans.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.pages_in_use.load(Relaxed) * PAGE
    }

    /// The object containing `addr`, if `addr` points into a live (or
    /// not yet swept) object: its start and size.
    #[inline]
    pub(crate) fn find(&self, addr: usize) -> Option<(&Span, usize, usize, usize)> {
        let off = addr.wrapping_sub(self.base);
        let page = off >> PAGE_SHIFT;
        if page >= self.high_water.load(Relaxed) {
            return None;
        }
        let mut span = self.span(page);
        let mut head = page;
        match span.kind.load(Relaxed) {
            SMALL => {
                let size = span.obj_size.load(Relaxed) as usize;
                let idx = div_by_class(off & (PAGE - 1), span.class.load(Relaxed));
                if idx >= span.nobj.load(Relaxed) as usize {
                    return None;
                }
                if span.alloc[idx / 64].load(Relaxed) & (1 << (idx % 64)) == 0 {
                    return None;
                }
                Some((span, idx, self.page_addr(page) + idx * size, size))
            }
            kind @ (LARGE | TAIL) => {
                if kind == TAIL {
                    head = span.head.load(Relaxed) as usize;
                    span = self.span(head);
                }
                let start = self.page_addr(head);
                let size = span.obj_size.load(Relaxed) as usize;
                if addr - start >= size || span.alloc[0].load(Relaxed) & 1 == 0 {
                    return None;
                }
                Some((span, 0, start, size))
            }
            _ => None,
        }
    }

    // ---- pages ----

    /// `n` free pages, and whether they were never touched (so zero).
    fn alloc_pages(&self, n: usize) -> (usize, bool) {
        let reused = self.free_runs.with(|head| {
            let mut prev: Option<usize> = None;
            let mut at = *head as usize;
            while at != 0 {
                let page = at - 1;
                let s = self.span(page);
                let len = s.npages.load(Relaxed) as usize;
                let next = s.next.load(Relaxed);
                if len >= n {
                    let rest = len - n;
                    let replacement = if rest > 0 {
                        let r = self.span(page + n);
                        r.npages.store(rest as u32, Relaxed);
                        r.next.store(next, Relaxed);
                        (page + n + 1) as u32
                    } else {
                        next
                    };
                    match prev {
                        Some(p) => self.span(p).next.store(replacement, Relaxed),
                        None => *head = replacement,
                    }
                    return Some(page);
                }
                prev = Some(page);
                at = next as usize;
            }
            None
        });
        let (page, fresh) = match reused {
            Some(page) => (page, false),
            None => {
                let page = self.high_water.fetch_add(n, Relaxed);
                if page + n > self.limit {
                    crate::platform::write_stderr(
                        b"fatal error: gort gc: out of memory (heap reservation used up)\n",
                    );
                    crate::platform::exit_now(2);
                }
                (page, true)
            }
        };
        self.pages_in_use.fetch_add(n, Relaxed);
        (page, fresh)
    }

    /// Gives back `n` pages from `page`.
    fn free_pages(&self, page: usize, n: usize) {
        for p in page..page + n {
            self.span(p).kind.store(FREE, Relaxed);
        }
        let s = self.span(page);
        s.npages.store(n as u32, Relaxed);
        self.free_runs.with(|head| {
            s.next.store(*head, Relaxed);
            *head = (page + 1) as u32;
        });
        self.pages_in_use.fetch_sub(n, Relaxed);
    }

    // ---- spans ----

    fn new_small_span(&self, class: usize) -> usize {
        let (page, _) = self.alloc_pages(1);
        let s = self.span(page);
        let size = CLASS_SIZES[class] as usize;
        let nobj = PAGE / size;
        s.class.store(class as u8, Relaxed);
        s.obj_size.store(size as u32, Relaxed);
        s.nobj.store(nobj as u32, Relaxed);
        s.npages.store(1, Relaxed);
        s.next.store(0, Relaxed);
        s.swept.store(self.sweep_gen.load(Relaxed), Relaxed);
        for w in 0..WORDS {
            s.alloc[w].store(past_end_bits(w, nobj), Relaxed);
        }
        clear_marks(s);
        s.kind.store(SMALL, Release);
        page
    }

    /// A large object of `size` bytes (a multiple of 16): its address,
    /// zeroed.
    pub(crate) fn alloc_large(&self, size: usize) -> usize {
        let n = size.div_ceil(PAGE);
        let (page, fresh) = self.alloc_pages(n);
        if !fresh {
            // SAFETY: free pages we now own.
            unsafe { core::ptr::write_bytes(self.page_addr(page) as *mut u8, 0, size) };
        }
        let s = self.span(page);
        s.obj_size.store(size as u32, Relaxed);
        s.nobj.store(1, Relaxed);
        s.npages.store(n as u32, Relaxed);
        s.swept.store(self.sweep_gen.load(Relaxed), Relaxed);
        s.alloc[0].store(1, Relaxed);
        clear_marks(s);
        for p in page + 1..page + n {
            let t = self.span(p);
            t.head.store(page as u32, Relaxed);
            t.kind.store(TAIL, Release);
        }
        s.kind.store(LARGE, Release);
        self.allocated.fetch_add(n * PAGE, Relaxed);
        self.page_addr(page)
    }

    /// A span of `class` with free objects, for a cache: swept this cycle.
    fn span_for(&self, class: usize) -> usize {
        if let Some(page) = self.pop_partial(class) {
            return page;
        }
        // Help the sweep until it yields one of ours.
        let mut budget = 64;
        while budget > 0 {
            let Some(page) = self.sweep_one() else { break };
            budget -= 1;
            if let Some(p) = page.filter(|&p| self.span(p).class.load(Relaxed) as usize == class)
                && self.take_partial(class, p)
            {
                return p;
            }
        }
        self.pop_partial(class)
            .unwrap_or_else(|| self.new_small_span(class))
    }

    fn pop_partial(&self, class: usize) -> Option<usize> {
        self.partial[class].with(|head| {
            let at = *head as usize;
            (at != 0).then(|| {
                *head = self.span(at - 1).next.load(Relaxed);
                at - 1
            })
        })
    }

    /// Takes `page` out of its partial list, if it is still there.
    fn take_partial(&self, class: usize, page: usize) -> bool {
        self.partial[class].with(|head| {
            let mut prev: Option<usize> = None;
            let mut at = *head as usize;
            while at != 0 {
                let next = self.span(at - 1).next.load(Relaxed);
                if at - 1 == page {
                    match prev {
                        Some(p) => self.span(p).next.store(next, Relaxed),
                        None => *head = next,
                    }
                    return true;
                }
                prev = Some(at - 1);
                at = next as usize;
            }
            false
        })
    }

    // ---- collection ----

    /// Called with the world stopped, after marking: starts a new sweep
    /// cycle and invalidates every cache.
    pub(crate) fn after_mark(&self, live: usize, gogc: Option<usize>) {
        let hw = self.high_water.load(Relaxed);
        self.sweep_gen.fetch_add(1, Relaxed);
        self.sweep_next.store(0, Relaxed);
        self.sweep_end.store(hw, Relaxed);
        for p in &self.partial {
            p.with(|head| *head = 0);
        }
        self.epoch.0.fetch_add(1, Release);
        self.live.store(live, Relaxed);
        self.allocated.store(0, Relaxed);
        let goal = match gogc {
            Some(pct) => (live + live / 100 * pct).max(MIN_GOAL),
            None => usize::MAX,
        };
        self.goal.store(goal, Relaxed);
    }

    /// Sweeps every span not swept yet (the world runs).
    pub(crate) fn finish_sweep(&self) {
        while self.sweep_one().is_some() {}
    }

    /// Sweeps the next unswept span: `None` when there is none left, else
    /// `Some(Some(page))` if it is a small span with free objects (now on
    /// its partial list), else `Some(None)`.
    fn sweep_one(&self) -> Option<Option<usize>> {
        loop {
            let page = self.sweep_next.fetch_add(1, Relaxed);
            if page >= self.sweep_end.load(Relaxed) {
                return None;
            }
            let s = self.span(page);
            let kind = s.kind.load(Acquire);
            if kind != SMALL && kind != LARGE {
                continue;
            }
            let current = self.sweep_gen.load(Relaxed);
            let seen = s.swept.load(Relaxed);
            if seen == current
                || s.swept
                    .compare_exchange(seen, current, AcqRel, Relaxed)
                    .is_err()
            {
                continue;
            }
            return Some(if kind == SMALL {
                self.sweep_small(page)
            } else {
                self.sweep_large(page);
                None
            });
        }
    }

    fn sweep_small(&self, page: usize) -> Option<usize> {
        let s = self.span(page);
        let size = s.obj_size.load(Relaxed) as usize;
        let nobj = s.nobj.load(Relaxed) as usize;
        let start = self.page_addr(page);
        let (mut live, mut free) = (0, 0);
        for w in 0..WORDS {
            let tail = past_end_bits(w, nobj);
            let marked = mark_bits(s, w) & !tail;
            let allocated = s.alloc[w].load(Relaxed) & !tail;
            if cfg!(debug_assertions) {
                let mut freed = allocated & !marked;
                while freed != 0 {
                    let idx = w * 64 + freed.trailing_zeros() as usize;
                    freed &= freed - 1;
                    poison(start + idx * size, size);
                }
            }
            s.alloc[w].store(marked | tail, Relaxed);
            live += marked.count_ones() as usize;
            free += (!(marked | tail)).count_ones() as usize;
        }
        clear_marks(s);
        if live == 0 {
            s.kind.store(FREE, Relaxed);
            self.free_pages(page, 1);
            return None;
        }
        if free == 0 {
            return None;
        }
        let class = s.class.load(Relaxed) as usize;
        self.partial[class].with(|head| {
            s.next.store(*head, Relaxed);
            *head = (page + 1) as u32;
        });
        Some(page)
    }

    fn sweep_large(&self, page: usize) {
        let s = self.span(page);
        if s.mark[0].swap(0, Relaxed) != 0 {
            return;
        }
        let n = s.npages.load(Relaxed) as usize;
        let start = self.page_addr(page);
        s.alloc[0].store(0, Relaxed);
        if n * PAGE >= RETURN_TO_OS {
            // SAFETY: the object is unreachable; its memory goes back to
            // the OS until the pages are used again.
            unsafe { crate::platform::zero_pages(start, n * PAGE) };
        }
        if cfg!(debug_assertions) {
            poison(start, s.obj_size.load(Relaxed) as usize);
        }
        self.free_pages(page, n);
    }

    /// Marks the object `idx` of `span`; false if it was marked already.
    #[inline]
    pub(crate) fn mark(span: &Span, idx: usize) -> bool {
        let byte = &span.mark[idx];
        if byte.load(Relaxed) != 0 {
            return false;
        }
        byte.store(1, Relaxed);
        true
    }

    /// Calls `f(start, size)` for every marked object (the mark stack
    /// overflowed: its objects must be scanned again).
    pub(crate) fn for_each_marked(&self, f: &mut dyn FnMut(usize, usize)) {
        for page in 0..self.high_water.load(Relaxed) {
            let s = self.span(page);
            match s.kind.load(Relaxed) {
                SMALL => {
                    let size = s.obj_size.load(Relaxed) as usize;
                    for w in 0..WORDS {
                        let mut m = mark_bits(s, w);
                        while m != 0 {
                            let idx = w * 64 + m.trailing_zeros() as usize;
                            m &= m - 1;
                            f(self.page_addr(page) + idx * size, size);
                        }
                    }
                }
                LARGE if s.mark[0].load(Relaxed) != 0 => {
                    f(self.page_addr(page), s.obj_size.load(Relaxed) as usize);
                }
                _ => {}
            }
        }
    }
}

/// The mark bytes of objects `64 w .. 64 w + 64`, as bits.
fn mark_bits(s: &Span, w: usize) -> u64 {
    s.mark[w * 64..w * 64 + 64]
        .iter()
        .enumerate()
        .fold(0, |bits, (i, b)| {
            bits | u64::from(b.load(Relaxed) != 0) << i
        })
}

/// Clears a span's mark bytes (no marker runs: the world runs, or the
/// span is being swept or made).
fn clear_marks(s: &Span) {
    // SAFETY: `AtomicU8` has `u8`'s layout, and no marker runs now (see
    // above), so nothing accesses these bytes concurrently.
    unsafe { core::ptr::write_bytes(s.mark.as_ptr() as *mut u8, 0, OBJECTS) };
}

/// Bits of word `w` past a span's `nobj` objects.
fn past_end_bits(w: usize, nobj: usize) -> u64 {
    let first = w * 64;
    if nobj >= first + 64 {
        0
    } else if nobj <= first {
        u64::MAX
    } else {
        u64::MAX << (nobj - first)
    }
}

/// `off / CLASS_SIZES[class]` for offsets within a page, by multiplying.
#[inline]
fn div_by_class(off: usize, class: u8) -> usize {
    const MAGIC: [u64; NCLASSES] = {
        let mut m = [0u64; NCLASSES];
        let mut i = 0;
        while i < NCLASSES {
            m[i] = (1u64 << 32).div_ceil(CLASS_SIZES[i] as u64);
            i += 1;
        }
        m
    };
    ((off as u64 * MAGIC[class as usize]) >> 32) as usize
}

/// Fills freed memory with `POISON` (debug builds).
fn poison(start: usize, len: usize) {
    // SAFETY: the range is a freed object inside the heap, which nothing
    // reaches any more (it was not marked).
    unsafe { core::ptr::write_bytes(start as *mut u8, POISON, len) };
}

/// The size class for a small object of `size` bytes.
#[inline]
pub(crate) fn class_of(size: usize) -> usize {
    const TABLE: [u8; SMALL_MAX / 16 + 1] = {
        let mut t = [0u8; SMALL_MAX / 16 + 1];
        let mut i = 0;
        let mut c = 0;
        while i < t.len() {
            while (CLASS_SIZES[c] as usize) < i * 16 {
                c += 1;
            }
            t[i] = c as u8;
            i += 1;
        }
        t
    };
    TABLE[size.div_ceil(16)] as usize
}

/// A thread's spans, one per size class.
struct Cache {
    epoch: u32,
    /// The thread registered, and the heap and collector are set up.
    ready: bool,
    classes: [ClassCache; NCLASSES],
}

#[derive(Clone, Copy)]
struct ClassCache {
    /// Free objects of the current bit word not handed out yet.
    free: u64,
    /// The current bit word's `alloc` bits, and its first object's
    /// address inverted (`!addr`): the cache is in the thread's TLS, which
    /// the collector scans, and a plain address there would keep that
    /// object, and all it reaches, alive for as long as the thread does
    /// not allocate again (a finished test's idle threads held ~800 KB
    /// lists that way).
    alloc: *const AtomicU64,
    base_inv: usize,
    /// The span (page index + 1; 0 if none) and the word's index.
    span: u32,
    word: u32,
}

const NO_CLASS_CACHE: ClassCache = ClassCache {
    free: 0,
    alloc: core::ptr::null(),
    base_inv: 0,
    span: 0,
    word: 0,
};

thread_local! {
    static CACHE: UnsafeCell<Cache> = const {
        UnsafeCell::new(Cache {
            epoch: 0,
            ready: false,
            classes: [NO_CLASS_CACHE; NCLASSES],
        })
    };
}

/// Whether this thread is set up to allocate (`set_ready` was called).
#[inline]
pub(crate) fn thread_ready() -> bool {
    // SAFETY: this thread's cache; nothing else holds a reference now.
    CACHE.with(|c| unsafe { (*c.get()).ready })
}

pub(crate) fn set_ready() {
    // SAFETY: as in `thread_ready`.
    CACHE.with(|c| unsafe { (*c.get()).ready = true });
}

/// Allocates a small object of `size` bytes (at most `SMALL_MAX`) from
/// this thread's cache: its address, zeroed. Must run in a `no_stop`
/// section (see the module invariants).
#[inline]
pub(crate) fn alloc_small(heap: &Heap, size: usize) -> usize {
    let class = class_of(size);
    let slot = CLASS_SIZES[class] as usize;
    CACHE.with(|cache| {
        // SAFETY: the cache is this thread's, and nothing re-enters this
        // function on the same thread (no allocation happens inside it,
        // and the stop signal's handler does not allocate).
        let cache = unsafe { &mut *cache.get() };
        let epoch = heap.epoch.0.load(Acquire);
        if cache.epoch != epoch {
            cache.epoch = epoch;
            cache.classes = [NO_CLASS_CACHE; NCLASSES];
        }
        let c = &mut cache.classes[class];
        while c.free == 0 {
            heap.next_word(c, class);
        }
        let bit = c.free.trailing_zeros() as usize;
        c.free &= c.free - 1;
        // SAFETY: `alloc` points into the span record of a span this
        // thread owns (module invariants).
        let word = unsafe { &*c.alloc };
        word.store(word.load(Relaxed) | 1 << bit, Relaxed);
        let addr = !c.base_inv + bit * slot;
        // SAFETY: a free object we now own, `slot` bytes long (a multiple
        // of 16, 16-aligned).
        unsafe {
            if slot == 16 {
                (addr as *mut u128).write(0);
            } else {
                core::ptr::write_bytes(addr as *mut u8, 0, slot);
            }
        }
        addr
    })
}

impl Heap {
    /// Moves a class cache to its span's next bit word, or to a new span.
    #[cold]
    fn next_word(&self, c: &mut ClassCache, class: usize) {
        let slot = CLASS_SIZES[class] as usize;
        if c.span != 0 && (c.word as usize) < WORDS - 1 {
            c.word += 1;
        } else {
            let page = self.span_for(class);
            let s = self.span(page);
            let free: usize = s
                .alloc
                .iter()
                .map(|w| w.load(Relaxed).count_zeros() as usize)
                .sum();
            self.allocated.fetch_add(free * slot, Relaxed);
            c.span = page as u32 + 1;
            c.word = 0;
        }
        let page = c.span as usize - 1;
        let s = self.span(page);
        let w = c.word as usize;
        c.alloc = &s.alloc[w];
        c.base_inv = !(self.page_addr(page) + w * 64 * slot);
        c.free = !s.alloc[w].load(Relaxed);
    }
}

/// Whether the heap has grown past its goal (a collection is due).
#[inline]
pub(crate) fn over_goal(heap: &Heap) -> bool {
    heap.live.load(Relaxed) + heap.allocated.load(Relaxed) > heap.goal.load(Relaxed)
}
