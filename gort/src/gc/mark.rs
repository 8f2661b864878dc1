//! Marking, in parallel, while the world is stopped: the collecting
//! thread and the stopped registered threads it picks (in their stop
//! handlers) scan the roots and then the objects they reach.
//!
//! Invariants:
//! - an object is scanned by the one marker whose `fetch_or` set its mark
//!   bit; every marked object is scanned once, or, if its marker's stack
//!   was full, found again by the overflow rescan (`for_each_marked`)
//!   before marking ends;
//! - roots are claimed by index (`next_root`), so each is scanned once;
//! - work moves between markers only through `pool` (chunks of entries);
//!   `active` counts markers holding work (their own stack, or a chunk
//!   just taken); marking ends when it is 0 with the pool empty, and no
//!   marker can add work after that (work comes only from work);
//! - nothing here allocates or takes a lock a mutator could hold: the
//!   stacks and the pool are mapped before the world stops, and the
//!   pool's lock is taken by markers only.

use core::cell::UnsafeCell;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicUsize};

use super::heap::{Heap, SpinLock};

/// Markers at most (the collector and up to this many - 1 helpers).
pub(crate) const MAX_MARKERS: usize = 16;
/// Entries of one marker's stack (`(start, size)` pairs).
const STACK_ENTRIES: usize = 1 << 20;
/// Entries moved to the pool at a time.
const CHUNK: usize = 256;
/// Chunks the pool holds at most.
const POOL_CHUNKS: usize = 4096;
/// Roots are split into pieces of at most this many bytes.
pub(crate) const ROOT_PIECE: usize = 64 * 1024;

type Entry = (usize, usize);

/// One marker's private stack of objects to scan.
struct MarkStack {
    buf: *mut Entry,
    len: usize,
}

/// The shared state of one marking (lives in `Marking`, a static).
pub(crate) struct Marking {
    stacks: [UnsafeCell<MarkStack>; MAX_MARKERS],
    /// Full chunks waiting for a marker: indexes into `chunks`.
    pool: SpinLock<PoolState>,
    pool_len: AtomicUsize,
    chunks: UnsafeCell<*mut [Entry; CHUNK]>,
    active: AtomicUsize,
    overflowed: AtomicBool,
    roots: UnsafeCell<*mut (usize, usize)>,
    roots_cap: UnsafeCell<usize>,
    nroots: AtomicUsize,
    next_root: AtomicUsize,
    /// Bytes marked, summed over markers.
    pub(crate) live: AtomicUsize,
    /// Markers that finished.
    pub(crate) finished: AtomicUsize,
}

struct PoolState {
    full: [u16; POOL_CHUNKS],
    nfull: usize,
    empty: [u16; POOL_CHUNKS],
    nempty: usize,
}

// SAFETY: each marker touches only its own `stacks` entry (by its index);
// the pool is under its lock; roots and chunks are written by the
// collector before the markers start and only read by them.
unsafe impl Sync for Marking {}

pub(crate) static MARKING: Marking = Marking {
    stacks: [const {
        UnsafeCell::new(MarkStack {
            buf: core::ptr::null_mut(),
            len: 0,
        })
    }; MAX_MARKERS],
    pool: SpinLock::new(PoolState {
        full: [0; POOL_CHUNKS],
        nfull: 0,
        empty: [0; POOL_CHUNKS],
        nempty: 0,
    }),
    pool_len: AtomicUsize::new(0),
    chunks: UnsafeCell::new(core::ptr::null_mut()),
    active: AtomicUsize::new(0),
    overflowed: AtomicBool::new(false),
    roots: UnsafeCell::new(core::ptr::null_mut()),
    roots_cap: UnsafeCell::new(0),
    nroots: AtomicUsize::new(0),
    next_root: AtomicUsize::new(0),
    live: AtomicUsize::new(0),
    finished: AtomicUsize::new(0),
};

/// Maps `bytes` of zeroed memory for the collector's own use.
pub(crate) fn map_zeroed(bytes: usize) -> usize {
    crate::platform::map_region(bytes.next_multiple_of(crate::platform::page_size()))
        .unwrap_or_else(|e| {
            let msg = format!("fatal error: gort gc: cannot map marking memory: {e}\n");
            crate::platform::write_stderr(msg.as_bytes());
            crate::platform::exit_now(2)
        })
}

