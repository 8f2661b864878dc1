//! Layer 6: a conservative, mark-and-sweep garbage collector that stays
//! correct while many threads run.
//!
//! `Gc<T>` is a one-word, `Copy` pointer to a `T` on gort's heap
//! (`heap`). An object lives while a word that points into it (anywhere
//! inside it) is found in a root or in another live object:
//! - every thread's stack and registers: running threads are stopped by a
//!   signal, whose handler runs on the thread's signal stack and publishes
//!   the interrupted stack pointer, the kernel having saved the registers
//!   on the signal stack (`world`); threads sleeping inside gort and
//!   switched-out goroutines are scanned from the state they saved before
//!   sleeping, registers spilled on their stacks (`task::registry`);
//! - static TLS (a thread's, where it is not inside its stack);
//! - globals: the writable segments of every loaded object;
//! - every live Rust allocation, through `ScannedAlloc`, which a program
//!   using `Gc` must install as its global allocator: so a `Gc` in a
//!   `Box`, `Vec`, `HashMap` or channel buffer is seen. `Gc::new` panics
//!   if it is not installed (checked once).
//!
//! A collection (`collect`, or an allocation that passes the goal set by
//! `GORT_GOGC`, default 100 as in Go): finish the last sweep, stop the
//! world, mark in parallel (the collector and stopped gort threads), start
//! a new sweep cycle, restart the world, sweep. Freed memory is cleared
//! (poisoned with 0xdb in debug builds).
//!
//! Threads and the stop signal (`GORT_GCSIGNAL`; on Linux SIGRTMIN+3 by
//! default): gort registers a thread the first time it makes a `Gc`,
//! collects, receives from a channel, takes a `gort::sync` lock or joins a
//! goroutine (after that, each of these costs a thread-local check), and
//! every thread that runs goroutines. Registering lets the stop signal
//! through the thread's signal mask, as Go lets its own signals through
//! on every thread that runs Go code, and gives the thread a signal stack
//! of 32 KiB. A registered thread that blocks the signal again (or takes
//! it in `sigwait`) cannot be stopped: a collection then ends the process
//! with a fatal error naming it. A thread never registered that blocks
//! the signal (a C library's, an emulator's) is left running while the
//! world is stopped, so it must not hold a `Gc` it got some other way (a
//! `std` channel or lock, a global) without registering first: receiving
//! it through gort, or making any `Gc`, does that.
//!
//! The collector runs no destructors: `Gc::new` rejects, at compile time,
//! a `T` that needs `Drop` (a `String` or `Vec` inside would leak, and a
//! finalizer could see objects already freed).
//!
//! Where: Linux (x86-64, aarch64: tested), FreeBSD and macOS (built, not
//! run here: only registered threads are stopped there, since the OS does
//! not list threads to us). See DEVELOPING.md.

mod heap;
mod mark;
mod scanned;
mod world;

use core::fmt;
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::NonNull;
use core::time::Duration;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::atomic::{AtomicU32, AtomicU64};

pub use scanned::ScannedAlloc;

use crate::task::registry;
use heap::{PAGE, SMALL_MAX};
use mark::MARKING;

/// A pointer to a garbage-collected `T`: one word, `Copy`. Made by
/// `Gc::new`; the object lives while a `Gc` to it (or any pointer into
/// it) is reachable (see the module docs). `T` cannot need `Drop`; use
/// `Cell` or atomics for mutable fields.
///
/// ```
/// use gort::gc::Gc;
///
/// #[global_allocator]
/// static ALLOC: gort::gc::ScannedAlloc = gort::gc::ScannedAlloc;
///
/// struct Node {
///     value: u32,
///     next: Option<Gc<Node>>,
/// }
///
/// fn main() {
///     let list = Gc::new(Node { value: 1, next: Some(Gc::new(Node { value: 2, next: None })) });
///     gort::gc::collect();
///     assert_eq!(list.next.unwrap().value, 2); // reachable, so alive
/// }
/// ```
///
/// A type with a destructor is rejected when it is compiled:
///
/// ```compile_fail
/// let s = gort::gc::Gc::new(String::from("the collector runs no destructors"));
/// ```
pub struct Gc<T> {
    ptr: NonNull<T>,
    _owns: PhantomData<T>,
}

impl<T> Clone for Gc<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Gc<T> {}

// SAFETY: a `Gc` is a shared reference that never frees while reachable
// and never runs a destructor, so sharing it across threads needs exactly
// what `&T` needs.
unsafe impl<T: Sync> Send for Gc<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for Gc<T> {}

