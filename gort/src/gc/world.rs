//! Stopping the world: every thread of the process but the collector is
//! either stopped in the stop signal's handler (having published where
//! its stack is) or parked inside gort (scanned from its saved state), and
//! stays so until the collector restarts the world.
//!
//! Invariants:
//! - the collector holds the registry lock throughout, so registered
//!   threads neither start nor end meanwhile (see `task::registry`);
//! - on Linux every thread is stopped, registered or not: the thread list
//!   is read again after everyone listed has stopped, until it holds no
//!   new thread (a new one can only have been started by a thread that was
//!   still running). Elsewhere only registered threads are stopped;
//! - a thread acknowledges a stop by storing the epoch in its `StopSlot`
//!   (Release) after filling the slot; the collector reads the slot after
//!   seeing the epoch (Acquire);
//! - the handler runs on the thread's signal stack where it has one (a
//!   registered thread always does), so a thread nearly out of stack can
//!   stop; it publishes the interrupted stack pointer and the part of the
//!   signal stack it uses (the saved registers are there). A stop that
//!   arrives while another handler runs on the signal stack waits until
//!   that handler returns (`platform::stop_after_handler`);
//! - a real-time stop signal is queued, so it is sent once (again only if
//!   the kernel could not queue it, or every `RESEND` for a signal that is
//!   not queued). A thread that no longer exists is dropped;
//! - an unregistered thread that does not answer within `BLOCK_CHECK` and
//!   blocks the signal (or takes it in `sigwait`) is left running: it
//!   holds no `Gc` (see `task::registry`: a thread is registered before
//!   gort hands it anything), so it has no roots. One still blocking with
//!   the signal pending from an earlier collection is left running at
//!   once (and not sent another);
//! - any other thread that never answers within the stop timeout ends the
//!   process with a fatal error naming it and why (a registered thread
//!   that blocks the signal: registration let it through, so it blocked
//!   it since, or runs a handler that does);
//! - while the world is stopped the collector allocates nothing and takes
//!   no lock a stopped thread could hold: its tables are mapped before the
//!   stop (mapping more is a system call, not an allocation).

use core::time::Duration;
use std::sync::Once;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicUsize};

use super::mark::{MARKING, MAX_MARKERS};
use crate::platform::{self, OsThread};
use crate::task::registry::{self, Registry, STOP_EPOCH, StopSlot, ThreadRecord};

/// The stop signal (set once, by `init`).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Bumped (and woken) by every acknowledgement.
static ACKS: AtomicU32 = AtomicU32::new(0);
/// The epoch whose marking may start (helpers wait on it).
static MARK_EPOCH: AtomicU32 = AtomicU32::new(0);

/// How often an unanswered stop signal that is not queued is sent again.
const RESEND: Duration = Duration::from_millis(10);

/// Stack a marking helper needs below its handler's frame (measured: the
/// whole handler, the kernel's signal frame with AVX-512 state included,
/// used at most 5.1 KiB in a debug build).
const MARK_ROOM: usize = 8 * 1024;

/// Installs the stop signal's handler (once); the signal is
/// `registry::stop_signal`.
pub(crate) fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let signal = registry::stop_signal();
        SIGNAL.store(signal, Relaxed);
        platform::install_stop_handler(signal, on_stop_signal);
    });
}

/// Reads the settings a stop uses (before the world stops: reading the
/// environment allocates).
pub(crate) fn read_settings() {
    stop_timeout();
}

/// How long a thread may take to answer a stop before the process ends:
/// `GORT_GCSTOPTIMEOUT` milliseconds if set, else 10 s.
fn stop_timeout() -> Duration {
    static MS: AtomicUsize = AtomicUsize::new(0);
    let mut ms = MS.load(Relaxed);
    if ms == 0 {
        ms = std::env::var("GORT_GCSTOPTIMEOUT")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&v| v > 0)
            .unwrap_or(10_000);
        MS.store(ms, Relaxed);
    }
    Duration::from_millis(ms as u64)
}

