//! The M:N scheduler: goroutines are stackful coroutines (corosensei) run
//! by N worker threads, each from its own run queue, stealing from the
//! others and from a global queue when it runs dry.
//!
//! Invariants:
//! - a goroutine is in exactly one place: running on one worker; queued (a
//!   worker's deque, or the global `injector`); or parked in its task's
//!   slot;
//! - parking: the goroutine suspends itself first; only then, on the
//!   worker's stack, does the worker put it in the task's slot and move the
//!   park word EMPTY → PARKED (Release). An `unpark` that swaps PARKED out
//!   owns the goroutine and queues it; an `unpark` that came earlier left
//!   NOTIFIED, the worker's CAS fails, and the worker runs it again. So no
//!   wakeup is lost and no goroutine runs on two workers;
//! - a worker sleeps only after announcing itself idle (in `idle`, under
//!   its lock) and then, after a SeqCst fence, finding every queue empty;
//!   whoever queues work fences and then wakes one idle worker, unless a
//!   worker is already spinning (looking for work), which will find it. A
//!   spinning worker that finds work wakes another before running it, so
//!   queued work never waits while the other workers sleep, and a burst of
//!   readies wakes workers one at a time, not all at once;
//! - a goroutine readied by a running goroutine goes to its worker's
//!   `runnext` slot (the one it held before moves to the deque) and runs
//!   next there, so a ping-pong pair shares one core and its cache. Other
//!   workers take a `runnext` only on their last look before sleeping, and
//!   only if it held the same goroutine for `RUNNEXT_AGE` (its owner is
//!   stuck, not about to run it);
//! - a worker's deque is LIFO for its owner; thieves take the oldest.
//!   Everything queued is stealable, so a goroutine that blocks its
//!   worker's thread (outside gort) delays only what nobody else steals;
//! - a goroutine about to park (or retrying a channel) spins a little
//!   first only when that can help: another worker exists and its own has
//!   nothing else queued (it delays nobody local);
//! - the stack of a finished goroutine goes back to the pool (`stacks`); a
//!   goroutine's stack is never reused while it can still run;
//! - timers: goroutines' sleeps and timeouts live in the scheduler's own
//!   heap. Workers run due timers (and the stack scavenger, see `stacks`)
//!   at every turn of their loop; an idle worker with none due becomes the
//!   one `timer_waiter` and sleeps until the first deadline. Arming an
//!   earlier one wakes it (or, with no waiter, wakes an idle worker):
//!   after a SeqCst fence the armer reads `timer_waiter`, and the waiter
//!   reads the deadline after publishing itself, so one of them sees the
//!   other. The timer waiter counts as asleep for the deadlock monitor,
//!   which reports only with no timer pending: a deadline it still waits
//!   for then was disarmed, and wakes nobody;
//! - while a goroutine runs, its worker's `GUARD` names the memory just
//!   below its stack: a fault there is its stack overflowing, reported in
//!   Go's words and ending the process with status 2.
//! - a goroutine's task holds its runtime, which owns the scheduler, so
//!   the workers stop only after every goroutine finished: no closure is
//!   dropped unrun, no suspended stack unwound. User code runs only inside
//!   goroutines, under the runtime's `catch_unwind`; a panic that escapes
//!   a worker anyway ends the process (`task::run_owned_thread`).

use std::cell::{Cell, UnsafeCell};
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, fence};
use std::sync::{Arc, Mutex, OnceLock};

use corosensei::stack::Stack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use crossbeam_deque::{Injector, Steal, Stealer, Worker as Deque};

use super::stacks::{GoStack, Stacks};
use super::{EMPTY, NOTIFIED, Task, TaskRef};
use crate::time::timers::{Action, TimerHeap};

/// What a goroutine asks of its worker when it suspends.
pub(crate) enum Request {
    /// Park (see the module invariants).
    Park,
    /// Go to the back of the global queue (`gosched`).
    Yield,
}

