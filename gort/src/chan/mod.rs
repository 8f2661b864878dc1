//! Layer 5: Go's channels ([`Chan`], with the direction views
//! [`SendOnly`] and [`RecvOnly`]) and `select` ([`select!`](crate::select)).
//!
//! Files: `channel.rs` is the buffer and wait queues under the channel's
//! lock; `queue.rs` the queue of blocked parties ("what they wait on");
//! `waiter.rs` the blocked task's state word ("who is waiting"), which is
//! how one `select` registered on many channels is completed exactly once;
//! `select.rs` the `select` algorithm and `select_macro.rs` its syntax.
//!
//! `ring.rs` is a buffered channel's lock-free buffer; `direction.rs` the
//! send-only and receive-only views (Go's `chan<- T`, `<-chan T`).
//!
//! Every blocking operation follows one protocol: try the operation, and if
//! it cannot proceed, queue an entry (under that channel's lock) and park
//! until a counterpart decides the attempt (or the caller aborts it). On an
//! unbuffered channel the counterpart moves the value through the entry's
//! slot on the caller's stack; on a buffered one it only wakes the caller,
//! who retries through the ring. No two channel locks are ever held at
//! once, so no lock order exists to invert; no task is woken while a lock
//! is held.

mod channel;
mod direction;
mod error;
mod queue;
mod ring;
#[doc(hidden)]
pub mod select;
mod select_macro;
pub(crate) mod waiter;

use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

pub use direction::{CanRecv, CanSend, RecvOnly, SendOnly};
pub use error::{RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};

use self::channel::{Inner, RecvAttempt, SendAttempt};
use self::queue::Entry;
use self::waiter::{ABORTED, decode};
use crate::futex::WaitReason;
use crate::shim::{Arc, UnsafeCell};
use crate::task;

/// Go's `chan T`: a typed conduit between goroutines (and threads).
///
/// `Chan::new(0)` is unbuffered: a send completes only when a receiver
/// takes the value. `Chan::new(n)` buffers up to `n` values in FIFO order.
/// Clones are handles to the same channel, like copies of a Go channel
/// value; any handle may close it. `Chan::nil()` is Go's nil channel: every
/// operation blocks forever and [`select!`](crate::select) never chooses
/// it.
///
/// Where Go panics on a send to a closed channel, [`send`](Self::send)
/// returns the value in an error; where Go's receive gives a zero value
/// and `ok == false`, [`recv`](Self::recv) gives `None`.
///
/// ```
/// use gort::chan::Chan;
///
/// let ch = Chan::new(0);
/// let tx = ch.clone();
/// assert!(tx == ch); // the same channel
/// gort::go(move || {
///     for i in 1..=3 {
///         tx.send(i).unwrap();
///     }
///     tx.close();
/// });
/// // Go's `for v := range ch`: until closed and drained.
/// let got: Vec<i32> = ch.iter().collect();
/// assert_eq!(got, [1, 2, 3]);
/// ```
pub struct Chan<T> {
    inner: Option<Arc<Inner<T>>>,
}

// A panic never leaves a channel half-updated: its lock is released on
// every path and `close` checks before it changes anything.
impl<T> core::panic::UnwindSafe for Chan<T> {}
impl<T> core::panic::RefUnwindSafe for Chan<T> {}

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Self {
        Chan {
            inner: self.inner.clone(),
        }
    }
}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            None => f.write_str("Chan(nil)"),
            Some(inner) => {
                let (len, cap, closed) = (inner.len(), inner.cap(), inner.is_closed());
                f.debug_struct("Chan")
                    .field("len", &len)
                    .field("cap", &cap)
                    .field("closed", &closed)
                    .finish()
            }
        }
    }
}

