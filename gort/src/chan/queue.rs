//! What they wait on: a channel's queue of blocked senders or receivers.
//!
//! An `Entry` is one registration: a task, the case number it registered
//! under, and a pointer to that case's value slot on the task's stack (the
//! value to send, or the place a received value goes). On a buffered
//! channel, counterparts mostly just wake the entry (`wake_one`, or every
//! entry with `wake_all` once closed) and the owner retries through the
//! ring; the one exception is a plain send (not a select case), whose
//! entry carries its value: the receive that made room moves that value
//! into the ring for it (`hand_off`), as Go's receive does with a blocked
//! sender. Every other buffered entry has a null slot.
//!
//! Invariants (all under the owning channel's lock):
//! - a slot is only touched by a counterpart holding this channel's lock
//!   while the entry is queued, or by its owner after its attempt is decided
//!   and the entry is out of every queue; the owner removes its entries
//!   (under each lock) before its stack frame goes away;
//! - a counterpart moves the value first and then CASes the owner's state;
//!   if the CAS fails it moves the value back before unlocking;
//! - entries whose owner is no longer `WAITING` are dropped on sight (the
//!   owner's own removal tolerates their absence);
//! - a task never pairs with its own entries (`me`), so a select that sends
//!   and receives on one unbuffered channel cannot rendezvous with itself.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::ring::{Push, Ring};
use super::waiter::done;
use crate::task::{Task, TaskRef};

pub(crate) struct Entry<T> {
    pub(crate) task: TaskRef,
    pub(crate) case: usize,
    pub(crate) slot: *mut Option<T>,
}

pub(crate) struct WaitQueue<T> {
    entries: VecDeque<Entry<T>>,
}

fn is(task: &TaskRef, me: Option<&Task>) -> bool {
    me.is_some_and(|m| core::ptr::eq(&**task, m))
}

impl<T> WaitQueue<T> {
    pub(crate) fn new() -> Self {
        WaitQueue {
            entries: VecDeque::new(),
        }
    }

