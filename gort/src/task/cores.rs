//! The cores scheduler (bare metal): one scheduler loop per core, one run
//! queue shared by all of them under a `ShortLock` (a spinlock taken with
//! interrupts masked), goroutines on stacks of their own (TinyGo's `cores`
//! scheduler, as on the RP2040). A goroutine may be pinned to one core
//! (`gort::bare::go_on`): it then waits in that core's own queue, which
//! its loop serves first. An idle core sleeps in WFE; whoever queues a
//! goroutine sends an event.
//!
//! Invariants:
//! - a goroutine is in exactly one place: the shared run queue or its
//!   core's pinned queue, one core's `running` slot, its own `parked` slot (park word `PARKED`), or gone
//!   (finished);
//! - a goroutine leaves its core only by switching to that core's loop
//!   with a `Request`; the loop carries the request out after the switch,
//!   when the goroutine's registers are saved, so no core resumes a stack
//!   still in use;
//! - parking (`task::ParkedSlot`, shared with the M:N scheduler): the loop
//!   stores the task in its `parked` slot, then CASes the park word `EMPTY`
//!   → `PARKED` (Release). `unpark` swaps in `NOTIFIED`; seeing `PARKED`
//!   (AcqRel) makes it the slot's owner, and it queues the task. If the
//!   CAS fails, an unpark came first: the loop queues it;
//! - no lost wakeup for a sleeping core: it sleeps only after seeing the
//!   queues' lengths at zero; everyone who queues a goroutine (length
//!   stored under the queue's lock) or arms a timer earlier than the next
//!   one sends an event after the write (`dsb; sev`), and an event sent
//!   after the check makes the next WFE return at once;
//! - `running` and `request` of a core are touched only by that core's
//!   thread-mode code (never by its interrupt handlers: `current` returns
//!   `None` there).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::cell::UnsafeCell;

use super::{Task, TaskRef, timers};
use crate::futex::WaitReason;
use crate::platform::{self, MAX_CORES, ShortLock};
use crate::shim::atomic::Ordering::Relaxed;
use crate::shim::atomic::{AtomicU32, AtomicUsize};

/// What a goroutine asks of its core's loop when it switches out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Request {
    Yield,
    Park,
    Exit,
}

/// The stack side of a goroutine, kept in its `Task`.
#[derive(Default)]
pub(crate) struct Slot {
    /// The core it is pinned to, plus one; 0 for any core.
    pinned: AtomicUsize,
    /// Its stack pointer while switched out.
    sp: UnsafeCell<usize>,
    stack: UnsafeCell<Option<Box<[u64]>>>,
    /// The body, until it starts.
    body: UnsafeCell<Option<Box<dyn FnOnce() + Send>>>,
    /// The task itself while it is parked (see the invariants).
    parked: super::ParkedSlot,
}

// SAFETY: `pinned` is atomic; every other field is touched only by the
// core that runs the goroutine or by the party the invariants make
// the slot's owner (spawner before queueing, loop after a switch, the
// unparker after seeing PARKED), each hand-off ordered by the run queue's
// lock or the park word.
unsafe impl Sync for Slot {}
// SAFETY: as above; the body is `Send`.
unsafe impl Send for Slot {}

impl core::fmt::Debug for Slot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Slot")
            .field("pinned", &self.pinned.load(Relaxed))
            .finish_non_exhaustive()
    }
}

/// One core's scheduler state.
struct Core {
    /// The loop's stack pointer while a goroutine runs.
    loop_sp: UnsafeCell<usize>,
    running: UnsafeCell<Option<TaskRef>>,
    request: UnsafeCell<Request>,
    /// Goroutines pinned to this core and ready to run.
    pinned: RunQueue,
    /// Goroutine runs (switches in) on this core.
    runs: AtomicU32,
}

// SAFETY: `loop_sp`, `running` and `request` are touched only by this
// core's thread-mode code (see the invariants); `runs` is atomic.
unsafe impl Sync for Core {}

static CORES: [Core; MAX_CORES] = [const {
    Core {
        loop_sp: UnsafeCell::new(0),
        running: UnsafeCell::new(None),
        request: UnsafeCell::new(Request::Yield),
        pinned: RunQueue::new(),
        runs: AtomicU32::new(0),
    }
}; MAX_CORES];

