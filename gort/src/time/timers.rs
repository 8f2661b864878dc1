//! The one timer facility: a min-heap of deadlines served by one thread.
//! It serves `sleep`, `after`, `tick`, `Timer`, `Ticker` and every channel
//! and `select` timeout.
//!
//! Invariants:
//! - `actions` holds exactly the armed timers; a heap entry whose id is not
//!   in `actions` was disarmed and is skipped when it surfaces, and the
//!   heap is rebuilt when such stale entries outnumber live ones, so a
//!   program that arms and disarms 100,000 timers stays O(log n) per step;
//! - the timer thread sleeps on `epoch` until `sleeping_until`; arming an
//!   earlier deadline bumps `epoch` and wakes it, and the thread reads the
//!   epoch under the lock before deciding how long to sleep, so no earlier
//!   deadline is missed;
//! - actions run with no lock of ours held (a timer's own lock comes
//!   first, then a channel's: see `time::TimerShared`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::TimerShared;
use crate::futex::Futex;
use crate::sync::Mutex;
use crate::task::TaskRef;

/// What happens when a timer fires.
pub(crate) enum Action {
    Unpark(TaskRef),
    Fire(Arc<TimerShared>),
}

/// Names an armed timer, to disarm it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerId(u64);

struct Heap {
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    actions: HashMap<u64, Action>,
    next_id: u64,
    sleeping_until: u64,
}

struct Timers {
    heap: Mutex<Heap>,
    epoch: Futex,
}

fn timers() -> &'static Timers {
    static TIMERS: OnceLock<Timers> = OnceLock::new();
    static STARTED: std::sync::Once = std::sync::Once::new();
    let t = TIMERS.get_or_init(|| Timers {
        heap: Mutex::new(Heap {
            queue: BinaryHeap::new(),
            actions: HashMap::new(),
            next_id: 1,
            sleeping_until: u64::MAX,
        }),
        epoch: Futex::new(0),
    });
    // The thread gets the facility by reference: it must not wait on the
    // initialisation that is starting it.
    STARTED.call_once(|| {
        std::thread::Builder::new()
            .name("gort-timers".into())
            .spawn(move || run(t))
            .expect("gort: cannot start the timer thread");
    });
    t
}

/// Unparks `task` at `deadline` (a `now_nanos` time).
pub(crate) fn arm_unpark(deadline: u64, task: TaskRef) -> TimerId {
    arm(deadline, Action::Unpark(task))
}

/// Calls `timer.fire(id)` at `deadline`.
pub(crate) fn arm_fire(deadline: u64, timer: Arc<TimerShared>) -> TimerId {
    arm(deadline, Action::Fire(timer))
}

fn arm(deadline: u64, action: Action) -> TimerId {
    let t = timers();
    let (id, wake) = {
        let mut h = t.heap.lock();
        let id = h.next_id;
        h.next_id += 1;
        h.queue.push(Reverse((deadline, id)));
        h.actions.insert(id, action);
        let wake = deadline < h.sleeping_until;
        if wake {
            h.sleeping_until = deadline;
            t.epoch.fetch_add(1, Ordering::Release);
        }
        (id, wake)
    };
    if wake {
        t.epoch.wake();
    }
    TimerId(id)
}

/// Disarms a timer; true if it had not fired yet.
pub(crate) fn disarm(id: TimerId) -> bool {
    let mut h = timers().heap.lock();
    let was_armed = h.actions.remove(&id.0).is_some();
    if h.queue.len() > 64 && h.queue.len() > 2 * h.actions.len() {
        let live = &h.actions;
        let kept: Vec<_> = h
            .queue
            .iter()
            .filter(|Reverse((_, id))| live.contains_key(id))
            .copied()
            .collect();
        h.queue = BinaryHeap::from(kept);
    }
    was_armed
}

/// Timers armed and not yet fired or disarmed.
pub(crate) fn pending() -> usize {
    timers().heap.lock().actions.len()
}

fn run(t: &'static Timers) {
    let mut due = Vec::new();
    loop {
        let now = crate::platform::now_nanos();
        let (epoch, next) = {
            let mut h = t.heap.lock();
            while let Some(&Reverse((deadline, id))) = h.queue.peek() {
                if deadline > now && h.actions.contains_key(&id) {
                    break;
                }
                h.queue.pop();
                if let Some(action) = h.actions.remove(&id) {
                    due.push((id, action));
                }
            }
            let next = h.queue.peek().map_or(u64::MAX, |Reverse((d, _))| *d);
            h.sleeping_until = next;
            (t.epoch.load(Ordering::Acquire), next)
        };
        if !due.is_empty() {
            for (id, action) in due.drain(..) {
                match action {
                    Action::Unpark(task) => task.unpark(),
                    Action::Fire(timer) => timer.fire(TimerId(id)),
                }
            }
            continue;
        }
        let timeout = (next != u64::MAX).then(|| Duration::from_nanos(next.saturating_sub(now)));
        match timeout {
            Some(d) => {
                t.epoch.wait_timeout(epoch, d);
            }
            None => t.epoch.wait_as(epoch, crate::futex::WaitReason::Internal),
        }
    }
}
