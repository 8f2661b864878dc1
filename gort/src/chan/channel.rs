//! The channel proper: two wait queues under one short lock, and for a
//! buffered channel a lock-free ring (`ring.rs`) beside them.
//!
//! Unbuffered channels (Go's chan.go, in this form): every operation takes
//! the lock; a sender hands its value straight to a queued receiver's slot
//! or queues itself with the value in its own slot, and vice versa.
//!
//! Buffered channels: values go only through the ring, mostly without the
//! lock. The queues hold parties waiting for the ring to change ("not
//! full", "not empty"). After a push, a sender wakes one queued receiver
//! by deciding its attempt; the woken receiver retries, and may find the
//! value taken by someone faster: then it waits again. After a pop, a
//! receiver does the same for one queued sender, except that a plain send
//! (not a select case) queues with its value, and the receiver pushes that
//! value into the place it just made, under the lock, before waking it:
//! the sender's send is then done (Go's receive does the same with a
//! blocked sender; without it, on one worker, every message of a full
//! channel cost two extra switches).
//!
//! Invariants:
//! - the lock is held only for a few steps and never while parking or
//!   waking, and never together with another channel's lock;
//! - unbuffered: at most one of the queues holds undecided entries; once
//!   `closed`, nothing is added and every queued entry was completed;
//! - buffered, no lost wakeup: a waiter publishes its entry (queue, then
//!   the `waiting` count, under the lock), fences (SeqCst) and re-checks
//!   the ring; an operation changes the ring (SeqCst CAS), fences and reads
//!   the count. Of the two, at least one sees the other: the waiter does
//!   not sleep, or the operation wakes a queued waiter;
//! - buffered, FIFO: the ring is FIFO; a sender has one value in flight
//!   (re-sent by itself when woken, or pushed for it by a receive), so
//!   each sender's values stay in order;
//! - buffered hand-off: a receive pushes a queued sender's value only
//!   under the lock, and then wakes a receiver queued meanwhile (one that
//!   queued before we took the lock may have checked the ring before our
//!   push; one that queues after sees it);
//! - `close` sets the ring's closed bit and, under the lock, wakes every
//!   queued entry; a waiter queues under that lock and re-checks the ring
//!   afterwards, so it is either woken or sees the bit;
//! - buffered, closed but not drained: a push that claimed its place
//!   before the close may publish after it, so receivers (woken by
//!   `close`, or arriving later) can find neither a value nor a drained
//!   ring, and queue. Every publish that finds `closed` under the lock
//!   wakes every queued receiver, not one: each takes a value or, retrying,
//!   sees the ring drained (or queues for the next late publish). By the
//!   no-lost-wakeup pairing, the publisher takes the lock if any receiver
//!   queued without seeing its value; one that queues after sees it.

use alloc::vec::Vec;

use super::queue::{Entry, WaitQueue};
use super::ring::{Pop, Push, Ring};
#[cfg(gort_cores)]
use crate::platform::RawShortLock as ChanLock;
use crate::shim::UnsafeCell;
use crate::shim::atomic::Ordering::{Relaxed, SeqCst};
use crate::shim::atomic::{AtomicUsize, fence};
#[cfg(not(gort_cores))]
use crate::sync::RawMutex as ChanLock;
use crate::task::{Task, TaskRef};

pub(crate) enum SendAttempt<T> {
    /// Sent; wake this task if any.
    Sent(Option<TaskRef>),
    Full(T),
    Closed(T),
}

pub(crate) enum RecvAttempt<T> {
    /// Received; wake this task if any.
    Value(T, Option<TaskRef>),
    Empty,
    Closed,
}

pub(crate) struct State<T> {
    closed: bool,
    recvq: WaitQueue<T>,
    sendq: WaitQueue<T>,
}

pub(crate) struct Inner<T> {
    /// A futex mutex where waiting on it may park; on bare metal an
    /// interrupt-masking spinlock, so an interrupt handler's `try_send`
    /// never spins against the goroutine it interrupted.
    lock: ChanLock,
    state: UnsafeCell<State<T>>,
    /// The buffer; `None` for an unbuffered channel.
    ring: Option<Ring<T>>,
    waiting: Waiting,
}

/// How many entries `recvq` and `sendq` hold (buffered only): written under
/// the lock, read without it by every operation to skip the lock when
/// nobody waits. On a line of its own, away from the lock and the queues.
#[repr(align(128))]
struct Waiting {
    recv: AtomicUsize,
    send: AtomicUsize,
}

// SAFETY: the state (values of type T and raw slot pointers into blocked
// tasks' frames) is only touched under `lock`; the ring is Sync for
// `T: Send`; values cross threads, hence `T: Send`.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above: `&Inner` gives access only through the lock or the
// ring's protocol.
unsafe impl<T: Send> Sync for Inner<T> {}

