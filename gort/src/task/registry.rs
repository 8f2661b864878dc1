//! The threads and goroutine stacks the garbage collector must find, and
//! the states a thread publishes so that a collection can stop it (or
//! leave it be) safely. The collector itself is `gc`; this layer only
//! keeps the records it reads, so the schedulers below `gc` can publish
//! their state without knowing about it.
//!
//! Invariants:
//! - threads register and unregister under `REGISTRY`'s lock, which a
//!   collection holds from before it stops the world until after it
//!   restarts it: no registered thread starts or ends mid-collection, and
//!   no goroutine stack is carved or unmapped then either;
//! - `STOP_EPOCH` is 0 while the world runs and the collection's epoch
//!   (never 0) while it is stopped; threads wait on it as a futex word;
//! - a registered thread about to sleep inside gort (`parked`) spills its
//!   registers, publishes the stack address above which it keeps
//!   everything (`parked_sp`, SeqCst), sleeps; on waking it clears
//!   `parked_sp` (SeqCst) and then reads `STOP_EPOCH`. The collector sets
//!   `STOP_EPOCH` (SeqCst) and then reads `parked_sp`: if it sees the
//!   thread parked, it scans from that address and does not signal it,
//!   and the thread, which must then see the epoch, waits for the restart
//!   before touching anything; if it sees it running, it signals it;
//! - a goroutine about to switch out spills its registers and publishes
//!   its stack pointer in its stack's `StackRecord` before the switch, and
//!   marks it `RUNNING` after it is switched back in; a worker runs
//!   goroutines only while the world runs (stopped workers are stopped), so
//!   when the world is stopped every record is exact or `RUNNING` on a
//!   stopped worker, whose own stop covers it;
//! - a thread is registered before it can hold a `Gc` from gort: it
//!   registers when it first makes one, collects, receives from a channel,
//!   takes a lock or joins a goroutine (a thread-local check after that),
//!   and a worker of either scheduler when it starts. Registering lets the
//!   stop signal through the thread's mask and gives the thread a signal
//!   stack of `platform::SIGNAL_STACK` bytes;
//! - a `no_stop` section (the allocators' critical sections) is never
//!   stopped inside: the stop signal arriving there is remembered, and the
//!   thread sends it to itself again when the section ends (so the stop
//!   runs in the signal handler, on the signal stack). Sections are short, take
//!   only locks that other sections take, and never block otherwise. A
//!   section's result is made opaque to the compiler before the section
//!   ends, so a stop after it finds the value itself (a new object's
//!   address) in a register or on the stack, not parts it was computed
//!   from.

use core::cell::Cell;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicUsize};

use crate::lockrank::LockRank;
use crate::platform::{self, OsThread, ShortLock, ShortLockGuard};

/// The world's state: 0 running, else the epoch of the collection that
/// stopped it.
pub(crate) static STOP_EPOCH: AtomicU32 = AtomicU32::new(0);

/// The stop signal: `GORT_GCSIGNAL` if set (a number), else the
/// platform's default. Read once (reading the environment allocates, so
/// not from a signal handler before the first registration).
pub(crate) fn stop_signal() -> i32 {
    static SIGNAL: AtomicI32 = AtomicI32::new(0);
    let mut signal = SIGNAL.load(Relaxed);
    if signal == 0 {
        signal = std::env::var("GORT_GCSIGNAL")
            .ok()
            .and_then(|v| v.trim().parse::<i32>().ok())
            .filter(|&v| v > 0)
            .unwrap_or_else(platform::default_stop_signal);
        SIGNAL.store(signal, Relaxed);
    }
    signal
}

/// Where a stopped thread says where it stopped (written by the thread,
/// read by the collector once the thread acknowledged the epoch).
#[derive(Default)]
pub(crate) struct StopSlot {
    /// The epoch this thread last stopped for.
    pub(crate) acked: AtomicU32,
    /// Its stack pointer when it stopped: the interrupted one if the
    /// handler ran on the signal stack, else the handler's own (the
    /// registers saved above it).
    pub(crate) sp: AtomicUsize,
    /// The part of the signal stack the handler used, `[lo, hi)` (the
    /// saved registers are there), or 0s if it ran on the thread's stack.
    pub(crate) signal_lo: AtomicUsize,
    pub(crate) signal_hi: AtomicUsize,
    /// Whether the stack the handler runs on has room to help mark.
    pub(crate) can_mark: AtomicBool,
    /// Its thread pointer (where its static TLS is).
    pub(crate) tp: AtomicUsize,
    /// The goroutine stack it was running on, `[lo, hi)`, and its own
    /// stack pointer when it switched to it; 0s if none.
    pub(crate) goroutine_lo: AtomicUsize,
    pub(crate) goroutine_hi: AtomicUsize,
    pub(crate) native_sp: AtomicUsize,
}