type GoYielder = Yielder<(), Request>;

type Job = Box<dyn FnOnce() + Send>;
type GoCoroutine = Coroutine<(), Request, (), GoStack>;

/// A goroutine's code: it gets its stack when it first runs, not when it
/// is spawned, so a burst of spawns queues closures, not stacks.
enum Body {
    New(Job),
    Started {
        co: GoCoroutine,
        /// The addresses whose fault means this stack overflowed: its
        /// guard page and `GUARD_REACH` below it.
        guard: (usize, usize),
        /// The stack's usable part, `[lo, hi)`.
        #[cfg_attr(not(gort_gc), allow(dead_code))]
        usable: (usize, usize),
    },
}

/// The part of a `Task` that only goroutines of this scheduler use. The
/// queues hold `TaskRef`s; the goroutine itself lives here, so spawning
/// allocates nothing beyond the task and the closure.
#[derive(Default)]
pub(crate) struct Slot {
    /// The goroutine's code and stack. Touched only by whoever owns the
    /// goroutine at the moment (module invariants): the worker running it,
    /// or the one that queued it.
    body: UnsafeCell<Option<Body>>,
    /// While PARKED: the task's own reference, which the `unpark` that
    /// swaps PARKED out takes to queue it.
    parked: super::ParkedSlot,
    /// The scheduler the goroutine belongs to; set once when it is spawned
    /// (null for every other task). The task's runtime, which owns the
    /// scheduler, lives as long as the task.
    sched: AtomicPtr<Scheduler>,
    /// Set once when the goroutine starts; null for every other task.
    yielder: AtomicPtr<GoYielder>,
    /// The collector's record of the goroutine's stack, set when it starts.
    #[cfg(gort_gc)]
    stack: AtomicPtr<super::registry::StackRecord>,
}

// SAFETY: `body` and `parked` are handed over by the queues and the park
// word protocol (module invariants), so one thread touches them at a time.
// What a goroutine's stack holds across a park is the user's closure
// state, which is `Send`; the documented hazard is thread-affine state
// (thread-locals) held across a blocking call, as in any M:N runtime.
unsafe impl Sync for Slot {}
// SAFETY: as above.
unsafe impl Send for Slot {}

impl core::fmt::Debug for Slot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Slot")
    }
}

impl Slot {
    /// Switches the goroutine out (`suspend`), its stack published to the
    /// collector meanwhile.
    fn switch_out(&self, yielder: &GoYielder, request: Request) {
        #[cfg(gort_gc)]
        // SAFETY: set when the goroutine started, from its stack, which it
        // owns until it finishes (after its last switch).
        if let Some(rec) = unsafe { self.stack.load(Relaxed).as_ref() } {
            super::registry::goroutine_switches(rec, || yielder.suspend(request));
            return;
        }
        yielder.suspend(request);
    }

    fn yielder(&self) -> Option<&GoYielder> {
        // SAFETY: the pointer was set by this goroutine from the `&Yielder`
        // corosensei passed it, which lives as long as the coroutine; only
        // the goroutine itself calls this (through `current()`).
        unsafe { self.yielder.load(Relaxed).as_ref() }
    }
}

/// Whether the current task is a goroutine of an M:N scheduler.
pub(crate) fn in_goroutine(task: &Task) -> bool {
    task.goroutine.yielder().is_some()
}

