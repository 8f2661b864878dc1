//! Layer 3: `Futex`, the one primitive every blocking operation in gort is
//! built on: a 32-bit atomic word and "sleep while it still equals `v`".
//!
//! Invariants callers rely on:
//! - `wait(v)` returns at once if the word is not `v` when the wait starts;
//!   otherwise it sleeps until a `wake`/`wake_all` that follows a store, a
//!   timeout, or a spurious wakeup. Callers always re-check their condition.
//! - A store followed by `wake` can never be lost: the OS (or loom's model,
//!   `platform/loom.rs`) checks the word and queues the waiter as one atomic step.
//!
//! A waiter is an OS thread (a plain thread, or a goroutine of the threads
//! scheduler), which sleeps in the OS futex, or a goroutine of the M:N or
//! bare-metal cores scheduler, which must not block its worker or core: it
//! queues itself in `goroutine_waiters` (a table keyed by the word's
//! address, each bucket a FIFO queue per address under a short lock: on
//! bare metal a spinlock) and parks. `wake` serves that table first, then
//! the OS futex.

use core::time::Duration;

use crate::shim::atomic::{AtomicU32, Ordering};

/// What a task waits on, for the report (Go's wait reasons).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[allow(dead_code)] // some reasons are named only by std-only modules
#[repr(u8)]
pub(crate) enum WaitReason {
    Unknown = 0,
    ChanReceive,
    ChanSend,
    ChanReceiveNil,
    ChanSendNil,
    Select,
    SelectNoCases,
    Mutex,
    RwMutex,
    WaitGroup,
    Cond,
    Semaphore,
    Once,
    Join,
    Sleep,
    /// A socket's readiness (`gort::net`).
    IoWait,
    /// gort's own idle threads: counted as asleep, not reported.
    Internal,
}

impl WaitReason {
    /// Every reason, in discriminant order.
    pub(crate) const ALL: [WaitReason; 17] = {
        use WaitReason::*;
        [
            Unknown,
            ChanReceive,
            ChanSend,
            ChanReceiveNil,
            ChanSendNil,
            Select,
            SelectNoCases,
            Mutex,
            RwMutex,
            WaitGroup,
            Cond,
            Semaphore,
            Once,
            Join,
            Sleep,
            IoWait,
            Internal,
        ]
    };
}

// `ALL[i]` is the reason whose discriminant is `i`.
const _: () = {
    let mut i = 0;
    while i < WaitReason::ALL.len() {
        assert!(WaitReason::ALL[i] as usize == i);
        i += 1;
    }
};

/// A 32-bit atomic word that threads and goroutines can sleep on.
///
/// It derefs to its [`AtomicU32`]: change the word with the atomic's
/// methods, then [`wake`](Self::wake) the sleepers. Every wait may return
/// spuriously, so waiters re-check the word in a loop. An M:N goroutine
/// that waits parks without blocking its worker thread.
///
/// ```
/// use gort::futex::Futex;
/// use std::sync::Arc;
/// use std::sync::atomic::Ordering;
/// use std::time::Duration;
///
/// let f = Futex::new(0);
/// assert!(!f.wait_timeout(0, Duration::from_millis(1))); // timed out
/// f.store(1, Ordering::Release);
/// f.wait(0); // returns at once: the word is no longer 0
///
/// // A flag another goroutine waits for.
/// let ready = Arc::new(Futex::new(0));
/// let r = ready.clone();
/// let waiter = gort::spawn(move || {
///     while r.load(Ordering::Acquire) == 0 {
///         r.wait(0);
///     }
///     r.word().load(Ordering::Relaxed)
/// });
/// ready.store(7, Ordering::Release);
/// ready.wake_all();
/// assert_eq!(waiter.join().unwrap(), 7);
/// ```
#[derive(Default)]
pub struct Futex {
    word: AtomicU32,
}

impl Futex {
    /// A futex whose word starts at `value`.
    #[cfg(not(loom))]
    pub const fn new(value: u32) -> Self {
        Futex {
            word: AtomicU32::new(value),
        }
    }

    /// A futex whose word starts at `value` (loom's atomics are not
    /// `const`).
    #[cfg(loom)]
    pub fn new(value: u32) -> Self {
        Futex {
            word: AtomicU32::new(value),
        }
    }

    /// The atomic word (also reachable through `Deref`). Example: see
    /// [`Futex`].
    pub fn word(&self) -> &AtomicU32 {
        &self.word
    }