/// A registered thread.
pub(crate) struct ThreadRecord {
    pub(crate) os: OsThread,
    /// Its own stack (and, for threads the C library started, its static
    /// TLS), `[lo, hi)`.
    pub(crate) stack: (usize, usize),
    /// Its static TLS when that is not inside `stack` (the main thread's),
    /// else `(0, 0)`.
    pub(crate) tls: (usize, usize),
    /// 0 while it runs; while it sleeps inside gort, the stack address
    /// from which its stack holds everything it keeps.
    pub(crate) parked_sp: AtomicUsize,
    pub(crate) stop: StopSlot,
    /// Set by the collector for threads that help it mark: which marker.
    pub(crate) marker: AtomicUsize,
    /// The signal stack registration mapped for it, `(start, len)`.
    signal_stack: (usize, usize),
    next: *mut ThreadRecord,
}

/// `StackRecord::sp` of a stack no goroutine uses.
pub(crate) const STACK_FREE: usize = 0;
/// `StackRecord::sp` of a goroutine running on some worker.
pub(crate) const STACK_RUNNING: usize = 1;

/// One goroutine stack (kept apart from it: a cold stack's pages are
/// given back to the OS, which zeroes them).
pub(crate) struct StackRecord {
    /// `STACK_FREE`, `STACK_RUNNING`, or the saved stack pointer of the
    /// switched-out goroutine.
    pub(crate) sp: AtomicUsize,
    /// The stack's usable part, `[lo, hi)`.
    pub(crate) lo: usize,
    pub(crate) hi: usize,
    prev: *mut StackRecord,
    next: *mut StackRecord,
}

pub(crate) struct Registry {
    threads: *mut ThreadRecord,
    stacks: *mut StackRecord,
    nthreads: usize,
    nstacks: usize,
}

// SAFETY: the raw lists are only walked or changed under the lock.
unsafe impl Send for Registry {}

static REGISTRY: ShortLock<Registry> = ShortLock::new(
    LockRank::Registry,
    Registry {
        threads: core::ptr::null_mut(),
        stacks: core::ptr::null_mut(),
        nthreads: 0,
        nstacks: 0,
    },
);

/// Takes the registry lock (a collection holds it throughout).
pub(crate) fn lock() -> ShortLockGuard<'static, Registry> {
    REGISTRY.lock()
}

impl Registry {
    /// The registered threads.
    pub(crate) fn threads(&self) -> impl Iterator<Item = &ThreadRecord> {
        let mut at = self.threads;
        core::iter::from_fn(move || {
            // SAFETY: records stay linked (and allocated) while we hold the
            // lock, which `&self` proves.
            let r = unsafe { at.as_ref()? };
            at = r.next;
            Some(r)
        })
    }

    /// Every goroutine stack that exists (used or pooled).
    pub(crate) fn stacks(&self) -> impl Iterator<Item = &StackRecord> {
        let mut at = self.stacks;
        core::iter::from_fn(move || {
            // SAFETY: as in `threads`: stacks are unlinked before their
            // memory is unmapped, under the lock.
            let r = unsafe { at.as_ref()? };
            at = r.next;
            Some(r)
        })
    }

    pub(crate) fn thread_count(&self) -> usize {
        self.nthreads
    }

    pub(crate) fn stack_count(&self) -> usize {
        self.nstacks
    }
}

thread_local! {
    static THREAD: Cell<*const ThreadRecord> = const { Cell::new(core::ptr::null()) };
    /// Unregisters the thread when it ends.
    static REGISTRATION: Registration = const { Registration };
    /// The goroutine stack this worker is running, `(lo, hi)`, and the
    /// worker's own stack pointer below which it switched to it.
    static ON_GOROUTINE: Cell<(usize, usize, usize)> = const { Cell::new((0, 0, 0)) };
    /// Depth of `no_stop` sections, and whether a stop came during one.
    static NO_STOP: NoStop = const { NoStop { depth: Cell::new(0), pending: Cell::new(false) } };
}

struct Registration;