/// Parks the current goroutine (see `task::park`). Returns `false` only if
/// `deadline` passed without an unpark.
pub(crate) fn park(
    task: &TaskRef,
    reason: crate::futex::WaitReason,
    deadline: Option<u64>,
) -> bool {
    // An untimed park is counted for the deadlock report by its reason
    // (the goroutine holds no thread, so no thread is counted asleep).
    if deadline.is_none() {
        crate::deadlock::task_waits(reason);
    }
    let woken = super::park_switching_out(
        task,
        deadline,
        || {
            // A wakeup often follows within a microsecond (the counterpart
            // runs on another worker). If that can be so, look for the
            // token a little before switching out: a switch and a requeue
            // cost more than the wait.
            wait_advice() == WaitAdvice::Spin
                && (0..SPIN_BEFORE_PARK).any(|round| {
                    for _ in 0..(1u32 << round) {
                        core::hint::spin_loop();
                    }
                    task.park_state
                        .compare_exchange(NOTIFIED, EMPTY, Acquire, Relaxed)
                        .is_ok()
                })
        },
        || {
            let yielder = task.goroutine.yielder().expect("park: not a goroutine");
            task.goroutine.switch_out(yielder, Request::Park);
        },
    );
    if deadline.is_none() {
        crate::deadlock::task_wakes(reason);
    }
    woken
}

/// Doubling spin rounds a goroutine polls its park token before it
/// switches out (about a microsecond in all).
const SPIN_BEFORE_PARK: u32 = 7;

/// What the caller, waiting for another goroutine's step, should do
/// meanwhile.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitAdvice {
    /// Spin a little: another worker may be taking that step now, and ours
    /// has nothing else queued (so we delay nobody). Also for a plain
    /// thread.
    Spin,
    /// Let our worker run what it has queued (the other goroutine may be
    /// right there, waiting for us to switch).
    Yield,
    /// Switch out for good: ours is the only worker, so nothing we wait
    /// for can happen until we do.
    Park,
}

/// See `WaitAdvice`.
pub(crate) fn wait_advice() -> WaitAdvice {
    let ctx = WORKER.with(Cell::get);
    // SAFETY: a non-null WORKER points at the running worker's context.
    let Some(ctx) = (unsafe { ctx.as_ref() }) else {
        return WaitAdvice::Spin; // not a worker: a plain thread
    };
    // SAFETY: the scheduler outlives its workers' contexts.
    let sched = unsafe { &*ctx.sched };
    if sched.runnext.len() == 1 {
        WaitAdvice::Park
    } else if ctx.local.is_empty() && sched.runnext[ctx.index].is_empty() {
        WaitAdvice::Spin
    } else {
        WaitAdvice::Yield
    }
}

/// Called by `Task::unpark` after it swapped PARKED out: the goroutine is
/// ours to queue. Returns false if the task is not a parked goroutine.
pub(crate) fn unparked(task: &Task) -> bool {
    // SAFETY: `Task::unpark` calls us after its swap saw PARKED.
    match unsafe { task.goroutine.parked.take() } {
        Some(me) => {
            // SAFETY: set at spawn, before the goroutine was first queued;
            // the task's runtime keeps the scheduler alive while we hold
            // the task.
            let sched = unsafe { &*task.goroutine.sched.load(Relaxed) };
            sched.ready(me);
            true
        }
        None => false,
    }
}

/// Arms a timer that unparks `task` at `deadline` in its scheduler's heap,
/// if it is a goroutine of an M:N scheduler; else hands `task` back.
pub(crate) fn arm_timer(deadline: u64, task: TaskRef) -> Result<u64, TaskRef> {
    let sched = task.goroutine.sched.load(Relaxed);
    if sched.is_null() {
        return Err(task);
    }
    // SAFETY: set at spawn; the task's runtime keeps the scheduler alive
    // while we hold the task.
    let sched = unsafe { &*sched };
    let (id, earliest) = sched.timers.arm(deadline, Action::Unpark(task));
    if earliest {
        sched.timer_armed_earlier();
    }
    Ok(id)
}

/// Disarms a timer from `arm_timer`; called by the goroutine that armed
/// it, so its scheduler is the current one. True if it had not fired.
pub(crate) fn disarm_timer(id: u64) -> bool {
    let task = super::current();
    // SAFETY: as in `arm_timer`: the current goroutine armed it, and its
    // scheduler outlives it.
    let sched = unsafe { &*task.goroutine.sched.load(Relaxed) };
    sched.timers.disarm(id)
}