static RUN_QUEUE: RunQueue = RunQueue::new();
/// Finished goroutines' stacks, for the next ones.
static STACK_POOL: ShortLock<Vec<Box<[u64]>>> =
    ShortLock::new(crate::lockrank::LockRank::CoresStackPool, Vec::new());
/// Goroutines started and not finished.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Cores started (running a scheduler loop or about to).
static STARTED_CORES: AtomicUsize = AtomicUsize::new(0);
static STACK_SIZE: AtomicUsize = AtomicUsize::new(DEFAULT_STACK_SIZE);

/// A goroutine's stack unless `gort::bare::set_stack_size` says otherwise.
pub(crate) const DEFAULT_STACK_SIZE: usize = 8 * 1024;
/// The scheduler loop's own stack on cores other than the first.
const LOOP_STACK_SIZE: usize = 4 * 1024;
/// The red zone: the bottom 256 bytes of every stack hold this value,
/// checked whenever its goroutine switches out, to report an overflow.
/// There is no guard page on these chips: an overflow that runs past the
/// red zone before its goroutine switches out corrupts the memory below
/// (an MPU guard region would catch it; not done yet).
const CANARY: u64 = 0x6f72_7467_6f72_7467;
const CANARY_WORDS: usize = 32;

/// A queue of ready goroutines, with its length readable without the
/// lock: an idle core looks at that, not the lock, so it does not slow
/// down the cores that push and pop.
struct RunQueue {
    tasks: ShortLock<VecDeque<TaskRef>>,
    /// Written under the lock.
    len: AtomicUsize,
}

impl RunQueue {
    const fn new() -> Self {
        RunQueue {
            tasks: ShortLock::new(crate::lockrank::LockRank::CoresRunQueue, VecDeque::new()),
            len: AtomicUsize::new(0),
        }
    }

    fn push(&self, task: TaskRef) {
        let mut q = self.tasks.lock();
        q.push_back(task);
        self.len.store(q.len(), Relaxed);
    }

    /// The first task; `None` without taking the lock when the queue
    /// looks empty (a push racing this is followed by an event).
    fn pop(&self) -> Option<TaskRef> {
        if self.len.load(Relaxed) == 0 {
            return None;
        }
        let mut q = self.tasks.lock();
        let task = q.pop_front();
        self.len.store(q.len(), Relaxed);
        task
    }
}

fn this_core() -> &'static Core {
    &CORES[platform::core_id()]
}

/// The goroutine running on this core, or `None` in an interrupt handler,
/// in a scheduler loop, or before the scheduler started.
pub(crate) fn current() -> Option<TaskRef> {
    if platform::in_interrupt() {
        return None;
    }
    // SAFETY: thread-mode code of this core; the loop writes `running`
    // only between goroutines, never while one (the caller) runs.
    unsafe { (*this_core().running.get()).clone() }
}

/// Queues a new goroutine running `body`, on any core or pinned to
/// `core`.
pub(crate) fn spawn(body: Box<dyn FnOnce() + Send>, core: Option<usize>) -> TaskRef {
    let task = Task::new();
    task.goroutine
        .pinned
        .store(core.map_or(0, |c| c + 1), Relaxed);
    // SAFETY: nobody else has the task yet.
    unsafe { *task.goroutine.body.get() = Some(body) };
    LIVE.fetch_add(1, Relaxed);
    ready(task.clone());
    task
}

/// Puts `task` at the back of its run queue and wakes the idle cores.
fn ready(task: TaskRef) {
    match task.goroutine.pinned.load(Relaxed) {
        0 => RUN_QUEUE.push(task),
        core => CORES[core - 1].pinned.push(task),
    }
    platform::send_event();
}

/// Called by `Task::unpark` after it swapped `PARKED` out: queues the
/// task. False if it was not a parked goroutine.
pub(crate) fn unparked(task: &Task) -> bool {
    // SAFETY: `Task::unpark` calls us after its swap saw PARKED.
    match unsafe { task.goroutine.parked.take() } {
        Some(me) => {
            ready(me);
            true
        }
        None => false,
    }
}

