//! The network poller (Go's netpoll): one per process, shared by every
//! scheduler, over mio.
//!
//! Why mio: it registers each socket once, edge-triggered, for reading and
//! writing (as Go's netpoll does with `EPOLLET`), on epoll, kqueue and
//! Windows' AFD polling, so waiting costs no re-arm system call. The
//! `polling` crate registers oneshot by default (a re-arm per wait). One
//! poller per process, as in Go: a socket's events reach whichever thread
//! polls, and a goroutine may move between processors. mio polls through
//! `&mut Poll`, so one thread polls at a time (`state`), which is also
//! Go's rule for blocking polls. On Windows mio re-arms a socket's
//! interest only when one of its own I/O calls answers `WouldBlock`, so
//! all socket I/O goes through the mio types and every waiter retries its
//! call until `WouldBlock` (which edge triggering needs anyway). Under
//! Wine the poller can lose a socket for good, so there a wait lasts at
//! most `platform::socket_wait_limit` before the waiter retries.
//!
//! Invariants:
//! - every registered socket has a `Desc` in a table that is never freed
//!   (slots are reused). Its token is the slot index and the slot's
//!   generation, which goes up when the socket closes; an event of an
//!   older generation is dropped, so a reused descriptor never gets its
//!   predecessor's wakeups. (One that races the reuse causes at most a
//!   spurious retry: the I/O answers `WouldBlock` and the waiter waits
//!   again.)
//! - each direction of a `Desc` is a `Readiness` word (`readiness.rs`,
//!   model-checked): a waiter reads its count, tries its I/O, and only on
//!   `WouldBlock` sleeps while the count is unchanged, so an event between
//!   its read and its sleep is never lost.
//! - `WAITERS` counts tasks in such a sleep; while it is not zero somebody
//!   polls: the M:N processors poll without blocking when they look for
//!   work, and the last one to go idle blocks in the poller
//!   (`Scheduler::sleep`) until an event, its next timer, or a wake (the
//!   mio `Waker`); the monitor polls if nobody has for 10 ms. Threads (a
//!   plain thread, or a goroutine of the threads scheduler) have no
//!   processor: the first one to wait starts the `gort-netpoll` thread,
//!   which blocks in the poller whenever no processor does, for as long as
//!   anyone waits.
//! - `state` hands the `Poll` to one thread at a time: FREE, POLLING (a
//!   poll that does not block, held for microseconds), BLOCKED (a thread
//!   waits in it; it covers every socket, so nobody else needs to). A
//!   thread that leaves BLOCKED while threads still wait wakes the helper
//!   thread to take over; a processor that leaves it while anyone waits
//!   wakes an idle processor of every other M:N scheduler
//!   (`Scheduler::poller_left`), whose processors may have slept on the
//!   strength of ours.

use core::cell::UnsafeCell;
use core::time::Duration;
use std::io;
use std::sync::OnceLock;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize};

use mio::event::Source;
use mio::{Events, Interest, Poll, Registry, Token, Waker};

pub(crate) use super::readiness::Readiness;
use crate::futex::{Futex, WaitReason};
use crate::lockrank::LockRank;
use crate::platform::ShortLock;

/// Tasks waiting for a socket (any scheduler, any thread).
static WAITERS: AtomicUsize = AtomicUsize::new(0);
/// Those of them that are threads (not M:N goroutines).
static THREAD_WAITERS: AtomicUsize = AtomicUsize::new(0);
/// When somebody last polled (`platform::now_nanos`).
static LAST_POLL: AtomicU64 = AtomicU64::new(0);

const FREE: u32 = 0;
const POLLING: u32 = 1;
const BLOCKED: u32 = 2;

/// The waker's token (no slot has it: slots are far fewer).
const WAKER: Token = Token(usize::MAX);
/// Bits of a token for the slot index; the rest is the generation.
const INDEX_BITS: u32 = if usize::BITS >= 64 { 32 } else { 20 };
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
const GEN_MASK: u32 = if usize::BITS >= 64 {
    u32::MAX
} else {
    (1 << (usize::BITS - INDEX_BITS)) - 1
};
/// Slots per chunk of the table, and chunks at most.
const CHUNK: usize = 256;
const MAX_CHUNKS: usize = (1 << 22) / CHUNK;
/// Events taken per poll.
const EVENTS: usize = 256;
/// `take_for_blocking` spins this many times, then yields.
const SPINS_BEFORE_YIELD: u32 = 100;
/// The monitor polls if nobody has for this long.
pub(crate) const POLL_STALE_NS: u64 = 10_000_000;

