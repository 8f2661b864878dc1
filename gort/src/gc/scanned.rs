//! `ScannedAlloc`: a global allocator whose every live block the collector
//! scans as a root, so a `Gc` kept in a `Box`, `Vec`, `HashMap` or a
//! channel's buffer keeps its object alive. Blocks come from the system
//! allocator with a header that links them into one of `SHARDS` lists.
//!
//! Invariants:
//! - a block is linked from before its address is returned until its
//!   `dealloc` begins, and only linked blocks' memory is scanned;
//! - links change only inside `no_stop` sections, under the shard's spin
//!   lock, so a stopped world sees every list whole; the system allocator
//!   is called outside those sections (a stopped thread may hold its
//!   locks), and a block being filled by `realloc` is copied while both
//!   old and new are linked (the default `realloc`: alloc, copy, free);
//! - the collector holds every shard's lock from `add_roots` until
//!   marking ends (`release_roots`): a thread left running while the
//!   world is stopped (one gort never registered, blocking the stop
//!   signal) then waits to link or unlink, so no list changes while it is
//!   walked and no block is freed while it is scanned. No stopped thread
//!   holds one (a stop never lands inside a `no_stop` section).

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use std::alloc::System;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

use super::heap::SpinLock;
use super::mark::MARKING;
use crate::task::registry;

/// The allocator to install with `#[global_allocator]` in a program that
/// uses `gort::gc::Gc` (`Gc::new` panics without it):
///
/// ```
/// #[global_allocator]
/// static ALLOC: gort::gc::ScannedAlloc = gort::gc::ScannedAlloc;
///
/// fn main() {
///     // Kept only in a Vec (Rust's heap): still alive after a collection.
///     let v = vec![gort::gc::Gc::new(7u32); 3];
///     gort::gc::collect();
///     assert_eq!(*v[2], 7);
/// }
/// ```
///
/// Every live allocation of the program is then scanned at each
/// collection, as conservatively as a stack: that is what keeps a `Gc`
/// stored in a `Box` or a `Vec` alive. The cost is a header (32 bytes)
/// and a short lock per allocation, and scanning time proportional to
/// the program's live Rust heap.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScannedAlloc;

#[repr(C)]
struct Header {
    prev: *mut Header,
    next: *mut Header,
    size: usize,
    /// Bytes from the system block's start to the user's pointer.
    offset: usize,
}

const HEADER: usize = core::mem::size_of::<Header>();
const SHARDS: usize = 64;

struct Shard(SpinLock<*mut Header>);
// SAFETY: the list is only reached under the lock (or with the world
// stopped, when no one holds it).
unsafe impl Sync for Shard {}

static LISTS: [Shard; SHARDS] = [const { Shard(SpinLock::new(core::ptr::null_mut())) }; SHARDS];
static BLOCKS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Allocations by this thread through `ScannedAlloc` (to tell whether
    /// it is the global allocator).
    static MINE: Cell<u64> = const { Cell::new(0) };
}

fn shard(h: *mut Header) -> &'static SpinLock<*mut Header> {
    let a = h as usize;
    &LISTS[((a >> 5) ^ (a >> 13)) % SHARDS].0
}

fn link(h: *mut Header) {
    registry::no_stop(|| {
        shard(h).with(|head| {
            // SAFETY: `h` is a header we own; the list is under the lock.
            unsafe {
                (*h).prev = core::ptr::null_mut();
                (*h).next = *head;
                if let Some(n) = (*head).as_mut() {
                    n.prev = h;
                }
            }
            *head = h;
        });
    });
    BLOCKS.fetch_add(1, Relaxed);
}

fn unlink(h: *mut Header) {
    registry::no_stop(|| {
        shard(h).with(|head| {
            // SAFETY: `h` is linked in this shard; the list is under the
            // lock.
            unsafe {
                match (*h).prev.as_mut() {
                    Some(p) => p.next = (*h).next,
                    None => *head = (*h).next,
                }
                if let Some(n) = (*h).next.as_mut() {
                    n.prev = (*h).prev;
                }
            }
        });
    });
    BLOCKS.fetch_sub(1, Relaxed);
}

fn system_layout(layout: Layout) -> Option<(Layout, usize)> {
    let align = layout.align().max(16);
    let offset = HEADER.next_multiple_of(align);
    let size = layout.size().checked_add(offset)?;
    Some((Layout::from_size_align(size, align).ok()?, offset))
}

impl ScannedAlloc {
    fn finish(raw: *mut u8, layout: Layout, offset: usize) -> *mut u8 {
        if raw.is_null() {
            return raw;
        }
        // SAFETY: the system block has `offset` bytes before the user's
        // part, the header's alignment (16) divides `offset`, and it is
        // at least `HEADER` long.
        unsafe {
            let user = raw.add(offset);
            let h = user.sub(HEADER) as *mut Header;
            h.write(Header {
                prev: core::ptr::null_mut(),
                next: core::ptr::null_mut(),
                size: layout.size(),
                offset,
            });
            link(h);
            let _ = MINE.try_with(|m| m.set(m.get() + 1));
            user
        }
    }
}

// SAFETY: blocks come from `System` with the layout's alignment (or more)
// and its size plus the header; `dealloc` gives back the same system
// layout it was allocated with.
unsafe impl GlobalAlloc for ScannedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some((sys, offset)) = system_layout(layout) else {
            return core::ptr::null_mut();
        };
        // SAFETY: `sys` has a non-zero size (it includes the header).
        Self::finish(unsafe { System.alloc(sys) }, layout, offset)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let Some((sys, offset)) = system_layout(layout) else {
            return core::ptr::null_mut();
        };
        // SAFETY: as in `alloc`.
        Self::finish(unsafe { System.alloc_zeroed(sys) }, layout, offset)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some((sys, offset)) = system_layout(layout) else {
            return;
        };
        // SAFETY: `ptr` came from `alloc` with this layout: its header is
        // just below it, and the system block starts `offset` below it.
        unsafe {
            unlink(ptr.sub(HEADER) as *mut Header);
            System.dealloc(ptr.sub(offset), sys);
        }
    }
}

/// Whether `ScannedAlloc` is the global allocator: a `Box` made now on
/// this thread goes through it.
pub(crate) fn installed() -> bool {
    static KNOWN: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(0);
    match KNOWN.load(Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let before = MINE.with(Cell::get);
            let probe = core::hint::black_box(Box::new(0u64));
            drop(probe);
            let yes = MINE.with(Cell::get) != before;
            KNOWN.store(if yes { 1 } else { 2 }, Relaxed);
            yes
        }
    }
}

/// Unlocks the lists `add_roots` locked (marking is over).
pub(crate) fn release_roots() {
    for shard in &LISTS {
        // SAFETY: `add_roots` took every shard's lock, and marking, which
        // read the blocks, is over.
        unsafe { shard.0.unlock() };
    }
}

/// Live blocks (to size the root table).
pub(crate) fn block_count() -> usize {
    BLOCKS.load(Relaxed)
}

/// Adds every live block to the roots (the world is stopped) and keeps
/// every list locked until `release_roots`.
pub(crate) fn add_roots() {
    for shard in &LISTS {
        // Only a running thread can hold the lock (module docs): it lets
        // go soon.
        // SAFETY: we hold the lock until `release_roots`.
        let mut h = unsafe { *shard.0.lock() };
        while !h.is_null() {
            // SAFETY: a linked header of a live block.
            unsafe {
                let user = h as usize + HEADER;
                MARKING.add_root(user, user + (*h).size);
                h = (*h).next;
            }
        }
    }
}