impl<T> PartialEq for Chan<T> {
    /// Go's channel equality: the same channel (or both nil).
    fn eq(&self, other: &Self) -> bool {
        match (&self.inner, &other.inner) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl<T> Eq for Chan<T> {}

/// A handle that does not keep the channel alive (timers hold these).
#[cfg(not(loom))]
pub(crate) struct WeakChan<T>(Option<crate::shim::Weak<Inner<T>>>);

#[cfg(not(loom))]
impl<T> WeakChan<T> {
    pub(crate) fn upgrade(&self) -> Option<Chan<T>> {
        let inner = self.0.as_ref()?.upgrade()?;
        Some(Chan { inner: Some(inner) })
    }
}

/// When a blocking operation gives up: never, or at a `now_nanos` deadline.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub enum Until {
    /// Never.
    Forever,
    /// At this `now_nanos` time.
    Deadline(u64),
}

impl Until {
    pub(crate) fn after(timeout: Duration) -> Until {
        crate::platform::deadline_after(timeout).map_or(Until::Forever, Until::Deadline)
    }
}

impl<T> Chan<T> {
    /// A channel buffering up to `cap` values (0: unbuffered), Go's
    /// `make(chan T, cap)`. Example: see [`Chan`].
    pub fn new(cap: usize) -> Self {
        Chan {
            inner: Some(Arc::new(Inner::new(cap))),
        }
    }

    /// Go's nil channel: sends and receives block forever, `close` panics,
    /// `select!` never chooses it. In a `select!`, it turns a case off.
    ///
    /// ```
    /// use gort::chan::{Chan, RecvTimeoutError, TryRecvError};
    /// use std::time::Duration;
    ///
    /// let ch = Chan::<u8>::nil();
    /// assert!(ch.is_nil());
    /// assert_eq!(ch.cap(), 0);
    /// assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
    /// assert_eq!(ch.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
    /// let picked = gort::select! {
    ///     recv(ch) -> _ => "nil channel",
    ///     default => "default",
    /// };
    /// assert_eq!(picked, "default");
    /// ```
    pub fn nil() -> Self {
        Chan { inner: None }
    }

    /// Whether this is the nil channel. Example: see [`nil`](Self::nil).
    pub fn is_nil(&self) -> bool {
        self.inner.is_none()
    }

    #[cfg(not(loom))]
    pub(crate) fn downgrade(&self) -> WeakChan<T> {
        WeakChan(self.inner.as_ref().map(Arc::downgrade))
    }

    pub(crate) fn inner(&self) -> Option<&Inner<T>> {
        self.inner.as_deref()
    }

    /// Sends `value`, parking until a receiver takes it or a buffer place is
    /// free. On a closed channel (or one closed while waiting) the value
    /// comes back in the error; Go panics there instead.
    ///
    /// ```
    /// use gort::chan::Chan;
    ///
    /// let ch = Chan::new(1);
    /// ch.send("first").unwrap(); // a buffer place: no waiting
    /// ch.close();
    /// let err = ch.send("late").unwrap_err();
    /// assert_eq!(err.into_inner(), "late");
    /// assert_eq!(ch.recv(), Some("first")); // closed, but still drains
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.send_until(value, Until::Forever).map_err(|e| match e {
            SendTimeoutError::Closed(v) | SendTimeoutError::Timeout(v) => SendError(v),
        })
    }

