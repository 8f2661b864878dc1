//! The runtime's internal locks, ranked (as Go's `lockrank.go`): every
//! `platform::ShortLock` has a rank from `LockRank`, and a thread takes
//! them in increasing rank only. A reader learns the whole locking
//! discipline of the runtime from this page.
//!
//! Invariants:
//! - a thread holding a lock of rank `r` takes only locks of rank above
//!   `r`; so two locks of one rank are never held together, and no cycle
//!   of waiting threads can form among these locks;
//! - a `ShortLock` is held a few steps at a time and never across a park
//!   (a goroutine that parks holding one could resume on another thread,
//!   or block its worker's next goroutine on it); the registry lock is the
//!   one lock held longer: through a whole collection, by an OS thread
//!   that waits for the world to stop but never parks;
//! - debug builds on hosted targets check the order: each thread keeps the
//!   set of ranks it holds, and taking a lock whose rank is not above all
//!   of them panics ("lock ordering problem"), before it waits for the
//!   lock, so an inverted order fails at once instead of deadlocking
//!   sometimes. Release builds and bare metal (no thread-locals; its locks
//!   mask interrupts) keep nothing and check nothing.
//!
//! Not ranked here: the locks of `gort::sync` and the channels (user-level
//! locks, which park; a channel's lock is a `sync::RawMutex` or, on bare
//! metal, a `RawShortLock`, and the channel code orders them itself), and
//! the wasm futex table's bucket locks (the OS futex itself on that
//! target: taken under any lock here, taking none).

/// The ranks, lowest first: a lock may be taken while holding only locks
/// listed above it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
#[repr(u8)]
#[allow(dead_code)] // some locks exist only with M:N, the collector or a board
pub(crate) enum LockRank {
    /// `time::TimerShared::state`, a `Timer`'s or `Ticker`'s arming. Held
    /// while arming or disarming it in a timer heap (`TimerHeap`) and
    /// while sending on or draining its channel, which readies goroutines
    /// (`SchedIdle`, `CoresRunQueue`). Taken with no ranked lock held.
    /// (Still a `gort::sync::Mutex`: a channel's lock can park its taker
    /// when contended, so the send must leave the critical section before
    /// this lock can be a `ShortLock`.)
    TimerState,
    /// `task::stacks`, an M:N scheduler's pool of goroutine stacks. Held
    /// while carving a stack, which records it in the collector's
    /// registry (`Registry`). Taken with no ranked lock held.
    StackPool,
    /// `task::registry`, the threads and goroutine stacks the collector
    /// scans. Held through a whole collection (by the collecting thread,
    /// which waits for the world to stop with no other ranked lock held).
    /// Taken under `StackPool`.
    Registry,
    /// `task::timers`, a timer heap (the global one, and each M:N
    /// scheduler's). Its actions run after it is released. Taken under
    /// `TimerState`.
    TimerHeap,
    /// `futex`, a bucket of the goroutine waiter table. Waiters are
    /// unparked after it is released. Taken with no ranked lock held.
    FutexWaiters,
    /// `task::threads`, the threads scheduler's idle threads. A leaf.
    ThreadPool,
    /// `task::mn`, an M:N scheduler's list of idle processors (`idle`).
    /// Taken when a goroutine is readied, so under `TimerState`. A leaf
    /// (its holder wakes a worker through the OS futex only).
    SchedIdle,
    /// `task::mn`, an M:N scheduler's pool of threads without a processor
    /// (`idle_threads`). Taken by the system monitor and by threads
    /// joining the pool, with no ranked lock held. A leaf.
    SchedIdleThreads,
    /// `task::mn`, the process's list of M:N schedulers (`SCHEDULERS`).
    /// Taken when one starts, and by a processor leaving the netpoller,
    /// with no ranked lock held. A leaf.
    Schedulers,
    /// `task::netpoll`, the free slots of the socket table. Taken when a
    /// socket opens or closes, with no ranked lock held. A leaf.
    NetpollSlots,
    /// `task::cores`, the bare-metal run queue. Taken when a goroutine is
    /// readied, so under `TimerState`. A leaf.
    CoresRunQueue,
    /// `task::cores`, the bare-metal pool of goroutine stacks. A leaf.
    CoresStackPool,
    /// `bare`, the bare-metal console (whole lines). A leaf.
    Console,
}

impl LockRank {
    /// Every rank, in order (`ALL[r as usize] == r`).
    #[cfg(all(debug_assertions, feature = "std"))]
    const ALL: [LockRank; 13] = {
        use LockRank::*;
        [
            TimerState,
            StackPool,
            Registry,
            TimerHeap,
            FutexWaiters,
            ThreadPool,
            SchedIdle,
            SchedIdleThreads,
            Schedulers,
            NetpollSlots,
            CoresRunQueue,
            CoresStackPool,
            Console,
        ]
    };
}

#[cfg(all(debug_assertions, feature = "std"))]
const _: () = {
    let mut i = 0;
    while i < LockRank::ALL.len() {
        assert!(LockRank::ALL[i] as usize == i);
        i += 1;
    }
    // The held set is a bit per rank.
    assert!(LockRank::ALL.len() <= u32::BITS as usize);
};

/// A hosted lock's rank as the order check keeps it: the rank in debug
/// builds, nothing in release builds. `acquire` before taking the lock,
/// `release` after letting it go.
#[cfg(feature = "std")]
#[derive(Clone, Copy)]
pub(crate) struct RankCheck {
    #[cfg(all(debug_assertions, feature = "std"))]
    rank: LockRank,
}