/// A thread's `no_stop` state. The depth is changed only by the thread,
/// `pending` set only by its signal handler and cleared by the thread
/// after the depth is back to 0, so neither write can lose the other.
struct NoStop {
    depth: Cell<u32>,
    pending: Cell<bool>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let rec = THREAD.with(Cell::get);
        if rec.is_null() {
            return;
        }
        // Stay registered until unlinked: a collection under way (holding
        // the lock we wait for) stops this thread by its record.
        let mut reg = lock();
        let mut link: *mut *mut ThreadRecord = &mut reg.threads;
        // SAFETY: we hold the lock; the list links records we allocated.
        unsafe {
            while !(*link).is_null() {
                if core::ptr::eq(*link, rec) {
                    *link = (**link).next;
                    reg.nthreads -= 1;
                    break;
                }
                link = &mut (**link).next;
            }
        }
        THREAD.with(|t| t.set(core::ptr::null()));
        drop(reg);
        // SAFETY: unlinked, and no longer this thread's record: nothing
        // reaches it.
        let rec = unsafe { Box::from_raw(rec.cast_mut()) };
        platform::remove_signal_stack(rec.signal_stack);
    }
}

/// Registers the calling thread (once; later calls cost a thread-local
/// check): from now on a collection stops it by its record and, while it
/// sleeps in gort, scans it without stopping it. Unregisters when the
/// thread ends.
#[inline]
pub(crate) fn register_current_thread() {
    if THREAD.with(Cell::get).is_null() {
        register_slow();
    }
}

#[cold]
#[inline(never)]
fn register_slow() {
    // A signal stack and the stop signal let through first: once linked,
    // the thread is stopped by its record, and a thread that blocks the
    // signal then is a fatal error.
    let signal_stack = platform::install_signal_stack();
    platform::unblock_signal(stop_signal());
    let stack = platform::thread_stack_bounds();
    let tp = platform::thread_pointer();
    let tls = if tp >= stack.0 && tp < stack.1 {
        (0, 0)
    } else {
        platform::static_tls_range()
    };
    let rec = Box::into_raw(Box::new(ThreadRecord {
        os: platform::current_thread(),
        stack,
        tls,
        parked_sp: AtomicUsize::new(0),
        stop: StopSlot::default(),
        marker: AtomicUsize::new(usize::MAX),
        signal_stack,
        next: core::ptr::null_mut(),
    }));
    REGISTRATION.with(|_| {});
    let mut reg = lock();
    // SAFETY: `rec` is ours until linked; linking is under the lock.
    unsafe { (*rec).next = reg.threads };
    reg.threads = rec;
    reg.nthreads += 1;
    // Under the lock: no collection sees the record without the thread
    // knowing it is registered.
    THREAD.with(|t| t.set(rec));
    drop(reg);
}

/// The calling thread's record, if it registered.
pub(crate) fn current_thread() -> Option<&'static ThreadRecord> {
    // SAFETY: the record lives until the thread's `Registration` drops,
    // which is after any code of the thread that could call this (but a
    // signal handler must use `try_current_thread`).
    THREAD.with(|t| unsafe { t.get().as_ref() })
}

/// Like `current_thread`, safe in a signal handler at any time, even
/// while the thread's TLS is being torn down.
pub(crate) fn try_current_thread() -> Option<&'static ThreadRecord> {
    // SAFETY: as in `current_thread`; a destroyed slot reads as none.
    THREAD
        .try_with(|t| unsafe { t.get().as_ref() })
        .ok()
        .flatten()
}

/// Runs `sleep` (a wait inside gort) as a parked thread: a collection
/// meanwhile scans this thread's stack from here up instead of stopping
/// it, and if one is under way when the wait ends, waits for it to end.
pub(crate) fn parked<R>(sleep: impl FnOnce() -> R) -> R {
    let Some(rec) = current_thread() else {
        return sleep();
    };
    platform::with_registers_spilled(|sp| {
        rec.parked_sp.store(sp, SeqCst);
        let r = sleep();
        rec.parked_sp.store(0, SeqCst);
        let epoch = STOP_EPOCH.load(SeqCst);
        if epoch != 0 {
            wait_for_restart(epoch);
        }
        r
    })
}

/// Waits until the collection of `epoch` restarts the world.
pub(crate) fn wait_for_restart(epoch: u32) {
    while STOP_EPOCH.load(Acquire) == epoch {
        platform::futex_wait(&STOP_EPOCH, epoch, None);
    }
}

/// Runs `switch` (a goroutine switching out) with the goroutine's stack
/// published in `record`: a collection while it is switched out scans it
/// from here up.
pub(crate) fn goroutine_switches<R>(record: &StackRecord, switch: impl FnOnce() -> R) -> R {
    platform::with_registers_spilled(|sp| {
        record.sp.store(sp, Release);
        let r = switch();
        record.sp.store(STACK_RUNNING, Relaxed);
        r
    })
}