/// Which side of a buffered channel.
#[derive(Clone, Copy)]
enum Side {
    Recv,
    Send,
}

impl<T> Inner<T> {
    pub(crate) fn new(cap: usize) -> Self {
        Inner {
            lock: ChanLock::new(),
            state: UnsafeCell::new(State {
                closed: false,
                recvq: WaitQueue::new(),
                sendq: WaitQueue::new(),
            }),
            ring: (cap > 0).then(|| Ring::new(cap)),
            waiting: Waiting {
                recv: AtomicUsize::new(0),
                send: AtomicUsize::new(0),
            },
        }
    }

    /// Runs `f` on the state with the lock held.
    pub(crate) fn locked<R>(&self, f: impl FnOnce(&mut State<T>) -> R) -> R {
        #[allow(clippy::let_unit_value)] // the futex mutex's token is ()
        let token = self.lock.lock();
        // SAFETY: the lock is held, so this is the only reference.
        let r = self.state.with_mut(|st| f(unsafe { &mut *st }));
        // SAFETY: locked just above, on this thread or core.
        #[cfg(gort_cores)]
        unsafe {
            self.lock.unlock(token)
        };
        #[cfg(not(gort_cores))]
        {
            let () = token;
            // SAFETY: locked just above.
            unsafe { self.lock.unlock() };
        }
        r
    }

    /// Whether values go through the ring (and a woken waiter must retry).
    pub(crate) fn is_buffered(&self) -> bool {
        self.ring.is_some()
    }

    // Always inlined (as `try_recv`): with `#[inline]` alone LLVM stopped
    // inlining both once the wake paths grew, ~12 more instructions a
    // buffered operation (callgrind, chan_seq_boundedN).
    #[inline(always)]
    pub(crate) fn try_send(&self, value: T) -> SendAttempt<T> {
        let Some(ring) = &self.ring else {
            return self.locked(|st| st.try_send(value, None));
        };
        match ring.push(value) {
            Push::Done => SendAttempt::Sent(self.after_push()),
            Push::Full(v) => SendAttempt::Full(v),
            Push::Closed(v) => SendAttempt::Closed(v),
        }
    }

    #[inline(always)]
    pub(crate) fn try_recv(&self) -> RecvAttempt<T> {
        let Some(ring) = &self.ring else {
            return self.locked(|st| st.try_recv(None));
        };
        match ring.pop() {
            Pop::Value(v) => RecvAttempt::Value(v, self.after_pop(ring)),
            Pop::Empty => RecvAttempt::Empty,
            Pop::Closed => RecvAttempt::Closed,
        }
    }

    fn waiting(&self, side: Side) -> &AtomicUsize {
        match side {
            Side::Recv => &self.waiting.recv,
            Side::Send => &self.waiting.send,
        }
    }

    /// Runs `f` on one queue of a buffered channel, under the lock, and
    /// republishes that queue's length.
    fn with_queue<R>(&self, side: Side, f: impl FnOnce(&mut WaitQueue<T>) -> R) -> R {
        self.locked(|st| {
            let q = match side {
                Side::Recv => &mut st.recvq,
                Side::Send => &mut st.sendq,
            };
            let r = f(q);
            self.waiting(side).store(q.len(), Relaxed);
            r
        })
    }

    /// After a push published a value: decides one queued receiver, if
    /// any, for the caller to wake; once closed, wakes every one of them
    /// here (see `State::receivers_after_push`).
    #[inline]
    fn after_push(&self) -> Option<TaskRef> {
        fence(SeqCst);
        if self.waiting.recv.load(Relaxed) == 0 {
            return None;
        }
        self.wake_receivers()
    }

    /// `after_push` with receivers queued: out of line, so that the fast
    /// path stays small enough to inline into every send.
    #[inline(never)]
    fn wake_receivers(&self) -> Option<TaskRef> {
        let (receiver, all) = self.locked(|st| {
            let r = st.receivers_after_push();
            self.waiting.recv.store(st.recvq.len(), Relaxed);
            r
        });
        all.unpark_all();
        receiver
    }

    /// After a pop made room: hands it to one queued sender (a plain send's
    /// value goes into the ring now, see `WaitQueue::hand_off`) and returns
    /// that sender to wake. If a value went in, a receiver queued meanwhile
    /// is woken here: it may have looked at the ring before the push.
    #[inline]
    fn after_pop(&self, ring: &Ring<T>) -> Option<TaskRef> {
        fence(SeqCst);
        if self.waiting.send.load(Relaxed) == 0 {
            return None;
        }
        self.hand_off(ring)
    }

