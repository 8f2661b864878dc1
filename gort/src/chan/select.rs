//! Go's `select`: wait on several channel operations, complete exactly one.
//!
//! Algorithm (one attempt, repeated until an operation completes):
//! 1. Poll every case in a uniformly random order; the first that can
//!    proceed completes. This is what makes the choice among ready cases
//!    uniform. Nil channels are never ready.
//! 2. With one channel, or none, the poll was atomic: `default` or an
//!    expired deadline ends here.
//! 3. Register an entry on each case's channel, one channel lock at a time,
//!    in the same random order (queue position must not favour a case).
//!    If a case turns out ready while registering (a counterpart arrived
//!    between steps 1 and 3), abort our own attempt with a CAS and retry
//!    from step 1, rather than complete under a second lock.
//! 4. Park until the state word is decided: by a counterpart (which moved
//!    the value and removed the entry it used), by a timeout, or by step 3.
//!    With `default`, do not park: abort at once. Being registered on every
//!    channel and still undecided is the one instant at which no case is
//!    ready, so `default` reflects the channels' state at a single moment
//!    (Go's TestNonblockSelectRace), not a smear over the poll.
//! 5. Remove the remaining entries, one lock at a time, then finish the
//!    chosen case: from its slot (unbuffered), or by trying the operation
//!    again (buffered: the counterpart only woke us); if someone faster
//!    took the value or the place, start over at step 1.
//!
//! Because at most one channel lock is held at any moment, two selects over
//! the same channels in opposite orders cannot deadlock on locks, and no
//! global lock exists.

#[cfg(feature = "std")]
use core::cell::Cell;

use super::channel::{RecvAttempt, SendAttempt};
use super::queue::Entry;
use super::waiter::{ABORTED, WAITING, decode};
use super::{CanRecv, CanSend, Chan, SendError, Until, wake};
use crate::futex::WaitReason;
use crate::shim::UnsafeCell;
use crate::task::{self, Task, TaskRef};

/// Most cases one select may have (the macro enforces it too).
pub const MAX_CASES: usize = 64;

/// `select!` without `default`: wait as long as it takes.
pub const FOREVER: Until = Until::Forever;

/// `default(timeout)`: the deadline `timeout` from now.
pub fn until(timeout: core::time::Duration) -> Until {
    Until::after(timeout)
}

/// One case of a select, as the algorithm sees it.
pub trait Case {
    /// Completes the operation now if it can (step 1).
    fn poll(&mut self) -> bool;
    /// Queues `me` for this case (step 3); returns whether the case could
    /// proceed right now.
    fn register(&mut self, me: &TaskRef, case: usize) -> bool;
    /// Removes `me`'s entry for this case, if still queued (step 5).
    fn unregister(&mut self, me: &Task, case: usize);
    /// Finishes after a counterpart decided this case (`closed`: by
    /// closing the channel). False if the case must be tried again: on a
    /// buffered channel the counterpart only woke us, and someone faster
    /// may have taken the value (or the place) since.
    fn complete(&mut self, closed: bool) -> bool;
    /// Whether the case is on a nil channel (never ready).
    fn is_nil(&self) -> bool;
}

/// `recv(ch) -> v` in `select!`.
pub struct RecvCase<'a, T> {
    chan: &'a Chan<T>,
    slot: UnsafeCell<Option<T>>,
    result: Option<Option<T>>,
}

/// `send(ch, value) -> res` in `select!`.
pub struct SendCase<'a, T> {
    chan: &'a Chan<T>,
    slot: UnsafeCell<Option<T>>,
    result: Option<Result<(), SendError<T>>>,
}

impl<'a, T> RecvCase<'a, T> {
    /// A receive from `chan`.
    pub fn new<C: CanRecv<Item = T> + ?Sized>(chan: &'a C) -> Self {
        crate::task::register_thread();
        RecvCase {
            chan: chan.chan_for_recv(),
            slot: UnsafeCell::new(None),
            result: None,
        }
    }

    /// The received value (`None`: closed), once this case was chosen.
    pub fn take(&mut self) -> Option<T> {
        self.result.take().expect("select: case was not chosen")
    }
}

impl<'a, T> SendCase<'a, T> {
    /// A send of `value` on `chan`.
    pub fn new<C: CanSend<Item = T> + ?Sized>(chan: &'a C, value: T) -> Self {
        SendCase {
            chan: chan.chan_for_send(),
            slot: UnsafeCell::new(Some(value)),
            result: None,
        }
    }