    /// Sleeps while the word equals `expected` (spurious returns possible):
    /// returns at once if it differs, else when woken. Example: see
    /// [`Futex`].
    pub fn wait(&self, expected: u32) {
        self.wait_inner(expected, None, WaitReason::Unknown);
    }

    /// `wait`, naming what the caller waits for (for the deadlock report).
    pub(crate) fn wait_as(&self, expected: u32, reason: WaitReason) {
        self.wait_inner(expected, None, reason);
    }

    /// `wait` or `wait_timeout`, naming what the caller waits for.
    #[cfg_attr(not(gort_net), allow(dead_code))]
    pub(crate) fn wait_for(
        &self,
        expected: u32,
        timeout: Option<Duration>,
        reason: WaitReason,
    ) -> bool {
        self.wait_inner(expected, timeout, reason)
    }

    /// Like [`wait`](Self::wait), but gives up after `timeout`. Returns
    /// `false` only if the timeout elapsed; `true` means woken, value
    /// changed, or spurious. Example: see [`Futex`].
    pub fn wait_timeout(&self, expected: u32, timeout: Duration) -> bool {
        self.wait_inner(expected, Some(timeout), WaitReason::Unknown)
    }

    /// Wakes one waiter, if any. Change the word first: a waiter that
    /// wakes to the old value sleeps again.
    ///
    /// ```
    /// use gort::futex::Futex;
    /// use std::sync::Arc;
    /// use std::sync::atomic::Ordering;
    ///
    /// // A one-shot hand-off: 0 empty, 1 full.
    /// let slot = Arc::new(Futex::new(0));
    /// let s = slot.clone();
    /// let consumer = gort::spawn(move || {
    ///     while s.compare_exchange(1, 0, Ordering::Acquire, Ordering::Relaxed).is_err() {
    ///         s.wait(0);
    ///     }
    /// });
    /// slot.store(1, Ordering::Release);
    /// slot.wake();
    /// consumer.join().unwrap();
    /// assert_eq!(slot.load(Ordering::Relaxed), 0); // taken
    /// ```
    pub fn wake(&self) {
        #[cfg(any(gort_mn, gort_cores))]
        if goroutine_waiters::wake(&self.word, false) {
            return;
        }
        crate::platform::futex_wake(&self.word);
    }

    /// Wakes every waiter. Example: see [`Futex`].
    pub fn wake_all(&self) {
        #[cfg(any(gort_mn, gort_cores))]
        goroutine_waiters::wake(&self.word, true);
        crate::platform::futex_wake_all(&self.word);
    }

    /// The OS futex compares the word (atomically with going to sleep),
    /// and so does the waiter table; the early compare only saves a
    /// changed word the sleep's bookkeeping (a system call, the deadlock
    /// and collector accounting). Loom models without it: it would only
    /// add interleavings of a load that decides nothing.
    fn wait_inner(&self, expected: u32, timeout: Option<Duration>, reason: WaitReason) -> bool {
        if EARLY_COMPARE && self.word.load(Ordering::Relaxed) != expected {
            return true;
        }
        #[cfg(any(gort_mn, gort_cores))]
        if let Some(task) = crate::task::current_goroutine() {
            return goroutine_waiters::wait(&self.word, expected, timeout, task, reason);
        }
        sleep_on(&self.word, expected, timeout, reason)
    }
}

/// See `Futex::wait_inner`.
const EARLY_COMPARE: bool = !cfg!(loom);

/// A thread's wait: through the task layer where there is one (counted
/// for the deadlock report, parked for the collector).
#[cfg(any(feature = "std", gort_cores))]
use crate::task::sleep_on;

/// Bare metal without a board has no tasks: the platform spins.
#[cfg(not(any(feature = "std", gort_cores)))]
fn sleep_on(word: &AtomicU32, expected: u32, timeout: Option<Duration>, _: WaitReason) -> bool {
    crate::platform::futex_wait(word, expected, timeout)
}

/// Test instrumentation, not API: how many entries the goroutine waiter
/// table has examined or moved in this process.
#[doc(hidden)]
pub fn __waiter_table_steps() -> usize {
    #[cfg(any(gort_mn, gort_cores))]
    return goroutine_waiters::steps();
    #[cfg(not(any(gort_mn, gort_cores)))]
    0
}

impl core::ops::Deref for Futex {
    type Target = AtomicU32;
    fn deref(&self) -> &AtomicU32 {
        &self.word
    }
}

impl core::fmt::Debug for Futex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("Futex")
            .field(&self.word.load(Ordering::Relaxed))
            .finish()
    }
}

