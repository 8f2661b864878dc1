//! Timer heaps. One global heap, served by a thread of its own (on bare
//! metal: by the cores' scheduler loops), holds the timers of `Timer`,
//! `Ticker`, `after`, `tick`, and the sleeps and timeouts of threads and of
//! goroutines of the threads and cores schedulers. Each M:N
//! scheduler has its own heap for its goroutines' sleeps and timeouts,
//! served by its workers (see `task::mn`): a sleeping goroutine costs no
//! thread, and the worker that wakes at the deadline runs it.
//!
//! Invariants:
//! - a heap's `actions` holds exactly its armed timers; a queue entry whose
//!   id is not in `actions` was disarmed and is skipped when it surfaces,
//!   and the queue is rebuilt when such stale entries outnumber live ones,
//!   so arming and disarming 100,000 timers stays O(log n) per step;
//! - a timer channel's entry whose channel nobody holds (`orphaned`) can
//!   wake nobody; it is dropped unfired when the heap collects: when
//!   arming finds `actions` at `collect_at` (twice its size after the last
//!   collection, or its smallest since; at least 64), so each collection's
//!   walk is paid for by the arms since the last one (O(1) a timer,
//!   amortized) and orphans are never more than about half of a heap that
//!   holds steady; and when `pending` is asked, so neither the deadlock
//!   monitor nor a test counts one. `ARMED` counts `actions` of every
//!   heap;
//! - `next`, stored under the heap's lock, is at most the earliest armed
//!   deadline (`u64::MAX` for none): whoever arms an earlier deadline than
//!   `next` learns it from `arm` and wakes the heap's server, which reads
//!   `next` only after announcing it is about to sleep (the thread:
//!   `epoch`; workers: see `task::mn`), so no earlier deadline is slept
//!   through. After a disarm or collection it may be early (the server
//!   finds nothing due and looks again); `pending` moves it to the true
//!   earliest deadline and wakes the global heap's thread, so that thread
//!   does not wait, timed, for a timer that is gone;
//! - actions run with no heap lock held (a timer's own lock comes first,
//!   then a channel's: see `time::TimerShared`);
//! - timer ids come from one counter, unique across heaps.

use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Reverse;

use super::TimerShared;
use crate::platform::ShortLock;
use crate::shim::Arc;
use crate::shim::atomic::{AtomicU64, AtomicUsize, Ordering};
use crate::task::TaskRef;

#[cfg(feature = "std")]
type Map<K, V> = std::collections::HashMap<K, V>;
#[cfg(not(feature = "std"))]
type Map<K, V> = alloc::collections::BTreeMap<K, V>;

/// What happens when a timer fires.
pub(crate) enum Action {
    Unpark(TaskRef),
    Fire(Arc<TimerShared>),
    /// `time::after_func`: a short call that must not block (it starts the
    /// caller's function as a goroutine).
    Call(alloc::boxed::Box<dyn FnOnce() + Send>),
}

impl Action {
    fn orphaned(&self) -> bool {
        matches!(self, Action::Fire(timer) if timer.orphaned())
    }

    fn run(self, id: u64) {
        match self {
            Action::Unpark(task) => task.unpark(),
            Action::Fire(timer) => TimerShared::fire(&timer, TimerId(id)),
            Action::Call(f) => f(),
        }
    }
}

/// Names a timer of the global heap, to disarm it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerId(u64);

/// A sleep or timeout armed by `arm_unpark`, in whichever heap serves the
/// task that armed it; only that task disarms it (`disarm_unpark`).
#[derive(Debug)]
#[must_use = "an armed timer must be disarmed"]
pub(crate) enum UnparkTimer {
    Global(TimerId),
    /// In the heap of the M:N scheduler running the arming goroutine.
    #[cfg(gort_mn)]
    Scheduler(u64),
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Timers armed in every heap and not yet fired, disarmed or collected.
static ARMED: AtomicUsize = AtomicUsize::new(0);

/// Collections start at this many armed timers.
const COLLECT_FROM: usize = 64;

struct Queue {
    order: BinaryHeap<Reverse<(u64, u64)>>,
    actions: Map<u64, Action>,
    /// How many `actions` are `Fire` (only those can be orphaned).
    fires: usize,
    /// `arm` collects orphans when `actions` reaches this many: twice its
    /// smallest size since the last collection (at least `COLLECT_FROM`).
    collect_at: usize,
}

impl Queue {
    fn new() -> Self {
        Queue {
            order: BinaryHeap::new(),
            actions: Map::new(),
            fires: 0,
            collect_at: COLLECT_FROM,
        }
    }

    fn insert(&mut self, id: u64, action: Action) {
        self.fires += matches!(action, Action::Fire(_)) as usize;
        self.actions.insert(id, action);
        ARMED.fetch_add(1, Ordering::Relaxed);
    }