impl Marking {
    /// Prepares a marking (the world runs; the collector holds the
    /// registry lock): room for `roots` root ranges, and the markers'
    /// stacks and pool mapped once.
    pub(crate) fn prepare(&self, roots: usize) {
        // SAFETY: only the collector (one at a time, under the registry
        // lock) calls this, while no marker runs.
        unsafe {
            for s in &self.stacks {
                let s = &mut *s.get();
                if s.buf.is_null() {
                    s.buf = map_zeroed(STACK_ENTRIES * core::mem::size_of::<Entry>()) as *mut Entry;
                }
                s.len = 0;
            }
            if (*self.chunks.get()).is_null() {
                *self.chunks.get() =
                    map_zeroed(POOL_CHUNKS * core::mem::size_of::<[Entry; CHUNK]>())
                        as *mut [Entry; CHUNK];
            }
            let cap = &mut *self.roots_cap.get();
            if *cap < roots {
                if *cap > 0 {
                    crate::platform::unmap_region(
                        *self.roots.get() as usize,
                        (*cap * 16).next_multiple_of(crate::platform::page_size()),
                    );
                }
                let new_cap = roots.next_power_of_two().max(4096);
                *self.roots.get() = map_zeroed(new_cap * 16) as *mut (usize, usize);
                *cap = new_cap;
            }
        }
        self.pool.with(|p| {
            p.nfull = 0;
            p.nempty = POOL_CHUNKS;
            for (i, e) in p.empty.iter_mut().enumerate() {
                *e = i as u16;
            }
        });
        self.pool_len.store(0, Relaxed);
        self.nroots.store(0, Relaxed);
        self.next_root.store(0, Relaxed);
        self.live.store(0, Relaxed);
        self.finished.store(0, Relaxed);
        self.overflowed.store(false, Relaxed);
    }

    /// Adds the root range `[lo, hi)`, in pieces (collector only, before
    /// the markers start).
    pub(crate) fn add_root(&self, lo: usize, hi: usize) {
        let mut lo = lo.next_multiple_of(8);
        while lo < hi {
            let end = hi.min(lo + ROOT_PIECE);
            let n = self.nroots.load(Relaxed);
            // SAFETY: the collector alone writes roots; `prepare` mapped
            // the capacity, and we grow it when it is reached.
            unsafe {
                if n >= *self.roots_cap.get() {
                    self.grow_roots(n + 1);
                }
                (*self.roots.get()).add(n).write((lo, end));
            }
            self.nroots.store(n + 1, Relaxed);
            lo = end;
        }
    }

    /// Makes room for `at_least` roots, keeping those added (the world may
    /// be stopped: mapping is a system call, not an allocation).
    fn grow_roots(&self, at_least: usize) {
        let n = self.nroots.load(Relaxed);
        // SAFETY: as in `prepare`; the old roots are copied over.
        unsafe {
            let cap = *self.roots_cap.get();
            let new_cap = at_least.max(cap * 2).next_power_of_two();
            let new = map_zeroed(new_cap * 16) as *mut (usize, usize);
            core::ptr::copy_nonoverlapping(*self.roots.get(), new, n);
            if cap > 0 {
                crate::platform::unmap_region(
                    *self.roots.get() as usize,
                    (cap * 16).next_multiple_of(crate::platform::page_size()),
                );
            }
            *self.roots.get() = new;
            *self.roots_cap.get() = new_cap;
        }
    }

    /// Opens marking to `markers` markers (the collector included).
    pub(crate) fn start(&self, markers: usize) {
        self.active.store(markers, Release);
    }

    /// Marker `me` marks until the marking is done. Scanning reads other
    /// threads' stacks and objects with volatile loads: their owners are
    /// stopped, and a racing write could only come from the gc's own
    /// bookkeeping, which holds no heap pointers worth keeping.
    pub(crate) fn run(&self, me: usize, heap: &Heap) {
        // SAFETY: marker `me` is the only user of stack `me`.
        let stack = unsafe { &mut *self.stacks[me].get() };
        let mut live = 0usize;
        // Roots first.
        let nroots = self.nroots.load(Acquire);
        loop {
            let i = self.next_root.fetch_add(1, Relaxed);
            if i >= nroots {
                break;
            }
            // SAFETY: below `nroots`, written before `start`.
            let (lo, hi) = unsafe { *(*self.roots.get()).add(i) };
            self.scan(lo, hi, stack, heap, &mut live);
            self.drain(stack, heap, &mut live);
        }
        // Then whatever work is left anywhere.
        loop {
            self.drain(stack, heap, &mut live);
            if self.take_chunk(stack) {
                continue;
            }
            // Out of work: idle until some appears or everyone is idle.
            self.active.fetch_sub(1, AcqRel);
            loop {
                if self.pool_len.load(Acquire) > 0 {
                    self.active.fetch_add(1, AcqRel);
                    if self.take_chunk(stack) {
                        break;
                    }
                    self.active.fetch_sub(1, AcqRel);
                } else if self.active.load(Acquire) == 0 {
                    self.live.fetch_add(live, Relaxed);
                    self.finished.fetch_add(1, Release);
                    return;
                }
                core::hint::spin_loop();
            }
        }
    }

