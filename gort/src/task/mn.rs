//! The M:N scheduler: goroutines are stackful coroutines (corosensei) run
//! for `GOMAXPROCS` processors (Go's P) by worker threads (Go's M). A
//! thread holding a processor runs its goroutines from its run queue,
//! stealing from the other processors and from a global queue when it
//! runs dry. A system monitor (Go's sysmon) moves a processor away from a
//! thread stuck in a goroutine that blocks it outside gort.
//!
//! Invariants:
//! - a goroutine is in exactly one place: running on one thread; queued (a
//!   processor's deque or `runnext`, or the global `injector`); or parked
//!   in its task's slot;
//! - parking: the goroutine suspends itself first; only then, on the
//!   thread's own stack, does the scheduler put it in the task's slot and
//!   move the park word EMPTY → PARKED (Release). An `unpark` that swaps
//!   PARKED out owns the goroutine and queues it; an `unpark` that came
//!   earlier left NOTIFIED, the CAS fails, and the goroutine runs again.
//!   So no wakeup is lost and no goroutine runs on two threads;
//! - a thread holds at most one processor, and a processor's deque has
//!   one user at a time (`proc_status`): the holder, on the scheduler's
//!   side, or from a goroutine for one push. The monitor takes a processor
//!   only while its goroutine runs and has not come back for a while
//!   (`retake`); the old thread finds out when the goroutine switches out,
//!   queues it globally, and waits in the pool of idle threads
//!   (`wait_for_processor`) until the monitor hands it a processor;
//! - a processor's thread sleeps only after announcing the processor idle
//!   (in `idle`, under its lock) and then, after a SeqCst fence, finding
//!   every queue empty; whoever queues work fences and then wakes one
//!   idle processor's thread, unless a thread is already spinning (looking
//!   for work), which will find it. A spinning thread that finds work wakes
//!   another before running it, so queued work never waits while the
//!   others sleep, and a burst of readies wakes threads one at a time;
//! - a spinning thread whose last look finds only other processors'
//!   `runnext` slots busy, and whose previous look found their owners
//!   cycling them (as a ping-pong pair does), naps before it looks again
//!   (off the CPU, still spinning; longer each time, up to `NAP_MAX`). A
//!   ready into an empty `runnext` leaves the nap alone (its owner runs it
//!   next); any other queued work ends every nap (`end_naps`: the queuer
//!   fences, then reads `nnapping`; the napper publishes itself, fences,
//!   then looks at the queues), so work for any taker never waits out a
//!   nap;
//! - the monitor sleeps for good only when every processor is idle (so the
//!   deadlock monitor can see a quiet process); the first processor to
//!   leave the idle list wakes it (`wake_sysmon`: a SeqCst pair, as above);
//! - a goroutine readied by a running goroutine goes to its processor's
//!   `runnext` slot (the one it held before moves to the deque) and runs
//!   next there, so a ping-pong pair shares one core and its cache. Other
//!   processors take a `runnext` only on their last look before sleeping,
//!   after a nap, and only if it held the same goroutine for `RUNNEXT_AGE`
//!   (its owner is stuck, not about to run it);
//! - a deque is LIFO for its owner; thieves take the oldest;
//! - a goroutine about to park (or retrying a channel) spins a little
//!   first only when that can help: another processor exists and its own
//!   has nothing else queued (it delays nobody local);
//! - a goroutine takes its stack from the pool (`stacks`) when it is
//!   spawned, and its `Record` (its `Task` and the payload its spawner
//!   shares with it, a join packet) lives at the top of that stack, out of
//!   the coroutine's reach (`reserve_top`), when it fits `RECORD_BUDGET`;
//!   its closure lives on the stack too (corosensei's first frame), boxed
//!   only over `JOB_BUDGET`. So spawning allocates nothing from the global
//!   allocator. A record over budget, or a spawn while the spawner's
//!   processor already has a goroutine to run next (a spawn storm, see
//!   `Scheduler::crowded`), is boxed instead, with the closure, in one
//!   box (`Pending`), and that goroutine takes its stack when it first
//!   runs (`Body::New`). Then, if its record fits the budget and the
//!   worker's reference (from the queue) is the task's only one, the
//!   record moves to the top of that stack and the box is freed
//!   (`Pending::start`): nobody else can reach a task nobody holds, nor
//!   its payload (whose address goes only with a reference). So a parked
//!   goroutine keeps no box, however it was spawned, unless a handle or a
//!   waker held it when it started. A goroutine that spawns while its
//!   processor's deque holds `SPAWN_BACKLOG` goroutines first yields (to
//!   the back of the global queue) so that they start (`pace_spawner`):
//!   a storm's boxes stay few, and the allocator keeps no high-water mark
//!   of them;
//! - the task counts its `TaskRef`s; a reference is held wherever the
//!   goroutine can still run (a queue, the parked slot, the worker
//!   running it), so the last one goes only after it finished. Its drop
//!   calls the record's `release`, which drops the record and only then
//!   gives the stack back to the pool (kept in the slot's `home` since
//!   the goroutine finished), then drops the runtime the task held. So a
//!   stack is never reused while its goroutine can run, nor while any
//!   reference to its task (a waker, a waiter record, a `JoinHandle`)
//!   or its payload remains;
//! - timers: goroutines' sleeps and timeouts live in the scheduler's own
//!   heap. Threads run due timers (and the stack scavenger, see `stacks`)
//!   at every turn of their loop; an idle processor's thread with none due
//!   becomes the one `timer_waiter` and sleeps until the first deadline.
//!   Arming an earlier one wakes it (or, with no waiter, wakes an idle
//!   one): after a SeqCst fence the armer reads `timer_waiter`, and the
//!   waiter reads the deadline after publishing itself, so one of them
//!   sees the other. The timer waiter counts as asleep for the deadlock
//!   monitor, which reports only with no timer pending: a deadline it
//!   still waits for then was disarmed, and wakes nobody;
//! - while a goroutine runs, its thread's `GUARD` names the memory just
//!   below its stack: a fault there is its stack overflowing, reported in
//!   Go's words and ending the process with status 2.
//! - a goroutine's task holds its runtime, which owns the scheduler, so
//!   the threads stop only after every goroutine finished: no closure is
//!   dropped unrun, no suspended stack unwound. User code runs only inside
//!   goroutines, under the runtime's `catch_unwind`; a panic that escapes
//!   a worker anyway ends the process (`task::run_owned_thread`).

use std::cell::{Cell, UnsafeCell};
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, fence};
use std::sync::{Arc, OnceLock};

use corosensei::stack::Stack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use crossbeam_deque::{Injector, Steal, Stealer, Worker as Deque};

use super::proc_status::ProcStatus;
use super::stacks::{GoStack, Stacks};
use super::timers::{Action, TimerHeap};
use super::{EMPTY, NOTIFIED, Task, TaskRef};
use crate::lockrank::LockRank;
use crate::platform::ShortLock;

/// What a goroutine asks of its worker when it suspends.
pub(crate) enum Request {
    /// Park (see the module invariants).
    Park,
    /// Go to the back of the global queue (`gosched`).
    Yield,
}

type GoYielder = Yielder<(), Request>;

type GoCoroutine = Coroutine<(), Request, (), GoStack>;

/// The largest goroutine record (`Record`: the task and its payload, a
/// join packet) kept at the top of its stack; a larger one is boxed.
const RECORD_BUDGET: usize = 1024;

/// Cache lines (two, for adjacent-line prefetch) between a goroutine's
/// record and its frames; the record's size is rounded up to it.
const RECORD_GAP: usize = 128;

/// The largest closure kept on the goroutine's stack as it is (where
/// corosensei puts it); a larger one is boxed.
const JOB_BUDGET: usize = 512;