/// Links a record for a new goroutine stack `[lo, hi)` and returns it.
/// The stack must stay mapped until `remove_stack` is called for it.
pub(crate) fn add_stack(lo: usize, hi: usize) -> *mut StackRecord {
    let mut reg = lock();
    let rec = Box::into_raw(Box::new(StackRecord {
        sp: AtomicUsize::new(STACK_FREE),
        lo,
        hi,
        prev: core::ptr::null_mut(),
        next: reg.stacks,
    }));
    // SAFETY: the links change under the lock.
    if let Some(next) = unsafe { reg.stacks.as_mut() } {
        next.prev = rec;
    }
    reg.stacks = rec;
    reg.nstacks += 1;
    rec
}

/// Unlinks a stack's record before its memory is unmapped.
///
/// # Safety
/// `rec` came from `add_stack` and is not removed yet.
pub(crate) unsafe fn remove_stack(rec: *mut StackRecord) {
    let mut reg = lock();
    // SAFETY: the record is linked; links change under the lock.
    unsafe {
        let r = &mut *rec;
        match r.prev.as_mut() {
            Some(p) => p.next = r.next,
            None => reg.stacks = r.next,
        }
        if let Some(n) = r.next.as_mut() {
            n.prev = r.prev;
        }
        drop(Box::from_raw(rec));
    }
    reg.nstacks -= 1;
}

/// Runs `resume` (a worker switching to the goroutine whose stack is
/// `range`) with both stacks published: a stop meanwhile scans the
/// goroutine's stack from where it stopped, and the worker's own from
/// here up (its static TLS is at the top of it). The worker's registers
/// need no spilling: its own frames hold only the scheduler's state.
#[inline]
pub(crate) fn running_goroutine<R>(range: (usize, usize), resume: impl FnOnce() -> R) -> R {
    let here = 0u8;
    let sp = core::hint::black_box(&here) as *const u8 as usize;
    ON_GOROUTINE.with(|c| c.set((range.0, range.1, sp)));
    let r = resume();
    ON_GOROUTINE.with(|c| c.set((0, 0, 0)));
    r
}

/// The goroutine stack this thread runs and its own stack pointer below
/// which it switched (`(lo, hi, native_sp)`; 0s if none). For a signal
/// handler.
pub(crate) fn on_goroutine() -> (usize, usize, usize) {
    ON_GOROUTINE.try_with(Cell::get).unwrap_or((0, 0, 0))
}

/// Runs `f` where the world cannot stop this thread (see module docs).
#[inline]
pub(crate) fn no_stop<R>(f: impl FnOnce() -> R) -> R {
    NO_STOP.with(|s| {
        s.depth.set(s.depth.get() + 1);
        core::sync::atomic::compiler_fence(SeqCst);
        // The result leaves the section whole: from here on the thread can
        // be stopped (the deferred stop below, or the signal right after
        // the depth drops), and an allocator's result is a new object that
        // only this value keeps alive. Left to itself the compiler kept a
        // large object's page number and the heap's base in registers and
        // added them up after the stop, so no scanned word pointed at the
        // object and it was freed while being handed out. `black_box`
        // makes the value opaque: it can only be kept as it is. (std calls
        // black_box best-effort; the guaranteed form would be storing the
        // address in a scanned thread-local before the section ends. The
        // regression test in tests/gc.rs fails 13 runs in 16 without
        // either.)
        let r = core::hint::black_box(f());
        core::sync::atomic::compiler_fence(SeqCst);
        let depth = s.depth.get() - 1;
        s.depth.set(depth);
        core::sync::atomic::compiler_fence(SeqCst);
        if depth == 0 && s.pending.get() {
            stop_now();
        }
        r
    })
}

/// For the stop signal's handler: true (and the stop is remembered) if
/// the thread is inside a `no_stop` section.
pub(crate) fn defer_stop_if_busy() -> bool {
    NO_STOP
        .try_with(|s| {
            let busy = s.depth.get() != 0;
            if busy {
                s.pending.set(true);
            }
            busy
        })
        .unwrap_or(false)
}

/// A stop was deferred by a `no_stop` section that just ended: takes it
/// now, in the signal handler (on the signal stack, like any other stop).
#[cold]
fn stop_now() {
    NO_STOP.with(|s| s.pending.set(false));
    if STOP_EPOCH.load(Acquire) != 0 {
        platform::raise_here(stop_signal());
    }
}