    /// Scans `[lo, hi)` word by word for heap pointers; marks and pushes
    /// what they point at.
    #[inline]
    fn scan(&self, lo: usize, hi: usize, stack: &mut MarkStack, heap: &Heap, live: &mut usize) {
        let mut at = lo.next_multiple_of(8);
        while at + 8 <= hi {
            // SAFETY: `[lo, hi)` is a root or an object: mapped memory the
            // collector may read (see `run`).
            let word = unsafe { core::ptr::read_volatile(at as *const usize) };
            at += 8;
            if let Some((span, idx, start, size)) = heap.find(word)
                && Heap::mark(span, idx)
            {
                *live += size;
                self.push(stack, (start, size));
            }
        }
    }

    fn push(&self, stack: &mut MarkStack, e: Entry) {
        if stack.len == STACK_ENTRIES {
            self.share(stack);
            if stack.len == STACK_ENTRIES {
                // The pool is full too: leave it marked but unscanned; the
                // overflow rescan finds it.
                self.overflowed.store(true, Relaxed);
                return;
            }
        }
        // SAFETY: below the stack's mapped capacity.
        unsafe { stack.buf.add(stack.len).write(e) };
        stack.len += 1;
    }

    /// Scans everything on our stack, handing a chunk to the pool whenever
    /// some marker is idle and ours holds plenty.
    fn drain(&self, stack: &mut MarkStack, heap: &Heap, live: &mut usize) {
        let mut since_share = 0u32;
        while stack.len > 0 {
            stack.len -= 1;
            // SAFETY: below `len`, written by `push`.
            let (start, size) = unsafe { stack.buf.add(stack.len).read() };
            self.scan(start, start + size, stack, heap, live);
            since_share += 1;
            if since_share >= 64 && stack.len > 2 * CHUNK && self.pool_len.load(Relaxed) == 0 {
                since_share = 0;
                self.share(stack);
            }
        }
    }

    /// Moves the oldest `CHUNK` entries of our stack to the pool.
    fn share(&self, stack: &mut MarkStack) {
        if stack.len < CHUNK {
            return;
        }
        // SAFETY: `chunks` was mapped by `prepare`.
        let chunks = unsafe { *self.chunks.get() };
        self.pool.with(|p| {
            if p.nempty == 0 {
                return;
            }
            p.nempty -= 1;
            let c = p.empty[p.nempty];
            // SAFETY: chunk `c` is free, and our stack holds `len` >= CHUNK
            // entries.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    stack.buf,
                    (*chunks.add(c as usize)).as_mut_ptr(),
                    CHUNK,
                );
                core::ptr::copy(stack.buf.add(CHUNK), stack.buf, stack.len - CHUNK);
            }
            stack.len -= CHUNK;
            p.full[p.nfull] = c;
            p.nfull += 1;
            self.pool_len.fetch_add(1, Release);
        });
    }

    /// Takes a chunk from the pool onto our (empty) stack.
    fn take_chunk(&self, stack: &mut MarkStack) -> bool {
        if self.pool_len.load(Acquire) == 0 {
            return false;
        }
        // SAFETY: `chunks` was mapped by `prepare`.
        let chunks = unsafe { *self.chunks.get() };
        self.pool.with(|p| {
            if p.nfull == 0 {
                return false;
            }
            p.nfull -= 1;
            let c = p.full[p.nfull];
            // SAFETY: chunk `c` is full; our stack is empty, with room.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    (*chunks.add(c as usize)).as_ptr(),
                    stack.buf,
                    CHUNK,
                );
            }
            stack.len = CHUNK;
            p.empty[p.nempty] = c;
            p.nempty += 1;
            self.pool_len.fetch_sub(1, Release);
            true
        })
    }

    /// After every marker finished: if a stack overflowed, scans every
    /// marked object again (collector only) until nothing new is marked
    /// that could not be scanned.
    pub(crate) fn finish_overflow(&self, heap: &Heap) {
        while self.overflowed.swap(false, Relaxed) {
            // SAFETY: the markers are done; stack 0 is the collector's.
            let stack = unsafe { &mut *self.stacks[0].get() };
            let mut live = 0;
            heap.for_each_marked(&mut |start, size| {
                self.scan(start, start + size, stack, heap, &mut live);
                loop {
                    self.drain(stack, heap, &mut live);
                    if !self.take_chunk(stack) {
                        break;
                    }
                }
            });
            self.live.fetch_add(live, Relaxed);
        }
    }
}
