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

/// The queue on its own, with plain tasks and value slots on the test's
/// stack (the test plays the channel lock: it holds `&mut` the queue).
#[cfg(all(test, feature = "std", not(loom)))]
mod tests {
    use super::*;
    use crate::chan::ring::Pop;
    use crate::chan::waiter::ABORTED;
    use std::sync::Barrier;

    fn entry<T>(task: &TaskRef, case: usize, slot: *mut Option<T>) -> Entry<T> {
        Entry {
            task: task.clone(),
            case,
            slot,
        }
    }

    fn no_slot<T>() -> *mut Option<T> {
        core::ptr::null_mut()
    }

    /// The (task id, case) of each queued entry, in order.
    fn queued<T>(q: &WaitQueue<T>) -> Vec<(u64, usize)> {
        q.entries.iter().map(|e| (e.task.id(), e.case)).collect()
    }

    /// What a slot holds, read through the pointer the queue was given.
    fn read(slot: *mut Option<u32>) -> Option<u32> {
        // SAFETY: every slot is a live local of the calling test, and the
        // queue is not using it now.
        unsafe { *slot }
    }

    fn same(a: &TaskRef, b: &TaskRef) -> bool {
        TaskRef::ptr_eq(a, b)
    }

    fn aborted() -> TaskRef {
        let t = Task::new();
        assert!(t.try_decide(ABORTED));
        t
    }

    /// Iterations for the long loops: miri interprets every step.
    fn scaled(n: usize) -> usize {
        if cfg!(miri) { n / 100 } else { n }
    }

    #[test]
    fn wake_one_takes_entries_in_fifo_order() {
        let (a, b, c) = (Task::new(), Task::new(), Task::new());
        let mut q = WaitQueue::<u32>::new();
        q.push(entry(&a, 0, no_slot()));
        q.push(entry(&b, 1, no_slot()));
        q.push(entry(&c, 2, no_slot()));
        assert_eq!(q.len(), 3);
        for (want, case, left) in [(&a, 0, 2), (&b, 1, 1), (&c, 2, 0)] {
            assert!(same(&q.wake_one().unwrap(), want));
            assert_eq!(want.wait_state(), done(case, false));
            assert_eq!(q.len(), left);
        }
        assert!(q.wake_one().is_none());
    }

    #[test]
    fn wake_one_drops_cancelled_entries_on_the_way() {
        let (a, b, c, d) = (aborted(), Task::new(), aborted(), Task::new());
        let mut q = WaitQueue::<u32>::new();
        for (t, case) in [(&a, 0), (&b, 1), (&c, 2), (&d, 3)] {
            q.push(entry(t, case, no_slot()));
        }
        assert!(same(&q.wake_one().unwrap(), &b));
        assert_eq!(queued(&q), [(c.id(), 2), (d.id(), 3)]);
        assert!(same(&q.wake_one().unwrap(), &d));
        assert_eq!(q.len(), 0);
        assert!(q.wake_one().is_none());
        assert_eq!((a.wait_state(), c.wait_state()), (ABORTED, ABORTED));
        assert_eq!(b.wait_state(), done(1, false));
    }

    #[test]
    fn remove_takes_out_only_that_tasks_case() {
        let (a, b) = (Task::new(), Task::new());
        let mut q = WaitQueue::<u32>::new();
        q.push(entry(&a, 0, no_slot()));
        q.push(entry(&b, 0, no_slot()));
        q.push(entry(&a, 1, no_slot()));
        q.remove(&a, 1);
        assert_eq!(queued(&q), [(a.id(), 0), (b.id(), 0)]);
        q.remove(&a, 1);
        q.remove(&b, 1);
        assert_eq!(q.len(), 2, "removing what is not queued changed the queue");
        q.remove(&a, 0);
        assert_eq!(queued(&q), [(b.id(), 0)]);
        assert!(a.is_waiting() && b.is_waiting(), "removal decides nothing");
    }

    #[test]
    fn wake_all_moves_every_waiting_entry_out() {
        let (a, b, c, d) = (Task::new(), aborted(), Task::new(), Task::new());
        let mut q = WaitQueue::<u32>::new();
        for (t, case) in [(&a, 0), (&b, 1), (&c, 2), (&d, 3)] {
            q.push(entry(t, case, no_slot()));
        }
        let buffer = q.entries.capacity();
        let woken = q.wake_all();
        assert_eq!(q.len(), 0);
        assert_eq!(q.entries.capacity(), 0, "the buffer stayed behind");
        assert_eq!(woken.entries.capacity(), buffer, "the buffer was not moved");
        assert_eq!(queued(&woken), [(a.id(), 0), (c.id(), 2), (d.id(), 3)]);
        let states = [
            a.wait_state(),
            b.wait_state(),
            c.wait_state(),
            d.wait_state(),
        ];
        assert_eq!(
            states,
            [done(0, false), ABORTED, done(2, false), done(3, false)]
        );
        woken.unpark_all();

        // The emptied queue takes new entries; an empty one wakes nobody.
        let e = Task::new();
        q.push(entry(&e, 4, no_slot()));
        assert_eq!(queued(&q), [(e.id(), 4)]);
        assert_eq!(WaitQueue::<u32>::new().wake_all().len(), 0);
    }