/// Waits on a socket's `readiness` (see `Readiness::wait`), counted in
/// `WAITERS` so that somebody polls meanwhile. True if the caller should
/// retry its call (an event, or the platform's limit on one wait: see
/// `platform::socket_wait_limit`); false if `deadline` passed.
pub(crate) fn wait(readiness: &Readiness, seen: u32, deadline: Option<u64>) -> bool {
    let _waiting = Waiting::new(crate::task::current_goroutine().is_some());
    let Some(limit) = crate::platform::socket_wait_limit() else {
        return readiness.wait(seen, deadline);
    };
    let limit = crate::platform::now_nanos().saturating_add(limit.as_nanos() as u64);
    match deadline {
        Some(d) if d <= limit => readiness.wait(seen, deadline),
        _ => {
            readiness.wait(seen, Some(limit));
            true
        }
    }
}

/// Counts a task in `WAITERS` (and a thread in `THREAD_WAITERS`) while it
/// waits, and makes sure somebody polls meanwhile.
struct Waiting(bool);

impl Waiting {
    fn new(switched: bool) -> Waiting {
        WAITERS.fetch_add(1, SeqCst);
        if !switched {
            THREAD_WAITERS.fetch_add(1, SeqCst);
            if let Some(p) = POLLER.get().and_then(|p| p.as_ref().ok()) {
                p.helper_needed();
            }
        }
        Waiting(switched)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if !self.0 {
            THREAD_WAITERS.fetch_sub(1, SeqCst);
        }
        WAITERS.fetch_sub(1, SeqCst);
    }
}

/// Whether any task waits for a socket (the deadlock monitor's and the
/// scheduler's question: one atomic load).
pub(crate) fn waiting() -> bool {
    WAITERS.load(SeqCst) != 0
}

/// A socket's slot: its generation and its two directions.
#[derive(Default)]
pub(crate) struct Desc {
    generation: AtomicU32,
    pub(crate) read: Readiness,
    pub(crate) write: Readiness,
}

/// The process's poller.
pub(crate) struct Poller {
    /// Touched only by the thread that moved `state` away from FREE.
    poll: UnsafeCell<Poll>,
    events: UnsafeCell<Events>,
    registry: Registry,
    waker: Waker,
    state: AtomicU32,
    /// The table of `Desc`s: chunks, allocated on demand, never freed.
    chunks: Box<[AtomicPtr<Desc>]>,
    /// Free slot indices, and how many slots exist.
    free: ShortLock<(Vec<u32>, usize)>,
    /// The helper thread's futex word, bumped to wake it.
    helper: Futex,
    /// Set while the helper thread is (about to be) asleep: a thread that
    /// starts waiting bumps THREAD_WAITERS and then reads this; the helper
    /// sets this and then reads THREAD_WAITERS (both SeqCst).
    helper_idle: AtomicBool,
    helper_started: std::sync::Once,
}

// SAFETY: `poll` and `events` are used only by the thread that owns
// `state` (module invariants); everything else is atomic or locked.
unsafe impl Sync for Poller {}
// SAFETY: as above.
unsafe impl Send for Poller {}

static POLLER: OnceLock<Result<Poller, String>> = OnceLock::new();

/// The poller, made on first use. An error (no file descriptors left,
/// say) is returned to every socket call until one succeeds in making it.
pub(crate) fn poller() -> io::Result<&'static Poller> {
    match POLLER.get_or_init(|| Poller::new().map_err(|e| e.to_string())) {
        Ok(p) => Ok(p),
        Err(msg) => Err(io::Error::other(format!(
            "gort: cannot start the netpoller: {msg}"
        ))),
    }
}

/// The poller if it exists and somebody waits on it.
fn active() -> Option<&'static Poller> {
    if !waiting() {
        return None;
    }
    POLLER.get().and_then(|p| p.as_ref().ok())
}