    /// Sends only if that needs no waiting: a receiver is waiting or a
    /// buffer place is free (Go's `select` with a `default`).
    ///
    /// ```
    /// use gort::chan::{Chan, TrySendError};
    ///
    /// let ch = Chan::new(1);
    /// assert_eq!(ch.try_send(1), Ok(()));
    /// assert_eq!(ch.try_send(2), Err(TrySendError::Full(2)));
    /// ch.close();
    /// assert!(ch.try_send(3).unwrap_err().is_closed());
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let Some(inner) = self.inner() else {
            return Err(TrySendError::Full(value));
        };
        match inner.try_send(value) {
            SendAttempt::Sent(receiver) => {
                wake(receiver);
                Ok(())
            }
            SendAttempt::Full(v) => Err(TrySendError::Full(v)),
            SendAttempt::Closed(v) => Err(TrySendError::Closed(v)),
        }
    }

    /// Like [`send`](Self::send), giving up after `timeout`; the value
    /// comes back either way.
    ///
    /// ```
    /// use gort::chan::{Chan, SendTimeoutError};
    /// use std::time::Duration;
    ///
    /// let ch = Chan::new(0); // unbuffered, and nobody receives
    /// let err = ch.send_timeout('x', Duration::from_millis(1)).unwrap_err();
    /// assert!(matches!(err, SendTimeoutError::Timeout('x')));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, Until::after(timeout))
    }

    /// Receives a value, parking until one is there. `None` once the
    /// channel is closed and drained.
    ///
    /// ```
    /// use gort::chan::Chan;
    ///
    /// let ch = Chan::new(0);
    /// let tx = ch.clone();
    /// gort::go(move || {
    ///     tx.send(String::from("hello")).unwrap();
    ///     tx.close();
    /// });
    /// assert_eq!(ch.recv().as_deref(), Some("hello"));
    /// assert_eq!(ch.recv(), None); // closed
    /// ```
    pub fn recv(&self) -> Option<T> {
        self.recv_until(Until::Forever).ok()
    }

    /// Receives only if a value is there now (or a sender waits).
    ///
    /// ```
    /// use gort::chan::{Chan, TryRecvError};
    ///
    /// let ch = Chan::new(2);
    /// assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
    /// ch.send(5).unwrap();
    /// ch.close();
    /// assert_eq!(ch.try_recv(), Ok(5));
    /// assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        task::register_thread();
        let Some(inner) = self.inner() else {
            return Err(TryRecvError::Empty);
        };
        match inner.try_recv() {
            RecvAttempt::Value(v, sender) => {
                wake(sender);
                Ok(v)
            }
            RecvAttempt::Empty => Err(TryRecvError::Empty),
            RecvAttempt::Closed => Err(TryRecvError::Closed),
        }
    }

    /// Like [`recv`](Self::recv), giving up after `timeout`.
    ///
    /// ```
    /// use gort::chan::{Chan, RecvTimeoutError};
    /// use std::time::Duration;
    ///
    /// let ch = Chan::<u32>::new(1);
    /// assert_eq!(ch.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
    /// ch.send(9).unwrap();
    /// assert_eq!(ch.recv_timeout(Duration::from_millis(1)), Ok(9));
    /// ch.close();
    /// assert_eq!(ch.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Closed));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(Until::after(timeout))
    }

    /// Closes the channel: buffered values still drain, then receives
    /// return `None`; blocked and later senders get their value back.
    ///
    /// ```
    /// use gort::chan::Chan;
    ///
    /// let ch = Chan::<u8>::new(0);
    /// let rx = ch.clone();
    /// let waiting = gort::spawn(move || rx.recv());
    /// ch.close(); // wakes the blocked receiver
    /// assert_eq!(waiting.join().unwrap(), None);
    /// assert!(ch.is_closed());
    /// ```
    ///
    /// # Panics
    /// "close of nil channel" and "close of closed channel", as in Go.
    pub fn close(&self) {
        let Some(inner) = self.inner() else {
            panic!("close of nil channel");
        };
        let mut woken = Vec::new();
        if !inner.close(&mut woken) {
            panic!("close of closed channel");
        }
        for t in woken {
            t.unpark();
        }
    }

    /// Values buffered now (Go's `len(ch)`).
    ///
    /// ```
    /// let ch = gort::chan::Chan::new(3);
    /// assert!(ch.is_empty());
    /// ch.send('a').unwrap();
    /// assert_eq!((ch.len(), ch.cap()), (1, 3));
    /// assert!(!ch.is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.inner().map_or(0, Inner::len)
    }

    /// Whether no value is buffered now. Example: see [`len`](Self::len).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer capacity (0 for unbuffered and nil channels), Go's
    /// `cap(ch)`. Example: see [`len`](Self::len).
    pub fn cap(&self) -> usize {
        self.inner().map_or(0, Inner::cap)
    }

    /// Whether [`close`](Self::close) has been called (Go has no such
    /// test). Example: see [`close`](Self::close).
    pub fn is_closed(&self) -> bool {
        self.inner().is_some_and(Inner::is_closed)
    }

    /// Receives until the channel is closed and drained: Go's
    /// `for v := range ch` (so is `for v in &ch`).
    ///
    /// ```
    /// use gort::chan::Chan;
    ///
    /// let ch = Chan::new(3);
    /// for word in ["a", "b", "c"] {
    ///     ch.send(word).unwrap();
    /// }
    /// ch.close();
    /// let mut joined = String::new();
    /// for word in &ch {
    ///     joined.push_str(word);
    /// }
    /// assert_eq!(joined, "abc");
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { chan: self }
    }

    fn send_until(&self, value: T, until: Until) -> Result<(), SendTimeoutError<T>> {
        let Some(inner) = self.inner() else {
            block_until(until, WaitReason::ChanSendNil);
            return Err(SendTimeoutError::Timeout(value));
        };
        if inner.is_buffered() {
            return send_buffered(inner, value, until);
        }
        let slot = UnsafeCell::new(None);
        // The fast path never looks up the current task: only a send that
        // must wait needs it (`Err` carries it out of the lock).
        let attempt = inner.locked(|st| match st.try_send(value, None) {
            SendAttempt::Full(v) => {
                let me = task::current();
                me.begin_wait();
                slot.with_mut(|s| {
                    // SAFETY: nothing else can see the slot before the push.
                    unsafe { *s = Some(v) };
                    st.wait_send(Entry {
                        task: me.clone(),
                        case: 0,
                        slot: s,
                    });
                });
                Err(me)
            }
            done => Ok(done),
        });
        let me = match attempt {
            Ok(SendAttempt::Sent(receiver)) => {
                wake(receiver);
                return Ok(());
            }
            Ok(SendAttempt::Closed(v)) => return Err(SendTimeoutError::Closed(v)),
            Ok(SendAttempt::Full(_)) => unreachable!("handled under the lock"),
            Err(me) => me,
        };
        let state = select::wait_decided(&me, until, WaitReason::ChanSend);
        if state == ABORTED {
            inner.forget_send(&me, 0);
        }
        let value = slot.into_inner();
        match (state, value) {
            (ABORTED, Some(v)) => Err(SendTimeoutError::Timeout(v)),
            (s, Some(v)) if decode(s).1 => Err(SendTimeoutError::Closed(v)),
            (_, None) => Ok(()),
            (_, Some(_)) => unreachable!("a completed send gave its value away"),
        }
    }

    fn recv_until(&self, until: Until) -> Result<T, RecvTimeoutError> {
        // Before any value arrives: it may hold `Gc`s (`task::register_thread`).
        task::register_thread();
        let Some(inner) = self.inner() else {
            block_until(until, WaitReason::ChanReceiveNil);
            return Err(RecvTimeoutError::Timeout);
        };
        if inner.is_buffered() {
            return recv_buffered(inner, until);
        }
        let slot = UnsafeCell::new(None);
        let attempt = inner.locked(|st| match st.try_recv(None) {
            RecvAttempt::Empty => {
                let me = task::current();
                me.begin_wait();
                slot.with_mut(|s| {
                    st.wait_recv(Entry {
                        task: me.clone(),
                        case: 0,
                        slot: s,
                    })
                });
                Err(me)
            }
            done => Ok(done),
        });
        let me = match attempt {
            Ok(RecvAttempt::Value(v, sender)) => {
                wake(sender);
                return Ok(v);
            }
            Ok(RecvAttempt::Closed) => return Err(RecvTimeoutError::Closed),
            Ok(RecvAttempt::Empty) => unreachable!("handled under the lock"),
            Err(me) => me,
        };
        let state = select::wait_decided(&me, until, WaitReason::ChanReceive);
        if state == ABORTED {
            inner.forget_recv(&me, 0);
            return Err(RecvTimeoutError::Timeout);
        }
        match slot.into_inner() {
            Some(v) => Ok(v),
            None if decode(state).1 => Err(RecvTimeoutError::Closed),
            None => unreachable!("a completed receive got a value"),
        }
    }
}