    /// `after_pop` with senders queued: out of line, as `wake_receivers`.
    #[inline(never)]
    fn hand_off(&self, ring: &Ring<T>) -> Option<TaskRef> {
        let (sender, receiver, all) = self.locked(|st| {
            // A push under the lock fails once `closed` is set (the ring's
            // bit was set first), so `all` stays empty here; kept uniform.
            let (sender, pushed) = st.sendq.hand_off(ring);
            self.waiting.send.store(st.sendq.len(), Relaxed);
            let (receiver, all) = if pushed {
                st.receivers_after_push()
            } else {
                (None, WaitQueue::new())
            };
            self.waiting.recv.store(st.recvq.len(), Relaxed);
            (sender, receiver, all)
        });
        if let Some(r) = receiver {
            r.unpark();
        }
        all.unpark_all();
        sender
    }

    /// Queues a blocked sender; returns whether the send could now proceed
    /// (so the caller must not sleep).
    pub(crate) fn wait_send(&self, entry: Entry<T>) -> bool {
        let Some(ring) = &self.ring else {
            return self.locked(|st| st.wait_send(entry));
        };
        self.with_queue(Side::Send, |q| q.push(entry));
        fence(SeqCst);
        ring.can_push()
    }

    /// Queues a blocked receiver; returns whether the receive could now
    /// proceed.
    pub(crate) fn wait_recv(&self, entry: Entry<T>) -> bool {
        let Some(ring) = &self.ring else {
            return self.locked(|st| st.wait_recv(entry));
        };
        self.with_queue(Side::Recv, |q| q.push(entry));
        fence(SeqCst);
        ring.can_pop()
    }

    pub(crate) fn forget_send(&self, task: &Task, case: usize) {
        self.with_queue(Side::Send, |q| q.remove(task, case));
    }

    pub(crate) fn forget_recv(&self, task: &Task, case: usize) {
        self.with_queue(Side::Recv, |q| q.remove(task, case));
    }

    /// Closes the channel, filling `wake` with the tasks to wake. Returns
    /// false if it was already closed.
    pub(crate) fn close(&self, wake: &mut Vec<TaskRef>) -> bool {
        if let Some(ring) = &self.ring
            && !ring.close()
        {
            return false;
        }
        self.locked(|st| {
            if st.closed {
                return false;
            }
            st.closed = true;
            st.recvq.close_all(wake);
            st.sendq.close_all(wake);
            self.waiting.recv.store(0, Relaxed);
            self.waiting.send.store(0, Relaxed);
            true
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.ring.as_ref().map_or(0, Ring::len)
    }

    pub(crate) fn cap(&self) -> usize {
        self.ring.as_ref().map_or(0, Ring::cap)
    }

    pub(crate) fn is_closed(&self) -> bool {
        match &self.ring {
            Some(ring) => ring.is_closed(),
            None => self.locked(|st| st.closed),
        }
    }
}

impl<T> State<T> {
    /// Buffered, under the lock, after a value was published: the
    /// receivers to wake. One while open. Once closed, all of them, moved
    /// out for the caller to unpark: receivers that found the ring neither
    /// holding a value nor drained (this push had claimed its place before
    /// the close) queued, however many; this value may be the last thing
    /// they wait for, and whoever does not get it must retry to see the
    /// ring drained (module invariants).
    fn receivers_after_push(&mut self) -> (Option<TaskRef>, WaitQueue<T>) {
        if self.closed {
            (None, self.recvq.wake_all())
        } else {
            (self.recvq.wake_one(), WaitQueue::new())
        }
    }
}

/// The unbuffered channel's operations, under the lock.
impl<T> State<T> {
    pub(crate) fn try_send(&mut self, value: T, me: Option<&Task>) -> SendAttempt<T> {
        if self.closed {
            return SendAttempt::Closed(value);
        }
        match self.recvq.give(value, me) {
            Ok(receiver) => SendAttempt::Sent(Some(receiver)),
            Err(value) => SendAttempt::Full(value),
        }
    }

    pub(crate) fn try_recv(&mut self, me: Option<&Task>) -> RecvAttempt<T> {
        if let Some((value, sender)) = self.sendq.take(me) {
            return RecvAttempt::Value(value, Some(sender));
        }
        if self.closed {
            return RecvAttempt::Closed;
        }
        RecvAttempt::Empty
    }

    /// Queues a blocked sender; returns whether the send could now proceed.
    pub(crate) fn wait_send(&mut self, entry: Entry<T>) -> bool {
        let me = entry.task.clone();
        self.sendq.push(entry);
        self.closed || self.recvq.has_waiter(Some(&me))
    }

    /// Queues a blocked receiver; returns whether the receive could now
    /// proceed.
    pub(crate) fn wait_recv(&mut self, entry: Entry<T>) -> bool {
        let me = entry.task.clone();
        self.recvq.push(entry);
        self.closed || self.sendq.has_waiter(Some(&me))
    }
}
