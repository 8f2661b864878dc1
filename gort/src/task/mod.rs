//! Layer 2: the goroutine (`Task`) and the two verbs every blocking
//! operation is built from, `park` and `unpark`.
//!
//! Each OS thread has a current task: the goroutine it runs, or for a plain
//! thread (such as `main`) a task made for it on first use, so plain threads
//! block on gort primitives as themselves.
//!
//! Park protocol (one word per task): `EMPTY` → `PARKED` while asleep;
//! `unpark` stores `NOTIFIED` and wakes. An unpark that comes before the
//! park leaves `NOTIFIED`, and the next park consumes it and returns at
//! once, so the order of the two never loses a wakeup.
//!
//! Schedulers: `threads` (here, 1:1) parks the OS thread on the task's
//! word. The M:N scheduler will switch the goroutine out instead; only the
//! bodies of `park`/`unpark` change.

pub(crate) mod threads;

use core::time::Duration;
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

const EMPTY: u32 = 0;
const NOTIFIED: u32 = 1;
const PARKED: u32 = u32::MAX;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A goroutine, or a plain OS thread seen as one.
#[derive(Debug)]
pub struct Task {
    id: u64,
    park_state: AtomicU32,
    /// The state of the channel operation or `select` this task is blocked
    /// in (see `chan::waiter`); it lives with the task so blocking on a
    /// channel allocates nothing.
    pub(crate) select_state: AtomicUsize,
}

/// A shared handle to a task: what wakers keep to `unpark` it.
pub type TaskRef = Arc<Task>;

thread_local! {
    static CURRENT: RefCell<Option<TaskRef>> = const { RefCell::new(None) };
}

impl Task {
    pub(crate) fn new() -> TaskRef {
        Arc::new(Task {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            park_state: AtomicU32::new(EMPTY),
            select_state: AtomicUsize::new(0),
        })
    }

    /// The goroutine id, unique for the life of the process (plain threads
    /// get one on first use too).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Makes the task runnable: its current or next `park` returns.
    pub fn unpark(&self) {
        if self.park_state.swap(NOTIFIED, Ordering::Release) == PARKED {
            crate::platform::futex_wake(&self.park_state);
        }
    }
}

/// The task running on this thread.
pub fn current() -> TaskRef {
    CURRENT.with(|c| c.borrow_mut().get_or_insert_with(Task::new).clone())
}

/// Installs `task` as this thread's current task (a scheduler starting a
/// goroutine on a thread it owns).
pub(crate) fn set_current(task: Option<TaskRef>) {
    CURRENT.with(|c| *c.borrow_mut() = task);
}

/// Blocks the current task until `unpark` is called on it (or was called
/// since the last park). May return spuriously; callers re-check.
pub fn park() {
    park_inner(None);
}

/// Like `park`, but gives up after `timeout`; returns `false` if it timed
/// out without being unparked.
pub fn park_timeout(timeout: Duration) -> bool {
    park_inner(Some(timeout))
}

fn park_inner(timeout: Option<Duration>) -> bool {
    let task = current();
    let state = &task.park_state;
    // NOTIFIED → EMPTY (consume the token) or EMPTY → PARKED.
    if state.fetch_sub(1, Ordering::Acquire) == NOTIFIED {
        return true;
    }
    let deadline = timeout.and_then(crate::platform::deadline_after);
    loop {
        let remaining = match (timeout, deadline) {
            (None, _) => None,
            (Some(t), None) => Some(t), // too large to be a deadline: forever
            (Some(_), Some(d)) => Some(Duration::from_nanos(
                d.saturating_sub(crate::platform::now_nanos()),
            )),
        };
        let woken = crate::platform::futex_wait(state, PARKED, remaining);
        if state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return true;
        }
        if !woken {
            // Timed out: leave PARKED unless an unpark slipped in just now.
            return state.swap(EMPTY, Ordering::Acquire) == NOTIFIED;
        }
    }
}