/// Attempts a buffered operation makes before it queues: the counterpart
/// is often a few microseconds away on another core, and queueing, parking
/// and being woken cost far more. None under loom (it would only grow the
/// models).
const RETRIES: u32 = if cfg!(loom) { 0 } else { 10 };

fn send_buffered<T>(inner: &Inner<T>, value: T, until: Until) -> Result<(), SendTimeoutError<T>> {
    let mut value = value;
    let mut round = 0;
    loop {
        match inner.try_send(value) {
            SendAttempt::Sent(receiver) => {
                wake(receiver);
                return Ok(());
            }
            SendAttempt::Closed(v) => return Err(SendTimeoutError::Closed(v)),
            SendAttempt::Full(v) => value = v,
        }
        if round < RETRIES && task::snooze(round) {
            round += 1;
            continue;
        }
        // Queued with the value: the receive that makes room may send it.
        let slot = UnsafeCell::new(Some(value));
        let woken = slot.with_mut(|s| wait_buffered(inner, s, until));
        match slot.into_inner() {
            None => return Ok(()),
            Some(v) => value = v,
        }
        if !woken {
            return Err(SendTimeoutError::Timeout(value));
        }
    }
}

fn recv_buffered<T>(inner: &Inner<T>, until: Until) -> Result<T, RecvTimeoutError> {
    let mut round = 0;
    loop {
        match inner.try_recv() {
            RecvAttempt::Value(v, sender) => {
                wake(sender);
                return Ok(v);
            }
            RecvAttempt::Closed => return Err(RecvTimeoutError::Closed),
            RecvAttempt::Empty => {}
        }
        if round < RETRIES && task::snooze(round) {
            round += 1;
            continue;
        }
        if !wait_buffered(inner, core::ptr::null_mut(), until) {
            return Err(RecvTimeoutError::Timeout);
        }
    }
}

