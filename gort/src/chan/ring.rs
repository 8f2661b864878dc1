//! The buffer of a buffered channel: a bounded lock-free ring (Vyukov's
//! array queue) whose tail also carries the channel's "closed" bit.
//!
//! Positions. `head` is the next position to pop, `tail` the next to push.
//! A position encodes `(lap, index)` as `lap * lap_len + index`, where
//! `index < cap` and `lap_len = 2 * (cap + 1).next_power_of_two()`: the bit
//! `lap_len / 2` is never part of an index or a lap, and in `tail` it is the
//! `CLOSED` bit. Laps wrap with the word, so positions and stamps are only
//! compared by (wrapping) distance.
//!
//! Invariants:
//! - every slot has a `stamp`, kept relative to the slot's index: with
//!   `lap(p) = p & !(lap_len - 1)` (`p` without its index), and `p`'s index
//!   that of the slot, `stamp == lap(p)` means the slot is free for the
//!   push at `p`; `lap(p) + 1` means it holds the value pushed at `p`,
//!   ready for the pop at `p`. The pop at `p` stores `lap(p) + lap_len`:
//!   free for the push one lap later. So all-zero slots are free for the
//!   first lap, and the slot array is allocated zeroed: a big buffer's
//!   pages stay untouched (not resident) until pushes reach them;
//! - a push claims `p` by a CAS of `tail` from `p` (so never once `CLOSED`
//!   is set), then writes the value, then publishes it with the stamp
//!   (Release); a pop claims `p` by a CAS of `head`, reads, then frees the
//!   slot with the stamp. So a value is read by exactly one pop, after its
//!   write, and a slot is rewritten only after its read;
//! - nobody waits for anybody here: a pop that finds the value at `head`
//!   claimed but not yet published reports `Empty`, and a push that finds
//!   the slot at `tail` still being emptied reports `Full`. The operation
//!   under way completes on its own and then, through the waiting layer,
//!   wakes whoever queued meanwhile (every queued receiver once closed:
//!   a pop may find the ring closed while a push claimed before the close
//!   is still unpublished, and reports `Empty`, not `Closed`). Loops run
//!   only after another thread made progress (a lost CAS, or a stamp
//!   showing our position is old);
//! - a stamp is published (Release) before the publisher's SeqCst fence in
//!   the waiting layer (`channel.rs`), and `can_pop`/`can_push` read the
//!   stamps after the waiter's fence: the Dekker pairing that keeps a value
//!   from sitting in the ring while a receiver sleeps (and a free place
//!   while a sender sleeps).

use alloc::boxed::Box;
use core::mem::MaybeUninit;

use crate::shim::UnsafeCell;
use crate::shim::atomic::AtomicUsize;
use crate::shim::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};

pub(crate) enum Push<T> {
    Done,
    Full(T),
    Closed(T),
}

pub(crate) enum Pop<T> {
    Value(T),
    Empty,
    /// Closed and drained.
    Closed,
}