    /// The outcome, once this case was chosen.
    pub fn take(&mut self) -> Result<(), SendError<T>> {
        self.result.take().expect("select: case was not chosen")
    }
}

impl<T> Case for RecvCase<'_, T> {
    fn poll(&mut self) -> bool {
        let Some(inner) = self.chan.inner() else {
            return false;
        };
        match inner.try_recv() {
            RecvAttempt::Value(v, sender) => {
                wake(sender);
                self.result = Some(Some(v));
                true
            }
            RecvAttempt::Closed => {
                self.result = Some(None);
                true
            }
            RecvAttempt::Empty => false,
        }
    }

    fn register(&mut self, me: &TaskRef, case: usize) -> bool {
        let inner = self.chan.inner().expect("nil cases are not registered");
        let buffered = inner.is_buffered();
        self.slot.with_mut(|s| {
            // Buffered: no slot. We are only woken and take the value from
            // the ring ourselves.
            let slot = if buffered { core::ptr::null_mut() } else { s };
            inner.wait_recv(Entry {
                task: me.clone(),
                case,
                slot,
            })
        })
    }

    fn unregister(&mut self, me: &Task, case: usize) {
        if let Some(inner) = self.chan.inner() {
            inner.forget_recv(me, case);
        }
    }

    fn complete(&mut self, closed: bool) -> bool {
        if self.chan.inner().is_some_and(|i| i.is_buffered()) {
            return self.poll();
        }
        // SAFETY: our attempt is decided and every entry is out of the
        // queues, so nobody else touches the slot any more.
        let v = self.slot.with_mut(|s| unsafe { (*s).take() });
        debug_assert!(closed == v.is_none());
        self.result = Some(v);
        true
    }

    fn is_nil(&self) -> bool {
        self.chan.is_nil()
    }
}

impl<T> Case for SendCase<'_, T> {
    fn poll(&mut self) -> bool {
        let Some(inner) = self.chan.inner() else {
            return false;
        };
        // SAFETY: not registered anywhere: the slot is ours alone.
        let value = self.slot.with_mut(|s| unsafe { (*s).take() });
        let value = value.expect("a send case holds its value until chosen");
        match inner.try_send(value) {
            SendAttempt::Sent(receiver) => {
                wake(receiver);
                self.result = Some(Ok(()));
                true
            }
            SendAttempt::Closed(v) => {
                self.result = Some(Err(SendError(v)));
                true
            }
            SendAttempt::Full(v) => {
                // SAFETY: as above.
                self.slot.with_mut(|s| unsafe { *s = Some(v) });
                false
            }
        }
    }

    fn register(&mut self, me: &TaskRef, case: usize) -> bool {
        let inner = self.chan.inner().expect("nil cases are not registered");
        let buffered = inner.is_buffered();
        self.slot.with_mut(|s| {
            // Buffered: no slot. A receive must not send our value for us,
            // since another case may complete instead (queue.rs).
            let slot = if buffered { core::ptr::null_mut() } else { s };
            inner.wait_send(Entry {
                task: me.clone(),
                case,
                slot,
            })
        })
    }

    fn unregister(&mut self, me: &Task, case: usize) {
        if let Some(inner) = self.chan.inner() {
            inner.forget_send(me, case);
        }
    }

    fn complete(&mut self, closed: bool) -> bool {
        if self.chan.inner().is_some_and(|i| i.is_buffered()) {
            return self.poll();
        }
        // SAFETY: decided and unqueued: the slot is ours again.
        let v = self.slot.with_mut(|s| unsafe { (*s).take() });
        self.result = Some(match (closed, v) {
            (false, None) => Ok(()),
            (true, Some(v)) => Err(SendError(v)),
            _ => unreachable!("send slot out of step with its outcome"),
        });
        true
    }

    fn is_nil(&self) -> bool {
        self.chan.is_nil()
    }
}