extern "C" fn on_stop_signal(signal: libc::c_int, _: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let errno = platform::errno_location();
    // SAFETY: the calling thread's errno slot.
    let saved = unsafe { *errno };
    if !registry::defer_stop_if_busy() {
        let epoch = STOP_EPOCH.load(Acquire);
        if epoch != 0 {
            platform::with_registers_spilled(|here| match platform::signal_stack_at(here) {
                Some((lo, hi)) => {
                    // SAFETY: `ctx` is this running handler's ucontext.
                    let sp = unsafe { platform::interrupted_sp(ctx) };
                    if sp >= lo && sp < hi {
                        // Another handler was running on the signal stack:
                        // stop once it returns, on the thread's own stack.
                        // SAFETY: as above; `signal` is the one handled.
                        unsafe { platform::stop_after_handler(ctx, signal) };
                    } else {
                        let room = here - lo;
                        stopped_here(epoch, sp, (here, hi), Some(room));
                    }
                }
                // No signal stack: the kernel saved the interrupted
                // registers on this stack, above this frame.
                None => stopped_here(epoch, here, (0, 0), None),
            });
        }
    }
    // SAFETY: as above.
    unsafe { *errno = saved };
}

/// A thread stops for `epoch`: publishes where (`sp`, and `signal`, the
/// part of its signal stack in use, or 0s), helps mark if the collector
/// asks and `room` (bytes left below this frame on the stack it runs on;
/// `None`: on the interrupted stack, measured here) allows, and waits for
/// the restart. Async-signal-safe.
fn stopped_here(epoch: u32, sp: usize, signal: (usize, usize), room: Option<usize>) {
    // A thread is registered if its TLS says so, or if the collector
    // found its record (it may be stopping between the two).
    let found = || TABLE.find(platform::current_thread().tid).ok();
    // SAFETY: a record in the table lives while the collector holds the
    // registry lock, which it does until after the restart we wait for.
    let rec = registry::try_current_thread()
        .or_else(|| found().and_then(|e| unsafe { e.rec.load(Relaxed).as_ref() }));
    let slot = match rec {
        Some(r) => &r.stop,
        None => match found() {
            Some(e) => &e.slot,
            None => return, // not asked to stop (a stale signal)
        },
    };
    let (g_lo, g_hi, native_sp) = registry::on_goroutine();
    let room = room.unwrap_or_else(|| match rec {
        Some(_) if sp >= g_lo && sp < g_hi => sp - g_lo,
        Some(r) if sp >= r.stack.0 && sp < r.stack.1 => sp - r.stack.0,
        _ => 0,
    });
    slot.sp.store(sp, Relaxed);
    slot.signal_lo.store(signal.0, Relaxed);
    slot.signal_hi.store(signal.1, Relaxed);
    slot.can_mark.store(room >= MARK_ROOM, Relaxed);
    slot.tp.store(platform::thread_pointer(), Relaxed);
    slot.goroutine_lo.store(g_lo, Relaxed);
    slot.goroutine_hi.store(g_hi, Relaxed);
    slot.native_sp.store(native_sp, Relaxed);
    slot.acked.store(epoch, Release);
    ACKS.fetch_add(1, Release);
    platform::futex_wake(&ACKS);
    if let Some(rec) = rec {
        // Wait for marking to open (or for the restart, if we are not
        // asked to help).
        loop {
            let m = MARK_EPOCH.load(Acquire);
            if m == epoch || STOP_EPOCH.load(Acquire) != epoch {
                break;
            }
            platform::futex_wait(&MARK_EPOCH, m, None);
        }
        let marker = rec.marker.load(Acquire);
        if marker != usize::MAX && STOP_EPOCH.load(Acquire) == epoch {
            MARKING.run(marker, super::heap::heap());
        }
    }
    registry::wait_for_restart(epoch);
}

// ---- the table of threads being stopped ----

const WAITING: u32 = 1;
const STOPPED: u32 = 2;
const PARKED: u32 = 3;
const GONE: u32 = 4;
/// An unregistered thread that blocks the stop signal (a C library's or an
/// emulator's thread): not waited for (see `wait_for_acks`).
const BLOCKS: u32 = 5;