/// Moves the current goroutine to the back of the global queue.
pub(crate) fn yield_now(task: &Task) {
    if let Some(y) = task.goroutine.yielder() {
        task.goroutine.switch_out(y, Request::Yield);
    }
}

/// How long a thief watches a `runnext` slot hold the same goroutine
/// before it takes it, in nanoseconds.
const RUNNEXT_AGE: u64 = 3_000;

/// A worker's "run next" slot: one goroutine, as a raw `TaskRef`
/// (`Arc::into_raw`), or null. Whoever swaps a pointer out owns that
/// reference. Padded to its own cache lines: the owner writes it on every
/// ready, thieves read it.
#[repr(align(128))]
struct RunNext(AtomicPtr<Task>);

impl RunNext {
    /// Puts `t` in the slot; returns the goroutine it displaced.
    fn put(&self, t: TaskRef) -> Option<TaskRef> {
        let old = self.0.swap(TaskRef::into_raw(t).cast_mut(), AcqRel);
        // SAFETY: a non-null pointer in the slot came from `into_raw`, and
        // the swap gave its reference to us alone.
        (!old.is_null()).then(|| unsafe { TaskRef::from_raw(old) })
    }

    /// Empties the slot (the owner, or `Drop`).
    fn take(&self) -> Option<TaskRef> {
        let old = self.0.swap(core::ptr::null_mut(), AcqRel);
        // SAFETY: as in `put`.
        (!old.is_null()).then(|| unsafe { TaskRef::from_raw(old) })
    }

    /// Empties the slot if it holds the same goroutine for `RUNNEXT_AGE`
    /// (a thief): a busy owner gets the time to run it itself, as a
    /// ping-pong partner would be, and only a stuck one is taken.
    fn steal(&self) -> Option<TaskRef> {
        let seen = self.0.load(Acquire);
        if seen.is_null() {
            return None;
        }
        let until = crate::platform::now_nanos() + RUNNEXT_AGE;
        while crate::platform::now_nanos() < until {
            if self.0.load(Relaxed) != seen {
                return None;
            }
            core::hint::spin_loop();
        }
        let old = self
            .0
            .compare_exchange(seen, core::ptr::null_mut(), AcqRel, Relaxed)
            .ok()?;
        // SAFETY: as in `put`: the successful exchange gave us `old`.
        Some(unsafe { TaskRef::from_raw(old) })
    }

    fn is_empty(&self) -> bool {
        self.0.load(Acquire).is_null()
    }
}

