//! Layer 3: `Futex`, the one primitive every blocking operation in gort is
//! built on: a 32-bit atomic word and "sleep while it still equals `v`".
//!
//! Invariants callers rely on:
//! - `wait(v)` returns at once if the word is not `v` when the wait starts;
//!   otherwise it sleeps until a `wake`/`wake_all` that follows a store, a
//!   timeout, or a spurious wakeup. Callers always re-check their condition.
//! - A store followed by `wake` can never be lost: the OS (or the loom model
//!   below) checks the word and queues the waiter as one atomic step.
//!
//! A waiter is an OS thread (a plain thread, or a goroutine of the threads
//! scheduler), which sleeps in the OS futex, or a goroutine of the M:N or
//! bare-metal cores scheduler, which must not block its worker or core: it
//! queues itself in `goroutine_waiters` (a table keyed by the word's
//! address, each bucket a waiter list under a short lock: on bare metal a
//! spinlock) and parks. `wake` serves that table first, then the OS futex.

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
    /// gort's own idle threads: counted as asleep, not reported.
    Internal,
}

impl WaitReason {
    /// Every reason, in discriminant order.
    pub(crate) const ALL: [WaitReason; 16] = {
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
    #[cfg(loom)]
    model: loom_model::Model,
}

impl Futex {
    /// A futex whose word starts at `value`.
    #[cfg(not(loom))]
    pub const fn new(value: u32) -> Self {
        Futex {
            word: AtomicU32::new(value),
        }
    }