struct Slot<T> {
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// Keeps `head` and `tail` on separate cache lines (they are written by
/// different sides).
#[repr(align(128))]
struct Padded(AtomicUsize);

pub(crate) struct Ring<T> {
    head: Padded,
    tail: Padded,
    slots: Box<[Slot<T>]>,
    lap_len: usize,
}

// SAFETY: values of `T` cross threads through the ring (hence `T: Send`);
// every slot access is made exclusive by the stamp protocol above.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as above; `&Ring` only pushes and pops under that protocol.
unsafe impl<T: Send> Sync for Ring<T> {}

/// How far a slot's stamp is ahead of the lap `lap` (negative: behind):
/// 0 is "free for the push of this lap", 1 "published in this lap".
fn distance(stamp: usize, lap: usize) -> isize {
    stamp.wrapping_sub(lap) as isize
}

/// Go's words for a buffer that cannot be had.
fn size_out_of_range() -> ! {
    panic!("makechan: size out of range")
}

/// `cap >= 1` slots, free for the first lap (stamp 0). Zeroed memory: for
/// a big buffer the allocator hands out fresh pages from the OS, which
/// cost nothing until touched. A failed allocation is a panic, not an
/// abort.
#[cfg(not(loom))]
fn free_slots<T>(cap: usize) -> Box<[Slot<T>]> {
    let Ok(layout) = core::alloc::Layout::array::<Slot<T>>(cap) else {
        size_out_of_range()
    };
    // SAFETY: the layout is not zero-sized: `cap >= 1`, and a slot holds
    // a stamp.
    let ptr = unsafe { alloc::alloc::alloc_zeroed(layout) }.cast::<Slot<T>>();
    if ptr.is_null() {
        size_out_of_range()
    }
    // SAFETY: `ptr` is a fresh global allocation with the layout of
    // `[Slot<T>; cap]`, as `Box` needs to own and free it; all-zero bytes
    // are a valid `Slot`: a stamp of 0 and an uninitialised value.
    unsafe { Box::from_raw(core::ptr::slice_from_raw_parts_mut(ptr, cap)) }
}

/// Under loom, atomics and cells carry the model's state: build them.
#[cfg(loom)]
fn free_slots<T>(cap: usize) -> Box<[Slot<T>]> {
    (0..cap)
        .map(|_| Slot {
            stamp: AtomicUsize::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        })
        .collect()
}

/// After losing a CAS to another thread: spin a little, doubling up to 64
/// pause hints, so contending pushers (or poppers) stop taking the line
/// from each other on every try. Only ever delays us; never waits for
/// anyone (loom sees no difference).
fn back_off(lost: &mut u32) {
    for _ in 0..1u32 << (*lost).min(6) {
        core::hint::spin_loop();
    }
    *lost += 1;
}

/// The current value of `a`, known to have moved on from `old`. A failing
/// CAS reads the newest value and writes nothing; a plain reload could
/// return `old` again (hardware would not for long; loom may forever).
fn moved_on(a: &AtomicUsize, old: usize) -> usize {
    match a.compare_exchange(old, old, Relaxed, Relaxed) {
        Ok(v) | Err(v) => v,
    }
}

impl<T> Ring<T> {
    /// A ring of `cap >= 1` places.
    ///
    /// # Panics
    /// Go's "makechan: size out of range" if the buffer cannot be sized.
    pub(crate) fn new(cap: usize) -> Self {
        assert!(cap >= 1);
        let Some(lap_len) = cap
            .checked_add(1)
            .and_then(usize::checked_next_power_of_two)
            .and_then(|p| p.checked_mul(2))
        else {
            size_out_of_range()
        };
        Ring {
            head: Padded(AtomicUsize::new(0)),
            tail: Padded(AtomicUsize::new(0)),
            slots: free_slots(cap),
            lap_len,
        }
    }

    fn closed_bit(&self) -> usize {
        self.lap_len / 2
    }

    fn slot(&self, pos: usize) -> &Slot<T> {
        &self.slots[pos & (self.lap_len - 1)]
    }

    /// The lap of `pos` (which has no `CLOSED` bit): `pos` without its
    /// index.
    fn lap(&self, pos: usize) -> usize {
        pos & !(self.lap_len - 1)
    }

    /// The position after `pos` (which has no `CLOSED` bit).
    fn next(&self, pos: usize) -> usize {
        if (pos & (self.lap_len - 1)) + 1 < self.slots.len() {
            pos + 1
        } else {
            self.lap(pos).wrapping_add(self.lap_len)
        }
    }

    pub(crate) fn push(&self, value: T) -> Push<T> {
        let mut tail = self.tail.0.load(Relaxed);
        let mut lost = 0;
        loop {
            if tail & self.closed_bit() != 0 {
                return Push::Closed(value);
            }
            let slot = self.slot(tail);
            let lap = self.lap(tail);
            let d = distance(slot.stamp.load(Acquire), lap);
            if d == 0 {
                let next = self.next(tail);
                match self
                    .tail
                    .0
                    .compare_exchange_weak(tail, next, SeqCst, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: the CAS made position `tail` ours; the
                        // stamp says its last value was read; nobody else
                        // touches the slot until we publish.
                        slot.value.with_mut(|v| unsafe { (*v).write(value) });
                        slot.stamp.store(lap + 1, Release);
                        return Push::Done;
                    }
                    Err(t) => {
                        back_off(&mut lost);
                        tail = t;
                    }
                }
            } else if d > 0 {
                tail = moved_on(&self.tail.0, tail); // filled already
            } else {
                return Push::Full(value); // last lap's value is still here
            }
        }
    }