/// A goroutine's task and the payload its spawner shares with it (a join
/// packet), at the top of its stack when that fits: see the module
/// invariants.
#[repr(C)]
struct Record<P> {
    /// First: a `*Task` is a `*Record`.
    task: Task,
    payload: P,
}

impl<P> Record<P> {
    /// Bytes the record takes at the top of the stack (whole cache lines),
    /// or `None` if it is too large and must be boxed. `RECORD_GAP` more
    /// are kept below it: the coroutine's first frame (its parent link,
    /// written at every switch) must not share a line with the task's
    /// words, which other workers write to wake it.
    const fn reserve() -> Option<usize> {
        let size = core::mem::size_of::<Record<P>>().next_multiple_of(RECORD_GAP);
        if size <= RECORD_BUDGET && core::mem::align_of::<Record<P>>() <= RECORD_GAP {
            Some(size)
        } else {
            None
        }
    }

    /// Writes `self` at the top of `stack`, `bytes` (from `reserve`) kept
    /// from the coroutine below it, and adopts the task's one reference.
    /// Returns the task, the payload's address and the bytes reserved.
    fn place(self, stack: &mut GoStack, bytes: usize) -> (TaskRef, NonNull<P>, usize) {
        let reserved = bytes + RECORD_GAP;
        stack.reserve_top(reserved);
        let at = (stack.top() - bytes) as *mut Record<P>;
        // SAFETY: the stack is ours, its top `bytes` kept from the
        // coroutine (`reserve_top`), and its top page-aligned, so `at` is
        // aligned to `RECORD_GAP`, which covers the record's alignment
        // (`reserve`); a stack is never at address 0. The task is the
        // record's first field (`repr(C)`), and its count is 1 with no
        // `TaskRef` holding it (new from `Task::record`, or given up by
        // the only holder before a move): `adopt` takes that reference.
        unsafe {
            at.write(self);
            (
                TaskRef::adopt(NonNull::new_unchecked(at).cast::<Task>()),
                NonNull::new_unchecked(core::ptr::addr_of_mut!((*at).payload)),
                reserved,
            )
        }
    }

    /// The `Release` of a record at the top of its goroutine's stack.
    ///
    /// # Safety
    /// As `task::Release`; `task` is the task of a `Record<P>` that
    /// `Scheduler::spawn` wrote at the top of the goroutine's stack.
    unsafe fn release_on_stack(task: NonNull<Task>) {
        let rec = task.cast::<Record<P>>().as_ptr();
        // SAFETY: the last reference is gone (contract); the record sits
        // at the top of the stack `release` takes out of it, which gives
        // it back only after this drop.
        unsafe { release(&mut (*rec).task, || core::ptr::drop_in_place(rec)) }
    }
}

/// A goroutine spawned with its record boxed (`Body::New`): the record and
/// the closure, in one allocation, until it starts (a spawn storm queues
/// these; one box, not two, so their memory coalesces once freed).
#[repr(C)]
struct Pending<P, J> {
    /// First: a `*Task` is a `*Pending`.
    record: Record<P>,
    /// Moved out when the goroutine starts (`start`).
    job: core::mem::MaybeUninit<J>,
}

impl<P: Sync + 'static, J: FnOnce(u64, &P) + Send + 'static> Pending<P, J> {
    /// The `Body::New` of a pending goroutine: starts it on `stack`. Its
    /// record moves to the top of the stack (and the box is freed) when it
    /// fits and `task` is its only reference; else it stays boxed.
    /// Returns the task (moved or not) with its body set.
    ///
    /// The only reference is the caller's (taken from a queue), so nobody
    /// else can reach the record: no handle (which would hold a reference
    /// beside the payload's address), no waker, no waiter; and no new
    /// reference can appear, since one is only ever cloned from another.
    ///
    /// # Safety
    /// `task` is the task of a `Pending<P, J>` that `Scheduler::spawn`
    /// boxed, taken from a queue with its body (`Body::New`) taken out,
    /// and started only this once.
    unsafe fn start(sched: &Scheduler, task: TaskRef, mut stack: GoStack) -> TaskRef {
        let boxed = TaskRef::as_ptr(&task).cast_mut().cast::<Pending<P, J>>();
        // SAFETY: `spawn` wrote the job, and this first start moves it out.
        let job = unsafe { (*boxed).job.assume_init_read() };
        // Acquire: every other reference's use happened before its drop
        // (each drop decrements with Release), so before our move.
        let (task, reserved, payload) = match Record::<P>::reserve() {
            Some(bytes) if task.refs.load(Acquire) == 1 => {
                let _ = TaskRef::into_raw(task);
                // SAFETY: the box is `spawn`'s and ours alone (above); the
                // read moves the record out (the job is out already), and
                // the box is freed as `MaybeUninit`, dropping nothing.
                let mut record = unsafe {
                    let record = core::ptr::addr_of!((*boxed).record).read();
                    drop(Box::from_raw(
                        boxed.cast::<core::mem::MaybeUninit<Pending<P, J>>>(),
                    ));
                    record
                };
                record.task.release = Record::<P>::release_on_stack;
                // The one reference given up above is the one `place`
                // adopts.
                let (task, payload, reserved) = record.place(&mut stack, bytes);
                (task, reserved, payload)
            }
            // SAFETY: the record stays where `spawn` boxed it.
            _ => (task, 0, unsafe {
                NonNull::new_unchecked(core::ptr::addr_of_mut!((*boxed).record.payload))
            }),
        };
        let body = sched.coroutine_for(&task, stack, reserved, payload, job);
        // SAFETY: the goroutine is ours (taken from a queue) and has not
        // started: nobody else looks at its body.
        unsafe { *task.goroutine.body.get() = Some(body) };
        task
    }

    /// The `Release` of a record that stayed boxed.
    ///
    /// # Safety
    /// As `task::Release`; `task` is the task of a `Pending<P, J>` that
    /// `Scheduler::spawn` boxed, whose goroutine started (its job is out).
    unsafe fn release_boxed(task: NonNull<Task>) {
        let p = task.cast::<Pending<P, J>>().as_ptr();
        // SAFETY: as in `release_on_stack`; the box is `spawn`'s, freed as
        // `MaybeUninit` once its record is dropped (its job already went).
        unsafe {
            release(&mut (*p).record.task, || {
                core::ptr::drop_in_place(core::ptr::addr_of_mut!((*p).record));
                drop(Box::from_raw(
                    p.cast::<core::mem::MaybeUninit<Pending<P, J>>>(),
                ));
            })
        }
    }
}

/// A goroutine's record and closure, boxed (`Pending`) to start later.
fn pending<P, J>(runtime: super::RuntimeRef, payload: P, job: J) -> (TaskRef, NonNull<P>, Body)
where
    P: Send + Sync + 'static,
    J: FnOnce(u64, &P) + Send + 'static,
{
    let boxed = Box::new(Pending {
        record: Record {
            task: Task::record(runtime, Pending::<P, J>::release_boxed),
            payload,
        },
        job: core::mem::MaybeUninit::new(job),
    });
    let at = Box::into_raw(boxed);
    // SAFETY: `at` is the box just made; its task is its first field
    // (`repr(C)`, twice), nobody else has it, and its payload lives as long
    // as the task (until `release_boxed`, or moved along with it by
    // `Pending::start` while nobody else holds the task, hence nor this
    // address).
    unsafe {
        (
            TaskRef::adopt(NonNull::new_unchecked(at).cast::<Task>()),
            NonNull::new_unchecked(core::ptr::addr_of_mut!((*at).record.payload)),
            Body::New(Pending::<P, J>::start),
        )
    }
}