/// Parks the running goroutine until `unpark` (or `deadline`, a
/// `now_nanos` time). Returns `false` only if the deadline passed first.
/// The reason goes unrecorded: bare metal reports no deadlock (an
/// interrupt handler may still wake a goroutine when every core is idle,
/// so "nothing can ever happen" is not knowable here).
pub(crate) fn park(task: &TaskRef, _reason: WaitReason, deadline: Option<u64>) -> bool {
    // No spinning: the scheduler loop switches to the next goroutine in a
    // few hundred cycles.
    super::park_switching_out(task, deadline, || false, || switch_out(task, Request::Park))
}

/// Lets the other queued goroutines run first.
pub(crate) fn yield_now(task: &Task) {
    switch_out(task, Request::Yield);
}

/// Whether `task` is a goroutine of this scheduler: every task is (code
/// that is not a goroutine has none, see `task::current`).
pub(crate) fn in_goroutine(_: &Task) -> bool {
    true
}

/// What a goroutine waiting for another's step should do meanwhile (see
/// `task::snooze`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitAdvice {
    /// Poll a little: another core may be taking that step now.
    Spin,
    /// Switch out: on one core nothing we wait for can happen until we do.
    Park,
}

/// See `WaitAdvice`.
pub(crate) fn wait_advice() -> WaitAdvice {
    if started_cores() == 1 {
        WaitAdvice::Park
    } else {
        WaitAdvice::Spin
    }
}

/// Switches from the running goroutine `task` to its core's loop, which
/// carries out `request`; returns when the goroutine is resumed (perhaps
/// on another core).
fn switch_out(task: &Task, request: Request) {
    let core = this_core();
    // SAFETY: thread-mode code of this core (see the invariants). The loop
    // stored `loop_sp` when it switched to us, and we save our own stack in
    // our slot, which nobody reads until the loop hands us on.
    unsafe {
        *core.request.get() = request;
        platform::switch_stack(task.goroutine.sp.get(), *core.loop_sp.get());
    }
}

/// First code of every goroutine, on its own stack.
extern "C" fn goroutine_main(task: usize) -> ! {
    // SAFETY: `run` passes the task's address while its core holds a
    // reference to it in `running`, which lives until we exit.
    let task = unsafe { &*(task as *const Task) };
    // SAFETY: the body was set at spawn and is taken once, here.
    let body = unsafe { (*task.goroutine.body.get()).take() };
    if let Some(body) = body {
        body();
    }
    switch_out(task, Request::Exit);
    unreachable!("a finished goroutine was resumed");
}

/// Runs `task` on this core until it switches out, then does what it
/// asked.
fn run(core: &Core, task: TaskRef) {
    let slot = &task.goroutine;
    // SAFETY: the task came off the run queue, so this core owns the slot.
    let sp = unsafe {
        if (*slot.stack.get()).is_none() {
            let stack = new_stack();
            let top = stack.as_ptr_range().end as usize;
            *slot.stack.get() = Some(stack);
            *slot.sp.get() =
                platform::prepare_stack(top, goroutine_main, TaskRef::as_ptr(&task) as usize);
        }
        *slot.sp.get()
    };
    core.runs.fetch_add(1, Relaxed);
    // SAFETY: thread-mode code of this core. We switch to a stack only
    // this core now owns; it switches back here with its request set.
    let request = unsafe {
        *core.running.get() = Some(task);
        platform::switch_stack(core.loop_sp.get(), sp);
        *core.request.get()
    };
    // SAFETY: as above.
    let task = unsafe { (*core.running.get()).take() }.expect("a goroutine was running");
    check_canary(&task);
    match request {
        Request::Yield => ready(task),
        Request::Park => {
            // SAFETY: this core switched the goroutine out; it is not yet
            // PARKED.
            if let Some(task) = unsafe { task.goroutine.parked.publish(&task) } {
                // An unpark came first (NOTIFIED): run it again.
                ready(task);
            }
        }
        Request::Exit => {
            // SAFETY: the goroutine is gone; its stack is ours to reuse.
            if let Some(stack) = unsafe { (*task.goroutine.stack.get()).take() } {
                STACK_POOL.lock().push(stack);
            }
            LIVE.fetch_sub(1, Relaxed);
        }
    }
}