impl<T> Gc<T> {
    /// Moves `value` to the collected heap. May run a collection first if
    /// the heap passed its goal.
    ///
    /// A `Gc` is `Copy` and, for a `Sync` `T`, `Send`: goroutines can share
    /// one without reference counting.
    ///
    /// ```
    /// use gort::gc::Gc;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    ///
    /// #[global_allocator]
    /// static ALLOC: gort::gc::ScannedAlloc = gort::gc::ScannedAlloc;
    ///
    /// fn main() {
    ///     let hits = Gc::new(AtomicU32::new(0));
    ///     let wg = gort::sync::WaitGroup::new();
    ///     for _ in 0..4 {
    ///         wg.go(move || {
    ///             hits.fetch_add(1, Ordering::Relaxed);
    ///         });
    ///     }
    ///     wg.wait();
    ///     assert_eq!(hits.load(Ordering::Relaxed), 4);
    /// }
    /// ```
    ///
    /// # Panics
    /// If [`ScannedAlloc`] is not the global allocator.
    pub fn new(value: T) -> Gc<T> {
        const {
            assert!(
                !core::mem::needs_drop::<T>(),
                "gort::gc::Gc<T>: T must not need Drop (the collector runs no destructors)"
            );
            assert!(
                core::mem::align_of::<T>() <= PAGE,
                "gort::gc::Gc<T>: T's alignment is above 8 KiB"
            );
        }
        let addr = allocate(core::mem::size_of::<T>(), core::mem::align_of::<T>());
        let ptr = NonNull::new(addr as *mut T).expect("the heap is never at address 0");
        // SAFETY: a fresh, zeroed object of at least `size_of::<T>()` bytes,
        // aligned for `T`, that nothing else uses.
        unsafe { ptr.as_ptr().write(value) };
        let gc = Gc {
            ptr,
            _owns: PhantomData,
        };
        maybe_collect();
        core::hint::black_box(&gc);
        gc
    }

    /// The object's address. Example: see [`ptr_eq`](Self::ptr_eq).
    pub fn as_ptr(this: Gc<T>) -> *const T {
        this.ptr.as_ptr()
    }

    /// Whether two `Gc`s point at the same object.
    ///
    /// ```
    /// use gort::gc::Gc;
    ///
    /// #[global_allocator]
    /// static ALLOC: gort::gc::ScannedAlloc = gort::gc::ScannedAlloc;
    ///
    /// fn main() {
    ///     let a = Gc::new(5u64);
    ///     let (copy, other) = (a, Gc::new(5u64));
    ///     assert!(Gc::ptr_eq(a, copy));
    ///     assert!(!Gc::ptr_eq(a, other)); // equal values, two objects
    ///     assert_eq!(Gc::as_ptr(a), &*copy as *const u64);
    /// }
    /// ```
    pub fn ptr_eq(a: Gc<T>, b: Gc<T>) -> bool {
        a.ptr == b.ptr
    }
}

impl<T> Deref for Gc<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this `Gc` is reachable (the caller holds it, on a stack,
        // in a register, or in scanned memory), so the object is live.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: fmt::Debug> fmt::Debug for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: fmt::Display> fmt::Display for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T> fmt::Pointer for Gc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Pointer::fmt(&self.ptr, f)
    }
}

/// A new object's memory: `size` bytes aligned to `align`, zeroed.
fn allocate(size: usize, align: usize) -> usize {
    if !heap::thread_ready() {
        prepare_thread();
    }
    // SAFETY: `prepare_thread` made the heap.
    let heap = unsafe { heap::heap_if_any().unwrap_unchecked() };
    let size = size.max(1).next_multiple_of(16);
    if size <= SMALL_MAX && align <= 16 {
        registry::no_stop(|| heap::alloc_small(heap, size))
    } else {
        registry::no_stop(|| heap.alloc_large(size))
    }
}

/// Sets this thread up to allocate: checks the allocator, makes the heap,
/// installs the stop signal, registers the thread.
#[cold]
fn prepare_thread() {
    if !scanned::installed() {
        panic!(
            "gort::gc: Gc::new needs gort's scanned allocator, so that a Gc kept in a Box, \
             Vec or HashMap is seen by the collector; add to the program:\n    \
             #[global_allocator]\n    static ALLOC: gort::gc::ScannedAlloc = gort::gc::ScannedAlloc;"
        );
    }
    set_up_thread();
    heap::set_ready();
}

