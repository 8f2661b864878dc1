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
//! - the first touch of every page of the slots is a write (`touch_ahead`:
//!   a push claiming a page's first slot writes to the slots two pages
//!   ahead). A read of a page nobody wrote maps the shared zero page, and
//!   the first write after it must then flush that mapping from every CPU
//!   the process runs on (an inter-processor interrupt per page, ~20 us:
//!   a 5M-message ring spent most of its time there). Those writes change
//!   nothing (a CAS of 0 to 0) and are not part of the protocol;
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
    /// Slots in a 4 KiB page (at least 1): `touch_ahead`'s stride.
    page_slots: usize,
}

/// Pages ahead of the pushes that `touch_ahead` writes to.
const TOUCH_PAGES: usize = 2;

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
        let ring = Ring {
            head: Padded(AtomicUsize::new(0)),
            tail: Padded(AtomicUsize::new(0)),
            slots: free_slots(cap),
            lap_len,
            page_slots: (4096 / core::mem::size_of::<Slot<T>>()).max(1),
        };
        // The pages before the first push's `touch_ahead` reaches.
        for page in 0..TOUCH_PAGES {
            ring.touch(page * ring.page_slots);
        }
        ring
    }

    /// After a push claimed slot `index`: if it is the first of its page's
    /// stride, writes to the slot `TOUCH_PAGES` pages ahead, so that page's
    /// first touch is a write (module invariants).
    fn touch_ahead(&self, index: usize) {
        if index.is_multiple_of(self.page_slots) {
            self.touch(index + TOUCH_PAGES * self.page_slots);
        }
    }

    /// Writes to slot `index`'s stamp without changing it (a CAS, which
    /// writes even when it fails; an idempotent `fetch_add` may be
    /// compiled to a load). Nothing under loom: there the slots are
    /// built, not fresh pages.
    fn touch(&self, index: usize) {
        #[cfg(not(loom))]
        if let Some(slot) = self.slots.get(index) {
            let _ = slot.stamp.compare_exchange(0, 0, Relaxed, Relaxed);
        }
        #[cfg(loom)]
        let _ = index;
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
                        self.touch_ahead(tail & (self.lap_len - 1));
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

/// The ring alone, against the invariants above: positions and stamps are
/// read directly, and an operation caught half-way is claimed by hand.
#[cfg(all(test, feature = "std", not(loom)))]
mod tests {
    use super::*;
    use alloc::collections::VecDeque;
    use alloc::vec::Vec;
    use std::sync::{Arc, Mutex, mpsc};
    use std::time::Duration;

    #[derive(Debug, PartialEq)]
    enum Pushed<T> {
        Done,
        Full(T),
        Closed(T),
    }

    #[derive(Debug, PartialEq)]
    enum Popped<T> {
        Value(T),
        Empty,
        Closed,
    }

    fn push<T>(r: &Ring<T>, v: T) -> Pushed<T> {
        match r.push(v) {
            Push::Done => Pushed::Done,
            Push::Full(v) => Pushed::Full(v),
            Push::Closed(v) => Pushed::Closed(v),
        }
    }

    fn pop<T>(r: &Ring<T>) -> Popped<T> {
        match r.pop() {
            Pop::Value(v) => Popped::Value(v),
            Pop::Empty => Popped::Empty,
            Pop::Closed => Popped::Closed,
        }
    }

    fn head<T>(r: &Ring<T>) -> usize {
        r.head.0.load(Relaxed)
    }

    fn tail<T>(r: &Ring<T>) -> usize {
        r.tail.0.load(Relaxed)
    }

    fn stamp<T>(r: &Ring<T>, index: usize) -> usize {
        r.slots[index].stamp.load(Relaxed)
    }

    /// A small deterministic generator (xorshift).
    fn rng(x: &mut u64) -> u64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x
    }

    /// Iterations for the long loops: miri interprets every step.
    fn scaled(n: usize) -> usize {
        if cfg!(miri) { n / 100 } else { n }
    }

    /// Exits the process if not dropped within `limit` (a spinning test
    /// that never ends is a failure); joins its thread on drop.
    struct Watchdog {
        cancel: Option<mpsc::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Watchdog {
        fn new(name: &'static str) -> Self {
            let (tx, rx) = mpsc::channel::<()>();
            let limit = Duration::from_secs(300);
            let thread = std::thread::spawn(move || {
                if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                    std::eprintln!("watchdog: test `{name}` still running after {limit:?}");
                    std::process::exit(3);
                }
            });
            Watchdog {
                cancel: Some(tx),
                thread: Some(thread),
            }
        }
    }

    impl Drop for Watchdog {
        fn drop(&mut self) {
            drop(self.cancel.take());
            if let Some(t) = self.thread.take() {
                t.join().unwrap();
            }
        }
    }

    /// A value that records its id in `log` when dropped, and panics
    /// afterwards if `panics`.
    struct Counted {
        id: u32,
        log: Arc<Mutex<Vec<u32>>>,
        panics: bool,
    }

    impl Counted {
        fn new(id: u32, log: &Arc<Mutex<Vec<u32>>>) -> Self {
            Counted {
                id,
                log: log.clone(),
                panics: false,
            }
        }
    }

    impl Drop for Counted {
        fn drop(&mut self) {
            self.log.lock().unwrap().push(self.id);
            if self.panics {
                panic!("drop of {} panics", self.id);
            }
        }
    }

    fn dropped(log: &Arc<Mutex<Vec<u32>>>) -> Vec<u32> {
        let mut ids = log.lock().unwrap().clone();
        ids.sort_unstable();
        ids
    }

    #[cfg(panic = "unwind")]
    fn panic_message(p: std::boxed::Box<dyn core::any::Any + Send>) -> std::string::String {
        match p.downcast::<&'static str>() {
            Ok(s) => std::string::String::from(*s),
            Err(p) => *p.downcast::<std::string::String>().unwrap(),
        }
    }

    #[test]
    fn lap_len_leaves_the_closed_bit_out_of_every_index_and_lap() {
        for (cap, lap_len) in [
            (1, 4),
            (2, 8),
            (3, 8),
            (4, 16),
            (7, 16),
            (8, 32),
            (100, 256),
        ] {
            let r = Ring::<u8>::new(cap);
            assert_eq!(
                (r.cap(), r.lap_len, r.closed_bit()),
                (cap, lap_len, lap_len / 2)
            );
        }
        for cap in 1..=64 {
            let r = Ring::<u8>::new(cap);
            let closed = r.closed_bit();
            assert!(closed.is_power_of_two());
            assert!(cap - 1 < closed, "index {} reaches the closed bit", cap - 1);
            assert_eq!(
                r.lap(usize::MAX) & closed,
                0,
                "the closed bit is part of a lap"
            );
        }
    }

    #[test]
    fn a_new_ring_is_free_for_the_first_lap() {
        let r = Ring::<u32>::new(5);
        assert_eq!((head(&r), tail(&r)), (0, 0));
        assert!((0..5).all(|i| stamp(&r, i) == 0));
        assert_eq!(r.len(), 0);
        assert!(r.can_push());
        assert!(!r.can_pop());
        assert!(!r.is_closed());
        assert_eq!(pop(&r), Popped::Empty);
        assert_eq!(head(&r), 0);
    }

    #[test]
    fn stamps_follow_each_position_over_laps() {
        let r = Ring::<usize>::new(3);
        let lap_len = 8;
        assert_eq!(r.lap_len, lap_len);
        for lap in (0..6).map(|l| l * lap_len) {
            for i in 0..3 {
                assert_eq!(tail(&r), lap + i);
                assert_eq!(stamp(&r, i), lap, "free for the push at {}", lap + i);
                assert_eq!(push(&r, lap + i), Pushed::Done);
                assert_eq!(stamp(&r, i), lap + 1, "published at {}", lap + i);
            }
            assert_eq!(tail(&r), lap + lap_len);
            assert_eq!(push(&r, 99), Pushed::Full(99));
            assert_eq!(tail(&r), lap + lap_len, "a full push moved the tail");
            for i in 0..3 {
                assert_eq!(head(&r), lap + i);
                assert_eq!(pop(&r), Popped::Value(lap + i));
                assert_eq!(stamp(&r, i), lap + lap_len, "free one lap later");
            }
            assert_eq!(head(&r), lap + lap_len);
            assert_eq!(pop(&r), Popped::Empty);
        }
    }

    #[test]
    fn full_and_empty_in_fifo_order_at_every_size() {
        for cap in [1, 2, 3, 4, 5, 8, 13] {
            let r = Ring::<usize>::new(cap);
            for round in 0..3 {
                let base = round * 100;
                for i in 0..cap {
                    assert_eq!(r.len(), i);
                    assert_eq!(push(&r, base + i), Pushed::Done);
                }
                assert_eq!(r.len(), cap);
                assert!(!r.can_push());
                assert!(r.can_pop());
                assert_eq!(push(&r, 7777), Pushed::Full(7777));
                assert_eq!(r.len(), cap);
                for i in 0..cap {
                    assert_eq!(pop(&r), Popped::Value(base + i));
                }
                assert_eq!(pop(&r), Popped::Empty);
                assert_eq!(r.len(), 0);
                assert!(r.can_push());
                assert!(!r.can_pop());
            }
        }
    }

    /// Random pushes and pops against a `VecDeque`, from `start` (a
    /// position every slot's stamp is set free for). Returns how many
    /// values were popped, and the final `head`.
    fn against_a_model(cap: usize, start: usize, steps: usize, seed: u64) -> (usize, usize) {
        let r = Ring::<u64>::new(cap);
        r.head.0.store(start, Relaxed);
        r.tail.0.store(start, Relaxed);
        for s in r.slots.iter() {
            s.stamp.store(start, Relaxed);
        }
        let mut model = VecDeque::new();
        let (mut x, mut next, mut popped) = (seed, 0u64, 0);
        for _ in 0..steps {
            if rng(&mut x) & 1 == 0 {
                let want = if model.len() < cap {
                    model.push_back(next);
                    Pushed::Done
                } else {
                    Pushed::Full(next)
                };
                assert_eq!(push(&r, next), want);
                next += 1;
            } else {
                let want = model.pop_front().map_or(Popped::Empty, Popped::Value);
                popped += usize::from(want != Popped::Empty);
                assert_eq!(pop(&r), want);
            }
            assert_eq!(r.len(), model.len());
            assert_eq!(r.can_pop(), !model.is_empty());
            assert_eq!(r.can_push(), model.len() < cap);
            assert_eq!(tail(&r) & r.closed_bit(), 0);
        }
        (popped, head(&r))
    }

    #[test]
    fn wraps_around_over_many_laps() {
        for cap in [1, 2, 3, 7, 8] {
            let (popped, _) = against_a_model(cap, 0, scaled(20_000), 0x9E37_79B9_7F4A_7C15);
            assert!(
                popped / cap >= 10,
                "only {} laps at cap {cap}",
                popped / cap
            );
        }
    }

    #[test]
    fn positions_wrap_with_the_word() {
        assert_eq!(distance(1, 0), 1);
        assert_eq!(distance(0, 8), -8);
        assert_eq!(distance(8, usize::MAX & !7), 16);
        assert_eq!(distance(usize::MAX & !7, 8), -16);
        for cap in [1, 3, 8] {
            let r = Ring::<u8>::new(cap);
            // Two laps before the top of the word: the run wraps to 0.
            let start = r.lap(usize::MAX).wrapping_sub(2 * r.lap_len);
            let (popped, head) = against_a_model(cap, start, 1_000, 0x2545_F491_4F6C_DD1D);
            assert!(head < start, "head {head:#x} did not wrap at cap {cap}");
            assert!(popped >= 3 * cap);
        }
    }

    #[test]
    fn close_sets_the_bit_once_and_drains_before_closed() {
        let r = Ring::<u32>::new(2);
        assert_eq!(push(&r, 1), Pushed::Done);
        assert!(r.close());
        assert!(!r.close());
        assert!(r.is_closed());
        assert_eq!(tail(&r), 1 | r.closed_bit());
        assert_eq!(push(&r, 2), Pushed::Closed(2));
        assert_eq!(tail(&r), 1 | r.closed_bit());
        assert_eq!(r.len(), 1);
        assert!(r.can_push(), "a send on a closed ring does not wait");
        assert!(r.can_pop());
        assert_eq!(pop(&r), Popped::Value(1));
        assert!(
            r.can_pop(),
            "a receive on a closed, drained ring does not wait"
        );
        assert_eq!(pop(&r), Popped::Closed);
        assert_eq!(pop(&r), Popped::Closed);
        assert_eq!(r.len(), 0);
    }

    #[test]
    fn closed_comes_before_full_and_empty() {
        let full = Ring::<u32>::new(1);
        assert_eq!(push(&full, 1), Pushed::Done);
        assert!(full.close());
        assert_eq!(push(&full, 2), Pushed::Closed(2));
        assert_eq!(pop(&full), Popped::Value(1));
        assert_eq!(pop(&full), Popped::Closed);

        let empty = Ring::<u32>::new(3);
        assert!(empty.close());
        assert_eq!(pop(&empty), Popped::Closed);
        assert_eq!(push(&empty, 3), Pushed::Closed(3));
        assert_eq!(empty.len(), 0);
    }

    #[test]
    fn an_unpublished_push_makes_pop_report_empty_even_once_closed() {
        let r = Ring::<u32>::new(2);
        // A push claims position 0 and has not written yet.
        let claimed = r.tail.0.compare_exchange(0, r.next(0), SeqCst, Relaxed);
        assert_eq!(claimed, Ok(0));
        assert_eq!(r.len(), 1, "a claimed push counts");
        assert_eq!(pop(&r), Popped::Empty);
        assert!(!r.can_pop());
        assert!(r.close());
        assert_eq!(pop(&r), Popped::Empty, "closed, but a value is on its way");
        assert!(!r.can_pop());
        assert_eq!(head(&r), 0);
        // The push completes.
        // SAFETY: position 0 was claimed above and is not published: the
        // slot is ours alone.
        r.slots[0].value.with_mut(|v| unsafe { (*v).write(7) });
        r.slots[0].stamp.store(1, Release);
        assert!(r.can_pop());
        assert_eq!(pop(&r), Popped::Value(7));
        assert_eq!(pop(&r), Popped::Closed);
    }

    #[test]
    fn an_unfinished_pop_makes_push_report_full() {
        let r = Ring::<u32>::new(2);
        assert_eq!(push(&r, 1), Pushed::Done);
        assert_eq!(push(&r, 2), Pushed::Done);
        // A pop claims position 0 and has not read yet.
        assert_eq!(r.head.0.compare_exchange(0, 1, SeqCst, Relaxed), Ok(0));
        assert_eq!(r.len(), 1, "a claimed pop does not count");
        assert!(!r.can_push());
        assert_eq!(
            push(&r, 3),
            Pushed::Full(3),
            "slot 0 is still being emptied"
        );
        assert_eq!(tail(&r), r.lap_len);
        // The pop completes.
        // SAFETY: position 0 was claimed above and its stamp says its
        // value is published; nobody else reads it.
        let v = r.slots[0]
            .value
            .with_mut(|v| unsafe { (*v).assume_init_read() });
        assert_eq!(v, 1);
        r.slots[0].stamp.store(r.lap_len, Release);
        assert!(r.can_push());
        assert_eq!(push(&r, 3), Pushed::Done);
        assert_eq!(pop(&r), Popped::Value(2));
        assert_eq!(pop(&r), Popped::Value(3));
        assert_eq!(pop(&r), Popped::Empty);
    }

    #[test]
    #[cfg(panic = "unwind")] // a panic aborts the binary elsewhere (wasm)
    fn sizes_out_of_range_panic_with_gos_words() {
        // The lap length overflows; then the slot array's layout does.
        for cap in [usize::MAX, usize::MAX / 2 + 1, usize::MAX / 8] {
            match std::panic::catch_unwind(|| Ring::<u64>::new(cap)) {
                Ok(_) => panic!("cap {cap} was accepted"),
                Err(p) => assert_eq!(panic_message(p), "makechan: size out of range"),
            }
        }
        assert!(std::panic::catch_unwind(|| Ring::<u64>::new(0)).is_err());
    }

    #[test]
    fn values_left_in_the_ring_drop_exactly_once() {
        let log = Arc::new(Mutex::new(Vec::new()));
        drop(Ring::<Counted>::new(4));
        assert_eq!(dropped(&log), []);

        // Wrapped: the values of positions 3 to 6, over two laps, remain.
        let r = Ring::new(4);
        for id in 0..4 {
            assert!(matches!(r.push(Counted::new(id, &log)), Push::Done));
        }
        for id in 0..3 {
            match r.pop() {
                Pop::Value(c) => assert_eq!(c.id, id),
                _ => panic!("no value {id}"),
            }
        }
        assert_eq!(dropped(&log), [0, 1, 2]);
        for id in 4..7 {
            assert!(matches!(r.push(Counted::new(id, &log)), Push::Done));
        }
        match r.push(Counted::new(7, &log)) {
            Push::Full(c) => drop(c),
            _ => panic!("not full"),
        }
        assert_eq!(dropped(&log), [0, 1, 2, 7], "a refused value goes back");
        assert!(r.close());
        match r.push(Counted::new(8, &log)) {
            Push::Closed(c) => drop(c),
            _ => panic!("not closed"),
        }
        assert_eq!(r.len(), 4);
        assert_eq!(dropped(&log), [0, 1, 2, 7, 8]);
        drop(r);
        assert_eq!(dropped(&log), [0, 1, 2, 3, 4, 5, 6, 7, 8]);

        // Full, at the smallest size.
        log.lock().unwrap().clear();
        let r = Ring::new(1);
        assert!(matches!(r.push(Counted::new(9, &log)), Push::Done));
        drop(r);
        assert_eq!(dropped(&log), [9]);
    }

    #[test]
    #[cfg(panic = "unwind")] // a panic aborts the binary elsewhere (wasm)
    fn a_panicking_drop_still_drops_the_rest() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let r = Ring::new(3);
        for id in 0..3 {
            let mut c = Counted::new(id, &log);
            c.panics = id == 0;
            assert!(matches!(r.push(c), Push::Done));
        }
        let p = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(r))).unwrap_err();
        assert_eq!(panic_message(p), "drop of 0 panics");
        assert_eq!(dropped(&log), [0, 1, 2]);
    }

    #[test]
    fn concurrent_pushes_and_pops_deliver_each_value_once_in_order() {
        let _dog = Watchdog::new("concurrent_pushes_and_pops");
        let per = scaled(10_000) as u64;
        let r = Ring::<u64>::new(2);
        let got: Vec<Vec<u64>> = std::thread::scope(|s| {
            let consumers: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        let mut got = Vec::new();
                        loop {
                            match r.pop() {
                                Pop::Value(v) => got.push(v),
                                Pop::Empty => std::thread::yield_now(),
                                Pop::Closed => return got,
                            }
                        }
                    })
                })
                .collect();
            let producers: Vec<_> = (0..2u64)
                .map(|p| {
                    let r = &r;
                    s.spawn(move || {
                        for i in 0..per {
                            let mut v = p << 32 | i;
                            loop {
                                match r.push(v) {
                                    Push::Done => break,
                                    Push::Full(back) => v = back,
                                    Push::Closed(_) => panic!("closed early"),
                                }
                                std::thread::yield_now();
                            }
                        }
                    })
                })
                .collect();
            for p in producers {
                p.join().unwrap();
            }
            assert!(r.close());
            consumers.into_iter().map(|c| c.join().unwrap()).collect()
        });
        for g in &got {
            for p in 0..2 {
                let from: Vec<u64> = g.iter().copied().filter(|v| v >> 32 == p).collect();
                assert!(from.windows(2).all(|w| w[0] < w[1]), "out of order");
            }
        }
        let mut all: Vec<u64> = got.concat();
        all.sort_unstable();
        let want: Vec<u64> = (0..2u64)
            .flat_map(|p| (0..per).map(move |i| p << 32 | i))
            .collect();
        assert_eq!(all, want);
        assert_eq!(pop(&r), Popped::Closed);
    }

    #[test]
    fn a_push_racing_close_is_either_received_or_handed_back() {
        let _dog = Watchdog::new("a_push_racing_close");
        let cap = 256;
        for round in 0..scaled(2_000) {
            let r = Ring::<usize>::new(cap);
            let (pushed, refused) = std::thread::scope(|s| {
                let pusher = s.spawn(|| {
                    for i in 0..cap {
                        if let Push::Closed(v) = r.push(i) {
                            return (i, Some(v));
                        }
                    }
                    (cap, None)
                });
                for _ in 0..round % 8 {
                    std::thread::yield_now();
                }
                assert!(r.close());
                pusher.join().unwrap()
            });
            if let Some(v) = refused {
                assert_eq!(v, pushed, "the refused value is the next one");
            }
            assert_eq!(r.len(), pushed);
            for i in 0..pushed {
                assert_eq!(pop(&r), Popped::Value(i));
            }
            assert_eq!(pop(&r), Popped::Closed);
        }
    }
}
