//! The channel proper: a buffer and two wait queues under one short lock.
//!
//! Invariants (Go's chan.go, in this form):
//! - the lock is held only for a few steps and never while parking or
//!   waking, and never together with another channel's lock;
//! - undecided receivers wait only while the buffer is empty, undecided
//!   senders only while it is full (or the channel is unbuffered), so at
//!   most one of the queues holds undecided entries;
//! - FIFO: a value sent first is received first; a blocked sender's value
//!   enters the buffer's tail when a receiver frees a place;
//! - once `closed`, nothing is added: the buffer drains, then receives
//!   report closed; every queued entry was completed as closed.

use std::collections::VecDeque;

use super::queue::{Entry, WaitQueue};
use crate::shim::UnsafeCell;
use crate::sync::RawMutex;
use crate::task::{Task, TaskRef};

pub(crate) enum SendAttempt<T> {
    /// Sent; wake this receiver if any.
    Sent(Option<TaskRef>),
    Full(T),
    Closed(T),
}

pub(crate) enum RecvAttempt<T> {
    /// Received; wake this sender if any.
    Value(T, Option<TaskRef>),
    Empty,
    Closed,
}

pub(crate) struct State<T> {
    buf: VecDeque<T>,
    cap: usize,
    closed: bool,
    recvq: WaitQueue<T>,
    sendq: WaitQueue<T>,
}

pub(crate) struct Inner<T> {
    lock: RawMutex,
    state: UnsafeCell<State<T>>,
}

// SAFETY: the state (values of type T and raw slot pointers into blocked
// tasks' frames) is only touched under `lock`; values cross threads, hence
// `T: Send`.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above: `&Inner` gives access only through the lock.
unsafe impl<T: Send> Sync for Inner<T> {}

impl<T> Inner<T> {
    pub(crate) fn new(cap: usize) -> Self {
        Inner {
            lock: RawMutex::new(),
            state: UnsafeCell::new(State {
                buf: VecDeque::with_capacity(cap.min(1 << 16)),
                cap,
                closed: false,
                recvq: WaitQueue::new(),
                sendq: WaitQueue::new(),
            }),
        }
    }

    /// Runs `f` on the state with the lock held.
    pub(crate) fn locked<R>(&self, f: impl FnOnce(&mut State<T>) -> R) -> R {
        self.lock.lock();
        // SAFETY: the lock is held, so this is the only reference.
        let r = self.state.with_mut(|st| f(unsafe { &mut *st }));
        // SAFETY: locked just above.
        unsafe { self.lock.unlock() };
        r
    }
}

impl<T> State<T> {
    pub(crate) fn try_send(&mut self, value: T, me: Option<&Task>) -> SendAttempt<T> {
        if self.closed {
            return SendAttempt::Closed(value);
        }
        let value = match self.recvq.give(value, me) {
            Ok(receiver) => return SendAttempt::Sent(Some(receiver)),
            Err(value) => value,
        };
        if self.buf.len() < self.cap {
            self.buf.push_back(value);
            return SendAttempt::Sent(None);
        }
        SendAttempt::Full(value)
    }

    pub(crate) fn try_recv(&mut self, me: Option<&Task>) -> RecvAttempt<T> {
        if let Some(value) = self.buf.pop_front() {
            // A place just freed: move a blocked sender's value in behind.
            let sender = self.sendq.take(me).map(|(v, sender)| {
                self.buf.push_back(v);
                sender
            });
            return RecvAttempt::Value(value, sender);
        }
        if let Some((value, sender)) = self.sendq.take(me) {
            return RecvAttempt::Value(value, Some(sender));
        }
        if self.closed {
            return RecvAttempt::Closed;
        }
        RecvAttempt::Empty
    }

    /// Queues a blocked sender; returns whether the send could now proceed
    /// (so a select must not sleep).
    pub(crate) fn wait_send(&mut self, entry: Entry<T>) -> bool {
        let me = entry.task.clone();
        self.sendq.push(entry);
        self.closed || self.buf.len() < self.cap || self.recvq.has_waiter(Some(&me))
    }

    /// Queues a blocked receiver; returns whether the receive could now
    /// proceed.
    pub(crate) fn wait_recv(&mut self, entry: Entry<T>) -> bool {
        let me = entry.task.clone();
        self.recvq.push(entry);
        self.closed || !self.buf.is_empty() || self.sendq.has_waiter(Some(&me))
    }

    pub(crate) fn forget_send(&mut self, task: &Task, case: usize) {
        self.sendq.remove(task, case);
    }

    pub(crate) fn forget_recv(&mut self, task: &Task, case: usize) {
        self.recvq.remove(task, case);
    }

    /// Closes the channel. Returns false if it was already closed.
    pub(crate) fn close(&mut self, wake: &mut Vec<TaskRef>) -> bool {
        if self.closed {
            return false;
        }
        self.closed = true;
        self.recvq.close_all(wake);
        self.sendq.close_all(wake);
        true
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }
}