/// M:N goroutines waiting on futex words: 64 buckets, each under a short
/// lock holding a FIFO queue per address (a map from address to queue),
/// plus a count of the bucket's waiters read without the lock.
///
/// Invariants:
/// - a waiter counts itself in its bucket, fences (SeqCst) and only then
///   compares the word, all under the bucket lock, and queues itself if
///   it still equals `expected`; a waker's caller changed the word first,
///   and `wake` fences before it reads the count. So either the waiter sees
///   the new value, or the waker sees the waiter;
/// - every entry has a number from its bucket's counter, which never goes
///   back: numbers increase from front to back of a queue and are never
///   reused, so a waiter finds its entry by binary search, and one whose
///   queue is gone or starts past its number was taken out;
/// - a woken waiter was taken out by its waker (from the front: FIFO); one
///   that timed out (or returned spuriously) empties its own entry, a
///   tombstone; an unpark that raced that leaves a spare token, which
///   callers tolerate (waits may return spuriously);
/// - both ends of a queue are live entries (tombstones there are popped at
///   once), `live` counts its live entries, a queue with none is empty,
///   and one with more tombstones than live entries is compacted. So each
///   entry is pushed once and dropped once: a wait, a wake and a wake-all
///   cost O(1) per waiter (amortised) plus one map lookup, O(log
///   addresses in the bucket), and a timed-out waiter's search
///   O(log waiters on its word);
/// - an empty queue stays in the map only while it is among the bucket's
///   `IDLE` most recently emptied ones (listed in `idle`) and its buffer
///   is small: the map holds at most `IDLE` queues without waiters.
#[cfg(any(gort_mn, gort_cores))]
mod goroutine_waiters {
    use alloc::collections::{BTreeMap, VecDeque};
    use alloc::vec::Vec;
    use core::time::Duration;

    use crate::platform::ShortLock;
    use crate::shim::atomic::Ordering::{Relaxed, SeqCst};
    use crate::shim::atomic::{AtomicU32, AtomicUsize, fence};

    use super::WaitReason;
    use crate::task::TaskRef;

    /// A queue's entries, oldest first: (number, task), the task `None`
    /// once it left on its own.
    type Entries = VecDeque<(u64, Option<TaskRef>)>;

    struct Queue {
        entries: Entries,
        live: usize,
    }

    /// A bucket's waiters, under its lock.
    struct Waiters {
        queues: BTreeMap<usize, Queue>,
        /// Addresses whose queues are empty but kept, oldest first: a word
        /// waited on again and again is not re-inserted (nor its buffer
        /// allocated) on every wait.
        idle: Vec<usize>,
        next: u64,
        /// Entries examined or moved: test instrumentation.
        steps: usize,
    }

    /// How many empty queues a bucket keeps, and the largest buffer kept
    /// (a larger one goes back to the allocator: a burst of waiters leaves
    /// no lasting footprint).
    const IDLE: usize = 4;
    const IDLE_CAPACITY: usize = 64;

    impl Waiters {
        /// Queues `task` at the back of `addr`'s queue; its number.
        fn push(&mut self, addr: usize, task: TaskRef) -> u64 {
            let n = self.next;
            self.next += 1;
            self.steps += 1;
            let q = self.queues.entry(addr).or_insert_with(|| Queue {
                entries: VecDeque::new(),
                live: 0,
            });
            if q.entries.is_empty() {
                self.idle.retain(|&a| a != addr);
            }
            q.entries.push_back((n, Some(task)));
            q.live += 1;
            n
        }

        /// Takes the oldest waiter on `addr` out, if any.
        fn take_one(&mut self, addr: usize) -> Option<TaskRef> {
            self.steps += 1;
            let q = self.queues.get_mut(&addr)?;
            let (_, task) = q.entries.pop_front()?;
            q.live -= 1;
            self.steps += 1 + tidy(q);
            if q.live == 0 {
                self.emptied(addr);
            }
            task
        }

        /// Takes every waiter on `addr` out, oldest first, and how many
        /// are live.
        fn take_all(&mut self, addr: usize) -> Option<(Entries, usize)> {
            self.steps += 1;
            let q = self.queues.get_mut(&addr)?;
            if q.live == 0 {
                return None;
            }
            let taken = (
                core::mem::take(&mut q.entries),
                core::mem::take(&mut q.live),
            );
            self.steps += taken.0.len();
            self.emptied(addr);
            Some(taken)
        }