impl Poller {
    fn new() -> io::Result<Poller> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(&registry, WAKER)?;
        Ok(Poller {
            poll: UnsafeCell::new(poll),
            events: UnsafeCell::new(Events::with_capacity(EVENTS)),
            registry,
            waker,
            state: AtomicU32::new(FREE),
            chunks: (0..MAX_CHUNKS)
                .map(|_| AtomicPtr::new(core::ptr::null_mut()))
                .collect(),
            free: ShortLock::new(LockRank::NetpollSlots, (Vec::new(), 0)),
            helper: Futex::new(0),
            helper_idle: AtomicBool::new(true),
            helper_started: std::sync::Once::new(),
        })
    }

    /// Registers `source` for both directions; returns its slot.
    pub(crate) fn register(&'static self, source: &mut impl Source) -> io::Result<Slot> {
        let index = self.take_slot()?;
        let desc = self.desc(index).expect("a slot just taken exists");
        let generation = desc.generation.load(Acquire) & GEN_MASK;
        let token = Token((generation as usize) << INDEX_BITS | index as usize);
        if let Err(e) =
            self.registry
                .register(source, token, Interest::READABLE | Interest::WRITABLE)
        {
            self.free.lock().0.push(index);
            return Err(e);
        }
        Ok(Slot {
            poller: self,
            index,
            desc,
        })
    }

    fn take_slot(&self) -> io::Result<u32> {
        let mut free = self.free.lock();
        if let Some(i) = free.0.pop() {
            return Ok(i);
        }
        let n = free.1;
        if n / CHUNK >= MAX_CHUNKS || n > INDEX_MASK {
            return Err(io::Error::other("gort: too many sockets registered"));
        }
        if n.is_multiple_of(CHUNK) {
            let chunk: Box<[Desc]> = (0..CHUNK).map(|_| Desc::default()).collect();
            let ptr = Box::leak(chunk).as_mut_ptr();
            self.chunks[n / CHUNK].store(ptr, Release);
        }
        free.1 = n + 1;
        Ok(n as u32)
    }

    fn desc(&self, index: u32) -> Option<&'static Desc> {
        let index = index as usize;
        let chunk = self.chunks.get(index / CHUNK)?.load(Acquire);
        // SAFETY: a non-null chunk is a leaked `[Desc; CHUNK]`, never freed.
        (!chunk.is_null()).then(|| unsafe { &*chunk.add(index % CHUNK) })
    }

    /// Takes the `Poll` if nobody has it: FREE → `to`.
    fn acquire(&self, to: u32) -> bool {
        self.state.load(Relaxed) == FREE
            && self
                .state
                .compare_exchange(FREE, to, SeqCst, Relaxed)
                .is_ok()
    }

    /// Polls once, waiting at most `timeout`; returns the events' count
    /// (0 on a timeout, a wake, or an interrupted wait).
    ///
    /// # Safety
    /// The caller moved `state` away from FREE and has not released it.
    unsafe fn poll(&self, timeout: Option<Duration>) -> usize {
        // SAFETY: we own `state`, hence `poll` and `events`.
        let (poll, events) = unsafe { (&mut *self.poll.get(), &mut *self.events.get()) };
        let result = poll.poll(events, timeout);
        LAST_POLL.store(crate::platform::now_nanos(), Relaxed);
        match result {
            Ok(()) => events.iter().count(),
            // EINTR (the collector's stop signal, say): nothing to report.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                events.clear();
                0
            }
            Err(e) => {
                let msg = format!("fatal error: netpoll failed: {e}\n");
                crate::platform::write_stderr(msg.as_bytes());
                crate::platform::exit_now(2)
            }
        }
    }

    /// Wakes the waiters of the events the last `poll` returned; the
    /// number of sockets that had any.
    ///
    /// # Safety
    /// As for `poll`.
    unsafe fn dispatch(&self) -> usize {
        // SAFETY: we own `state`, hence `events`.
        let events = unsafe { &*self.events.get() };
        let mut woke = 0;
        for e in events.iter() {
            let token = e.token();
            if token == WAKER {
                continue;
            }
            let index = (token.0 & INDEX_MASK) as u32;
            let generation = (token.0 >> INDEX_BITS) as u32;
            let Some(desc) = self.desc(index) else {
                continue;
            };
            if desc.generation.load(Acquire) & GEN_MASK != generation {
                continue; // closed since: a stale event
            }
            if e.is_readable() || e.is_read_closed() || e.is_error() {
                desc.read.notify();
            }
            if e.is_writable() || e.is_write_closed() || e.is_error() {
                desc.write.notify();
            }
            woke += 1;
        }
        woke
    }

    /// Breaks a blocking poll.
    pub(crate) fn wake(&self) {
        // An error here (the waker's buffer full) means a wake is pending.
        let _ = self.waker.wake();
    }

    /// Releases the `Poll` after holding it BLOCKED; hands the role to
    /// the helper thread if threads still wait.
    fn release_blocked(&'static self) {
        self.state.store(FREE, SeqCst);
        if THREAD_WAITERS.load(SeqCst) != 0 {
            self.wake_helper();
        }
    }

    /// A thread starts waiting: the helper must poll unless it does.
    fn helper_needed(&'static self) {
        if self.helper_idle.load(SeqCst) {
            self.wake_helper();
        }
    }

    fn wake_helper(&'static self) {
        self.helper_started.call_once(|| {
            crate::task::thread_limit::start_thread(
                "gort-netpoll".into(),
                Some(256 * 1024),
                move || self.helper_loop(),
            );
        });
        self.helper.fetch_add(1, Release);
        self.helper.wake();
    }

    /// The helper thread: blocks in the poller for threads that wait on
    /// sockets, whenever no processor does, until nobody waits.
    fn helper_loop(&self) {
        loop {
            let word = self.helper.load(Acquire);
            self.helper_idle.store(true, SeqCst);
            if !(THREAD_WAITERS.load(SeqCst) != 0 && self.acquire(BLOCKED)) {
                // Nobody to serve, or a processor polls for everyone (it
                // wakes us when it leaves, see `release_blocked`).
                let _asleep = crate::deadlock::Asleep::new(WaitReason::Internal);
                self.helper.wait_for(word, None, WaitReason::Internal);
                continue;
            }
            self.helper_idle.store(false, SeqCst);
            // Serve while anyone waits: goroutines too, since a processor
            // going idle found the poller taken and sleeps instead. The
            // 10 ms timeout lets us notice when nobody waits.
            loop {
                // SAFETY: we moved `state` to BLOCKED.
                unsafe {
                    if self.poll(Some(Duration::from_millis(10))) != 0 {
                        self.dispatch();
                    }
                }
                if waiting() {
                    continue;
                }
                self.state.store(FREE, SeqCst);
                // Whoever started waiting after our look, and whose
                // processor found the poller still ours, needs us again.
                if !(waiting() && self.acquire(BLOCKED)) {
                    break;
                }
            }
        }
    }
}