#[cfg(all(debug_assertions, feature = "std"))]
std::thread_local! {
    /// The ranks this thread holds, a bit each. (No destructor: usable
    /// while the thread's other thread-locals are torn down, where the
    /// registry unregisters the thread.)
    static HELD: core::cell::Cell<u32> = const { core::cell::Cell::new(0) };
}

#[cfg(all(debug_assertions, feature = "std"))]
impl RankCheck {
    pub(crate) const fn new(rank: LockRank) -> RankCheck {
        RankCheck { rank }
    }

    /// Records the lock held by this thread; panics if a lock of the same
    /// or a higher rank is held already.
    #[track_caller]
    pub(crate) fn acquire(self) {
        let bit = 1u32 << self.rank as u32;
        let held = HELD.with(core::cell::Cell::get);
        if held >= bit {
            // Some rank at or above ours is held: name the highest.
            let top = LockRank::ALL[(u32::BITS - 1 - held.leading_zeros()) as usize];
            panic!(
                "lock ordering problem: taking {:?} while holding {top:?} (ranks: gort/src/lockrank.rs)",
                self.rank
            );
        }
        HELD.with(|h| h.set(held | bit));
    }

    /// Records the lock released by this thread.
    pub(crate) fn release(self) {
        HELD.with(|h| h.set(h.get() & !(1u32 << self.rank as u32)));
    }
}

#[cfg(all(not(debug_assertions), feature = "std"))]
impl RankCheck {
    pub(crate) const fn new(_rank: LockRank) -> RankCheck {
        RankCheck {}
    }

    #[inline(always)]
    pub(crate) fn acquire(self) {}

    #[inline(always)]
    pub(crate) fn release(self) {}
}

/// The check itself, through real `ShortLock`s: in order is fine, out of
/// order (or the same rank twice) panics naming both locks, and a guard
/// dropped by unwinding is no longer held. (Only where panics unwind: on
/// wasm a panic aborts the whole test binary.)
#[cfg(all(test, debug_assertions, panic = "unwind"))]
mod tests {
    use super::LockRank::*;
    use crate::platform::ShortLock;

    /// Runs `f` on a thread of its own (a clean held set); its panic
    /// message, if it panicked.
    fn panic_of(f: impl FnOnce() + Send + 'static) -> Option<String> {
        let err = std::thread::spawn(f).join().err()?;
        Some(match err.downcast::<String>() {
            Ok(s) => *s,
            Err(e) => e.downcast_ref::<&str>().unwrap_or(&"?").to_string(),
        })
    }

    #[test]
    fn locks_taken_in_rank_order_are_fine() {
        let msg = panic_of(|| {
            let (a, b, c) = (
                ShortLock::new(StackPool, 1),
                ShortLock::new(Registry, 2),
                ShortLock::new(SchedIdle, 3),
            );
            let ga = a.lock();
            let gb = b.lock();
            let gc = c.lock();
            assert_eq!(*ga + *gb + *gc, 6);
            // Released out of order: what is still held is what counts.
            drop(ga);
            drop(gc);
            drop(gb);
            // Nothing held: any order again.
            let _c = c.lock();
            drop(_c);
            let _a = a.lock();
        });
        assert_eq!(msg, None);
    }

    #[test]
    fn a_lower_rank_under_a_higher_one_panics() {
        let msg = panic_of(|| {
            let (low, high) = (ShortLock::new(StackPool, ()), ShortLock::new(Registry, ()));
            let _h = high.lock();
            let _l = low.lock();
        });
        assert_eq!(
            msg.as_deref(),
            Some(
                "lock ordering problem: taking StackPool while holding Registry (ranks: gort/src/lockrank.rs)"
            )
        );
    }

    #[test]
    fn the_same_rank_twice_panics() {
        let msg = panic_of(|| {
            let (one, two) = (
                ShortLock::new(FutexWaiters, ()),
                ShortLock::new(FutexWaiters, ()),
            );
            let _one = one.lock();
            let _two = two.lock();
        });
        assert!(
            msg.as_deref().is_some_and(|m| m.starts_with(
                "lock ordering problem: taking FutexWaiters while holding FutexWaiters"
            )),
            "{msg:?}"
        );
    }

    #[test]
    fn the_highest_held_rank_is_named() {
        let msg = panic_of(|| {
            let locks = [
                ShortLock::new(TimerState, ()),
                ShortLock::new(TimerHeap, ()),
                ShortLock::new(Registry, ()),
            ];
            let _a = locks[0].lock();
            let _b = locks[1].lock();
            let _c = locks[2].lock(); // below TimerHeap
        });
        assert!(
            msg.as_deref()
                .is_some_and(|m| m.contains("taking Registry while holding TimerHeap")),
            "{msg:?}"
        );
    }

    #[test]
    fn guards_dropped_by_unwinding_are_released() {
        let msg = panic_of(|| {
            let (low, high) = (ShortLock::new(StackPool, ()), ShortLock::new(Registry, ()));
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _h = high.lock();
                let _l = low.lock(); // panics; `_h` is dropped by unwinding
            }));
            assert!(caught.is_err(), "out of order did not panic");
            // Nothing is held any more: both orders' first step works.
            let _l = low.lock();
            let _h = high.lock();
        });
        assert_eq!(msg, None);
    }
}