    #[test]
    fn has_waiter_ignores_me_and_decided_entries() {
        let (me, other) = (Task::new(), aborted());
        let mut q = WaitQueue::<u32>::new();
        assert!(!q.has_waiter(None));
        q.push(entry(&me, 0, no_slot()));
        assert!(!q.has_waiter(Some(&me)));
        assert!(q.has_waiter(None));
        q.push(entry(&other, 0, no_slot()));
        assert!(!q.has_waiter(Some(&me)));
        let third = Task::new();
        q.push(entry(&third, 0, no_slot()));
        assert!(q.has_waiter(Some(&me)));
        assert_eq!(q.len(), 3, "has_waiter changed the queue");
    }

    #[test]
    fn give_fills_the_first_waiting_receiver_but_mine() {
        let (a, me, b, c) = (aborted(), Task::new(), Task::new(), Task::new());
        let (mut sa, mut sme, mut sb, mut sc) = (None, None, None, None);
        let (pa, pme, pb, pc) = (&raw mut sa, &raw mut sme, &raw mut sb, &raw mut sc);
        let mut q = WaitQueue::<u32>::new();
        q.push(entry(&a, 0, pa));
        q.push(entry(&me, 1, pme));
        q.push(entry(&b, 2, pb));
        q.push(entry(&c, 3, pc));
        assert!(same(&q.give(5, Some(&me)).unwrap(), &b));
        assert_eq!(
            [read(pa), read(pme), read(pb), read(pc)],
            [None, None, Some(5), None]
        );
        assert_eq!(b.wait_state(), done(2, false));
        assert_eq!(
            queued(&q),
            [(me.id(), 1), (c.id(), 3)],
            "a not dropped, b not removed"
        );
        assert!(same(&q.give(6, Some(&me)).unwrap(), &c));
        assert_eq!(read(pc), Some(6));
        assert_eq!(q.give(7, Some(&me)).unwrap_err(), 7);
        assert_eq!(queued(&q), [(me.id(), 1)]);
        assert!(same(&q.give(8, None).unwrap(), &me));
        assert_eq!(read(pme), Some(8));
        assert_eq!(q.len(), 0);
        assert_eq!(a.wait_state(), ABORTED);
    }

    #[test]
    fn take_moves_the_first_waiting_senders_value() {
        let (a, me, b, c) = (aborted(), Task::new(), Task::new(), Task::new());
        let (mut sa, mut sme, mut sb, mut sc) = (Some(1), Some(2), Some(3), Some(4));
        let (pa, pme, pb, pc) = (&raw mut sa, &raw mut sme, &raw mut sb, &raw mut sc);
        let mut q = WaitQueue::<u32>::new();
        q.push(entry(&a, 0, pa));
        q.push(entry(&me, 1, pme));
        q.push(entry(&b, 2, pb));
        q.push(entry(&c, 3, pc));
        let (v, t) = q.take(Some(&me)).unwrap();
        assert_eq!(v, 3);
        assert!(same(&t, &b));
        assert_eq!(b.wait_state(), done(2, false));
        assert_eq!(
            [read(pa), read(pme), read(pb), read(pc)],
            [Some(1), Some(2), None, Some(4)]
        );
        assert_eq!(queued(&q), [(me.id(), 1), (c.id(), 3)]);
        let (v, t) = q.take(Some(&me)).unwrap();
        assert_eq!(v, 4);
        assert!(same(&t, &c));
        assert!(q.take(Some(&me)).is_none());
        let (v, t) = q.take(None).unwrap();
        assert_eq!(v, 2);
        assert!(same(&t, &me));
        assert_eq!(q.len(), 0);
        assert_eq!(read(pa), Some(1), "a decided sender keeps its value");
    }