fn new_stack() -> Box<[u64]> {
    let words = STACK_SIZE.load(Relaxed) / 8;
    let pooled = STACK_POOL.lock().pop();
    let mut stack = match pooled {
        Some(s) if s.len() == words => s,
        _ => alloc::vec![0u64; words].into_boxed_slice(),
    };
    stack[..CANARY_WORDS].fill(CANARY);
    stack
}

/// Fatal error if the goroutine wrote below its stack.
fn check_canary(task: &Task) {
    // SAFETY: the goroutine is switched out; this core owns its slot.
    let stack = unsafe { &*task.goroutine.stack.get() };
    if let Some(stack) = stack
        && stack[..CANARY_WORDS].iter().any(|&w| w != CANARY)
    {
        crate::bare::fatal(format_args!(
            "goroutine {} overflowed its {}-byte stack (gort::bare::set_stack_size)",
            task.id(),
            stack.len() * 8
        ));
    }
}

/// A core's scheduler loop: runs queued goroutines, serves due timers, and
/// sleeps when there is nothing to do.
fn run_loop() -> ! {
    let core = this_core();
    loop {
        let next = core.pinned.pop().or_else(|| RUN_QUEUE.pop());
        if let Some(task) = next {
            run(core, task);
            continue;
        }
        if timers::GLOBAL_HEAP.run_due(platform::now_nanos()) != 0 {
            continue;
        }
        if timers::GLOBAL_HEAP.next() == u64::MAX {
            platform::wait_for_event();
        } else {
            // A timer is armed and no interrupt will say when it is due:
            // poll the clock.
            core::hint::spin_loop();
        }
    }
}

/// Told by `timers` when a timer earlier than every other is armed.
pub(crate) fn timer_armed_earlier() {
    platform::send_event();
}

extern "C" fn secondary_core_main() -> ! {
    run_loop()
}

/// Starts the scheduler: `main` as the first goroutine, a loop on every
/// core the board can start. Runs the first core's loop; never returns.
pub(crate) fn start(main: Box<dyn FnOnce() + Send>) -> ! {
    platform::init();
    STARTED_CORES.store(1, Relaxed);
    for core in 1..MAX_CORES {
        let stack: &'static mut [u64] =
            Box::leak(alloc::vec![0u64; LOOP_STACK_SIZE / 8].into_boxed_slice());
        let top = stack.as_ptr_range().end as usize;
        if !platform::start_core(core, top, secondary_core_main) {
            break;
        }
        STARTED_CORES.fetch_add(1, Relaxed);
    }
    spawn(main, None);
    run_loop()
}

/// Bytes of stack the running goroutine has left above its red zone
/// (`None` outside a goroutine).
pub(crate) fn stack_headroom() -> Option<usize> {
    let task = current()?;
    let here = 0u8;
    let sp = core::hint::black_box(&here) as *const u8 as usize;
    // SAFETY: our own goroutine's slot: only we (the running goroutine)
    // and our core's loop, which is not running, touch it.
    let stack = unsafe { (*task.goroutine.stack.get()).as_ref()? };
    let floor = stack.as_ptr() as usize + CANARY_WORDS * 8;
    Some(sp.saturating_sub(floor))
}

/// Sets the stack size of goroutines started from now on.
pub(crate) fn set_stack_size(bytes: usize) {
    let bytes = bytes.max(1024).next_multiple_of(8);
    STACK_SIZE.store(bytes, Relaxed);
}

/// Goroutines started and not finished.
pub(crate) fn live() -> usize {
    LIVE.load(Relaxed)
}

/// Cores running a scheduler loop.
pub(crate) fn started_cores() -> usize {
    STARTED_CORES.load(Relaxed)
}

/// How many times each core switched to a goroutine.
pub(crate) fn runs(core: usize) -> u32 {
    CORES.get(core).map_or(0, |c| c.runs.load(Relaxed))
}