/// A registered socket's slot: its readiness, until dropped.
pub(crate) struct Slot {
    poller: &'static Poller,
    index: u32,
    desc: &'static Desc,
}

impl Slot {
    pub(crate) fn desc(&self) -> &'static Desc {
        self.desc
    }

    /// Deregisters `source` and frees the slot: events still queued for
    /// it are dropped (the generation moves on).
    pub(crate) fn release(self, source: &mut impl Source) {
        let _ = self.poller.registry.deregister(source);
        self.desc.generation.fetch_add(1, AcqRel);
        self.desc.read.notify();
        self.desc.write.notify();
        self.poller.free.lock().0.push(self.index);
    }
}

/// A poll that does not block, if anybody waits and nobody polls: for a
/// processor looking for work, and for the monitor. True if it woke
/// anybody.
pub(crate) fn poll_now() -> bool {
    let Some(p) = active() else { return false };
    if !p.acquire(POLLING) {
        return false;
    }
    // SAFETY: we moved `state` to POLLING.
    let woke = unsafe { p.poll(Some(Duration::ZERO)) != 0 && p.dispatch() != 0 };
    p.state.store(FREE, Release);
    woke
}

/// Whether the last poll is older than `POLL_STALE_NS` (the monitor's
/// question).
pub(crate) fn poll_is_stale(now: u64) -> bool {
    now.saturating_sub(LAST_POLL.load(Relaxed)) >= POLL_STALE_NS
}

/// A processor going idle: the poller to block in, if anybody waits and
/// nobody blocks in it already (waiting out a poll that does not block).
pub(crate) fn take_for_blocking() -> Option<BlockingPoll> {
    let p = active()?;
    let mut spins = 0u32;
    loop {
        // SeqCst: see `helper_loop`'s last look.
        match p.state.load(SeqCst) {
            BLOCKED => return None,
            FREE if p.acquire(BLOCKED) => return Some(BlockingPoll(p)),
            // A poll that does not block takes microseconds on epoll and
            // kqueue, but milliseconds under Wine (a server round trip per
            // socket re-armed and per event): after a short spin, yield
            // the core to the polling thread rather than compete with it.
            _ if spins < SPINS_BEFORE_YIELD => {
                spins += 1;
                core::hint::spin_loop();
            }
            _ => std::thread::yield_now(),
        }
    }
}

/// The `Poll`, held BLOCKED by an idle processor's thread; released when
/// dropped.
pub(crate) struct BlockingPoll(&'static Poller);

impl BlockingPoll {
    /// Waits for events (at most `timeout`); true if any came.
    pub(crate) fn wait(&self, timeout: Option<Duration>) -> bool {
        // SAFETY: we hold `state` BLOCKED.
        unsafe { self.0.poll(timeout) != 0 }
    }

    /// Wakes the waiters of what `wait` found; true if any.
    pub(crate) fn dispatch(&self) -> bool {
        // SAFETY: we hold `state` BLOCKED.
        unsafe { self.0.dispatch() != 0 }
    }
}

impl Drop for BlockingPoll {
    fn drop(&mut self) {
        self.0.release_blocked();
    }
}

/// Breaks the wait of whoever blocks in the poller (a processor being
/// woken).
pub(crate) fn wake_blocked() {
    if let Some(Ok(p)) = POLLER.get() {
        p.wake();
    }
}