    /// A futex whose word starts at `value`.
    #[cfg(loom)]
    pub fn new(value: u32) -> Self {
        Futex {
            word: AtomicU32::new(value),
            model: loom_model::Model::default(),
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
        self.wait_inner(expected, None);
    }

    /// `wait`, naming what the caller waits for (for the deadlock report).
    pub(crate) fn wait_as(&self, expected: u32, reason: WaitReason) {
        #[cfg(all(feature = "std", not(loom)))]
        crate::deadlock::set_reason(reason);
        #[cfg(not(all(feature = "std", not(loom))))]
        let _ = reason;
        self.wait(expected);
    }

    /// Like [`wait`](Self::wait), but gives up after `timeout`. Returns
    /// `false` only if the timeout elapsed; `true` means woken, value
    /// changed, or spurious. Example: see [`Futex`].
    pub fn wait_timeout(&self, expected: u32, timeout: Duration) -> bool {
        self.wait_inner(expected, Some(timeout))
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
        #[cfg(not(loom))]
        crate::platform::futex_wake(&self.word);
        #[cfg(loom)]
        self.model.wake(false);
    }

    /// Wakes every waiter. Example: see [`Futex`].
    pub fn wake_all(&self) {
        #[cfg(any(gort_mn, gort_cores))]
        goroutine_waiters::wake(&self.word, true);
        #[cfg(not(loom))]
        crate::platform::futex_wake_all(&self.word);
        #[cfg(loom)]
        self.model.wake(true);
    }

    #[cfg(not(loom))]
    fn wait_inner(&self, expected: u32, timeout: Option<Duration>) -> bool {
        if self.word.load(Ordering::Relaxed) != expected {
            return true;
        }
        #[cfg(any(gort_mn, gort_cores))]
        if let Some(task) = crate::task::current_goroutine() {
            // The goroutine parks: `task::park` accounts for the wait.
            return goroutine_waiters::wait(&self.word, expected, timeout, task);
        }
        // A thread sleeping here is parked for the collector: scanned from
        // where it sleeps, not stopped by signal (`task::parked`).
        #[cfg(feature = "std")]
        {
            let reason = crate::deadlock::take_reason();
            let _asleep = timeout
                .is_none()
                .then(|| crate::deadlock::Asleep::new(reason));
            crate::task::parked(|| crate::platform::futex_wait(&self.word, expected, timeout))
        }
        #[cfg(not(feature = "std"))]
        crate::platform::futex_wait(&self.word, expected, timeout)
    }

    #[cfg(loom)]
    fn wait_inner(&self, expected: u32, timeout: Option<Duration>) -> bool {
        self.model.wait(&self.word, expected, timeout.is_some())
    }
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

/// M:N goroutines waiting on futex words: 64 buckets, each a list of
/// `(address, task)` under a lock, plus a count read without it.
///
/// Invariants:
/// - a waiter counts itself in its bucket, fences (SeqCst) and only then
///   compares the word, all under the bucket lock, and queues itself if
///   it still equals `expected`; a waker's caller changed the word first,
///   and `wake` fences before it reads the count. So either the waiter sees
///   the new value, or the waker sees the waiter;
/// - a woken waiter was removed by its waker; one that timed out removes
///   itself (an unpark that raced that leaves a spare token, which callers
///   tolerate: waits may return spuriously).
#[cfg(any(gort_mn, gort_cores))]
mod goroutine_waiters {
    use alloc::vec::Vec;
    use core::time::Duration;

    use crate::platform::ShortLock;
    use crate::shim::atomic::Ordering::{Relaxed, SeqCst};
    use crate::shim::atomic::{AtomicU32, AtomicUsize, fence};

    use crate::task::TaskRef;

    struct Bucket {
        count: AtomicUsize,
        waiters: ShortLock<Vec<(usize, TaskRef)>>,
    }

    const BUCKETS: usize = 64;

    static TABLE: [Bucket; BUCKETS] = [const {
        Bucket {
            count: AtomicUsize::new(0),
            waiters: ShortLock::new(Vec::new()),
        }
    }; BUCKETS];

    fn bucket(word: &AtomicU32) -> (&'static Bucket, usize) {
        let addr = word as *const AtomicU32 as usize;
        let h = (addr >> 2).wrapping_mul(0x9E37_79B9) >> 7;
        (&TABLE[h % BUCKETS], addr)
    }

    pub(super) fn wait(
        word: &AtomicU32,
        expected: u32,
        timeout: Option<Duration>,
        me: TaskRef,
    ) -> bool {
        let (b, addr) = bucket(word);
        {
            let mut w = b.waiters.lock();
            b.count.fetch_add(1, Relaxed);
            fence(SeqCst);
            if word.load(Relaxed) != expected {
                b.count.fetch_sub(1, Relaxed);
                return true;
            }
            w.push((addr, me.clone()));
        }
        let woken = match timeout {
            None => {
                crate::task::park();
                true
            }
            Some(t) => crate::task::park_timeout(t),
        };
        // Still queued (timeout, or a spurious return): leave.
        let mut w = b.waiters.lock();
        if let Some(pos) = w
            .iter()
            .position(|(a, t)| *a == addr && TaskRef::ptr_eq(t, &me))
        {
            w.remove(pos);
            b.count.fetch_sub(1, Relaxed);
        }
        woken
    }

    /// Wakes one (or every) goroutine waiting on `word`; whether any was.
    pub(super) fn wake(word: &AtomicU32, all: bool) -> bool {
        let (b, addr) = bucket(word);
        fence(SeqCst);
        if b.count.load(Relaxed) == 0 {
            return false;
        }
        let mut woken = Vec::new();
        {
            let mut w = b.waiters.lock();
            let mut i = 0;
            while i < w.len() {
                if w[i].0 == addr {
                    woken.push(w.remove(i).1);
                    b.count.fetch_sub(1, Relaxed);
                    if !all {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        }
        let any = !woken.is_empty();
        for t in woken {
            t.unpark();
        }
        any
    }
}

/// Under loom a futex is a mutex-protected check plus a condition variable:
/// the same "compare and sleep as one step" the OS gives, so a lost wakeup
/// shows up as a loom deadlock. A timed wait is modelled as a wait that may
/// give up instead of sleeping.
#[cfg(loom)]
mod loom_model {
    use loom::sync::atomic::{AtomicU32, Ordering};
    use loom::sync::{Condvar, Mutex};

    #[derive(Default)]
    pub(super) struct Model {
        lock: Mutex<()>,
        cond: Condvar,
    }

    impl Model {
        pub(super) fn wait(&self, word: &AtomicU32, expected: u32, timed: bool) -> bool {
            let guard = self.lock.lock().unwrap();
            if word.load(Ordering::SeqCst) != expected {
                return true;
            }
            if timed {
                // Timing out is always a legal outcome of a timed wait.
                return false;
            }
            drop(self.cond.wait(guard).unwrap());
            true
        }

        pub(super) fn wake(&self, all: bool) {
            let _guard = self.lock.lock().unwrap();
            if all {
                self.cond.notify_all();
            } else {
                self.cond.notify_one();
            }
        }
    }
}