    #[test]
    fn hand_off_moves_a_plain_sends_value_into_the_ring() {
        let ring = Ring::new(1);
        let (a, b) = (aborted(), Task::new());
        let (mut sa, mut sb) = (Some(1), Some(9));
        let (pa, pb) = (&raw mut sa, &raw mut sb);
        let mut q = WaitQueue::<u32>::new();
        q.push(entry(&a, 0, pa));
        q.push(entry(&b, 2, pb));
        let (t, pushed) = q.hand_off(&ring);
        assert!(same(&t.unwrap(), &b));
        assert!(pushed);
        assert_eq!(b.wait_state(), done(2, false));
        assert_eq!((read(pa), read(pb)), (Some(1), None));
        assert_eq!(q.len(), 0);
        assert!(matches!(ring.pop(), Pop::Value(9)));
        let (t, pushed) = q.hand_off(&ring);
        assert!(t.is_none() && !pushed);
    }

    #[test]
    fn hand_off_wakes_a_select_sender_without_moving_anything() {
        let ring = Ring::<u32>::new(1);
        let a = Task::new();
        let mut q = WaitQueue::new();
        q.push(entry(&a, 3, no_slot()));
        let (t, pushed) = q.hand_off(&ring);
        assert!(same(&t.unwrap(), &a));
        assert!(!pushed);
        assert_eq!(a.wait_state(), done(3, false));
        assert_eq!(ring.len(), 0);
    }

    #[test]
    fn hand_off_to_a_full_or_closed_ring_leaves_the_value_with_its_sender() {
        for close in [false, true] {
            let ring = Ring::new(1);
            if close {
                assert!(ring.close());
            } else {
                assert!(matches!(ring.push(1), Push::Done));
            }
            let a = Task::new();
            let mut sa = Some(9);
            let pa = &raw mut sa;
            let mut q = WaitQueue::new();
            q.push(entry(&a, 0, pa));
            let (t, pushed) = q.hand_off(&ring);
            assert!(same(&t.unwrap(), &a), "closed: {close}");
            assert!(!pushed);
            assert_eq!(read(pa), Some(9));
            assert_eq!(a.wait_state(), done(0, false));
            assert_eq!(ring.len(), usize::from(!close));
        }
    }

    #[test]
    fn close_all_decides_every_waiting_entry_as_closed() {
        let (a, b, c) = (Task::new(), aborted(), Task::new());
        let (mut sa, mut sc) = (Some(1), None);
        let (pa, pc) = (&raw mut sa, &raw mut sc);
        let mut q = WaitQueue::<u32>::new();
        q.push(entry(&a, 0, pa));
        q.push(entry(&b, 1, no_slot()));
        q.push(entry(&c, 2, pc));
        let mut wake = Vec::new();
        q.close_all(&mut wake);
        assert_eq!(q.len(), 0);
        assert_eq!(wake.len(), 2);
        assert!(same(&wake[0], &a) && same(&wake[1], &c));
        let states = [a.wait_state(), b.wait_state(), c.wait_state()];
        assert_eq!(states, [done(0, true), ABORTED, done(2, true)]);
        assert_eq!((read(pa), read(pc)), (Some(1), None), "slots untouched");
    }