/// Makes the heap, installs the stop signal and registers this thread
/// (each once).
fn set_up_thread() {
    heap::heap();
    world::init();
    registry::register_current_thread();
}

/// Collects if the heap passed its goal.
#[inline]
fn maybe_collect() {
    // SAFETY: called after an allocation, which made the heap.
    let heap = unsafe { heap::heap_if_any().unwrap_unchecked() };
    if heap::over_goal(heap) {
        let seen = CYCLES.load(Acquire);
        run_collection(Some(seen));
    }
}

/// Runs a garbage collection now (Go's `runtime.GC`), returning when it
/// and its sweep are done.
///
/// ```
/// use gort::gc::{self, Gc};
///
/// #[global_allocator]
/// static ALLOC: gort::gc::ScannedAlloc = gort::gc::ScannedAlloc;
///
/// fn main() {
///     for i in 0..1000u64 {
///         let _garbage = Gc::new([i; 8]); // unreachable at once
///     }
///     let kept = Gc::new([7u64; 8]);
///     let before = gc::stats().collections;
///     gc::collect();
///     let after = gc::stats();
///     assert!(after.collections > before);
///     assert!(after.live_bytes <= after.heap_bytes);
///     assert_eq!(kept[7], 7);
/// }
/// ```
pub fn collect() {
    set_up_thread();
    run_collection(None);
}

/// Collections completed.
static CYCLES: AtomicU32 = AtomicU32::new(0);
/// Serialises collections.
static COLLECTING: crate::sync::Mutex<()> = crate::sync::Mutex::new(());

/// The last `PAUSES` pauses, for percentiles.
const PAUSES: usize = 1024;
struct Pauses {
    ring: [u64; PAUSES],
    count: u64,
    total: u64,
    max: u64,
}
static PAUSE_LOG: heap::SpinLock<Pauses> = heap::SpinLock::new(Pauses {
    ring: [0; PAUSES],
    count: 0,
    total: 0,
    max: 0,
});
static FREED: AtomicU64 = AtomicU64::new(0);

/// `GORT_GOGC`: the heap's growth between collections, in percent of the
/// live heap (`None`: off, collect only when asked).
fn gogc() -> Option<usize> {
    static VALUE: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *VALUE.get_or_init(|| match std::env::var("GORT_GOGC") {
        Ok(v) if v.trim().eq_ignore_ascii_case("off") => None,
        Ok(v) => Some(v.trim().parse().unwrap_or(100)),
        Err(_) => Some(100),
    })
}

fn gctrace() -> bool {
    static VALUE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *VALUE.get_or_init(|| std::env::var("GORT_GCTRACE").is_ok_and(|v| v.trim() == "1"))
}

fn process_start() -> u64 {
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *START.get_or_init(crate::platform::now_nanos)
}