    fn remove(&mut self, id: u64) -> Option<Action> {
        let action = self.actions.remove(&id)?;
        self.fires -= matches!(action, Action::Fire(_)) as usize;
        ARMED.fetch_sub(1, Ordering::Relaxed);
        self.collect_at = self
            .collect_at
            .min(COLLECT_FROM.max(2 * self.actions.len()));
        Some(action)
    }

    /// Takes out the entries of orphaned timer channels, for the caller to
    /// drop once the lock is released.
    fn collect(&mut self) -> Vec<Action> {
        let mut gone = Vec::new();
        if self.fires != 0 {
            let ids: Vec<u64> = self
                .actions
                .iter()
                .filter(|(_, a)| a.orphaned())
                .map(|(id, _)| *id)
                .collect();
            gone.extend(ids.into_iter().filter_map(|id| self.remove(id)));
            self.compact();
        }
        self.collect_at = COLLECT_FROM.max(2 * self.actions.len());
        gone
    }

    /// Rebuilds `order` without disarmed entries once they outnumber the
    /// armed ones.
    fn compact(&mut self) {
        if self.order.len() > 64 && self.order.len() > 2 * self.actions.len() {
            let live = &self.actions;
            let kept: Vec<_> = self
                .order
                .iter()
                .filter(|Reverse((_, id))| live.contains_key(id))
                .copied()
                .collect();
            self.order = BinaryHeap::from(kept);
        }
    }
}

/// A min-heap of deadlines and what to do at each.
pub(crate) struct TimerHeap {
    queue: ShortLock<Queue>,
    next: AtomicU64,
}

impl Default for TimerHeap {
    fn default() -> Self {
        TimerHeap {
            queue: ShortLock::new(crate::lockrank::LockRank::TimerHeap, Queue::new()),
            next: AtomicU64::new(u64::MAX),
        }
    }
}

impl TimerHeap {
    fn lock(&self) -> crate::platform::ShortLockGuard<'_, Queue> {
        self.queue.lock()
    }

    /// Arms `action` at `deadline`; returns its id and whether it is now
    /// the earliest (the server must be told).
    pub(crate) fn arm(&self, deadline: u64, action: Action) -> (u64, bool) {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let mut q = self.lock();
        let orphans = if q.actions.len() >= q.collect_at {
            q.collect()
        } else {
            Vec::new()
        };
        q.order.push(Reverse((deadline, id)));
        q.insert(id, action);
        let earliest = deadline < self.next.load(Ordering::Relaxed);
        if earliest {
            self.next.store(deadline, Ordering::SeqCst);
        }
        drop(q);
        drop(orphans);
        (id, earliest)
    }

    /// Disarms timer `id`; true if it had not fired yet.
    pub(crate) fn disarm(&self, id: u64) -> bool {
        let mut q = self.lock();
        let action = q.remove(id);
        q.compact();
        drop(q);
        // `next` may now be early: harmless, the server finds nothing due.
        action.is_some()
    }

    /// Drops the entries of orphaned timer channels now, and disarmed
    /// entries at the head; true if that moved `next` later (the server
    /// may then wait for a deadline that is gone).
    pub(crate) fn collect(&self) -> bool {
        let mut q = self.lock();
        let orphans = q.collect();
        while let Some(&Reverse((_, id))) = q.order.peek() {
            if q.actions.contains_key(&id) {
                break;
            }
            q.order.pop();
        }
        let next = q.order.peek().map_or(u64::MAX, |Reverse((d, _))| *d);
        let later = next > self.next.load(Ordering::Relaxed);
        if later {
            self.next.store(next, Ordering::SeqCst);
        }
        drop(q);
        drop(orphans);
        later
    }

    /// The earliest armed deadline, `u64::MAX` if none.
    pub(crate) fn next(&self) -> u64 {
        self.next.load(Ordering::SeqCst)
    }

    /// Runs every action due at `now` (with no lock held); returns how
    /// many ran.
    pub(crate) fn run_due(&self, now: u64) -> usize {
        let mut due = Vec::new();
        {
            let mut q = self.lock();
            while let Some(&Reverse((deadline, id))) = q.order.peek() {
                if deadline > now && q.actions.contains_key(&id) {
                    break;
                }
                q.order.pop();
                if let Some(action) = q.remove(id) {
                    due.push((id, action));
                }
            }
            let next = q.order.peek().map_or(u64::MAX, |Reverse((d, _))| *d);
            self.next.store(next, Ordering::SeqCst);
        }
        let ran = due.len();
        for (id, action) in due {
            action.run(id);
        }
        ran
    }
}

/// The global heap and its thread's wake word.
#[cfg(feature = "std")]
struct Global {
    heap: TimerHeap,
    /// Bumped when an earlier deadline is armed; the thread sleeps on it.
    epoch: crate::futex::Futex,
}

#[cfg(feature = "std")]
static GLOBAL: std::sync::OnceLock<Global> = std::sync::OnceLock::new();