/// A record's release: takes the finished goroutine's stack and runtime
/// out of `task`, drops the record (`drop_record`), then gives the stack
/// back to the pool, then drops the runtime, which may own the scheduler
/// and its pool.
///
/// # Safety
/// The last reference to `task`, a goroutine's task, is gone; its
/// goroutine finished (a reference is held while it can run), which left
/// its stack in `home`; `drop_record` drops the record holding `task`.
unsafe fn release(task: &mut Task, drop_record: impl FnOnce()) {
    let stack = task.goroutine.home.get_mut().take();
    let sched = task.goroutine.sched.load(Relaxed);
    let runtime = task.take_runtime();
    let mut stack = stack.expect("a released goroutine has finished");
    drop_record();
    #[cfg(gort_gc)]
    // SAFETY: the stack's record lives as long as the stack.
    unsafe { &*stack.record() }
        .sp
        .store(super::registry::STACK_FREE, Release);
    stack.reserve_top(0);
    // SAFETY: set at spawn; `runtime` (still held) keeps the scheduler.
    unsafe { &*sched }.stacks.give(stack);
    drop(runtime);
}

/// Starts a `Body::New` goroutine on the stack it is given
/// (`Pending::start`).
type StartLater = unsafe fn(&Scheduler, TaskRef, GoStack) -> TaskRef;