/// One collection; with `Some(seen)`, skipped if another completed since
/// the caller saw `seen` collections.
fn run_collection(after: Option<u32>) {
    process_start();
    let _serial = COLLECTING.lock();
    if after.is_some_and(|seen| CYCLES.load(Acquire) != seen) {
        return;
    }
    let heap = heap::heap();
    heap.finish_sweep();
    let heap_before = heap.heap_bytes();
    // Globals, while the world runs (the loader's lock).
    let mut globals: Vec<(usize, usize)> = Vec::with_capacity(64);
    crate::platform::writable_segments(&mut |start, len| globals.push((start, start + len)));
    let me = registry::current_thread();
    let scratch = world::Scratch::get();
    // Settings read now: reading them may allocate.
    let (growth, cpus) = (gogc(), crate::platform::num_cpus());
    world::read_settings();
    let reg = registry::lock();
    world::prepare(&reg);
    MARKING.prepare(
        2 * reg.thread_count()
            + reg.stack_count()
            + scanned::block_count()
            + globals.len() * 8
            + 1024,
    );
    let epoch = CYCLES.load(Relaxed).wrapping_add(1).max(1);
    let started = crate::platform::now_nanos();
    let (counts, markers) = crate::platform::with_registers_spilled(|my_sp| {
        let counts = world::stop(&reg, epoch, crate::platform::current_thread());
        // ---- the world is stopped: no allocation from here on ----
        for &(lo, hi) in &globals {
            MARKING.add_root(lo, hi);
        }
        world::add_thread_roots(me, my_sp, scratch);
        for s in reg.stacks() {
            let sp = s.sp.load(Acquire);
            if sp > registry::STACK_RUNNING {
                if sp < s.lo || sp >= s.hi {
                    crate::platform::write_stderr(
                        b"fatal error: gort gc: a goroutine saved a stack pointer outside its stack\n",
                    );
                    crate::platform::exit_now(2);
                }
                MARKING.add_root(sp, s.hi);
            }
        }
        scanned::add_roots();
        let markers = world::pick_helpers(cpus);
        MARKING.start(markers);
        world::open_marking(epoch);
        MARKING.run(0, heap);
        while MARKING.finished.load(Acquire) < markers {
            core::hint::spin_loop();
        }
        MARKING.finish_overflow(heap);
        scanned::release_roots();
        heap.after_mark(MARKING.live.load(Relaxed), growth);
        world::restart();
        (counts, markers)
    });
    let pause = crate::platform::now_nanos() - started;
    CYCLES.store(epoch, core::sync::atomic::Ordering::Release);
    drop(reg);
    heap.finish_sweep();
    let heap_after = heap.heap_bytes();
    FREED.fetch_add(heap_before.saturating_sub(heap_after) as u64, Relaxed);
    PAUSE_LOG.with(|p| {
        p.ring[(p.count % PAUSES as u64) as usize] = pause;
        p.count += 1;
        p.total += pause;
        p.max = p.max.max(pause);
    });
    if gctrace() {
        let mb = |b: usize| b as f64 / (1 << 20) as f64;
        let at = (crate::platform::now_nanos() - process_start()) as f64 / 1e9;
        let line = format!(
            "gc {epoch} @{at:.3}s: {:.3} ms pause, {:.1}->{:.1} MB heap, {:.1} MB live, {:.1} MB goal, \
             {markers} markers, {} threads stopped, {} parked\n",
            pause as f64 / 1e6,
            mb(heap_before),
            mb(heap_after),
            mb(heap.live.load(Relaxed)),
            mb(heap.goal.load(Relaxed).min(1 << 50)),
            counts.stopped,
            counts.parked,
        );
        crate::platform::write_stderr(line.as_bytes());
    }
}

/// What the collector has done so far (Go's `runtime.MemStats`, in part),
/// from [`stats`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcStats {
    /// Collections completed.
    pub collections: u64,
    /// Bytes of heap in use (in spans), after the last sweep.
    pub heap_bytes: usize,
    /// Bytes of objects the last collection found reachable.
    pub live_bytes: usize,
    /// The heap size that triggers the next collection.
    pub goal_bytes: usize,
    /// Median stop-the-world pause (of the last 1024).
    pub pause_p50: Duration,
    /// 99th percentile stop-the-world pause (of the last 1024).
    pub pause_p99: Duration,
    /// Longest stop-the-world pause.
    pub pause_max: Duration,
    /// All stop-the-world pauses added up.
    pub pause_total: Duration,
}

/// The collector's statistics; all zero before the first `Gc` or
/// collection.
///
/// ```
/// #[global_allocator]
/// static ALLOC: gort::gc::ScannedAlloc = gort::gc::ScannedAlloc;
///
/// fn main() {
///     let kept = gort::gc::Gc::new(1u32);
///     gort::gc::collect();
///     let s = gort::gc::stats();
///     assert!(s.collections >= 1);
///     assert!(s.live_bytes > 0); // at least `kept`
///     assert!(s.pause_max <= s.pause_total);
///     assert_eq!(*kept, 1);
/// }
/// ```
pub fn stats() -> GcStats {
    let Some(heap) = heap::heap_if_any() else {
        return GcStats::default();
    };
    let (mut recent, total, max) = PAUSE_LOG.with(|p| {
        let n = (p.count as usize).min(PAUSES);
        (p.ring[..n].to_vec(), p.total, p.max)
    });
    recent.sort_unstable();
    let pct = |q: f64| {
        if recent.is_empty() {
            0
        } else {
            recent[((recent.len() - 1) as f64 * q).round() as usize]
        }
    };
    GcStats {
        collections: CYCLES.load(Acquire) as u64,
        heap_bytes: heap.heap_bytes(),
        live_bytes: heap.live.load(Relaxed),
        goal_bytes: heap.goal.load(Relaxed),
        pause_p50: Duration::from_nanos(pct(0.5)),
        pause_p99: Duration::from_nanos(pct(0.99)),
        pause_max: Duration::from_nanos(max),
        pause_total: Duration::from_nanos(total),
    }
}