        /// Empties entry `n` of `addr`'s queue if it is still there (the
        /// waiter leaves on its own); whether it was.
        fn leave(&mut self, addr: usize, n: u64) -> bool {
            self.steps += 1;
            let Some(q) = self.queues.get_mut(&addr) else {
                return false;
            };
            if q.entries.front().is_none_or(|&(first, _)| first > n) {
                return false; // taken out
            }
            let len = q.entries.len();
            self.steps += (usize::BITS - len.leading_zeros()) as usize; // the search
            let Ok(i) = q.entries.binary_search_by_key(&n, |&(m, _)| m) else {
                return false;
            };
            if q.entries[i].1.take().is_none() {
                return false;
            }
            q.live -= 1;
            self.steps += tidy(q);
            if q.live == 0 {
                self.emptied(addr);
            }
            true
        }

        /// `addr`'s queue has just become empty: keep it idle if small
        /// (dropping the oldest idle one past `IDLE`), else drop it.
        fn emptied(&mut self, addr: usize) {
            let big = self
                .queues
                .get(&addr)
                .is_some_and(|q| q.entries.capacity() > IDLE_CAPACITY);
            if big {
                self.queues.remove(&addr);
                return;
            }
            if self.idle.len() == IDLE {
                let oldest = self.idle.remove(0);
                self.queues.remove(&oldest);
            }
            self.idle.push(addr);
        }
    }

    /// Restores the queue invariants after an entry left: pops tombstones
    /// off both ends, and compacts `q` if they still outnumber its live
    /// entries (which pays for itself: it drops at least half of what it
    /// moves). Returns the entries it examined.
    fn tidy(q: &mut Queue) -> usize {
        let mut steps = 0;
        while q.entries.front().is_some_and(|(_, t)| t.is_none()) {
            q.entries.pop_front();
            steps += 1;
        }
        while q.entries.back().is_some_and(|(_, t)| t.is_none()) {
            q.entries.pop_back();
            steps += 1;
        }
        if q.entries.len() > 2 * q.live {
            steps += q.entries.len();
            q.entries.retain(|(_, t)| t.is_some());
        }
        steps
    }

    struct Bucket {
        count: AtomicUsize,
        waiters: ShortLock<Waiters>,
    }

    const BUCKETS: usize = 64;

    static TABLE: [Bucket; BUCKETS] = [const {
        Bucket {
            count: AtomicUsize::new(0),
            waiters: ShortLock::new(
                crate::lockrank::LockRank::FutexWaiters,
                Waiters {
                    queues: BTreeMap::new(),
                    idle: Vec::new(),
                    next: 0,
                    steps: 0,
                },
            ),
        }
    }; BUCKETS];

    fn bucket(word: &AtomicU32) -> (&'static Bucket, usize) {
        let addr = word as *const AtomicU32 as usize;
        let h = (addr >> 2).wrapping_mul(0x9E37_79B9) >> 7;
        (&TABLE[h % BUCKETS], addr)
    }

    /// Entries examined or moved so far, over all buckets.
    pub(super) fn steps() -> usize {
        TABLE.iter().map(|b| b.waiters.lock().steps).sum()
    }

    pub(super) fn wait(
        word: &AtomicU32,
        expected: u32,
        timeout: Option<Duration>,
        me: TaskRef,
        reason: WaitReason,
    ) -> bool {
        // Changed since the caller read it: spare the bucket's lock.
        if word.load(Relaxed) != expected {
            return true;
        }
        let (b, addr) = bucket(word);
        let n = {
            let mut w = b.waiters.lock();
            b.count.fetch_add(1, Relaxed);
            fence(SeqCst);
            if word.load(Relaxed) != expected {
                b.count.fetch_sub(1, Relaxed);
                return true;
            }
            w.push(addr, me)
        };
        // The goroutine's park accounts for the wait (`mn::park`).
        let woken = crate::task::park_for(reason, timeout);
        // Still queued (timeout, or a spurious return): leave.
        if b.waiters.lock().leave(addr, n) {
            b.count.fetch_sub(1, Relaxed);
        }
        woken
    }

    /// Wakes one (or every) goroutine waiting on `word`, oldest first;
    /// whether any was.
    pub(super) fn wake(word: &AtomicU32, all: bool) -> bool {
        let (b, addr) = bucket(word);
        fence(SeqCst);
        if b.count.load(Relaxed) == 0 {
            return false;
        }
        let mut w = b.waiters.lock();
        // One waiter (a `WaitGroup`'s usual): `take_one` keeps the queue's
        // buffer, so waiting again allocates nothing.
        if all && w.queues.get(&addr).is_some_and(|q| q.live > 1) {
            let Some((entries, live)) = w.take_all(addr) else {
                return false;
            };
            b.count.fetch_sub(live, Relaxed);
            drop(w);
            for t in entries.into_iter().filter_map(|(_, t)| t) {
                t.unpark();
            }
        } else {
            let Some(t) = w.take_one(addr) else {
                return false;
            };
            b.count.fetch_sub(1, Relaxed);
            drop(w);
            t.unpark();
        }
        true
    }