impl Drop for RunNext {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// One worker's own state, reachable from its thread.
struct WorkerCtx {
    sched: *const Scheduler,
    index: usize,
    local: Deque<TaskRef>,
}

thread_local! {
    static WORKER: Cell<*const WorkerCtx> = const { Cell::new(core::ptr::null()) };
    /// `(lowest, end)` of the addresses whose fault means the running
    /// goroutine's stack overflowed, and its id; read by the fault handler.
    static GUARD: Cell<(usize, usize, u64)> = const { Cell::new((0, 0, 0)) };
}

/// How far below a stack's guard page a fault still counts as that stack
/// overflowing (a large frame's first probe can land there).
const GUARD_REACH: usize = 64 * 1024;

/// The memory fault hook (async-signal-safe): if the fault is the running
/// goroutine's stack overflowing (an access just below its stack, or the
/// OS saying so), report it and exit 2.
fn report_stack_overflow(fault: crate::platform::MemoryFault) {
    let Ok((lo, hi, id)) = GUARD.try_with(Cell::get) else {
        return;
    };
    let ours = match fault {
        crate::platform::MemoryFault::At(addr) => addr >= lo && addr < hi,
        crate::platform::MemoryFault::StackOverflow => id != 0,
    };
    if !ours {
        return;
    }
    crate::platform::write_stderr_parts(&[
        b"fatal error: goroutine stack overflow\n\ngoroutine ",
        crate::platform::format_u64(id, &mut [0u8; 20]),
        b" [running]:\n(raise the stack with gort::Builder::stack_size)\n",
    ]);
    crate::platform::exit_now(2);
}

/// Rounds a worker looks for work (spinning, then yielding) before it
/// sleeps.
const SPIN_ROUNDS: u32 = 8;

pub(crate) struct Scheduler {
    injector: Injector<TaskRef>,
    stealers: OnceLock<Vec<Stealer<TaskRef>>>,
    runnext: Box<[RunNext]>,
    /// One futex word per worker: 1 once it is told to wake.
    wake_words: Box<[AtomicU32]>,
    /// Indices of sleeping (or about to sleep) workers.
    idle: Mutex<Vec<usize>>,
    nidle: AtomicUsize,
    /// Workers looking for work (woken, or about to sleep).
    nspinning: AtomicUsize,
    shutdown: AtomicBool,
    /// Sleeps and timeouts of this scheduler's goroutines.
    timers: TimerHeap,
    /// 1 + the index of the idle worker sleeping until `timers.next()`;
    /// 0 if none.
    timer_waiter: AtomicUsize,
    stacks: Stacks,
}

impl Scheduler {
    /// Starts `workers` worker threads.
    pub(crate) fn start(workers: usize, stack_size: usize) -> Arc<Scheduler> {
        crate::platform::on_memory_fault(report_stack_overflow);
        let sched = Arc::new(Scheduler {
            injector: Injector::new(),
            stealers: OnceLock::new(),
            runnext: (0..workers)
                .map(|_| RunNext(AtomicPtr::new(core::ptr::null_mut())))
                .collect(),
            wake_words: (0..workers).map(|_| AtomicU32::new(0)).collect(),
            idle: Mutex::new(Vec::new()),
            nidle: AtomicUsize::new(0),
            nspinning: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            timers: TimerHeap::default(),
            timer_waiter: AtomicUsize::new(0),
            stacks: Stacks::new(stack_size),
        });
        let deques: Vec<Deque<TaskRef>> = (0..workers).map(|_| Deque::new_lifo()).collect();
        let _ = sched
            .stealers
            .set(deques.iter().map(Deque::stealer).collect());
        for (index, local) in deques.into_iter().enumerate() {
            let s = sched.clone();
            std::thread::Builder::new()
                .name(format!("gort-worker-{index}"))
                .spawn(move || super::run_owned_thread(|| s.work(index, local)))
                .unwrap_or_else(|e| panic!("gort: failed to start a worker thread: {e}"));
        }
        sched
    }

    /// Starts `job` as a new goroutine running `task`.
    pub(crate) fn spawn(&self, task: TaskRef, job: Job) {
        let slot = &task.goroutine;
        slot.sched
            .store(self as *const Scheduler as *mut Scheduler, Relaxed);
        // SAFETY: the task is new and not queued yet: nobody else looks at
        // its body.
        unsafe { *slot.body.get() = Some(Body::New(job)) };
        self.ready(task);
    }

    /// The started body that runs `job` for `task`, on a stack from the
    /// pool.
    fn coroutine_for(&self, task: &TaskRef, job: Job) -> Body {
        let stack = self.take_stack();
        // `limit()` is the lowest address of the mapping: the guard page.
        let limit = stack.limit().get();
        let guard = (
            limit.saturating_sub(GUARD_REACH),
            limit + crate::platform::page_size(),
        );
        let usable = (guard.1, stack.base().get());
        let me = task.clone();
        #[cfg(gort_gc)]
        let record = stack.record();
        let co = Coroutine::with_stack(stack, move |y: &GoYielder, ()| {
            me.goroutine
                .yielder
                .store(y as *const GoYielder as *mut GoYielder, Relaxed);
            #[cfg(gort_gc)]
            {
                // SAFETY: the record lives as long as the stack we run on.
                unsafe { &*record }
                    .sp
                    .store(super::registry::STACK_RUNNING, Relaxed);
                me.goroutine.stack.store(record, Relaxed);
            }
            drop(me);
            job();
            #[cfg(gort_gc)]
            // SAFETY: as above; from here on only the scheduler's frames
            // remain on this stack.
            unsafe { &*record }
                .sp
                .store(super::registry::STACK_FREE, Release);
        });
        Body::Started { co, guard, usable }
    }