    pub(crate) fn pop(&self) -> Pop<T> {
        let mut head = self.head.0.load(Relaxed);
        let mut lost = 0;
        loop {
            let slot = self.slot(head);
            let lap = self.lap(head);
            let d = distance(slot.stamp.load(Acquire), lap);
            if d == 1 {
                let next = self.next(head);
                match self
                    .head
                    .0
                    .compare_exchange_weak(head, next, SeqCst, Relaxed)
                {
                    Ok(_) => {
                        // SAFETY: the CAS made position `head` ours and the
                        // stamp (Acquire) says its value is written; nobody
                        // else reads it, and no push rewrites it until we
                        // free the slot below.
                        let value = slot.value.with_mut(|v| unsafe { (*v).assume_init_read() });
                        slot.stamp.store(lap.wrapping_add(self.lap_len), Release);
                        return Pop::Value(value);
                    }
                    Err(h) => {
                        back_off(&mut lost);
                        head = h;
                    }
                }
            } else if d > 1 {
                head = moved_on(&self.head.0, head); // taken already
            } else if self.tail.0.load(SeqCst) == head | self.closed_bit() {
                return Pop::Closed;
            } else {
                return Pop::Empty; // nothing published (a push may be under way)
            }
        }
    }

    pub(crate) fn cap(&self) -> usize {
        self.slots.len()
    }

    /// Sets the closed bit; false if it was set already.
    pub(crate) fn close(&self) -> bool {
        self.tail.0.fetch_or(self.closed_bit(), SeqCst) & self.closed_bit() == 0
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.tail.0.load(SeqCst) & self.closed_bit() != 0
    }

    /// Whether a receive would not wait: a value is published at `head`
    /// (or `head` is old), or the ring is closed and drained. The caller
    /// fenced (SeqCst) first.
    pub(crate) fn can_pop(&self) -> bool {
        let head = self.head.0.load(Relaxed);
        distance(self.slot(head).stamp.load(Acquire), self.lap(head)) >= 1
            || self.tail.0.load(Relaxed) == head | self.closed_bit()
    }

    /// Whether a send would not wait: the slot at `tail` is free (or
    /// `tail` is old), or the ring is closed. The caller fenced (SeqCst)
    /// first.
    pub(crate) fn can_push(&self) -> bool {
        let tail = self.tail.0.load(Relaxed);
        tail & self.closed_bit() != 0
            || distance(self.slot(tail).stamp.load(Acquire), self.lap(tail)) >= 0
    }

    /// Values in the ring at one moment (claimed pushes count, claimed pops
    /// do not).
    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.0.load(SeqCst);
            let head = self.head.0.load(SeqCst);
            if self.tail.0.load(SeqCst) != tail {
                continue;
            }
            let tail = tail & !self.closed_bit();
            let mask = self.lap_len - 1;
            let (hi, ti) = (head & mask, tail & mask);
            return if hi < ti {
                ti - hi
            } else if hi > ti {
                self.slots.len() - hi + ti
            } else if tail == head {
                0
            } else {
                self.slots.len()
            };
        }
    }
}

impl<T> Ring<T> {
    /// Drops the values still published.
    fn drop_values(&self) {
        while let Pop::Value(v) = self.pop() {
            drop(v);
        }
    }
}

impl<T> Drop for Ring<T> {
    /// No other handle exists: every operation is complete, so the values
    /// still published are exactly the ones never received. If one value's
    /// drop panics, the rest are still dropped while the panic goes on (as
    /// std's collections do; a second panic aborts).
    fn drop(&mut self) {
        struct DropRest<'a, T>(&'a Ring<T>);
        impl<T> Drop for DropRest<'_, T> {
            fn drop(&mut self) {
                self.0.drop_values();
            }
        }
        let rest = DropRest(self);
        rest.0.drop_values();
    }
}
