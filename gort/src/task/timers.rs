//! Timer heaps: the scheduler's layer of timers. One global heap, served
//! by a thread of its own (on bare metal: by the cores' scheduler loops),
//! holds the timers of `time` (`Timer`, `Ticker`, `after`, `tick`,
//! `after_func`), and the sleeps and timeouts of threads and of goroutines
//! of the threads and cores schedulers. Each M:N scheduler has its own heap
//! for its goroutines' sleeps and timeouts, served by its workers (see
//! `task::mn`): a sleeping goroutine costs no thread, and the worker that
//! wakes at the deadline runs it.
//!
//! `time` builds on this file and never the other way round: a timer
//! channel reaches the heap as a [`Fire`] (it says whether anybody can
//! still receive, and fires), an `after_func` as a boxed call.
//!
//! Invariants:
//! - a heap's `actions` holds exactly its armed timers; a queue entry whose
//!   id is not in `actions` was disarmed and is skipped when it surfaces,
//!   and the queue is rebuilt when such stale entries outnumber live ones,
//!   so arming and disarming 100,000 timers stays O(log n) per step;
//! - an `Action::Fire` entry that is `orphaned` can wake nobody; it is
//!   dropped unfired when the heap collects: when arming finds `actions`
//!   at `collect_at` (twice its size after the last collection, or its
//!   smallest since; at least 64), so each collection's walk is paid for
//!   by the arms since the last one (O(1) a timer, amortized) and orphans
//!   are never more than about half of a heap that holds steady; and when
//!   `pending` is asked, so neither the deadlock monitor nor a test counts
//!   one. `ARMED` counts `actions` of every heap;
//! - `next`, stored under the heap's lock, is at most the earliest armed
//!   deadline (`u64::MAX` for none): whoever arms an earlier deadline than
//!   `next` learns it from `arm` and wakes the heap's server, which reads
//!   `next` only after announcing it is about to sleep (the thread:
//!   `epoch`; workers: see `task::mn`), so no earlier deadline is slept
//!   through. After a disarm or collection it may be early (the server
//!   finds nothing due and looks again); `pending` moves it to the true
//!   earliest deadline and wakes the global heap's thread, so that thread
//!   does not wait, timed, for a timer that is gone;
//! - entries due at the same deadline run in the order they were armed;
//! - lock order: a caller's own lock (a `time::Timer`'s) before the heap's.
//!   Actions run, and collected entries are dropped, with no heap lock
//!   held; `Fire::orphaned` runs under it and takes no lock;
//! - timer ids come from one counter, unique across heaps.

use alloc::boxed::Box;
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Reverse;

use crate::platform::ShortLock;
use crate::shim::atomic::{AtomicU64, AtomicUsize, Ordering};
use crate::task::TaskRef;

#[cfg(feature = "std")]
type Map<K, V> = std::collections::HashMap<K, V>;
#[cfg(not(feature = "std"))]
type Map<K, V> = alloc::collections::BTreeMap<K, V>;

/// A timer of a layer above that the heap fires (`time`'s timer
/// channels): the heap holds it until it is due, disarmed or orphaned.
pub(crate) trait Fire: Send {
    /// True once firing could reach nobody (no handle to the channel is
    /// left): the heap may then drop the entry unfired. Called under the
    /// heap's lock: must take no lock.
    fn orphaned(&self) -> bool;

    /// Entry `id` is due. Runs with no heap lock held, on the heap's
    /// server, so it must not block (it may arm timers again).
    fn fire(self: Box<Self>, id: TimerId);
}

/// What happens when a timer fires.
pub(crate) enum Action {
    Unpark(TaskRef),
    Fire(Box<dyn Fire>),
    /// `time::after_func`: a short call that must not block (it starts the
    /// caller's function as a goroutine).
    Call(Box<dyn FnOnce() + Send>),
}

impl Action {
    fn orphaned(&self) -> bool {
        matches!(self, Action::Fire(timer) if timer.orphaned())
    }

    fn run(self, id: u64) {
        match self {
            Action::Unpark(task) => task.unpark(),
            Action::Fire(timer) => timer.fire(TimerId(id)),
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

    /// Takes out the orphaned `Fire` entries, for the caller to
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

    /// Drops the orphaned `Fire` entries now, and disarmed
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
        super::thread_limit::start_thread("gort-timers".into(), None, move || serve(g));
    });
    g
}

/// Unparks `task` at `deadline` (a `now_nanos` time): in its M:N
/// scheduler's heap if it is a goroutine of one, else in the global heap.
pub(crate) fn arm_unpark(deadline: u64, task: TaskRef) -> UnparkTimer {
    #[cfg(gort_mn)]
    let task = match super::mn::arm_timer(deadline, task) {
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
        UnparkTimer::Scheduler(id) => super::mn::disarm_timer(id),
    }
}