    /// Stops the workers once they run out of work (the runtime is gone).
    pub(crate) fn shutdown(&self) {
        self.shutdown.store(true, SeqCst);
        let idle: Vec<usize> =
            std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        for i in idle {
            self.wake_worker(i);
        }
    }

    /// Wakes worker `i`, just taken out of `idle`, as a spinner.
    fn wake_worker(&self, i: usize) {
        self.nidle.fetch_sub(1, Relaxed);
        self.nspinning.fetch_add(1, Relaxed);
        self.wake_words[i].store(1, Release);
        crate::platform::futex_wake(&self.wake_words[i]);
    }

    /// A stack for a goroutine about to start. Running out of memory for
    /// one ends the process, as in Go: the goroutine cannot run, and the
    /// worker cannot report to anyone.
    fn take_stack(&self) -> GoStack {
        self.stacks.take().unwrap_or_else(|e| {
            let msg = format!(
                "fatal error: out of memory for a goroutine stack: {e}\n\
                 ({} goroutines; each stack takes gort::Builder::stack_size of address space)\n",
                crate::runtime::num_goroutine()
            );
            crate::platform::write_stderr(msg.as_bytes());
            crate::platform::exit_now(2)
        })
    }

    /// Queues a runnable goroutine: on this worker's deque if we are one
    /// of ours, else on the global queue; then makes sure a worker will
    /// look for it.
    fn ready(&self, g: TaskRef) {
        match self.this_worker() {
            Some(ctx) => {
                if let Some(old) = self.runnext[ctx.index].put(g) {
                    ctx.local.push(old);
                }
            }
            None => self.injector.push(g),
        }
        self.wake_one();
    }

    fn this_worker(&self) -> Option<&WorkerCtx> {
        let ctx = WORKER.with(Cell::get);
        // SAFETY: a non-null WORKER points at the context of the worker
        // running on this thread, alive while it runs.
        unsafe { ctx.as_ref() }.filter(|c| core::ptr::eq(c.sched, self))
    }

    /// Wakes one sleeping worker (as a spinner) after work was queued,
    /// unless some worker is spinning already or none sleeps.
    fn wake_one(&self) {
        fence(SeqCst);
        if self.nspinning.load(Relaxed) != 0 || self.nidle.load(Relaxed) == 0 {
            return;
        }
        let index = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        if let Some(i) = index {
            self.wake_worker(i);
        }
    }

    fn work(&self, index: usize, local: Deque<TaskRef>) {
        let ctx = WorkerCtx {
            sched: self,
            index,
            local,
        };
        WORKER.with(|w| w.set(&ctx));
        #[cfg(gort_gc)]
        super::registry::register_current_thread();
        // Spinning: woken by `wake_one` (it counted us), or about to sleep.
        let mut spinning = false;
        loop {
            self.run_due();
            if let Some(g) = self.find_work(&ctx, &mut spinning) {
                self.run(&ctx, g);
                continue;
            }
            if self.shutdown.load(Acquire) {
                break;
            }
            spinning = self.sleep(&ctx, spinning);
        }
        WORKER.with(|w| w.set(core::ptr::null()));
    }