    /// The queues against a model (per address, the live waiters in
    /// order), under random pushes, wakes, wake-alls and leaves: FIFO,
    /// nothing lost, the invariants above, and the amortised step bound.
    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::task::Task;
        use alloc::vec;

        fn check(w: &Waiters, model: &[Vec<(u64, TaskRef)>], addrs: &[usize]) {
            for (a, live) in addrs.iter().zip(model) {
                match w.queues.get(a) {
                    None => assert!(live.is_empty()),
                    Some(q) => {
                        let got: Vec<u64> = q
                            .entries
                            .iter()
                            .filter(|e| e.1.is_some())
                            .map(|e| e.0)
                            .collect();
                        let want: Vec<u64> = live.iter().map(|e| e.0).collect();
                        assert_eq!(got, want);
                        assert_eq!(q.live, live.len());
                        assert!(
                            q.entries
                                .iter()
                                .zip(q.entries.iter().skip(1))
                                .all(|(x, y)| x.0 < y.0)
                        );
                        if let (Some(f), Some(b)) = (q.entries.front(), q.entries.back()) {
                            assert!(f.1.is_some() && b.1.is_some(), "a tombstone at an end");
                        }
                        assert!(q.live == 0 || q.entries.len() <= 2 * q.live);
                        assert_eq!(q.entries.is_empty(), w.idle.contains(a));
                    }
                }
            }
            assert!(w.idle.len() <= IDLE);
        }

        #[test]
        fn queues_match_a_model() {
            let mut w = Waiters {
                queues: BTreeMap::new(),
                idle: Vec::new(),
                next: 0,
                steps: 0,
            };
            let addrs = [8, 16, 24, 32, 40, 48];
            let mut model: Vec<Vec<(u64, TaskRef)>> = vec![Vec::new(); addrs.len()];
            let mut left: Vec<(usize, u64)> = Vec::new(); // taken out: leave finds nothing
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
            let mut ops = 0;
            for _ in 0..20_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let k = (x >> 8) as usize % addrs.len();
                let a = addrs[k];
                ops += 1;
                match x % 16 {
                    0..=6 => {
                        let t = Task::new();
                        let n = w.push(a, t.clone());
                        model[k].push((n, t));
                    }
                    7..=8 => {
                        let got = w.take_one(a);
                        if model[k].is_empty() {
                            assert!(got.is_none());
                        } else {
                            let (n, t) = model[k].remove(0);
                            assert!(TaskRef::ptr_eq(&got.unwrap(), &t), "not FIFO");
                            left.push((a, n));
                        }
                    }
                    9 => {
                        let got = w.take_all(a);
                        let want = core::mem::take(&mut model[k]);
                        match got {
                            None => assert!(want.is_empty()),
                            Some((entries, live)) => {
                                assert_eq!(live, want.len());
                                let tasks: Vec<TaskRef> =
                                    entries.into_iter().filter_map(|e| e.1).collect();
                                assert_eq!(tasks.len(), want.len());
                                for (got, (n, t)) in tasks.iter().zip(want) {
                                    assert!(TaskRef::ptr_eq(got, &t));
                                    left.push((a, n));
                                }
                            }
                        }
                    }
                    10..=13 if !model[k].is_empty() => {
                        // A live waiter times out: any of them, often not an end.
                        let i = (x >> 32) as usize % model[k].len();
                        let (n, _) = model[k].remove(i);
                        assert!(w.leave(a, n), "a queued waiter was not found");
                        left.push((a, n));
                    }
                    _ if !left.is_empty() => {
                        // A woken (or already left) waiter leaves: nothing.
                        let (a, n) = left.swap_remove((x >> 32) as usize % left.len());
                        assert!(!w.leave(a, n), "a waiter taken out was found");
                    }
                    _ => {}
                }
                check(&w, &model, &addrs);
            }
            // O(1) amortised per operation, plus the leaves' searches.
            assert!(
                w.steps <= ops * 24,
                "{} steps for {ops} operations",
                w.steps
            );
        }
    }
}