/// How long a thread may leave the stop unanswered before we look whether
/// it blocks the signal (threads block every signal for a moment around
/// thread creation, for one).
const BLOCK_CHECK: Duration = Duration::from_millis(100);

/// Unregistered threads left running by the last collections because they
/// block the signal (collector only): at the next, one still blocking with
/// the signal pending is left running at once.
static BLOCKERS: [AtomicI32; 64] = [const { AtomicI32::new(0) }; 64];

/// Remembers the threads this stop left running (collector only).
fn remember_blockers() {
    let mut n = 0;
    for e in TABLE.entries() {
        if n < BLOCKERS.len() && e.state.load(Relaxed) == BLOCKS {
            BLOCKERS[n].store(e.tid.load(Relaxed), Relaxed);
            n += 1;
        }
    }
    for b in &BLOCKERS[n..] {
        b.store(0, Relaxed);
    }
}

/// One thread of the stop: found by tid (open addressing).
struct Entry {
    tid: AtomicI32,
    state: AtomicU32,
    /// The registered thread's record, or null.
    rec: AtomicPtr<ThreadRecord>,
    /// Where an unregistered thread says where it stopped.
    slot: StopSlot,
    pthread: AtomicUsize,
    /// The signal could not be queued yet (`platform::Sent::Again`).
    unsent: AtomicBool,
}

struct Table {
    entries: AtomicPtr<Entry>,
    cap: AtomicUsize,
    len: AtomicUsize,
}

static TABLE: Table = Table {
    entries: AtomicPtr::new(core::ptr::null_mut()),
    cap: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
};

impl Table {
    fn entries(&self) -> &[Entry] {
        let p = self.entries.load(Acquire);
        if p.is_null() {
            return &[];
        }
        // SAFETY: `cap` entries were mapped (zeroed: a valid empty
        // `Entry`) by `reset`, and stay mapped until the next reset.
        unsafe { core::slice::from_raw_parts(p, self.cap.load(Relaxed)) }
    }

    /// Empties the table with room for `threads` (the world runs).
    fn reset(&self, threads: usize) {
        let cap = (threads * 8 + 1024).next_power_of_two();
        let bytes =
            |c: usize| (c * core::mem::size_of::<Entry>()).next_multiple_of(platform::page_size());
        let old = self.entries.load(Relaxed);
        let old_cap = self.cap.load(Relaxed);
        if old.is_null() || old_cap < cap {
            let new = super::mark::map_zeroed(bytes(cap)) as *mut Entry;
            if !old.is_null() {
                // SAFETY: no thread reads the old table: no stop is under
                // way (we hold the registry lock, and the last collection
                // restarted the world).
                unsafe { platform::unmap_region(old as usize, bytes(old_cap)) };
            }
            self.entries.store(new, Release);
            self.cap.store(cap, Relaxed);
        } else {
            for e in self.entries() {
                e.tid.store(0, Relaxed);
                e.state.store(0, Relaxed);
                e.rec.store(core::ptr::null_mut(), Relaxed);
                e.slot.acked.store(0, Relaxed);
                e.unsent.store(false, Relaxed);
            }
        }
        self.len.store(0, Relaxed);
    }