/// Waits until a buffered channel's ring may let the caller's send (or
/// receive) through: queued, and woken by a counterpart or by `close`, or
/// not parked at all if the re-check after queueing says go. Returns false
/// at the deadline. Whoever was woken retries: a wakeup is never dropped.
///
/// `send`: null for a receive; for a send, the slot holding its value,
/// which a receive may move into the ring meanwhile (the send is then
/// done, whatever this returns). The slot must live until we return: our
/// entry is out of the queue by then.
fn wait_buffered<T>(inner: &Inner<T>, send: *mut Option<T>, until: Until) -> bool {
    let me = task::current();
    me.begin_wait();
    let entry = Entry {
        task: me.clone(),
        case: 0,
        slot: send,
    };
    let send = !send.is_null();
    let ready = if send {
        inner.wait_send(entry)
    } else {
        inner.wait_recv(entry)
    };
    let state = if ready {
        me.try_decide(ABORTED);
        me.wait_state()
    } else {
        let reason = if send {
            WaitReason::ChanSend
        } else {
            WaitReason::ChanReceive
        };
        select::wait_decided(&me, until, reason)
    };
    if state != ABORTED {
        return true; // woken: the waker removed our entry
    }
    if send {
        inner.forget_send(&me, 0);
    } else {
        inner.forget_recv(&me, 0);
    }
    ready
}

/// Wakes the task a channel operation completed, after every lock is gone.
#[inline]
pub(crate) fn wake(task: Option<task::TaskRef>) {
    if let Some(t) = task {
        t.unpark();
    }
}

/// Blocks for good (nil channel), or until the deadline.
pub(crate) fn block_until(until: Until, reason: WaitReason) {
    match until {
        Until::Forever => loop {
            task::park_for(reason, None);
        },
        #[cfg(not(loom))]
        Until::Deadline(d) => crate::time::sleep_until_nanos(d),
        #[cfg(loom)]
        Until::Deadline(_) => unimplemented!("timeouts are not modelled under loom"),
    }
}

/// Go's `for v := range ch`: receives until the channel is closed and
/// drained.
impl<'a, T> IntoIterator for &'a Chan<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// Iterator over received values, made by [`Chan::iter`] and
/// `for v in &chan`; ends when the channel is closed and drained.
pub struct Iter<'a, T> {
    chan: &'a Chan<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.chan.recv()
    }
}