/// Fires `timer` at `deadline`, in the global heap.
pub(crate) fn arm_fire(deadline: u64, timer: Box<dyn Fire>) -> TimerId {
    arm(deadline, Action::Fire(timer))
}

/// Calls `f` at `deadline`, on the global heap's own thread or loop.
pub(crate) fn arm_call(deadline: u64, f: Box<dyn FnOnce() + Send>) -> TimerId {
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
        super::cores::timer_armed_earlier();
    }
    TimerId(id)
}

/// Disarms a timer of the global heap; true if it had not fired yet.
#[cfg(not(feature = "std"))]
pub(crate) fn disarm(id: TimerId) -> bool {
    GLOBAL_HEAP.disarm(id.0)
}

/// Timers armed in every heap and not yet fired or disarmed, after
/// collecting the global heap's orphaned `Fire` entries (only it has
/// them) and disarmed head entries: a walk of that heap.
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc;
    use std::sync::{Arc, Mutex, MutexGuard};
    use std::time::Duration;

    /// Every test here moves `ARMED` (shared by every heap): one at a time,
    /// so the counts they assert are exact. Other unit tests that arm
    /// timers (a socket's deadline; under Wine every socket wait) take it
    /// too.
    pub(crate) fn serial() -> MutexGuard<'static, ()> {
        static SERIAL: Mutex<()> = Mutex::new(());
        SERIAL.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the process if not dropped within a minute: the tests that
    /// re-enter a heap from an action would hang if a lock were held.
    struct Watchdog(Option<mpsc::Sender<()>>);

    impl Watchdog {
        fn new(name: &'static str) -> Self {
            let (tx, rx) = mpsc::channel::<()>();
            std::thread::spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) =
                    rx.recv_timeout(Duration::from_secs(60))
                {
                    use std::io::Write;
                    let _ = writeln!(std::io::stderr(), "watchdog: `{name}` hangs");
                    std::process::exit(3);
                }
            });
            Watchdog(Some(tx))
        }
    }

    impl Drop for Watchdog {
        fn drop(&mut self) {
            if let Some(tx) = self.0.take() {
                let _ = tx.send(());
            }
        }
    }

    type Log = Arc<Mutex<Vec<&'static str>>>;

    fn log() -> Log {
        Arc::new(Mutex::new(Vec::new()))
    }

    fn logged(log: &Log) -> Vec<&'static str> {
        log.lock().unwrap().clone()
    }

    /// An action that records `name` when it runs.
    fn call(log: &Log, name: &'static str) -> Action {
        let log = log.clone();
        Action::Call(Box::new(move || log.lock().unwrap().push(name)))
    }

    /// A timer channel stand-in: orphaned while `gone` is set; records its
    /// name when fired; runs `on_drop` when the heap drops it.
    struct Probe {
        name: &'static str,
        log: Log,
        gone: Arc<AtomicBool>,
        on_drop: Option<Box<dyn FnOnce() + Send>>,
    }

    impl Fire for Probe {
        fn orphaned(&self) -> bool {
            self.gone.load(Ordering::Relaxed)
        }
        fn fire(self: Box<Self>, id: TimerId) {
            assert_ne!(id.0, 0);
            self.log.lock().unwrap().push(self.name);
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            if let Some(f) = self.on_drop.take() {
                f();
            }
        }
    }

    fn probe(log: &Log, name: &'static str, gone: &Arc<AtomicBool>) -> Action {
        Action::Fire(Box::new(Probe {
            name,
            log: log.clone(),
            gone: gone.clone(),
            on_drop: None,
        }))
    }

    fn len(heap: &TimerHeap) -> usize {
        heap.lock().actions.len()
    }

    #[test]
    fn arm_reports_earliest_only_for_a_new_minimum() {
        let _s = serial();
        let (heap, log) = (TimerHeap::default(), log());
        assert_eq!(heap.next(), u64::MAX);
        assert!(heap.arm(20, call(&log, "a")).1, "first timer");
        assert!(!heap.arm(30, call(&log, "b")).1, "later");
        assert!(!heap.arm(20, call(&log, "c")).1, "equal is not earlier");
        assert!(heap.arm(10, call(&log, "d")).1, "earlier");
        assert_eq!(heap.next(), 10);
        assert_eq!(len(&heap), 4);
        assert_eq!(heap.run_due(u64::MAX - 1), 4);
    }

    #[test]
    fn ids_are_unique_across_heaps() {
        let _s = serial();
        let (one, two, log) = (TimerHeap::default(), TimerHeap::default(), log());
        let mut ids: Vec<u64> = (0..10)
            .flat_map(|_| [one.arm(5, call(&log, "1")).0, two.arm(5, call(&log, "2")).0])
            .collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 20);
        assert_eq!(one.run_due(5) + two.run_due(5), 20);
    }

    #[test]
    fn run_due_fires_by_deadline_then_arm_order() {
        let _s = serial();
        let (heap, log) = (TimerHeap::default(), log());
        let _ = heap.arm(30, call(&log, "c"));
        let _ = heap.arm(10, call(&log, "a"));
        let _ = heap.arm(20, call(&log, "b1"));
        let _ = heap.arm(20, call(&log, "b2"));
        assert_eq!(heap.run_due(9), 0);
        assert_eq!(heap.run_due(25), 3);
        assert_eq!(logged(&log), ["a", "b1", "b2"]);
        assert_eq!(heap.next(), 30);
        assert_eq!(heap.run_due(29), 0);
        assert_eq!(heap.run_due(30), 1);
        assert_eq!(logged(&log), ["a", "b1", "b2", "c"]);
        assert_eq!(heap.next(), u64::MAX);
        assert_eq!(len(&heap), 0);
        assert_eq!(heap.run_due(u64::MAX - 1), 0, "each fires once");
    }

    #[test]
    fn disarm_is_true_only_before_firing() {
        let _s = serial();
        let (heap, log) = (TimerHeap::default(), log());
        let (x, _) = heap.arm(10, call(&log, "x"));
        let (y, _) = heap.arm(10, call(&log, "y"));
        assert!(heap.disarm(x));
        assert!(!heap.disarm(x), "already disarmed");
        assert_eq!(heap.run_due(10), 1);
        assert_eq!(logged(&log), ["y"]);
        assert!(!heap.disarm(y), "already fired");
        assert!(!heap.disarm(u64::MAX), "never armed");
        assert_eq!(len(&heap), 0);
    }

    #[test]
    fn a_disarmed_head_leaves_next_early_until_collected_or_run() {
        let _s = serial();
        let (heap, log) = (TimerHeap::default(), log());
        let (a, _) = heap.arm(10, call(&log, "a"));
        let (b, _) = heap.arm(20, call(&log, "b"));
        assert!(heap.disarm(a));
        assert_eq!(heap.next(), 10, "early: harmless");
        assert!(heap.collect(), "moved later");
        assert_eq!(heap.next(), 20);
        assert!(!heap.collect(), "nothing moves twice");

        let (c, _) = heap.arm(5, call(&log, "c"));
        assert!(heap.disarm(c));
        assert_eq!(heap.run_due(15), 0, "the stale head runs nothing");
        assert_eq!(heap.next(), 20);
        assert!(heap.disarm(b));
        assert!(heap.collect());
        assert_eq!(heap.next(), u64::MAX);
        assert!(logged(&log).is_empty());
    }

    #[test]
    fn arming_at_collect_at_drops_orphans_unfired() {
        let _s = serial();
        let (heap, log) = (TimerHeap::default(), log());
        let (gone, kept) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        for _ in 0..COLLECT_FROM / 2 {
            let _ = heap.arm(100, probe(&log, "orphan", &gone));
            let _ = heap.arm(100, probe(&log, "live", &kept));
        }
        gone.store(true, Ordering::Relaxed); // every handle dropped
        let armed = ARMED.load(Ordering::Relaxed);
        assert_eq!(len(&heap), COLLECT_FROM);
        let _ = heap.arm(100, call(&log, "call")); // reaches `collect_at`
        assert_eq!(len(&heap), COLLECT_FROM / 2 + 1);
        assert_eq!(ARMED.load(Ordering::Relaxed), armed + 1 - COLLECT_FROM / 2);
        assert_eq!(Arc::strong_count(&gone), 1, "orphans dropped");
        assert_eq!(heap.lock().fires, COLLECT_FROM / 2);
        assert_eq!(heap.run_due(100), COLLECT_FROM / 2 + 1);
        let fired = logged(&log);
        assert_eq!(fired.len(), COLLECT_FROM / 2 + 1);
        assert!(!fired.contains(&"orphan"));
        assert_eq!(heap.lock().fires, 0);
    }

    #[test]
    fn below_collect_at_orphans_stay_until_collect() {
        let _s = serial();
        let (heap, log) = (TimerHeap::default(), log());
        let gone = Arc::new(AtomicBool::new(true));
        let _ = heap.arm(100, probe(&log, "orphan", &gone));
        let _ = heap.arm(100, call(&log, "call"));
        assert_eq!(len(&heap), 2, "too few to collect on arm");
        assert!(!heap.collect(), "the head's deadline stays");
        assert_eq!(len(&heap), 1);
        assert_eq!(heap.run_due(100), 1);
        assert_eq!(logged(&log), ["call"]);
    }

    #[test]
    fn stale_entries_are_compacted_once_they_outnumber_live_ones() {
        let _s = serial();
        let (heap, log) = (TimerHeap::default(), log());
        let ids: Vec<u64> = (0..200).map(|i| heap.arm(i, call(&log, "t")).0).collect();
        for &id in &ids[..150] {
            assert!(heap.disarm(id));
        }
        {
            let q = heap.lock();
            assert_eq!(q.actions.len(), 50);
            assert!(q.order.len() < 200, "rebuilt");
            assert!(q.order.len() <= 2 * q.actions.len());
        }
        assert_eq!(heap.run_due(u64::MAX - 1), 50);
        assert_eq!(heap.lock().order.len(), 0);
    }

    #[test]
    fn an_unpark_action_leaves_a_token() {
        let _s = serial();
        let heap = TimerHeap::default();
        let _ = heap.arm(1, Action::Unpark(crate::task::current()));
        assert_eq!(heap.run_due(1), 1);
        assert!(
            crate::task::park_timeout(Duration::from_secs(60)),
            "unparked"
        );
    }

    #[test]
    fn actions_may_arm_on_their_own_heap() {
        let _s = serial();
        let _dog = Watchdog::new("actions_may_arm_on_their_own_heap");
        let (heap, log) = (Arc::new(TimerHeap::default()), log());
        let (h, l) = (heap.clone(), log.clone());
        let _ = heap.arm(
            1,
            Action::Call(Box::new(move || {
                let _ = h.arm(2, call(&l, "again")); // as a ticker re-arms
            })),
        );
        assert_eq!(heap.run_due(1), 1);
        assert_eq!(heap.next(), 2);
        assert_eq!(heap.run_due(2), 1);
        assert_eq!(logged(&log), ["again"]);
    }

    #[test]
    fn collected_orphans_are_dropped_outside_the_lock() {
        let _s = serial();
        let _dog = Watchdog::new("collected_orphans_are_dropped_outside_the_lock");
        let (heap, log) = (Arc::new(TimerHeap::default()), log());
        let (h, l) = (heap.clone(), log.clone());
        let _ = heap.arm(
            1,
            Action::Fire(Box::new(Probe {
                name: "orphan",
                log: log.clone(),
                gone: Arc::new(AtomicBool::new(true)),
                // A dropped channel's last handle may do anything.
                on_drop: Some(Box::new(move || {
                    let _ = h.arm(3, call(&l, "from drop"));
                })),
            })),
        );
        assert!(heap.collect(), "the orphan was the head");
        assert_eq!(len(&heap), 1, "the orphan went, its drop armed one");
        assert_eq!(heap.next(), 3);
        assert_eq!(heap.run_due(3), 1);
        assert_eq!(logged(&log), ["from drop"]);
    }

    #[test]
    fn pending_counts_every_heap_exactly_but_no_orphan() {
        let _s = serial();
        let far = crate::platform::now_nanos() + 3_600_000_000_000;
        let before = pending();
        let log = log();
        let call_id = arm_call(far, Box::new(|| unreachable!()));
        assert_eq!(pending(), before + 1);
        let kept = Arc::new(AtomicBool::new(false));
        let live = arm_fire(
            far,
            Box::new(Probe {
                name: "live",
                log: log.clone(),
                gone: kept.clone(),
                on_drop: None,
            }),
        );
        assert_eq!(pending(), before + 2);
        let gone = Arc::new(AtomicBool::new(true));
        let _orphan = arm_fire(
            far,
            Box::new(Probe {
                name: "orphan",
                log: log.clone(),
                gone: gone.clone(),
                on_drop: None,
            }),
        );
        assert_eq!(pending(), before + 2, "an orphan is not counted");
        assert_eq!(Arc::strong_count(&gone), 1, "and was collected");

        let scheduler = TimerHeap::default(); // as an M:N scheduler's
        let (id, _) = scheduler.arm(far, call(&log, "sleep"));
        assert_eq!(pending(), before + 3);
        assert!(scheduler.disarm(id));
        assert!(disarm(call_id));
        assert!(disarm(live));
        assert_eq!(pending(), before);
        assert!(logged(&log).is_empty());
    }
}