    /// The next goroutine to run: our `runnext`, else our own newest, else
    /// stolen (spinning a while before giving up).
    fn find_work(&self, ctx: &WorkerCtx, spinning: &mut bool) -> Option<TaskRef> {
        let mine = self.runnext[ctx.index].take().or_else(|| ctx.local.pop());
        let found = mine.or_else(|| {
            if !*spinning {
                *spinning = true;
                self.nspinning.fetch_add(1, Relaxed);
            }
            (0..SPIN_ROUNDS).find_map(|round| {
                let g = self.steal(ctx, round == SPIN_ROUNDS - 1);
                if g.is_none() {
                    if round < 4 {
                        for _ in 0..(16 << round) {
                            core::hint::spin_loop();
                        }
                    } else {
                        std::thread::yield_now();
                    }
                }
                g
            })
        });
        if found.is_some() && *spinning {
            // Stop spinning; if we were the last spinner, have another
            // worker look for whatever else is queued.
            *spinning = false;
            if self.nspinning.fetch_sub(1, Relaxed) == 1 {
                self.wake_one();
            }
        }
        found
    }

    /// Steals from the global queue, else another worker's deque, else (if
    /// `runnext`) another worker's `runnext` slot.
    fn steal(&self, ctx: &WorkerCtx, runnext: bool) -> Option<TaskRef> {
        let stealers = self.stealers.get().expect("stealers are set at start");
        loop {
            let mut retry = false;
            match self.injector.steal_batch_and_pop(&ctx.local) {
                Steal::Success(g) => return Some(g),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            let n = stealers.len();
            for k in 1..n {
                match stealers[(ctx.index + k) % n].steal_batch_and_pop(&ctx.local) {
                    Steal::Success(g) => return Some(g),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                break;
            }
        }
        let n = self.runnext.len();
        (1..n)
            .filter(|_| runnext)
            .find_map(|k| self.runnext[(ctx.index + k) % n].steal())
    }

    fn has_work(&self) -> bool {
        !self.injector.is_empty()
            || self
                .stealers
                .get()
                .is_some_and(|s| s.iter().any(|s| !s.is_empty()))
            || self.runnext.iter().any(|r| !r.is_empty())
    }

    /// Runs the timers that are due (their goroutines go to this worker's
    /// queue), and the stack scavenger if it is due. Costs two atomic loads
    /// when neither has anything pending.
    fn run_due(&self) {
        let next = self.next_deadline();
        if next != u64::MAX {
            let now = crate::platform::now_nanos();
            if now >= next {
                self.timers.run_due(now);
                self.stacks.scavenge(now);
            }
        }
    }

    /// The first time a worker has something to do without being woken: a
    /// timer, or giving back idle stacks (`u64::MAX`: none).
    fn next_deadline(&self) -> u64 {
        self.timers.next().min(self.stacks.scavenge_deadline())
    }

    fn something_due(&self) -> bool {
        let next = self.next_deadline();
        next != u64::MAX && crate::platform::now_nanos() >= next
    }

    /// A timer was armed earlier than every other: the worker sleeping
    /// until the old first deadline must wake and sleep again, or, if no
    /// worker waits on timers, an idle one must wake to (it becomes the
    /// timer waiter when it finds no work).
    fn timer_armed_earlier(&self) {
        fence(SeqCst);
        let waiter = self.timer_waiter.load(SeqCst);
        if waiter == 0 {
            self.wake_one();
            return;
        }
        if self.remove_idle(waiter - 1) {
            self.wake_worker(waiter - 1);
        } // else it is awake already and will look at the timers
    }

    /// Sleeps until woken (then returns true: we were counted as a
    /// spinner), or, as the timer waiter, until the first timer is due
    /// (then returns false).
    fn sleep(&self, ctx: &WorkerCtx, spinning: bool) -> bool {
        let word = &self.wake_words[ctx.index];
        word.store(0, Relaxed);
        if spinning {
            self.nspinning.fetch_sub(1, Relaxed);
        }
        {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.push(ctx.index);
            self.nidle.fetch_add(1, Relaxed);
        }
        fence(SeqCst);
        if self.has_work() || self.shutdown.load(Acquire) || self.something_due() {
            if self.leave_idle(ctx.index) {
                return false;
            }
            // Someone popped us to wake us: the word is on its way.
        } else if self.next_deadline() != u64::MAX
            && self
                .timer_waiter
                .compare_exchange(0, ctx.index + 1, SeqCst, Relaxed)
                .is_ok()
        {
            // We wait on the timers. Reading `next` after announcing that
            // (SeqCst) means an earlier deadline armed from now on finds
            // us in `timer_waiter` and wakes us.
            fence(SeqCst);
            // Asleep for the deadlock monitor, though timed: it reports
            // only when no timer is pending (`time::pending_timers`), so
            // this wait then is for timers disarmed since (`next` may be
            // stale), which wake nobody.
            let asleep = crate::deadlock::Asleep::new(crate::futex::WaitReason::Internal);
            loop {
                let next = self.next_deadline();
                let now = crate::platform::now_nanos();
                if word.load(Acquire) != 0 || next == u64::MAX || now >= next {
                    break;
                }
                let wait = core::time::Duration::from_nanos(next - now);
                super::parked(|| crate::platform::futex_wait(word, 0, Some(wait)));
            }
            drop(asleep);
            self.timer_waiter.store(0, SeqCst);
            if word.load(Acquire) == 0 && self.leave_idle(ctx.index) {
                return false; // a timer is due (or gone): look again
            }
            // Woken (or being woken: the word is on its way).
        }
        let _asleep = crate::deadlock::Asleep::new(crate::futex::WaitReason::Internal);
        while word.load(Acquire) == 0 {
            super::parked(|| crate::platform::futex_wait(word, 0, None));
        }
        true // whoever woke us counted us as spinning
    }

    /// Worker `index` takes itself off the idle list; false if someone
    /// already did, to wake it (its word is then on its way).
    fn leave_idle(&self, index: usize) -> bool {
        let left = self.remove_idle(index);
        if left {
            self.nidle.fetch_sub(1, Relaxed);
        }
        left
    }

    /// Takes worker `index` off the idle list if it is there (the caller
    /// then accounts for it: `leave_idle`, or `wake_worker`).
    fn remove_idle(&self, index: usize) -> bool {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let pos = idle.iter().position(|&i| i == index);
        pos.map(|p| idle.swap_remove(p)).is_some()
    }

    fn run(&self, ctx: &WorkerCtx, task: TaskRef) {
        // SAFETY: we took the task from a queue, so the goroutine is ours
        // until we park, requeue or finish it (module invariants).
        let body = unsafe { &mut *task.goroutine.body.get() };
        if let Some(Body::New(_)) = body {
            let Some(Body::New(job)) = body.take() else {
                unreachable!("just matched")
            };
            *body = Some(self.coroutine_for(&task, job));
        }
        let Some(Body::Started { co, guard, usable }) = body.as_mut() else {
            unreachable!("a queued goroutine has a body")
        };
        super::set_current(Some(task.clone()));
        GUARD.with(|c| c.set((guard.0, guard.1, task.id())));
        #[cfg(gort_gc)]
        let result = super::registry::running_goroutine(*usable, || co.resume(()));
        #[cfg(not(gort_gc))]
        let result = {
            let _ = usable;
            co.resume(())
        };
        GUARD.with(|c| c.set((0, 0, 0)));
        super::set_current(None);
        match result {
            CoroutineResult::Yield(Request::Park) => {
                // SAFETY: this worker suspended the goroutine, which is not
                // yet PARKED (module invariants).
                if let Some(task) = unsafe { task.goroutine.parked.publish(task.clone()) } {
                    // An unpark came first (NOTIFIED): run it again soon.
                    ctx.local.push(task);
                }
            }
            CoroutineResult::Yield(Request::Yield) => {
                self.injector.push(task);
                self.wake_one();
            }
            CoroutineResult::Return(()) => {
                let Some(Body::Started { co, .. }) = body.take() else {
                    unreachable!("it just ran")
                };
                self.stacks.give(co.into_stack());
            }
        }
    }
}
