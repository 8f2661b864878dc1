//! The threads scheduler (1:1): every goroutine runs on an OS thread of its
//! own, taken from a pool of idle threads so spawning costs a wake-up, not a
//! `clone(2)` and a stack mapping.
//!
//! Invariants:
//! - a worker is in `idle` only while its `state` is `IDLE` and its job slot
//!   is empty; whoever pops it from `idle` (under the lock) owns the slot,
//!   fills it, then publishes `ASSIGNED` and wakes it;
//! - an idle worker lingers `LINGER` and then removes itself, but only if it
//!   is still in `idle`; if it was popped meanwhile, a job is on its way and
//!   it waits for it;
//! - a job does not unwind (the runtime catches a goroutine's panics); if
//!   one does, the process ends (`run_owned_thread`), not the thread alone.
//!
//! The pool list is a `ShortLock` (rank `ThreadPool`): this layer sits
//! below `Futex` and `gort::sync`.

use core::time::Duration;
use std::cell::UnsafeCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::lockrank::LockRank;
use crate::platform::ShortLock;

pub(crate) type Job = Box<dyn FnOnce() + Send>;

const IDLE: u32 = 0;
const ASSIGNED: u32 = 1;

/// How long an idle pool thread waits for work before it exits.
const LINGER: Duration = Duration::from_secs(10);

pub(crate) struct ThreadPool {
    stack_size: usize,
    idle: ShortLock<Vec<Arc<Worker>>>,
}

struct Worker {
    state: AtomicU32,
    job: UnsafeCell<Option<Job>>,
}

// SAFETY: `job` is written only by the thread that popped the worker from
// `idle` (exclusive by the pool lock) before it publishes ASSIGNED, and read
// only by the worker after it observes ASSIGNED (Acquire).
unsafe impl Sync for Worker {}

impl ThreadPool {
    pub(crate) fn new(stack_size: usize) -> Arc<Self> {
        Arc::new(ThreadPool {
            stack_size,
            idle: ShortLock::new(LockRank::ThreadPool, Vec::new()),
        })
    }

    /// Runs `job` on a pooled thread, starting a new one if none is idle.
    pub(crate) fn spawn(self: &Arc<Self>, job: Job) {
        let worker = self.idle.lock().pop();
        match worker {
            Some(w) => {
                // SAFETY: popping `w` made us the slot's only writer, and the
                // worker reads it only after the ASSIGNED store below.
                unsafe { *w.job.get() = Some(job) };
                w.state.store(ASSIGNED, Ordering::Release);
                crate::platform::futex_wake(&w.state);
            }
            None => {
                let pool = self.clone();
                let me = Arc::new(Worker {
                    state: AtomicU32::new(ASSIGNED),
                    job: UnsafeCell::new(None),
                });
                super::thread_limit::start_thread(
                    "goroutine".into(),
                    Some(self.stack_size),
                    move || pool.work(me, job),
                );
            }
        }
    }

    fn work(&self, me: Arc<Worker>, first: Job) {
        super::register_thread();
        let mut job = first;
        loop {
            job();
            me.state.store(IDLE, Ordering::Relaxed);
            self.idle.lock().push(me.clone());
            match self.wait_for_job(&me) {
                Some(next) => job = next,
                None => return,
            }
        }
    }

    /// The next job, or `None` if the worker lingered and left the pool.
    fn wait_for_job(&self, me: &Arc<Worker>) -> Option<Job> {
        let mut deadline = crate::platform::deadline_after(LINGER);
        loop {
            if me.state.load(Ordering::Acquire) == ASSIGNED {
                // SAFETY: ASSIGNED (Acquire) follows the popper's write of the
                // slot, and nobody writes it again until we are idle again.
                return unsafe { (*me.job.get()).take() };
            }
            let left = deadline
                .map(|d| Duration::from_nanos(d.saturating_sub(crate::platform::now_nanos())));
            let timed_out = {
                let _asleep = crate::deadlock::Asleep::new(crate::futex::WaitReason::Internal);
                !super::parked(|| crate::platform::futex_wait(&me.state, IDLE, left))
            };
            if timed_out {
                let mut idle = self.idle.lock();
                if let Some(pos) = idle.iter().position(|w| Arc::ptr_eq(w, me)) {
                    idle.swap_remove(pos);
                    return None;
                }
                // Popped meanwhile: a job is on its way; wait for it.
                deadline = None;
            }
        }
    }
}