#[cfg(feature = "std")]
fn global() -> &'static Global {
    use crate::futex::Futex;
    static STARTED: std::sync::Once = std::sync::Once::new();
    let g = GLOBAL.get_or_init(|| Global {
        heap: TimerHeap::default(),
        epoch: Futex::new(0),
    });
    // The thread gets the heap by reference: it must not wait on the
    // initialisation that is starting it.
    STARTED.call_once(|| {
        std::thread::Builder::new()
            .name("gort-timers".into())
            .spawn(move || crate::task::run_owned_thread(|| serve(g)))
            .expect("gort: cannot start the timer thread");
    });
    g
}

/// Unparks `task` at `deadline` (a `now_nanos` time): in its M:N
/// scheduler's heap if it is a goroutine of one, else in the global heap.
pub(crate) fn arm_unpark(deadline: u64, task: TaskRef) -> UnparkTimer {
    #[cfg(gort_mn)]
    let task = match crate::task::mn::arm_timer(deadline, task) {
        Ok(id) => return UnparkTimer::Scheduler(id),
        Err(task) => task,
    };
    UnparkTimer::Global(arm(deadline, Action::Unpark(task)))
}

/// Disarms a timer from `arm_unpark` (called by the task that armed it);
/// true if it had not fired yet.
pub(crate) fn disarm_unpark(timer: UnparkTimer) -> bool {
    match timer {
        UnparkTimer::Global(id) => disarm(id),
        #[cfg(gort_mn)]
        UnparkTimer::Scheduler(id) => crate::task::mn::disarm_timer(id),
    }
}

/// Calls `timer.fire(id)` at `deadline`.
pub(crate) fn arm_fire(deadline: u64, timer: Arc<TimerShared>) -> TimerId {
    arm(deadline, Action::Fire(timer))
}

/// Calls `f` at `deadline`, on the timer facility's own thread or loop.
pub(crate) fn arm_call(deadline: u64, f: alloc::boxed::Box<dyn FnOnce() + Send>) -> TimerId {
    arm(deadline, Action::Call(f))
}

#[cfg(feature = "std")]
fn arm(deadline: u64, action: Action) -> TimerId {
    let g = global();
    let (id, earliest) = g.heap.arm(deadline, action);
    if earliest {
        g.epoch.fetch_add(1, Ordering::SeqCst);
        g.epoch.wake();
    }
    TimerId(id)
}

/// Disarms a timer of the global heap; true if it had not fired yet.
#[cfg(feature = "std")]
pub(crate) fn disarm(id: TimerId) -> bool {
    global().heap.disarm(id.0)
}

/// Bare metal: the global heap, served by every core's scheduler loop
/// when it has nothing to run (`task::cores`).
#[cfg(not(feature = "std"))]
pub(crate) static GLOBAL_HEAP: TimerHeap = TimerHeap {
    queue: ShortLock::new(
        crate::lockrank::LockRank::TimerHeap,
        Queue {
            order: BinaryHeap::new(),
            actions: Map::new(),
            fires: 0,
            collect_at: COLLECT_FROM,
        },
    ),
    next: AtomicU64::new(u64::MAX),
};

#[cfg(not(feature = "std"))]
fn arm(deadline: u64, action: Action) -> TimerId {
    let (id, earliest) = GLOBAL_HEAP.arm(deadline, action);
    if earliest {
        crate::task::cores::timer_armed_earlier();
    }
    TimerId(id)
}

/// Disarms a timer of the global heap; true if it had not fired yet.
#[cfg(not(feature = "std"))]
pub(crate) fn disarm(id: TimerId) -> bool {
    GLOBAL_HEAP.disarm(id.0)
}

/// Timers armed in every heap and not yet fired or disarmed, after
/// collecting the global heap's orphaned timer channels (only it has
/// timer channels) and disarmed head entries: a walk of that heap.
pub(crate) fn pending() -> usize {
    // Not `global()`: asking must not start the timer thread.
    #[cfg(feature = "std")]
    if let Some(g) = GLOBAL.get()
        && g.heap.collect()
    {
        // It may be waiting for a deadline that is gone: it looks again,
        // and waits untimed if none is left (the deadlock monitor counts
        // it asleep only then).
        g.epoch.fetch_add(1, Ordering::SeqCst);
        g.epoch.wake();
    }
    #[cfg(not(feature = "std"))]
    GLOBAL_HEAP.collect(); // the cores find nothing due at the old deadline
    ARMED.load(Ordering::Relaxed)
}

/// The timer thread: runs what is due, then sleeps until the next
/// deadline or until an earlier one is armed (the epoch moves).
#[cfg(feature = "std")]
fn serve(g: &'static Global) {
    use core::time::Duration;
    loop {
        let epoch = g.epoch.load(Ordering::SeqCst);
        let now = crate::platform::now_nanos();
        if g.heap.run_due(now) != 0 {
            continue;
        }
        let next = g.heap.next();
        if next == u64::MAX {
            g.epoch.wait_as(epoch, crate::futex::WaitReason::Internal);
        } else {
            g.epoch
                .wait_timeout(epoch, Duration::from_nanos(next.saturating_sub(now)));
        }
    }
}