    /// A value whose drop aborts `task`'s wait: dropped inside `give`
    /// (a slot's old content is dropped when it is written), it decides
    /// the receiver after it was picked and before its CAS.
    #[derive(Debug)]
    struct AbortOnDrop(Option<TaskRef>, u32);

    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            if let Some(t) = self.0.take() {
                assert!(t.try_decide(ABORTED));
            }
        }
    }

    #[test]
    fn give_takes_the_value_back_from_a_receiver_decided_meanwhile() {
        let (a, b) = (Task::new(), Task::new());
        let mut sa = Some(AbortOnDrop(Some(a.clone()), 0));
        let mut sb = None;
        let (pa, pb) = (&raw mut sa, &raw mut sb);
        let mut q = WaitQueue::new();
        q.push(entry(&a, 0, pa));
        q.push(entry(&b, 1, pb));
        let woken = q.give(AbortOnDrop(None, 5), None).unwrap();
        assert!(same(&woken, &b));
        assert_eq!(a.wait_state(), ABORTED);
        assert_eq!(b.wait_state(), done(1, false));
        // SAFETY: the slots are this test's locals, out of the queue.
        let (va, vb) = unsafe { ((*pa).as_ref().map(|v| v.1), (*pb).as_ref().map(|v| v.1)) };
        assert_eq!((va, vb), (None, Some(5)), "the value did not move on");
        assert_eq!(q.len(), 0);

        let c = Task::new();
        let mut sc = Some(AbortOnDrop(Some(c.clone()), 0));
        q.push(entry(&c, 0, &raw mut sc));
        let back = q.give(AbortOnDrop(None, 6), None).unwrap_err();
        assert_eq!(back.1, 6);
        assert_eq!(q.len(), 0);
    }

    /// `rounds` times: reopen `t`'s wait, then run `op` (which queues an
    /// entry of `t` and serves it) on this thread while another thread
    /// runs `abort` (which aborts `t`'s wait, maybe after waiting for a
    /// sign that `op` is under way). Returns, per round, what `op`
    /// returned and whether the abort won.
    fn race_an_abort<R>(
        rounds: usize,
        t: &TaskRef,
        abort: impl Fn(usize) -> bool + Sync,
        mut op: impl FnMut(usize, &mut WaitQueue<u32>) -> R,
    ) -> Vec<(R, bool)> {
        let start = Barrier::new(2);
        let end = Barrier::new(2);
        std::thread::scope(|s| {
            let aborter = s.spawn(|| {
                (0..rounds)
                    .map(|r| {
                        start.wait();
                        let won = abort(r);
                        end.wait();
                        won
                    })
                    .collect::<Vec<bool>>()
            });
            let mut out = Vec::with_capacity(rounds);
            for r in 0..rounds {
                let mut q = WaitQueue::new();
                t.begin_wait();
                start.wait();
                out.push(op(r, &mut q));
                end.wait();
                assert_eq!(q.len(), 0, "round {r}: an entry stayed queued");
            }
            let aborted = aborter.join().unwrap();
            out.into_iter().zip(aborted).collect()
        })
    }

    #[test]
    fn a_give_racing_an_abort_lands_in_exactly_one_place() {
        let t = Task::new();
        let mut slot = None;
        let p = &raw mut slot;
        let abort = |_| t.try_decide(ABORTED);
        let results = race_an_abort(scaled(10_000), &t, abort, |r, q| {
            // SAFETY: the slot is this test's local, not queued anywhere.
            unsafe { *p = None };
            q.push(entry(&t, 0, p));
            let given = q.give(r as u32, None).map(|w| same(&w, &t));
            (given, read(p), t.wait_state())
        });
        for (r, ((given, slot, state), aborted)) in results.into_iter().enumerate() {
            let r = r as u32;
            if aborted {
                assert_eq!((given, slot, state), (Err(r), None, ABORTED), "round {r}");
            } else {
                assert_eq!((given, slot, state), (Ok(true), Some(r), done(0, false)));
            }
        }
    }

    #[test]
    fn a_take_racing_an_abort_lands_in_exactly_one_place() {
        let t = Task::new();
        let mut slot = None;
        let p = &raw mut slot;
        let abort = |_| t.try_decide(ABORTED);
        let results = race_an_abort(scaled(10_000), &t, abort, |r, q| {
            // SAFETY: the slot is this test's local, not queued anywhere.
            unsafe { *p = Some(r as u32) };
            q.push(entry(&t, 0, p));
            let taken = q.take(None).map(|(v, w)| (v, same(&w, &t)));
            (taken, read(p), t.wait_state())
        });
        for (r, ((taken, slot, state), aborted)) in results.into_iter().enumerate() {
            let r = r as u32;
            if aborted {
                assert_eq!((taken, slot, state), (None, Some(r), ABORTED), "round {r}");
            } else {
                assert_eq!(
                    (taken, slot, state),
                    (Some((r, true)), None, done(0, false))
                );
            }
        }
    }

    /// The narrow case, an abort between the push and the CAS (a sender
    /// whose value was sent though it gave up), is rarely hit this way.
    #[test]
    fn a_hand_off_racing_an_abort_loses_no_value() {
        let t = Task::new();
        let ring = Ring::new(1);
        let mut slot = None;
        let p = &raw mut slot;
        let abort = |_| t.try_decide(ABORTED);
        let results = race_an_abort(scaled(10_000), &t, abort, |r, q| {
            // SAFETY: the slot is this test's local, not queued anywhere.
            unsafe { *p = Some(r as u32) };
            q.push(entry(&t, 0, p));
            let (woken, pushed) = q.hand_off(&ring);
            let in_ring = match ring.pop() {
                Pop::Value(v) => Some(v),
                _ => None,
            };
            let woken = woken.map(|w| same(&w, &t));
            (woken, pushed, in_ring, read(p), t.wait_state())
        });
        for (r, ((woken, pushed, in_ring, slot, state), aborted)) in results.into_iter().enumerate()
        {
            let v = Some(r as u32);
            let got = (woken, pushed, in_ring, slot, state);
            if !aborted {
                assert_eq!(got, (Some(true), true, v, None, done(0, false)));
            } else if pushed {
                // Aborted after its entry was picked: the send happened.
                assert_eq!(got, (None, true, v, None, ABORTED), "round {r}");
            } else {
                assert_eq!(got, (None, false, None, v, ABORTED), "round {r}");
            }
        }
    }
}
