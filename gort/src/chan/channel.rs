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
//!   afterwards, so it is either woken or sees the bit.

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

    #[inline]
    pub(crate) fn try_send(&self, value: T) -> SendAttempt<T> {
        let Some(ring) = &self.ring else {
            return self.locked(|st| st.try_send(value, None));
        };
        match ring.push(value) {
            Push::Done => SendAttempt::Sent(self.wake_one(Side::Recv)),
            Push::Full(v) => SendAttempt::Full(v),
            Push::Closed(v) => SendAttempt::Closed(v),
        }
    }

    #[inline]
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

    /// After the ring changed: decides one waiter of `side`, if any, for
    /// the caller to wake.
    #[inline]
    fn wake_one(&self, side: Side) -> Option<TaskRef> {
        fence(SeqCst);
        if self.waiting(side).load(Relaxed) == 0 {
            return None;
        }
        self.with_queue(side, |q| q.wake_one())
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
        let (sender, receiver) = self.locked(|st| {
            let (sender, pushed) = st.sendq.hand_off(ring);
            self.waiting.send.store(st.sendq.len(), Relaxed);
            let receiver = if pushed { st.recvq.wake_one() } else { None };
            self.waiting.recv.store(st.recvq.len(), Relaxed);
            (sender, receiver)
        });
        if let Some(r) = receiver {
            r.unpark();
        }
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