/// Runs a select over `cases`. `block`: `None` for a select with
/// `default` (never parks), else how long to wait. Returns the index of
/// the completed case, or `None` for default/timeout.
pub fn run(cases: &mut [&mut dyn Case], block: Option<Until>) -> Option<usize> {
    let n = cases.len();
    assert!(n <= MAX_CASES, "select: more than {MAX_CASES} cases");
    let mut order = [0u8; MAX_CASES];
    loop {
        shuffle(&mut order[..n]);
        for &i in &order[..n] {
            if cases[i as usize].poll() {
                return Some(i as usize);
            }
        }
        let live = cases.iter().filter(|c| !c.is_nil()).count();
        if live == 0 {
            if let Some(until) = block {
                super::block_until(until, WaitReason::SelectNoCases);
            }
            return None;
        }
        if block.is_none() && live == 1 {
            return None; // one channel, polled under its lock: atomic
        }
        let me = task::current();
        me.begin_wait();
        // Register in the same random order, so that when counterparts
        // arrive later, the queue order does not favour the first case.
        let mut registered = 0;
        let mut became_ready = false;
        for &i in &order[..n] {
            let i = i as usize;
            registered += 1;
            if !cases[i].is_nil() && cases[i].register(&me, i) {
                // Ready now: give up this attempt and poll again (unless a
                // counterpart decided it for us first).
                became_ready = me.try_decide(ABORTED);
                break;
            }
            if me.wait_state() != WAITING {
                break; // already chosen through an earlier case
            }
        }
        let state = match block {
            // With `default`: registered everywhere and still undecided
            // means that, at this moment, no case is ready (any case that
            // became ready since its registration would have decided us).
            // That is the instant the select takes `default`.
            None => {
                me.try_decide(ABORTED);
                me.wait_state()
            }
            Some(until) => wait_decided(&me, until, WaitReason::Select),
        };
        for &i in &order[..registered] {
            let i = i as usize;
            if !cases[i].is_nil() {
                cases[i].unregister(&me, i);
            }
        }
        if state == ABORTED {
            if became_ready {
                continue;
            }
            match block {
                None => return None,
                Some(Until::Deadline(d)) if crate::platform::now_nanos() >= d => return None,
                Some(_) => continue,
            }
        }
        let (case, closed) = decode(state);
        if cases[case].complete(closed) {
            return Some(case);
        }
    }
}

/// Parks `me` until its attempt is decided; at the deadline, aborts it
/// (unless a counterpart decides first). Returns the decided state.
pub(crate) fn wait_decided(me: &TaskRef, until: Until, reason: WaitReason) -> usize {
    #[cfg(not(loom))]
    let timer = match until {
        Until::Deadline(d) => Some(crate::task::timers::arm_unpark(d, me.clone())),
        Until::Forever => None,
    };
    #[cfg(loom)]
    assert!(
        matches!(until, Until::Forever),
        "timeouts are not modelled under loom"
    );
    let state = loop {
        let s = me.wait_state();
        if s != WAITING {
            break s;
        }
        if let Until::Deadline(d) = until
            && crate::platform::now_nanos() >= d
        {
            if me.try_decide(ABORTED) {
                break ABORTED;
            }
            continue;
        }
        task::park_for(reason, None);
    };
    #[cfg(not(loom))]
    if let Some(t) = timer {
        crate::task::timers::disarm_unpark(t);
    }
    state
}

#[cfg(feature = "std")]
thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

/// Runs `f` on this thread's generator state.
#[cfg(feature = "std")]
fn with_rng(f: impl FnOnce(&mut u64)) {
    RNG.with(|rng| {
        let mut x = rng.get();
        f(&mut x);
        rng.set(x);
    });
}

/// Bare metal: one generator for all cores. Two cores racing on it may
/// draw the same permutation, which fairness over time tolerates.
#[cfg(not(feature = "std"))]
fn with_rng(f: impl FnOnce(&mut u64)) {
    use crate::shim::atomic::{AtomicU64, Ordering::Relaxed};
    static RNG: AtomicU64 = AtomicU64::new(0);
    let mut x = RNG.load(Relaxed);
    if x == 0 {
        x = seed();
    }
    f(&mut x);
    RNG.store(x, Relaxed);
}

fn seed() -> u64 {
    // Distinct per thread and per process; quality needs are modest.
    let local = 0u8;
    let addr = &local as *const u8 as u64;
    let t = crate::platform::now_nanos();
    (addr ^ t.rotate_left(32) ^ 0x9E37_79B9_7F4A_7C15) | 1
}

/// A uniformly random permutation of `0..order.len()` (Fisher–Yates on a
/// xorshift generator).
fn shuffle(order: &mut [u8]) {
    for (i, o) in order.iter_mut().enumerate() {
        *o = i as u8;
    }
    // Loom needs every execution of a model to be deterministic: keep
    // source order there (a model can list its cases in several orders).
    if order.len() < 2 || cfg!(loom) {
        return;
    }
    with_rng(|x| {
        for i in (1..order.len()).rev() {
            *x ^= *x << 13;
            *x ^= *x >> 7;
            *x ^= *x << 17;
            // Multiply-shift: an unbiased-enough index in 0..=i.
            let j = ((*x >> 32) * (i as u64 + 1)) >> 32;
            order.swap(i, j as usize);
        }
    });
}