    pub(crate) fn push(&mut self, entry: Entry<T>) {
        self.entries.push_back(entry);
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Decides the first undecided entry (as "case ready") and removes it;
    /// returns its task to wake. Decided entries met on the way are dropped.
    pub(crate) fn wake_one(&mut self) -> Option<TaskRef> {
        loop {
            let at = self.next_undecided(0, None)?;
            let e = self.entries.remove(at).expect("entry at index");
            if e.task.try_decide(done(e.case, false)) {
                return Some(e.task);
            }
            // Decided meanwhile (another channel, or its own timeout): next.
        }
    }

    /// Decides every undecided entry (as "case ready") and moves them out
    /// into a queue of their own, for the caller to unpark once the lock is
    /// released (`unpark_all`). Decided entries are dropped. Moves the
    /// buffer instead of copying tasks out, so it never allocates.
    pub(crate) fn wake_all(&mut self) -> WaitQueue<T> {
        let mut woken = core::mem::replace(self, WaitQueue::new());
        woken
            .entries
            .retain(|e| e.task.try_decide(done(e.case, false)));
        woken
    }

    /// Unparks the tasks of a queue made by `wake_all`.
    pub(crate) fn unpark_all(self) {
        for e in self.entries {
            e.task.unpark();
        }
    }

    /// Buffered, after a pop made room: decides the first undecided sender
    /// and returns it to wake. A plain send's value goes into the ring
    /// first, so its send is complete. The flag says whether a value went
    /// into the ring (the caller then owes a queued receiver a wakeup).
    ///
    /// The value moves before the decision, so if the sender decided
    /// otherwise meanwhile (it found room itself and aborted its wait), its
    /// value was still sent: it finds its slot empty once it has removed
    /// its entry under this lock, and reports the send as done.
    pub(crate) fn hand_off(&mut self, ring: &Ring<T>) -> (Option<TaskRef>, bool) {
        loop {
            let Some(at) = self.next_undecided(0, None) else {
                return (None, false);
            };
            let e = self.entries.remove(at).expect("entry at index");
            let mut pushed = false;
            if !e.slot.is_null() {
                // SAFETY: the entry was queued until just now and we hold
                // the channel lock, so its slot is alive and ours alone.
                let value = unsafe { (*e.slot).take() }.expect("a queued send holds its value");
                match ring.push(value) {
                    Push::Done => pushed = true,
                    // Refilled by a faster sender, or closed: the owner
                    // retries with its value, as after a plain wakeup.
                    // SAFETY: as above.
                    Push::Full(v) | Push::Closed(v) => unsafe { *e.slot = Some(v) },
                }
            }
            if e.task.try_decide(done(e.case, false)) {
                return (Some(e.task), pushed);
            }
            if pushed {
                return (None, true);
            }
            // Decided meanwhile (another channel, or its own timeout): next.
        }
    }

    /// Removes `task`'s entry for `case`, if still queued.
    pub(crate) fn remove(&mut self, task: &Task, case: usize) {
        if let Some(i) = self
            .entries
            .iter()
            .position(|e| core::ptr::eq(&*e.task, task) && e.case == case)
        {
            self.entries.remove(i);
        }
    }

    /// Whether a task other than `me` waits here undecided.
    pub(crate) fn has_waiter(&self, me: Option<&Task>) -> bool {
        self.entries
            .iter()
            .any(|e| !is(&e.task, me) && e.task.is_waiting())
    }

    /// The index of the first undecided entry at or after `i` that is not
    /// `me`'s, dropping decided entries on the way.
    fn next_undecided(&mut self, mut i: usize, me: Option<&Task>) -> Option<usize> {
        while i < self.entries.len() {
            let e = &self.entries[i];
            if is(&e.task, me) {
                i += 1;
            } else if !e.task.is_waiting() {
                self.entries.remove(i);
            } else {
                return Some(i);
            }
        }
        None
    }

    /// Hands `value` to the first undecided receiver other than `me`.
    /// Returns the task to unpark, or the value if nobody could take it.
    pub(crate) fn give(&mut self, value: T, me: Option<&Task>) -> Result<TaskRef, T> {
        let mut value = value;
        let mut i = 0;
        while let Some(at) = self.next_undecided(i, me) {
            let e = &self.entries[at];
            // SAFETY: the entry is queued and we hold the channel lock, so
            // its slot is alive and only we may touch it (module invariants).
            unsafe { *e.slot = Some(value) };
            if e.task.try_decide(done(e.case, false)) {
                let e = self.entries.remove(at).expect("entry at index");
                return Ok(e.task);
            }
            // Lost to another channel or a timeout: take the value back.
            // SAFETY: as above; the owner reads this slot only if we won.
            value = unsafe { (*e.slot).take() }.expect("value just stored");
            self.entries.remove(at);
            i = at;
        }
        Err(value)
    }

    /// Takes the value of the first undecided sender other than `me`.
    pub(crate) fn take(&mut self, me: Option<&Task>) -> Option<(T, TaskRef)> {
        let mut i = 0;
        while let Some(at) = self.next_undecided(i, me) {
            let e = &self.entries[at];
            // SAFETY: queued entry under the channel lock: the sender's slot
            // is alive, holds its value, and only we may touch it.
            let value = unsafe { (*e.slot).take() }.expect("a waiting sender has a value");
            if e.task.try_decide(done(e.case, false)) {
                let e = self.entries.remove(at).expect("entry at index");
                return Some((value, e.task));
            }
            // SAFETY: as above; the sender will find its value in place.
            unsafe { *e.slot = Some(value) };
            self.entries.remove(at);
            i = at;
        }
        None
    }

    /// Completes every undecided entry as "closed" (receivers get nothing,
    /// senders keep their value) and empties the queue.
    pub(crate) fn close_all(&mut self, wake: &mut Vec<TaskRef>) {
        for e in self.entries.drain(..) {
            if e.task.try_decide(done(e.case, true)) {
                wake.push(e.task);
            }
        }
    }
}