    fn find(&self, tid: i32) -> Result<&Entry, Option<&Entry>> {
        let entries = self.entries();
        if entries.is_empty() {
            return Err(None);
        }
        let mask = entries.len() - 1;
        let mut i = (tid as u32 as usize).wrapping_mul(0x9E37_79B9) & mask;
        loop {
            let e = &entries[i];
            match e.tid.load(Acquire) {
                0 => return Err(Some(e)),
                t if t == tid => return Ok(e),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Adds `thread` (collector only); None if it is there already.
    fn insert(&self, thread: OsThread, rec: *const ThreadRecord) -> Option<&Entry> {
        let e = self.find(thread.tid).err()??;
        if self.len.load(Relaxed) * 2 >= self.entries().len() {
            fatal(b"fatal error: gort gc: too many threads appeared during a collection\n");
        }
        self.len.fetch_add(1, Relaxed);
        e.rec.store(rec.cast_mut(), Relaxed);
        e.pthread
            .store(platform::pthread_bits(thread.pthread), Relaxed);
        e.state.store(0, Relaxed);
        e.tid.store(thread.tid, Release);
        Some(e)
    }
}

fn fatal(msg: &[u8]) -> ! {
    platform::write_stderr(msg);
    platform::exit_now(2)
}

/// What `stop` found.
#[derive(Default, Clone, Copy)]
pub(crate) struct StopCounts {
    pub(crate) stopped: usize,
    pub(crate) parked: usize,
}

/// Sizes the tables (the world runs, the registry is locked).
pub(crate) fn prepare(reg: &Registry) {
    let mut buf = [0i32; 1];
    let listed = platform::list_threads(&mut buf).unwrap_or(0);
    TABLE.reset(listed.max(reg.thread_count()) + 16);
    tids_buffer(listed * 2 + 256);
}

/// A mapped buffer of at least `n` tids (kept for later collections).
fn tids_buffer(n: usize) -> &'static mut [i32] {
    static BUF: AtomicPtr<i32> = AtomicPtr::new(core::ptr::null_mut());
    static CAP: AtomicUsize = AtomicUsize::new(0);
    let cap = CAP.load(Relaxed);
    if cap < n {
        let new_cap = n.next_power_of_two();
        let p = super::mark::map_zeroed((new_cap * 4).next_multiple_of(platform::page_size()));
        let old = BUF.swap(p as *mut i32, Relaxed);
        if !old.is_null() {
            // SAFETY: only the collector (one at a time) uses this buffer.
            unsafe {
                platform::unmap_region(
                    old as usize,
                    (cap * 4).next_multiple_of(platform::page_size()),
                )
            };
        }
        CAP.store(new_cap, Relaxed);
    }
    // SAFETY: as above: one collector at a time uses it.
    unsafe { core::slice::from_raw_parts_mut(BUF.load(Relaxed), CAP.load(Relaxed)) }
}

/// Stops every other thread for `epoch` (see the module docs).
pub(crate) fn stop(reg: &Registry, epoch: u32, me: OsThread) -> StopCounts {
    let signal = SIGNAL.load(Relaxed);
    STOP_EPOCH.store(epoch, SeqCst);
    MARK_EPOCH.store(0, Relaxed);
    for rec in reg.threads() {
        rec.marker.store(usize::MAX, Relaxed);
        if rec.os == me {
            continue;
        }
        if let Some(e) = TABLE.insert(rec.os, rec) {
            begin(e, rec.os, Some(rec), signal);
        }
    }
    let linux = platform::list_threads(&mut []).is_some();
    loop {
        let mut new = 0;
        if linux {
            let mut tids = tids_buffer(0);
            let mut n = platform::list_threads(tids).unwrap_or(0);
            if n > tids.len() {
                tids = tids_buffer(n * 2);
                n = platform::list_threads(tids).unwrap_or(0).min(tids.len());
            }
            for &tid in &tids[..n] {
                if tid == me.tid {
                    continue;
                }
                let os = OsThread {
                    tid,
                    pthread: platform::pthread_from_bits(0),
                };
                if let Some(e) = TABLE.insert(os, core::ptr::null()) {
                    new += 1;
                    begin(e, os, None, signal);
                }
            }
        }
        wait_for_acks(epoch, signal);
        if new == 0 {
            break;
        }
    }
    remember_blockers();
    let mut counts = StopCounts::default();
    for e in TABLE.entries() {
        match e.state.load(Relaxed) {
            STOPPED => counts.stopped += 1,
            PARKED => counts.parked += 1,
            _ => {}
        }
    }
    counts
}

/// Starts stopping one thread: a registered thread parked in gort is
/// left parked; an unregistered one still blocking the signal it has
/// pending since an earlier stop is left running; any other is signalled.
fn begin(e: &Entry, os: OsThread, rec: Option<&ThreadRecord>, signal: i32) {
    if let Some(rec) = rec {
        // Seen parked, it is scanned from this address even if it wakes:
        // it then waits for the restart, inside the frame it saved.
        let parked_sp = rec.parked_sp.load(SeqCst);
        if parked_sp != 0 {
            e.slot.sp.store(parked_sp, Relaxed);
            e.state.store(PARKED, Relaxed);
            return;
        }
    } else if BLOCKERS.iter().any(|b| b.load(Relaxed) == os.tid) {
        let st = platform::signal_state(os.tid, signal);
        if st.blocked && st.pending {
            // Blocking since that stop (unblocking would have delivered
            // the pending signal): one more would only queue.
            e.state.store(BLOCKS, Relaxed);
            return;
        }
    }
    e.state.store(WAITING, Relaxed);
    send(e, os, signal);
}

/// Sends the stop signal for entry `e`.
fn send(e: &Entry, os: OsThread, signal: i32) {
    match platform::send_stop(os, signal) {
        platform::Sent::Queued => e.unsent.store(false, Relaxed),
        platform::Sent::Again => e.unsent.store(true, Relaxed),
        platform::Sent::Gone => e.state.store(GONE, Relaxed),
    }
}

fn slot_of(e: &Entry) -> &StopSlot {
    // SAFETY: a registered thread's record lives while we hold the
    // registry lock.
    match unsafe { e.rec.load(Relaxed).as_ref() } {
        Some(r) => &r.stop,
        None => &e.slot,
    }
}

fn os_of(e: &Entry) -> OsThread {
    OsThread {
        tid: e.tid.load(Relaxed),
        pthread: platform::pthread_from_bits(e.pthread.load(Relaxed)),
    }
}

/// Waits until every signalled thread acknowledged `epoch` (or is gone,
/// or is an unregistered thread that blocks the signal), sending again
/// where a signal could not be queued or is not queued.
fn wait_for_acks(epoch: u32, signal: i32) {
    let start = platform::now_nanos();
    let mut last_send = start;
    let mut checked = false;
    let queues = platform::signal_queues(signal);
    loop {
        let seen = ACKS.load(Acquire);
        let mut waiting = None;
        for e in TABLE.entries() {
            if e.state.load(Relaxed) != WAITING {
                continue;
            }
            if slot_of(e).acked.load(Acquire) == epoch {
                e.state.store(STOPPED, Relaxed);
            } else {
                waiting = Some(e);
            }
        }
        let Some(laggard) = waiting else { return };
        let now = platform::now_nanos();
        if !checked && now - start > BLOCK_CHECK.as_nanos() as u64 {
            checked = true;
            for e in TABLE.entries() {
                if e.state.load(Relaxed) != WAITING || slot_of(e).acked.load(Acquire) == epoch {
                    continue;
                }
                let st = platform::signal_state(e.tid.load(Relaxed), signal);
                // Not registered, so it holds no `Gc` (module docs). A
                // registered one may be in a long handler that blocks the
                // signal: it has until the stop timeout.
                if (st.blocked || st.in_sigwait) && e.rec.load(Relaxed).is_null() {
                    e.state.store(BLOCKS, Relaxed);
                }
            }
        }
        if now - start > stop_timeout().as_nanos() as u64 && laggard.state.load(Relaxed) == WAITING
        {
            not_answering(laggard, signal);
        }
        if now - last_send >= RESEND.as_nanos() as u64 {
            last_send = now;
            for e in TABLE.entries() {
                if e.state.load(Relaxed) != WAITING || slot_of(e).acked.load(Acquire) == epoch {
                    continue;
                }
                if e.unsent.load(Relaxed) || !queues {
                    send(e, os_of(e), signal);
                } else if platform::send_stop(os_of(e), 0) == platform::Sent::Gone {
                    // Signal 0 only asks whether the thread still exists:
                    // one that ended before taking the signal never will.
                    e.state.store(GONE, Relaxed);
                }
            }
        }
        platform::futex_wait(&ACKS, seen, Some(Duration::from_millis(1)));
    }
}

/// The fatal error for a thread that does not stop, naming it and, where
/// the OS tells, why: its mask blocks the stop signal (registration let
/// it through, so the thread blocked it since, or runs a signal handler
/// that does), or it takes the signal in `sigwait`.
fn not_answering(e: &Entry, signal: i32) -> ! {
    let tid = e.tid.load(Relaxed);
    let mut name = [0u8; 64];
    let n = platform::thread_name(tid, &mut name);
    let st = platform::signal_state(tid, signal);
    let why: &[u8] = if st.blocked {
        b" blocks the stop signal ("
    } else if st.in_sigwait {
        b" takes the stop signal in sigwait ("
    } else {
        b" did not stop for a collection within GORT_GCSTOPTIMEOUT (stop signal "
    };
    platform::write_stderr_parts(&[
        b"fatal error: gort gc: thread ",
        platform::format_u64(tid as u64, &mut [0u8; 20]),
        b" (",
        &name[..n],
        b")",
        why,
        platform::format_u64(signal as u64, &mut [0u8; 20]),
        b", GORT_GCSIGNAL): a thread that uses gort must let it through\n",
    ]);
    platform::exit_now(2)
}

/// Adds every stopped or parked thread's stack (and static TLS where it
/// is apart from the stack) to the roots. `scratch` holds the
/// `/proc/self/maps` reads for threads gort did not register.
pub(crate) fn add_thread_roots(me: Option<&ThreadRecord>, my_sp: usize, scratch: &mut Scratch) {
    // The collector's own thread.
    if let Some(rec) = me {
        add_stack_from(my_sp, rec, registry::on_goroutine());
    }
    for e in TABLE.entries() {
        // SAFETY: as in `slot_of`.
        match (e.state.load(Relaxed), unsafe {
            e.rec.load(Relaxed).as_ref()
        }) {
            (STOPPED, Some(rec)) => {
                let s = &rec.stop;
                let g = (
                    s.goroutine_lo.load(Relaxed),
                    s.goroutine_hi.load(Relaxed),
                    s.native_sp.load(Relaxed),
                );
                add_stack_from(s.sp.load(Relaxed), rec, g);
                add_signal_stack(s);
            }
            (PARKED, Some(rec)) => add_stack_from(e.slot.sp.load(Relaxed), rec, (0, 0, 0)),
            _ => {}
        }
    }
    // Unregistered threads: their mappings, a batch per read of the maps.
    let unregistered = || {
        TABLE
            .entries()
            .iter()
            .filter(|e| e.state.load(Relaxed) == STOPPED && e.rec.load(Relaxed).is_null())
    };
    let per_batch = scratch.addrs.len() / 2;
    let mut done = 0;
    loop {
        let batch = unregistered().skip(done).take(per_batch);
        let mut n = 0;
        for e in batch.clone() {
            scratch.addrs[n] = e.slot.sp.load(Relaxed);
            scratch.addrs[n + 1] = e.slot.tp.load(Relaxed);
            n += 2;
        }
        if n == 0 {
            break;
        }
        platform::find_mappings(
            &scratch.addrs[..n],
            &mut scratch.found[..n],
            &mut scratch.maps,
        );
        for (k, e) in batch.enumerate() {
            let sp = e.slot.sp.load(Relaxed);
            let tp = e.slot.tp.load(Relaxed);
            let (stack_lo, stack_end) = scratch.found[2 * k];
            let (tls_lo, tls_hi) = scratch.found[2 * k + 1];
            if stack_end <= sp {
                fatal(
                    b"fatal error: gort gc: a stopped thread's stack is not in /proc/self/maps\n",
                );
            }
            MARKING.add_root(below_sp(sp, stack_lo), stack_end);
            add_signal_stack(&e.slot);
            if tls_hi > 0 {
                let reach = scratch.tls_reach;
                MARKING.add_root(
                    tp.saturating_sub(reach).max(tls_lo),
                    (tp + reach).min(tls_hi),
                );
            }
        }
        done += n / 2;
    }
}

/// Where a scan of a stack from `sp` starts: below it by the red zone
/// (an interrupted leaf function may keep values there), but not below
/// the stack's lowest address `lo`.
fn below_sp(sp: usize, lo: usize) -> usize {
    sp.saturating_sub(platform::RED_ZONE).max(lo)
}

/// The part of its signal stack a stopped thread's handler used (the
/// interrupted registers are there), if it ran there.
fn add_signal_stack(s: &StopSlot) {
    let (lo, hi) = (s.signal_lo.load(Relaxed), s.signal_hi.load(Relaxed));
    if hi > lo {
        MARKING.add_root(lo, hi);
    }
}

/// A registered thread's stack from `sp`: on the goroutine stack `g.0..g.1`
/// if `sp` is inside it (and then its own stack from `g.2`, where it
/// switched), else on its own stack; plus its TLS.
fn add_stack_from(sp: usize, rec: &ThreadRecord, g: (usize, usize, usize)) {
    if sp >= g.0 && sp < g.1 {
        MARKING.add_root(below_sp(sp, g.0), g.1);
        if g.2 >= rec.stack.0 && g.2 < rec.stack.1 {
            MARKING.add_root(g.2, rec.stack.1);
        }
    } else if sp >= rec.stack.0 && sp < rec.stack.1 {
        MARKING.add_root(below_sp(sp, rec.stack.0), rec.stack.1);
    } else {
        fatal(
            b"fatal error: gort gc: a thread stopped outside every stack it is known to run on\n",
        );
    }
    if rec.tls.1 > 0 {
        MARKING.add_root(rec.tls.0, rec.tls.1);
    }
}

/// Picks up to `MAX_MARKERS - 1` stopped registered threads to help mark
/// (those whose handler has room for it: `MARK_ROOM`);
/// returns how many markers there are, the collector included.
pub(crate) fn pick_helpers(limit: usize) -> usize {
    let mut n = 1;
    for e in TABLE.entries() {
        if n >= MAX_MARKERS.min(limit) {
            break;
        }
        if e.state.load(Relaxed) != STOPPED {
            continue;
        }
        // SAFETY: as in `slot_of`.
        if let Some(rec) = unsafe { e.rec.load(Relaxed).as_ref() }
            && rec.stop.can_mark.load(Relaxed)
        {
            rec.marker.store(n, Relaxed);
            n += 1;
        }
    }
    n
}

/// Lets the stopped threads go on to marking (those picked mark; the
/// others wait for the restart).
pub(crate) fn open_marking(epoch: u32) {
    MARK_EPOCH.store(epoch, Release);
    platform::futex_wake_all(&MARK_EPOCH);
}

/// Restarts the world.
pub(crate) fn restart() {
    STOP_EPOCH.store(0, SeqCst);
    platform::futex_wake_all(&STOP_EPOCH);
}

/// Memory the collector uses while the world is stopped, mapped before.
pub(crate) struct Scratch {
    addrs: [usize; 256],
    found: [(usize, usize); 256],
    maps: [u8; 64 * 1024],
    tls_reach: usize,
}

impl Scratch {
    /// A scratch area, kept for the process's life (collector only).
    pub(crate) fn get() -> &'static mut Scratch {
        static AREA: AtomicPtr<Scratch> = AtomicPtr::new(core::ptr::null_mut());
        let mut p = AREA.load(Acquire);
        if p.is_null() {
            p = super::mark::map_zeroed(
                core::mem::size_of::<Scratch>().next_multiple_of(platform::page_size()),
            ) as *mut Scratch;
            // SAFETY: freshly mapped, zeroed: a valid `Scratch`.
            unsafe { (*p).tls_reach = platform::static_tls_size() + 4096 };
            AREA.store(p, Release);
        }
        // SAFETY: one collector at a time (under the registry lock).
        unsafe { &mut *p }
    }
}