/// A goroutine's code.
enum Body {
    /// Spawned while its spawner's queue was crowded (`crowded`), or with
    /// a record over budget: its record and closure are boxed, and it gets
    /// its stack when it first runs, so a spawn storm queues small boxes,
    /// not stacks.
    New(StartLater),
    /// Its coroutine, on a stack from the pool (where its closure is
    /// stored, not boxed).
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

/// Goroutines queued globally from which a plain thread's spawn boxes its
/// record instead of taking a stack (`Body::New`; a goroutine's spawn does
/// so whenever its processor's `runnext` is taken, see `crowded`).
const CROWDED: usize = 1;

/// Goroutines a processor's deque may hold before a goroutine spawning
/// there yields to let them start (`pace_spawner`; Go's local run queue
/// holds 256).
const SPAWN_BACKLOG: usize = 256;

/// The part of a `Task` that only goroutines of this scheduler use. The
/// queues hold `TaskRef`s; the goroutine itself lives here.
#[derive(Default)]
pub(crate) struct Slot {
    /// The goroutine's coroutine, until it finishes. Touched only by
    /// whoever owns the goroutine at the moment (module invariants): the
    /// worker running it, or the one that queued it.
    body: UnsafeCell<Option<Body>>,
    /// The finished goroutine's stack, kept until its task is released
    /// (its record may live at the top of it, see `Record`).
    home: UnsafeCell<Option<GoStack>>,
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

/// The current task if it is an M:N goroutine (which must park rather
/// than block its thread).
pub(crate) fn current() -> Option<TaskRef> {
    super::running().map(|t| TaskRef::clone(&t))
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
            // cost more than the wait. Not for a socket: its readiness
            // comes from a peer's system calls and a poll, never that soon.
            reason != crate::futex::WaitReason::IoWait
                && wait_advice() == WaitAdvice::Spin
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
    let Some(p) = sched.procs.get(ctx.proc.get()) else {
        return WaitAdvice::Yield; // our processor was taken: let go
    };
    // `runnext` first: one load, where the deque's look has a fence.
    if sched.procs.len() == 1 {
        WaitAdvice::Park
    } else if p.runnext.is_empty() && p.stealer.is_empty() {
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

/// How long a spinning thread naps before it looks at a busy `runnext`
/// slot again, once a look found the slot's owner cycling it (a ping-pong
/// pair: stealing would only split it): at least this (the OS's timer
/// slack, 50 us on Linux, comes on top, as it does to Go's thief, whose
/// `usleep(3)` this is), doubling with each such look in a row, up to
/// `NAP_MAX`: the longest a stuck owner's `runnext` then waits for a
/// thief (queued work ends a nap at once).
const NAP_MIN: u64 = 3_000;
const NAP_MAX: u64 = 1_000_000;

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

/// A worker thread's own state (Go's M), reachable from its thread.
struct WorkerCtx {
    sched: *const Scheduler,
    /// The processor this thread holds, or `NO_PROC`.
    proc: Cell<usize>,
    /// While one of our goroutines runs: the value our processor's status
    /// word holds meanwhile (`tick << 2 | RUNNING`); 0 on the scheduler's
    /// side (`run` switches between the two).
    running: Cell<u64>,
    /// Looks in a row at busy `runnext` slots that found nothing to take
    /// (their owners cycling them): the next nap is that much longer.
    misses: Cell<u32>,
}

/// `WorkerCtx::proc` of a thread without a processor.
const NO_PROC: usize = usize::MAX;

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

/// How long a goroutine may hold its processor without coming back to the
/// scheduler, while other work waits, before the monitor hands the
/// processor to another thread (Go's `forcePreemptNS`).
const HANDOFF_AFTER_NS: u64 = 10_000_000;

/// The same, for a goroutine whose thread is blocked in the kernel, as
/// one in a system call is in Go, whose monitor hands its processor off
/// after one look.
const BLOCKED_HANDOFF_AFTER_NS: u64 = 20_000;

/// The system monitor's shortest and longest sleeps between looks.
const SYSMON_MIN_SLEEP_NS: u64 = 20_000;
const SYSMON_MAX_SLEEP_NS: u64 = 10_000_000;

/// A processor (Go's P): the right to run this scheduler's goroutines,
/// with the run queues that go with it. `GOMAXPROCS` of them; a thread
/// holds at most one, and a processor moves to another thread only when
/// the monitor takes it from a thread stuck in a goroutine.
struct Processor {
    /// The owner end of the run queue, touched only as `status` allows
    /// (see `proc_status`).
    deque: UnsafeCell<Deque<TaskRef>>,
    stealer: Stealer<TaskRef>,
    runnext: RunNext,
    /// Who may touch `deque`, and the tick the monitor watches. Written
    /// twice per switch by the holder: on a cache line of its own, away
    /// from what thieves and wakers read and write.
    status: OwnLine<ProcStatus>,
    /// The futex word the thread holding this processor sleeps on while
    /// idle: 1 once told to wake.
    wake_word: AtomicU32,
    /// 1 while the thread holding this processor naps as a spinning
    /// thread (`nap`); whoever queues work for others ends the nap by
    /// swapping it to 0 (`end_naps`).
    nap_word: AtomicU32,
    /// The thread holding the processor (`platform::this_thread_token`),
    /// for the monitor.
    thread: AtomicU64,
    /// The `status` word of a goroutine inside `syscall` (0: none): the
    /// monitor hands the processor off after one look, on every OS.
    in_syscall: AtomicU64,
}

// SAFETY: `deque` is the only field that is not `Sync`; the status word
// gives it to one thread at a time (see `deque`).
unsafe impl Sync for Processor {}

impl Processor {
    /// The owner end of the run queue.
    ///
    /// # Safety
    /// The caller's thread holds this processor and is on the scheduler's
    /// side of it (see `Processor::deque`).
    #[allow(clippy::mut_from_ref)]
    unsafe fn local(&self) -> &Deque<TaskRef> {
        // SAFETY: exclusive by the caller's contract.
        unsafe { &*self.deque.get() }
    }
}

/// A value on cache lines of its own.
#[repr(align(128))]
struct OwnLine<T>(T);

impl<T> core::ops::Deref for OwnLine<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// A worker thread without a processor, waiting in the pool of idle
/// threads (Go keeps its Ms the same way) until the monitor hands it one.
struct IdleThread {
    /// 1 once told to wake.
    word: AtomicU32,
    /// The processor it is given, or `NO_PROC` to exit.
    proc: AtomicUsize,
}

impl IdleThread {
    /// Wakes the thread, just taken out of the pool, with processor `p`
    /// (`NO_PROC`: to exit).
    fn give(&self, p: usize) {
        self.proc.store(p, Relaxed);
        self.word.store(1, Release);
        crate::platform::futex_wake(&self.word);
    }
}

pub(crate) struct Scheduler {
    /// Itself, to start threads from `&self`.
    me: std::sync::Weak<Scheduler>,
    injector: Injector<TaskRef>,
    procs: Box<[Processor]>,
    /// Indices of processors whose threads sleep (or are about to).
    idle: ShortLock<Vec<usize>>,
    nidle: AtomicUsize,
    /// Threads looking for work (woken, or about to sleep).
    nspinning: AtomicUsize,
    /// Spinning threads napping (`nap`).
    nnapping: AtomicUsize,
    /// Threads without a processor, asleep in the pool.
    idle_threads: ShortLock<Vec<Arc<IdleThread>>>,
    /// This scheduler's threads: workers with or without a processor,
    /// and the monitor.
    nthreads: AtomicUsize,
    /// Processors handed from a stuck thread to another one.
    handoffs: AtomicU64,
    /// The monitor's futex word: 1 while it sleeps until a processor
    /// leaves the idle list.
    sysmon_word: AtomicU32,
    shutdown: AtomicBool,
    /// Sleeps and timeouts of this scheduler's goroutines.
    timers: TimerHeap,
    /// 1 + the index of the idle processor whose thread sleeps until
    /// `timers.next()`; 0 if none.
    timer_waiter: AtomicUsize,
    /// 1 + the index of the idle processor whose thread blocks in the
    /// netpoller; 0 if none.
    poll_waiter: AtomicUsize,
    stacks: Stacks,
}

impl Scheduler {
    /// Starts `workers` processors, a thread for each, and the monitor.
    pub(crate) fn start(workers: usize, stack_size: usize) -> Arc<Scheduler> {
        crate::platform::on_memory_fault(report_stack_overflow);
        let sched = Arc::new_cyclic(|me| Scheduler {
            me: me.clone(),
            injector: Injector::new(),
            procs: (0..workers)
                .map(|_| {
                    let deque = Deque::new_lifo();
                    Processor {
                        stealer: deque.stealer(),
                        deque: UnsafeCell::new(deque),
                        runnext: RunNext(AtomicPtr::new(core::ptr::null_mut())),
                        status: OwnLine(ProcStatus::default()),
                        wake_word: AtomicU32::new(0),
                        nap_word: AtomicU32::new(0),
                        thread: AtomicU64::new(0),
                        in_syscall: AtomicU64::new(0),
                    }
                })
                .collect(),
            idle: ShortLock::new(LockRank::SchedIdle, Vec::new()),
            nidle: AtomicUsize::new(0),
            nspinning: AtomicUsize::new(0),
            nnapping: AtomicUsize::new(0),
            idle_threads: ShortLock::new(LockRank::SchedIdleThreads, Vec::new()),
            nthreads: AtomicUsize::new(0),
            handoffs: AtomicU64::new(0),
            sysmon_word: AtomicU32::new(0),
            shutdown: AtomicBool::new(false),
            timers: TimerHeap::default(),
            timer_waiter: AtomicUsize::new(0),
            poll_waiter: AtomicUsize::new(0),
            stacks: Stacks::new(stack_size),
        });
        SCHEDULERS.lock().push(Arc::downgrade(&sched));
        for p in 0..workers {
            sched.start_thread(p);
        }
        let s = sched.clone();
        s.nthreads.fetch_add(1, Relaxed);
        super::thread_limit::start_thread("gort-sysmon".into(), Some(256 * 1024), move || {
            s.sysmon()
        });
        sched
    }

    /// Starts a worker thread holding processor `p`.
    fn start_thread(&self, p: usize) {
        let Some(s) = self.me.upgrade() else { return };
        self.nthreads.fetch_add(1, Relaxed);
        super::thread_limit::start_thread(format!("gort-worker-{p}"), None, move || {
            s.work(p);
            s.nthreads.fetch_sub(1, Relaxed);
        });
    }

    /// Starts `job` as a new goroutine of `runtime` and returns its task
    /// and where `payload` lives: both at the top of the goroutine's stack
    /// when they fit (`RECORD_BUDGET`) and the spawner's queue is not
    /// crowded (`crowded`), else in one box; `job(id, payload)` runs on
    /// the stack (boxed when over `JOB_BUDGET`, or with a boxed record).
    /// The payload lives until the task is released.
    pub(crate) fn spawn<P, F>(
        &self,
        runtime: super::RuntimeRef,
        payload: P,
        job: F,
    ) -> (TaskRef, NonNull<P>)
    where
        P: Send + Sync + 'static,
        F: FnOnce(u64, &P) + Send + 'static,
    {
        self.pace_spawner();
        let (task, payload_ptr, body) = match Record::<P>::reserve() {
            Some(bytes) if !self.crowded() => {
                let mut stack = self.take_stack();
                let record = Record {
                    task: Task::record(runtime, Record::<P>::release_on_stack),
                    payload,
                };
                let (task, payload_ptr, reserved) = record.place(&mut stack, bytes);
                let body = if size_of::<F>() <= JOB_BUDGET {
                    self.coroutine_for(&task, stack, reserved, payload_ptr, job)
                } else {
                    let job = Box::new(job);
                    let job = move |id, p: &P| job(id, p);
                    self.coroutine_for(&task, stack, reserved, payload_ptr, job)
                };
                (task, payload_ptr, body)
            }
            _ if size_of::<F>() <= JOB_BUDGET => pending(runtime, payload, job),
            _ => {
                let job = Box::new(job);
                pending(runtime, payload, move |id, p: &P| job(id, p))
            }
        };
        let slot = &task.goroutine;
        slot.sched
            .store(self as *const Scheduler as *mut Scheduler, Relaxed);
        // SAFETY: the task is new and not queued yet: nobody else looks at
        // its body.
        unsafe { *slot.body.get() = Some(body) };
        let mine = task.clone();
        self.ready(task);
        (mine, payload_ptr)
    }

    /// Before a spawn: if the spawner is a goroutine of ours whose
    /// processor's deque holds `SPAWN_BACKLOG` goroutines, it yields (to
    /// the back of the global queue), so that they start (their boxed
    /// records move to their stacks, their boxes go) before it spawns
    /// more. Without this a spawn storm outruns the goroutines' first runs
    /// (a first run takes and touches a stack) and queues nearly all of
    /// them, boxed: the allocator keeps those boxes' pages after they are
    /// freed (with glibc, ~270 bytes per goroutine of the storm, parked or
    /// not). Before, not after: the spawner holds no reference to a task
    /// of its own making while it yields, so each can move.
    fn pace_spawner(&self) {
        let Some(ctx) = self.this_worker() else {
            return; // a plain thread, or a goroutine in `blocking`
        };
        if self.procs[ctx.proc.get()].stealer.len() < SPAWN_BACKLOG {
            return;
        }
        if let Some(me) = current()
            && core::ptr::eq(me.goroutine.sched.load(Relaxed), self)
        {
            yield_now(&me);
        }
    }

    /// Whether a spawn from here should box its record and take its stack
    /// later (`Body::New`): unless the new goroutine is the next to run
    /// here (our processor's `runnext` is free) or nothing is queued
    /// globally (a plain thread's spawn). Measured: a spawn storm that took
    /// a stack per spawn ran 1M goroutines 2-2.5× slower (the spawner takes
    /// stacks, the thieves that run them give them back: the pool's lock
    /// and lines go back and forth), while spawn-then-join, which runs the
    /// child from `runnext` on the same processor, got faster.
    fn crowded(&self) -> bool {
        match self.this_worker() {
            Some(ctx) => !self.procs[ctx.proc.get()].runnext.is_empty(),
            None => self.injector.len() >= CROWDED,
        }
    }

    /// The coroutine that runs `job` for `task` on `stack`, whose top
    /// `reserved` bytes hold the task's record.
    fn coroutine_for<P: Sync + 'static>(
        &self,
        task: &TaskRef,
        stack: GoStack,
        #[cfg_attr(not(gort_gc), allow(unused_variables))] reserved: usize,
        payload: NonNull<P>,
        job: impl FnOnce(u64, &P) + Send + 'static,
    ) -> Body {
        // `limit()` is the lowest address of the mapping: the guard page.
        let limit = stack.limit().get();
        let guard = (
            limit.saturating_sub(GUARD_REACH),
            limit + crate::platform::page_size(),
        );
        let usable = (guard.1, stack.top());
        let (me, id) = (TaskRef::as_ptr(task), task.id());
        let payload = payload.as_ptr().cast_const();
        #[cfg(gort_gc)]
        let record = stack.record();
        let co = Coroutine::with_stack(stack, move |y: &GoYielder, ()| {
            // SAFETY: the worker running us holds a reference to the task,
            // and the task keeps its payload (`spawn`).
            let (me, payload) = unsafe { (&*me, &*payload) };
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
            job(id, payload);
            #[cfg(gort_gc)]
            {
                // From here on only the scheduler's frames remain below the
                // reserved top, which the collector keeps scanning until the
                // task is released (it may hold a result); with nothing
                // reserved (a boxed record) there is nothing to scan (and
                // `hi` itself is no address inside the stack).
                let sp = match reserved {
                    0 => super::registry::STACK_FREE,
                    r => usable.1 - r,
                };
                // SAFETY: as above.
                unsafe { &*record }.sp.store(sp, Release);
            }
        });
        Body::Started { co, guard, usable }
    }

    /// Stops the threads once they run out of work (the runtime is gone).
    pub(crate) fn shutdown(&self) {
        self.shutdown.store(true, SeqCst);
        let idle: Vec<usize> = std::mem::take(&mut *self.idle.lock());
        for i in idle {
            self.wake_proc(i);
        }
        for t in std::mem::take(&mut *self.idle_threads.lock()) {
            t.give(NO_PROC);
        }
        self.end_naps();
        self.wake_sysmon();
    }

    /// Wakes the thread of processor `i`, just taken out of `idle`, as a
    /// spinner.
    fn wake_proc(&self, i: usize) {
        self.nidle.fetch_sub(1, SeqCst);
        self.nspinning.fetch_add(1, Relaxed);
        let word = &self.procs[i].wake_word;
        // SeqCst, and then the poll waiter: it sets `poll_waiter` and then
        // reads its word (see `sleep`), so one of us sees the other.
        word.store(1, SeqCst);
        crate::platform::futex_wake(word);
        if self.poll_waiter.load(SeqCst) == i + 1 {
            super::netpoll::wake_blocked();
        }
        self.wake_sysmon();
    }

    /// A processor left the idle list: the monitor, if it sleeps because
    /// all were idle, must look again. (It sets `sysmon_word` and then
    /// reads `nidle`; we changed `nidle` and then read the word, both
    /// SeqCst: one of us sees the other.)
    fn wake_sysmon(&self) {
        if self.sysmon_word.load(SeqCst) == 1 && self.sysmon_word.swap(0, SeqCst) == 1 {
            crate::platform::futex_wake(&self.sysmon_word);
        }
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

    /// Queues a runnable goroutine: in our processor's `runnext` if we
    /// are one of its threads holding one, else on the global queue; then
    /// makes sure a worker will look for it.
    fn ready(&self, g: TaskRef) {
        // Only the `runnext` slot taken: our thread runs `g` when the
        // running goroutine switches out, so a napping spinner need not
        // hurry (it takes `g` if the owner turns out stuck).
        let only_runnext = match self.this_worker() {
            Some(ctx) => self.ready_here(ctx, g),
            None => {
                self.injector.push(g);
                false
            }
        };
        self.wake(!only_runnext);
    }

    /// `ready` on a thread holding processor `ctx.proc`; true if `g` went
    /// to an empty `runnext` slot (nothing else was queued).
    fn ready_here(&self, ctx: &WorkerCtx, g: TaskRef) -> bool {
        let p = &self.procs[ctx.proc.get()];
        let Some(old) = p.runnext.put(g) else {
            return true;
        };
        let running = ctx.running.get();
        if running == 0 {
            // SAFETY: the scheduler's side of the processor we hold.
            unsafe { p.local() }.push(old);
        } else {
            let mut old = Some(old);
            p.status.while_held(running, || {
                // SAFETY: `while_held` keeps the monitor off meanwhile.
                unsafe { p.local() }.push(old.take().expect("pushed once"));
            });
            if let Some(old) = old {
                // The monitor took the processor (its `runnext` is
                // atomic: the put above is fine).
                self.injector.push(old);
            }
        }
        false
    }

    /// This thread's worker context, if it is one of ours holding a
    /// processor.
    fn this_worker(&self) -> Option<&WorkerCtx> {
        let ctx = WORKER.with(Cell::get);
        // SAFETY: a non-null WORKER points at the context of the worker
        // running on this thread, alive while it runs.
        unsafe { ctx.as_ref() }.filter(|c| core::ptr::eq(c.sched, self) && c.proc.get() != NO_PROC)
    }

    /// Wakes one sleeping worker (as a spinner) after work was queued,
    /// unless some worker is spinning already (it ends its nap, if it
    /// naps) or none sleeps.
    fn wake_one(&self) {
        self.wake(true);
    }

    /// `wake_one`; a spinner's nap goes on unless `end_naps` (the work
    /// is in a `runnext` slot, whose owner runs it soon).
    fn wake(&self, end_naps: bool) {
        fence(SeqCst);
        if self.nspinning.load(Relaxed) != 0 {
            if end_naps && self.nnapping.load(Relaxed) != 0 {
                self.end_naps();
            }
            return;
        }
        if self.nidle.load(Relaxed) == 0 {
            return;
        }
        let index = self.idle.lock().pop();
        if let Some(i) = index {
            self.wake_proc(i);
        }
    }

    /// Ends every spinning thread's nap (work was queued for any taker).
    fn end_naps(&self) {
        for p in self.procs.iter() {
            if p.nap_word.load(Relaxed) == 1 && p.nap_word.swap(0, SeqCst) == 1 {
                crate::platform::futex_wake(&p.nap_word);
            }
        }
    }

    /// A spinning thread holding processor `index` sleeps for at least
    /// `ns` (counted as spinning throughout: readies into `runnext` slots
    /// wake nobody meanwhile), unless work is queued for any taker
    /// (`end_naps`), a timer falls due, or the scheduler shuts down. (An
    /// OS whose sleeps round up to milliseconds makes the nap that long:
    /// it delays only the taking of a stuck owner's `runnext`.)
    fn nap(&self, index: usize, ns: u64) {
        let word = &self.procs[index].nap_word;
        word.store(1, SeqCst);
        self.nnapping.fetch_add(1, SeqCst);
        // Whoever queues work fences and then reads `nnapping` (`wake`);
        // we published ourselves and then look at the queues: one of us
        // sees the other.
        fence(SeqCst);
        let until = crate::platform::now_nanos()
            .saturating_add(ns)
            .min(self.next_deadline());
        if !self.has_queued_work() && !self.shutdown.load(Acquire) {
            loop {
                let now = crate::platform::now_nanos();
                if word.load(Acquire) == 0 || now >= until {
                    break;
                }
                crate::platform::futex_wait(
                    word,
                    1,
                    Some(core::time::Duration::from_nanos(until - now)),
                );
            }
        }
        word.store(0, Relaxed);
        self.nnapping.fetch_sub(1, Relaxed);
    }

    /// A worker thread's life: run processor `p`'s goroutines; if the
    /// monitor takes the processor away, wait in the pool of idle
    /// threads until it hands this thread another.
    fn work(&self, p: usize) {
        let ctx = WorkerCtx {
            sched: self,
            proc: Cell::new(p),
            running: Cell::new(0),
            misses: Cell::new(0),
        };
        WORKER.with(|w| w.set(&ctx));
        #[cfg(gort_gc)]
        super::registry::register_current_thread();
        let thread = crate::platform::this_thread_token();
        loop {
            // We hold `ctx.proc` now: its status word says so. (Acquire:
            // a processor handed over after a retake comes with what its
            // previous thread did with it.)
            let proc = &self.procs[ctx.proc.get()];
            proc.thread.store(thread, Relaxed);
            proc.status.take_over();
            if self.run_processor(&ctx) {
                break; // shut down
            }
            match self.wait_for_processor() {
                Some(p) => ctx.proc.set(p),
                None => break,
            }
        }
        WORKER.with(|w| w.set(core::ptr::null()));
    }

    /// Runs our processor's goroutines until the scheduler shuts down
    /// (true) or the monitor takes the processor (false).
    fn run_processor(&self, ctx: &WorkerCtx) -> bool {
        // Spinning: woken by `wake_one` (it counted us), or about to sleep.
        let mut spinning = false;
        loop {
            self.run_due();
            if let Some(g) = self.find_work(ctx, &mut spinning) {
                if !self.run(ctx, g) {
                    return false;
                }
                continue;
            }
            if self.shutdown.load(Acquire) {
                return true;
            }
            spinning = self.sleep(ctx, spinning);
        }
    }

    /// Waits, without a processor, in the pool of idle threads; returns
    /// the processor the monitor hands us, or `None` at shutdown.
    fn wait_for_processor(&self) -> Option<usize> {
        let me = Arc::new(IdleThread {
            word: AtomicU32::new(0),
            proc: AtomicUsize::new(NO_PROC),
        });
        {
            let mut pool = self.idle_threads.lock();
            if self.shutdown.load(SeqCst) {
                return None;
            }
            pool.push(me.clone());
        }
        while me.word.load(Acquire) == 0 {
            super::sleep_on(&me.word, 0, None, crate::futex::WaitReason::Internal);
        }
        let p = me.proc.load(Relaxed);
        (p != NO_PROC).then_some(p)
    }

    /// Gives processor `p`, just retaken, to an idle thread, or to a new
    /// one.
    fn hand_off(&self, p: usize) {
        self.handoffs.fetch_add(1, Relaxed);
        let idle = self.idle_threads.lock().pop();
        match idle {
            Some(t) => t.give(p),
            None => self.start_thread(p),
        }
    }

    /// The next goroutine to run: our `runnext`, else our own newest, else
    /// stolen (spinning a while before giving up).
    fn find_work(&self, ctx: &WorkerCtx, spinning: &mut bool) -> Option<TaskRef> {
        let p = &self.procs[ctx.proc.get()];
        // SAFETY: the scheduler's side of the processor we hold.
        let local = unsafe { p.local() };
        let take_mine = || p.runnext.take().or_else(|| local.pop());
        // Our own queue, else whatever the network readied (to it).
        let mine = take_mine().or_else(|| super::netpoll::poll_now().then(take_mine).flatten());
        let found = mine.or_else(|| {
            if !*spinning {
                *spinning = true;
                self.nspinning.fetch_add(1, Relaxed);
            }
            (0..SPIN_ROUNDS)
                .find_map(|round| {
                    let g = self.steal(ctx.proc.get(), local);
                    if g.is_none() && round < SPIN_ROUNDS - 1 {
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
                .or_else(|| self.steal_runnext(ctx, local))
        });
        if found.is_some() {
            ctx.misses.set(0);
        }
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

    /// Steals (into `local`, processor `me`'s deque) from the global
    /// queue, else another processor's deque.
    fn steal(&self, me: usize, local: &Deque<TaskRef>) -> Option<TaskRef> {
        let n = self.procs.len();
        loop {
            let mut retry = false;
            match self.injector.steal_batch_and_pop(local) {
                Steal::Success(g) => return Some(g),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            for k in 1..n {
                match self.procs[(me + k) % n].stealer.steal_batch_and_pop(local) {
                    Steal::Success(g) => return Some(g),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                break;
            }
        }
        None
    }

    /// A spinning thread's last look before it sleeps, if another
    /// processor's `runnext` slot is busy: a nap (see `NAP_MIN`; not on
    /// the first look since we last found work), the queues again, then
    /// the slots (`RunNext::steal`: only a stuck owner's goroutine is
    /// taken).
    fn steal_runnext(&self, ctx: &WorkerCtx, local: &Deque<TaskRef>) -> Option<TaskRef> {
        let (me, n) = (ctx.proc.get(), self.procs.len());
        let others = || (1..n).map(|k| &self.procs[(me + k) % n].runnext);
        if others().all(RunNext::is_empty) {
            return None;
        }
        // The first look after finding work does not nap: work may be
        // arriving fast (a burst of spawns pushes the slot's previous
        // goroutines to the deque), and a nap would cost the queuer a wake.
        let misses = ctx.misses.get();
        if misses > 0 {
            self.nap(me, (NAP_MIN << (misses - 1).min(16)).min(NAP_MAX));
            if let Some(g) = self.steal(me, local) {
                return Some(g);
            }
        }
        let g = others().find_map(RunNext::steal);
        if g.is_none() {
            ctx.misses.set(misses.saturating_add(1));
        }
        g
    }

    /// Whether the global queue or a processor's deque holds work (not
    /// counting `runnext` slots, whose owners run them).
    fn has_queued_work(&self) -> bool {
        !self.injector.is_empty() || self.procs.iter().any(|p| !p.stealer.is_empty())
    }

    fn has_work(&self) -> bool {
        !self.injector.is_empty()
            || self
                .procs
                .iter()
                .any(|p| !p.stealer.is_empty() || !p.runnext.is_empty())
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
            self.wake_proc(waiter - 1);
        } // else it is awake already and will look at the timers
    }

    /// Sleeps until woken (then returns true: we were counted as a
    /// spinner), or, as the timed waiter, until the first timer is due or
    /// the netpoller readies goroutines (then returns false). The
    /// processor stays ours while we sleep.
    fn sleep(&self, ctx: &WorkerCtx, spinning: bool) -> bool {
        let index = ctx.proc.get();
        let word = &self.procs[index].wake_word;
        word.store(0, Relaxed);
        if spinning {
            self.nspinning.fetch_sub(1, Relaxed);
        }
        {
            let mut idle = self.idle.lock();
            idle.push(index);
            self.nidle.fetch_add(1, SeqCst);
        }
        fence(SeqCst);
        if self.has_work() || self.shutdown.load(Acquire) || self.something_due() {
            if self.leave_idle(index) {
                return false;
            }
            // Someone popped us to wake us: the word is on its way.
        } else {
            // The timed waiter: blocks in the netpoller if goroutines wait
            // on sockets and nobody blocks there yet (`wake_proc` breaks
            // that wait after storing our word), and sleeps until the
            // first timer if no processor does (an earlier timer then
            // wakes us: `timer_armed_earlier`).
            let net = super::netpoll::take_for_blocking();
            if net.is_some() {
                self.poll_waiter.store(index + 1, SeqCst);
            }
            let timers = (net.is_some() || self.next_deadline() != u64::MAX)
                && self
                    .timer_waiter
                    .compare_exchange(0, index + 1, SeqCst, Relaxed)
                    .is_ok();
            if net.is_some() || timers {
                // Reading `next` after announcing ourselves (SeqCst) means
                // an earlier deadline armed from now on finds us and
                // wakes us.
                fence(SeqCst);
                // Asleep for the deadlock monitor, though timed: it reports
                // only when no timer is pending (`time::pending_timers`) and
                // no socket has a waiter, so this wait then is for timers
                // disarmed since (`next` may be stale), which wake nobody.
                let asleep = crate::deadlock::Asleep::new(crate::futex::WaitReason::Internal);
                let mut events = false;
                loop {
                    let next = self.next_deadline();
                    let now = crate::platform::now_nanos();
                    if word.load(SeqCst) != 0 || now >= next || (net.is_none() && next == u64::MAX)
                    {
                        break;
                    }
                    let wait =
                        (next != u64::MAX).then(|| core::time::Duration::from_nanos(next - now));
                    match &net {
                        Some(net) => {
                            if super::parked(|| net.wait(wait)) {
                                events = true;
                                break;
                            }
                        }
                        None => {
                            super::parked(|| crate::platform::futex_wait(word, 0, wait));
                        }
                    }
                }
                drop(asleep);
                if timers {
                    self.timer_waiter.store(0, SeqCst);
                }
                if let Some(net) = net {
                    self.poll_waiter.store(0, SeqCst);
                    // Woken goroutines go to our processor (we still hold it).
                    if events {
                        net.dispatch();
                    }
                    drop(net);
                    self.poller_left();
                }
                if word.load(Acquire) == 0 && self.leave_idle(index) {
                    return false; // work, a timer due, or a poll to redo
                }
                // Woken (or being woken: the word is on its way).
            }
        }
        while word.load(Acquire) == 0 {
            super::sleep_on(word, 0, None, crate::futex::WaitReason::Internal);
        }
        true // whoever woke us counted us as spinning
    }

    /// We stopped blocking in the poller, which may have covered other
    /// schedulers' socket waiters while their processors slept (the
    /// poller is the process's): if anybody waits, each other scheduler
    /// wakes an idle processor, which blocks in the poller in turn unless
    /// someone already does. (Our own waiters are ours to cover: this
    /// thread is awake and polls again before it sleeps.)
    fn poller_left(&self) {
        if !super::netpoll::waiting() {
            return;
        }
        let others: Vec<Arc<Scheduler>> = {
            let mut all = SCHEDULERS.lock();
            all.retain(|s| s.strong_count() > 0);
            all.iter()
                .filter_map(std::sync::Weak::upgrade)
                .filter(|s| !core::ptr::eq(&**s, self))
                .collect()
        };
        for s in others {
            s.wake_one();
        }
    }

    /// Processor `index` takes itself off the idle list; false if someone
    /// already did, to wake it (its word is then on its way).
    fn leave_idle(&self, index: usize) -> bool {
        let left = self.remove_idle(index);
        if left {
            self.nidle.fetch_sub(1, SeqCst);
            self.wake_sysmon();
        }
        left
    }

    /// Takes processor `index` off the idle list if it is there (the
    /// caller then accounts for it: `leave_idle`, or `wake_proc`).
    fn remove_idle(&self, index: usize) -> bool {
        let mut idle = self.idle.lock();
        let pos = idle.iter().position(|&i| i == index);
        pos.map(|p| idle.swap_remove(p)).is_some()
    }

    /// Runs goroutine `task` until it switches out. Returns false if the
    /// monitor took our processor meanwhile: the goroutine is then queued
    /// globally (or parked, or finished) and this thread holds nothing.
    fn run(&self, ctx: &WorkerCtx, mut task: TaskRef) -> bool {
        // SAFETY: we took the task from a queue, so the goroutine is ours
        // until we park, requeue or finish it (module invariants).
        if let Some(Body::New(_)) = unsafe { &*task.goroutine.body.get() } {
            // SAFETY: as above.
            let Some(Body::New(start)) = unsafe { &mut *task.goroutine.body.get() }.take() else {
                unreachable!("just matched")
            };
            let stack = self.take_stack();
            // SAFETY: `start` is the `Pending::start` of this task's box,
            // whose body we just took out: its only start.
            task = unsafe { start(self, task, stack) };
        }
        // SAFETY: as above (the task may have moved, see `Pending::start`).
        let body = unsafe { &mut *task.goroutine.body.get() };
        let Some(Body::Started { co, guard, usable }) = body.as_mut() else {
            unreachable!("a queued goroutine has a body")
        };
        let proc = &self.procs[ctx.proc.get()];
        let running = proc.status.enter_goroutine();
        ctx.running.set(running);
        super::set_running(TaskRef::as_ptr(&task));
        GUARD.with(|c| c.set((guard.0, guard.1, task.id())));
        #[cfg(gort_gc)]
        let result = super::registry::running_goroutine(*usable, || co.resume(()));
        #[cfg(not(gort_gc))]
        let result = {
            let _ = usable;
            co.resume(())
        };
        GUARD.with(|c| c.set((0, 0, 0)));
        super::set_running(core::ptr::null());
        ctx.running.set(0);
        let kept = proc.status.leave_goroutine(running);
        if !kept {
            ctx.proc.set(NO_PROC);
        }
        match result {
            CoroutineResult::Yield(Request::Park) => {
                // SAFETY: this worker suspended the goroutine, which is not
                // yet PARKED (module invariants).
                if let Some(task) = unsafe { task.goroutine.parked.publish(&task) } {
                    // An unpark came first (NOTIFIED): run it again soon.
                    if kept {
                        // SAFETY: the scheduler's side of our processor.
                        unsafe { proc.local() }.push(task);
                    } else {
                        self.injector.push(task);
                        self.wake_one();
                    }
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
                // SAFETY: the goroutine finished, and it was ours; the
                // task's release (after our reference, at the latest)
                // gives the stack back.
                unsafe { *task.goroutine.home.get() = Some(co.into_stack()) };
            }
        }
        kept
    }

    /// `gort::blocking` in one of our goroutines: gives our processor to
    /// another thread before `f` blocks this one (Go's
    /// `entersyscallblock`), then queues the goroutine to run again
    /// wherever a processor is free, and this thread joins the idle pool.
    fn blocking<R>(&self, ctx: &WorkerCtx, task: &TaskRef, f: impl FnOnce() -> R) -> R {
        let p = ctx.proc.get();
        let running = ctx.running.get();
        // `retake` refuses a word that is not RUNNING (0: not in a goroutine).
        if p != NO_PROC && self.procs[p].status.retake(running) {
            self.hand_off(p);
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        // Back to the scheduler: its `run` finds the processor gone and
        // queues us for a thread that holds one.
        yield_now(task);
        result.unwrap_or_else(|payload| std::panic::resume_unwind(payload))
    }

    /// The system monitor (Go's sysmon): a thread of its own that looks
    /// at the processors every 20 µs, backing off to 10 ms while nothing
    /// happens, and sleeps for good while every processor is idle. A
    /// processor whose goroutine has not come back to the scheduler for
    /// `HANDOFF_AFTER_NS` while other work waits goes to another thread.
    fn sysmon(&self) {
        let mut trace = Trace {
            every: schedtrace_interval(),
            start: crate::platform::now_nanos(),
            next: u64::MAX,
        };
        trace.next = trace.start.saturating_add(trace.every.unwrap_or(u64::MAX));
        // Its 20 µs looks would otherwise be 70 µs (Linux's timer slack).
        crate::platform::precise_sleeps();
        let mut seen = vec![Seen::default(); self.procs.len()];
        let mut delay = SYSMON_MIN_SLEEP_NS;
        let mut quiet_looks = 0u32;
        while !self.shutdown.load(Acquire) {
            std::thread::sleep(core::time::Duration::from_nanos(delay));
            let now = crate::platform::now_nanos();
            self.trace_if_due(&mut trace, now);
            // Nobody looked at the network for a while (every processor
            // busy in long goroutines): we do, without blocking.
            if super::netpoll::poll_is_stale(now) {
                super::netpoll::poll_now();
            }
            if self.all_idle() {
                self.sysmon_sleep(&mut trace);
                delay = SYSMON_MIN_SLEEP_NS;
                quiet_looks = 0;
                seen.fill(Seen::default());
                continue;
            }
            if !world_stopped() && self.retake(now, &mut seen) {
                delay = SYSMON_MIN_SLEEP_NS;
                quiet_looks = 0;
            } else {
                quiet_looks += 1;
                if quiet_looks > 50 {
                    delay = (delay * 2).min(SYSMON_MAX_SLEEP_NS);
                }
            }
        }
    }

    /// Prints the `GORT_SCHEDTRACE` line if one is due at `now`.
    fn trace_if_due(&self, trace: &mut Trace, now: u64) {
        if let Some(every) = trace.every
            && now >= trace.next
        {
            self.print_schedtrace(now - trace.start);
            trace.next = now + every;
        }
    }

    fn all_idle(&self) -> bool {
        self.nidle.load(SeqCst) == self.procs.len()
    }

    /// Sleeps until a processor leaves the idle list (see `wake_sysmon`),
    /// waking only to print the trace lines that fall due meanwhile. It
    /// counts as asleep for the deadlock monitor throughout: printing
    /// wakes nobody.
    fn sysmon_sleep(&self, trace: &mut Trace) {
        self.sysmon_word.store(1, SeqCst);
        if !self.all_idle() || self.shutdown.load(SeqCst) {
            self.sysmon_word.store(0, SeqCst);
            return;
        }
        let _asleep = crate::deadlock::Asleep::new(crate::futex::WaitReason::Internal);
        while self.sysmon_word.load(SeqCst) == 1 {
            let timeout = trace.every.map(|_| {
                core::time::Duration::from_nanos(
                    trace.next.saturating_sub(crate::platform::now_nanos()),
                )
            });
            crate::platform::futex_wait(&self.sysmon_word, 1, timeout);
            self.trace_if_due(trace, crate::platform::now_nanos());
        }
    }

    /// One look at every processor: retakes those whose goroutine has
    /// not come back to the scheduler (the same tick seen) for
    /// `HANDOFF_AFTER_NS`, or for `BLOCKED_HANDOFF_AFTER_NS` if its thread
    /// is blocked in the kernel, while other work waits. True if it
    /// retook any.
    fn retake(&self, now: u64, seen: &mut [Seen]) -> bool {
        let mut retook = false;
        for (i, p) in self.procs.iter().enumerate() {
            let (status, running) = p.status.load();
            if !running {
                seen[i].status = status;
                continue;
            }
            if seen[i].status != status {
                seen[i] = Seen { status, since: now };
                continue;
            }
            let held = now - seen[i].since;
            if held < BLOCKED_HANDOFF_AFTER_NS || !self.work_waits(p) {
                continue;
            }
            // Reading the thread's state costs a system call or three:
            // only for a candidate that is not due anyway.
            let due = held >= HANDOFF_AFTER_NS
                || p.in_syscall.load(Relaxed) == status
                || crate::platform::thread_blocked(p.thread.load(Relaxed)) == Some(true);
            if !due {
                continue;
            }
            if p.status.retake(status) {
                self.hand_off(i);
                retook = true;
            }
        }
        retook
    }

    /// Whether something waits that a thread holding `p` would run: its
    /// own queue, the global queue, or a timer due.
    fn work_waits(&self, p: &Processor) -> bool {
        !p.stealer.is_empty()
            || !p.runnext.is_empty()
            || !self.injector.is_empty()
            || self.something_due()
    }

    /// Go's `GODEBUG=schedtrace` line, plus the hand-offs so far.
    fn print_schedtrace(&self, since_start: u64) {
        let queues: Vec<String> = self
            .procs
            .iter()
            .map(|p| (p.stealer.len() + usize::from(!p.runnext.is_empty())).to_string())
            .collect();
        let line = format!(
            "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} \
             idlethreads={} runqueue={} [{}] handoffs={}\n",
            since_start / 1_000_000,
            self.procs.len(),
            self.nidle.load(Relaxed),
            self.nthreads.load(Relaxed),
            self.nspinning.load(Relaxed),
            self.idle_threads.lock().len(),
            self.injector.len(),
            queues.join(" "),
            self.handoffs.load(Relaxed),
        );
        crate::platform::write_stderr(line.as_bytes());
    }
}

/// Every M:N scheduler of the process (they share one netpoller).
static SCHEDULERS: ShortLock<Vec<std::sync::Weak<Scheduler>>> =
    ShortLock::new(LockRank::Schedulers, Vec::new());

/// Whether the collector has stopped the world: its stopped threads look
/// blocked, but handing their processors off would only start threads
/// that wait for the world too.
fn world_stopped() -> bool {
    #[cfg(gort_gc)]
    return super::registry::STOP_EPOCH.load(Relaxed) != 0;
    #[cfg(not(gort_gc))]
    false
}

/// When the monitor prints `GORT_SCHEDTRACE` lines: every `every`
/// nanoseconds (if set) from `start`, the next at `next`.
struct Trace {
    every: Option<u64>,
    start: u64,
    next: u64,
}

/// What the monitor saw of a processor: its status word, and since when.
#[derive(Clone, Copy, Default)]
struct Seen {
    status: u64,
    since: u64,
}

/// `GORT_SCHEDTRACE=ms`, read once: the interval in nanoseconds.
fn schedtrace_interval() -> Option<u64> {
    static EVERY: OnceLock<Option<u64>> = OnceLock::new();
    *EVERY.get_or_init(|| {
        let ms: u64 = std::env::var("GORT_SCHEDTRACE").ok()?.trim().parse().ok()?;
        (ms > 0).then(|| ms.saturating_mul(1_000_000))
    })
}

/// Runs `f`, which may block its thread for a while or return at once (a
/// name lookup), as Go's `entersyscall`/`exitsyscall`: an M:N goroutine
/// keeps its processor, and the monitor hands it off after one look
/// (20-40 us) if `f` has not returned and other work waits, on every OS.
/// Costs two stores when `f` is quick; elsewhere it just calls `f`.
pub(crate) fn syscall<R>(f: impl FnOnce() -> R) -> R {
    let ctx = WORKER.with(Cell::get);
    // SAFETY: a non-null WORKER points at this thread's worker context.
    let Some(ctx) = (unsafe { ctx.as_ref() }) else {
        return f();
    };
    let (p, running) = (ctx.proc.get(), ctx.running.get());
    if p == NO_PROC || running == 0 {
        return f();
    }
    // SAFETY: the scheduler outlives its workers' contexts.
    let proc = &unsafe { &*ctx.sched }.procs[p];
    proc.in_syscall.store(running, Relaxed);
    let result = f();
    // A CAS: if the monitor retook the processor meanwhile, its next
    // holder's goroutine may be in a call of its own.
    let _ = proc
        .in_syscall
        .compare_exchange(running, 0, Relaxed, Relaxed);
    result
}

/// `gort::blocking(f)` from an M:N goroutine: see `Scheduler::blocking`.
/// Elsewhere (a plain thread, another scheduler) it just calls `f`.
pub(crate) fn blocking<R>(f: impl FnOnce() -> R) -> R {
    let ctx = WORKER.with(Cell::get);
    // SAFETY: a non-null WORKER points at this thread's worker context.
    let Some(ctx) = (unsafe { ctx.as_ref() }) else {
        return f();
    };
    match super::current_goroutine() {
        // SAFETY: the scheduler outlives its workers' contexts.
        Some(task) => unsafe { &*ctx.sched }.blocking(ctx, &task, f),
        None => f(),
    }
}
