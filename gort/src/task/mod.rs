//! Layer 2: the goroutine (`Task`) and the two verbs every blocking
//! operation is built from, `park` and `unpark`.
//!
//! Each OS thread has a current task: the goroutine it runs, or for a plain
//! thread (such as `main`) a task made for it on first use, so plain threads
//! block on gort primitives as themselves.
//!
//! Park protocol (one word per task): `EMPTY` → `SLEEPING` while a thread
//! sleeps on the word, or `EMPTY` → `PARKED` while a goroutine is switched
//! out (M:N, cores); `unpark` stores `NOTIFIED` and wakes the sleeper, or
//! requeues the goroutine. An unpark that comes before the park leaves
//! `NOTIFIED`, and the next park consumes it and returns at once, so the
//! order of the two never loses a wakeup. Only `PARKED` hands the task's
//! `ParkedSlot` to the unpark that swaps it out: a sleeping thread's slot
//! is never touched (several unparks of one thread are not ordered with
//! each other, so none of them may write anything but the word).
//!
//! Schedulers: `threads` (1:1) parks the OS thread on the task's word;
//! `mn` (M:N) switches the goroutine out to its worker, and `unpark` queues
//! it again; `cores` (bare metal) does the same with one scheduler loop per
//! core. Only the bodies of `park`/`unpark` differ. Under loom a task is a loom thread and
//! parks with loom's own park/unpark, so the channel core above can be
//! model-checked as written.

#[cfg(gort_cores)]
pub(crate) mod cores;
#[cfg(gort_mn)]
pub(crate) mod mn;
#[cfg(any(gort_mn, loom))]
#[doc(hidden)]
pub mod proc_status;
#[cfg(gort_gc)]
pub(crate) mod registry;
#[cfg(gort_mn)]
mod stacks;
#[cfg(all(feature = "std", not(loom)))]
pub(crate) mod thread_limit;
#[cfg(all(feature = "std", not(loom)))]
pub(crate) mod threads;
#[cfg(any(all(feature = "std", not(loom)), gort_cores))]
pub(crate) mod timers;

#[cfg(feature = "std")]
use core::cell::RefCell;
use core::time::Duration;

#[cfg(loom)]
use crate::futex::Futex;
use crate::shim::Arc;
#[cfg(not(loom))]
use crate::shim::atomic::AtomicU32;
#[cfg(not(loom))]
use crate::shim::atomic::AtomicU64;
use crate::shim::atomic::{AtomicUsize, Ordering};
/// Ids are not part of any model: a plain static counter under loom too.
#[cfg(loom)]
use std::sync::atomic::AtomicU64;

/// Polls of the park token before sleeping: 6 rounds of doubling spins,
/// then yields (the shape of crossbeam's `Backoff::snooze`).
#[cfg(feature = "std")]
const SPIN_ROUNDS: u32 = 10;

const EMPTY: u32 = 0;
const NOTIFIED: u32 = 1;
/// A thread asleep on the word (EMPTY - 1, see `park_thread_or_mn`).
const SLEEPING: u32 = u32::MAX;
/// A goroutine switched out, its reference in its `ParkedSlot`.
#[cfg(any(gort_mn, gort_cores))]
const PARKED: u32 = u32::MAX - 1;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A goroutine, or a plain OS thread seen as one.
///
/// [`park`] and [`Task::unpark`] are the primitive every blocking
/// operation in gort is built on (Go keeps its equivalents, `gopark` and
/// `goready`, inside the runtime). Most programs use channels and `sync`
/// instead.
///
/// ```
/// use gort::task;
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// let me = task::current();
/// assert_eq!(task::current().id(), me.id()); // same thread, same task
///
/// let done = Arc::new(AtomicBool::new(false));
/// let d = done.clone();
/// gort::go(move || {
///     d.store(true, Ordering::Release);
///     me.unpark(); // wake the main thread
/// });
/// while !done.load(Ordering::Acquire) {
///     task::park(); // may return early: re-check
/// }
/// ```
#[derive(Debug)]
pub struct Task {
    id: u64,
    /// The park word. Under loom it is a modelled `Futex` rather than loom's
    /// own park/unpark, which would also wake a task blocked on a lock.
    #[cfg(not(loom))]
    park_state: AtomicU32,
    #[cfg(loom)]
    park_state: Futex,
    /// The state of the channel operation or `select` this task is blocked
    /// in (see `chan::waiter`); it lives with the task so blocking on a
    /// channel allocates nothing.
    pub(crate) select_state: AtomicUsize,
    /// The coroutine side of an M:N goroutine (unused by other tasks).
    #[cfg(gort_mn)]
    pub(crate) goroutine: mn::Slot,
    /// The stack side of a bare-metal goroutine.
    #[cfg(gort_cores)]
    pub(crate) goroutine: cores::Slot,
    /// The runtime a goroutine belongs to (`None` for plain threads).
    #[cfg(all(feature = "std", not(loom)))]
    runtime: Option<std::sync::Arc<dyn core::any::Any + Send + Sync>>,
}

// A task's state words are atomics whose every transition is complete
// before a panic could start; the goroutine slot is only touched by the
// scheduler, outside any user code.
impl core::panic::UnwindSafe for Task {}
impl core::panic::RefUnwindSafe for Task {}

/// A shared handle to a task: what wakers keep to
/// [`unpark`](Task::unpark) it.
pub type TaskRef = Arc<Task>;

#[cfg(all(feature = "std", not(loom)))]
thread_local! {
    static CURRENT: RefCell<Option<TaskRef>> = const { RefCell::new(None) };
}
#[cfg(loom)]
loom::thread_local! {
    static CURRENT: RefCell<Option<TaskRef>> = RefCell::new(None);
}

impl Task {
    pub(crate) fn new() -> TaskRef {
        Arc::new(Task {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            #[cfg(not(loom))]
            park_state: AtomicU32::new(EMPTY),
            #[cfg(loom)]
            park_state: Futex::new(EMPTY),
            select_state: AtomicUsize::new(0),
            #[cfg(gort_mn)]
            goroutine: mn::Slot::default(),
            #[cfg(gort_cores)]
            goroutine: cores::Slot::default(),
            #[cfg(all(feature = "std", not(loom)))]
            runtime: None,
        })
    }

    /// A task for a goroutine of `runtime` (kept opaque at this layer).
    #[cfg(all(feature = "std", not(loom)))]
    pub(crate) fn for_runtime(
        runtime: std::sync::Arc<dyn core::any::Any + Send + Sync>,
    ) -> TaskRef {
        let mut task = Task::new();
        Arc::get_mut(&mut task).expect("new task").runtime = Some(runtime);
        task
    }

    /// The runtime this goroutine belongs to, if it is one.
    #[cfg(all(feature = "std", not(loom)))]
    pub(crate) fn runtime(&self) -> Option<&std::sync::Arc<dyn core::any::Any + Send + Sync>> {
        self.runtime.as_ref()
    }

    /// The goroutine id, unique for the life of the process (plain threads
    /// get one on first use too). Go hides its goroutine ids.
    ///
    /// ```
    /// let main_id = gort::task::current().id();
    /// let other = gort::spawn(|| gort::task::current().id()).join().unwrap();
    /// assert_ne!(main_id, other);
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Makes the task runnable: its current or next [`park`] returns.
    /// Example: see [`Task`].
    pub fn unpark(&self) {
        // AcqRel: seeing PARKED must also show the scheduler's write of
        // the parked goroutine (`ParkedSlot::publish`).
        match self.park_state.swap(NOTIFIED, Ordering::AcqRel) {
            SLEEPING => {
                #[cfg(not(loom))]
                crate::platform::futex_wake(&self.park_state);
                #[cfg(loom)]
                self.park_state.wake();
            }
            #[cfg(any(gort_mn, gort_cores))]
            PARKED => {
                #[cfg(gort_mn)]
                let queued = mn::unparked(self);
                #[cfg(gort_cores)]
                let queued = cores::unparked(self);
                debug_assert!(queued, "a PARKED task's slot holds it");
            }
            _ => {}
        }
    }
}

/// The task running on this thread: its goroutine, or the thread's own
/// task (made on first use). Example: see [`Task`].
#[cfg(feature = "std")]
pub fn current() -> TaskRef {
    CURRENT.with(|c| c.borrow_mut().get_or_insert_with(Task::new).clone())
}

/// The goroutine running on this core.
///
/// # Panics
/// Outside a goroutine: in an interrupt handler, or before
/// `gort::bare::start`. Only non-blocking operations (`try_send`,
/// `try_recv`, `close`, `Futex::wake`, ...) work there.
#[cfg(gort_cores)]
pub fn current() -> TaskRef {
    cores::current().expect(
        "gort: this operation can block, and only a goroutine can block \
         (not an interrupt handler, nor code before gort::bare::start)",
    )
}

/// The current task, if this thread has one yet (never creates one).
#[cfg(all(feature = "std", not(loom)))]
pub(crate) fn current_if_any() -> Option<TaskRef> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Installs `task` as this thread's current task (a scheduler starting a
/// goroutine on a thread it owns).
#[cfg(all(feature = "std", not(loom)))]
pub(crate) fn set_current(task: Option<TaskRef>) {
    CURRENT.with(|c| *c.borrow_mut() = task);
}

/// The current task if it is an M:N goroutine (which must park rather than
/// block its worker).
#[cfg(gort_mn)]
pub(crate) fn current_goroutine() -> Option<TaskRef> {
    current_if_any().filter(|t| mn::in_goroutine(t))
}

/// The goroutine running on this core, if the caller is one (not an
/// interrupt handler, nor code before the scheduler started).
#[cfg(gort_cores)]
pub(crate) fn current_goroutine() -> Option<TaskRef> {
    cores::current()
}

/// One step of a polling loop's backoff, `round` from 0: a doubling spin
/// for 6 rounds, then a yield (of the worker, for an M:N goroutine). An
/// M:N goroutine whose counterpart cannot be running elsewhere yields at
/// once (`mn::wait_advice`). Returns false, without waiting, if polling
/// cannot help at all: on a one-worker scheduler (or one core) the caller
/// should park at once, as Go's channels do (yielding round the global queue there cost
/// 40% of a `bounded(1)` message; with two workers, yielding beats
/// parking).
pub(crate) fn snooze(round: u32) -> bool {
    #[cfg(gort_mn)]
    let spin = match mn::wait_advice() {
        mn::WaitAdvice::Park => return false,
        advice => round < 6 && advice == mn::WaitAdvice::Spin,
    };
    // One core: nothing we wait for can happen until we switch out.
    #[cfg(gort_cores)]
    if cores::started_cores() == 1 {
        return false;
    }
    #[cfg(not(gort_mn))]
    let spin = round < 6;
    if spin {
        for _ in 0..1 << round {
            core::hint::spin_loop();
        }
    } else {
        #[cfg(not(loom))]
        yield_now();
        #[cfg(loom)]
        loom::thread::yield_now();
    }
    true
}

/// Runs `sleep`, a wait of this thread inside gort, as a parked thread for
/// the collector (see `registry::parked`; elsewhere it simply runs it).
#[cfg(all(feature = "std", not(loom)))]
pub(crate) fn parked<R>(sleep: impl FnOnce() -> R) -> R {
    #[cfg(gort_gc)]
    return registry::parked(sleep);
    #[cfg(not(gort_gc))]
    sleep()
}

/// Registers the calling thread with the collector, where there is one
/// (once: a thread-local check after that). Called wherever gort may hand
/// a thread a value it did not have (a channel receive, a lock, a join):
/// the value may hold `Gc`s, which the collector finds only on the stacks
/// of threads it can stop (see `registry`).
#[inline]
pub(crate) fn register_thread() {
    #[cfg(gort_gc)]
    registry::register_current_thread();
}

/// Runs the loop of a thread gort owns (an M:N worker, a pool thread, the
/// timer thread). User code runs there only inside a goroutine's own
/// `catch_unwind` (`after_func` calls too: each is a goroutine); a panic
/// that escapes anyway (a bug of gort's) ends the process as a
/// goroutine's unrecovered panic does (exit status 2), rather than leave a
/// dead worker and a runtime that hangs.
#[cfg(all(feature = "std", not(loom)))]
pub(crate) fn run_owned_thread(body: impl FnOnce()) {
    if let Err(payload) = std::panic::catch_unwind(core::panic::AssertUnwindSafe(body)) {
        crate::runtime::fatal_panic(current().id(), &*payload);
    }
}

/// Lets other goroutines run: an M:N goroutine goes to the back of the
/// global queue; a thread yields its CPU.
#[cfg(not(loom))]
pub(crate) fn yield_now() {
    #[cfg(gort_mn)]
    if let Some(task) = current_goroutine() {
        mn::yield_now(&task);
        return;
    }
    #[cfg(feature = "std")]
    std::thread::yield_now();
    #[cfg(gort_cores)]
    match current_goroutine() {
        Some(task) => cores::yield_now(&task),
        None => core::hint::spin_loop(),
    }
}

/// Where a goroutine that switched out (M:N and cores schedulers) keeps
/// its own reference while PARKED: the scheduler puts it there and then
/// publishes PARKED (`publish`); the `unpark` whose swap sees PARKED takes
/// it out to queue the goroutine (`take`). The park word hands the slot
/// over, so one party touches it at a time: the next write, the
/// scheduler's next `publish`, comes after the requeue that follows the
/// `take`. A thread's word never reads PARKED, so its slot stays
/// untouched (its unparks, unordered with each other, would race there).
#[cfg(any(gort_mn, gort_cores))]
#[derive(Default)]
pub(crate) struct ParkedSlot(core::cell::UnsafeCell<Option<TaskRef>>);

#[cfg(any(gort_mn, gort_cores))]
impl ParkedSlot {
    /// The scheduler's half of a park, once the goroutine `task` has
    /// switched out: keeps it here, then turns the park word EMPTY →
    /// PARKED (Release). Returns the task if an unpark came first (the
    /// word was NOTIFIED): the caller queues it to run again.
    ///
    /// # Safety
    /// `self` is `task`'s slot, the goroutine is switched out and not
    /// PARKED, and the caller is the scheduler that switched it out.
    #[inline]
    pub(crate) unsafe fn publish(&self, task: TaskRef) -> Option<TaskRef> {
        // SAFETY: not PARKED yet, so the slot is the caller's (above).
        unsafe { *self.0.get() = Some(task.clone()) };
        if task
            .park_state
            .compare_exchange(EMPTY, PARKED, Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            return None;
        }
        // SAFETY: the CAS failed, so not PARKED: the slot is still ours.
        drop(unsafe { (*self.0.get()).take() });
        Some(task)
    }

    /// The unparker's half: the parked goroutine to queue, if any.
    ///
    /// # Safety
    /// The caller's swap of the park word saw PARKED (AcqRel), which makes
    /// it the slot's owner after the scheduler's write. (Seeing SLEEPING
    /// would not: a thread's later sleeps are not ordered after this
    /// unpark, so another unpark could be in the slot at the same time.)
    #[inline]
    pub(crate) unsafe fn take(&self) -> Option<TaskRef> {
        // SAFETY: see the contract above.
        unsafe { (*self.0.get()).take() }
    }
}

/// The park of a goroutine that switches out (M:N and cores schedulers):
/// take a pending token; give up at an expired deadline; let `spin` look
/// for the token a little (true: found and taken); else arm the
/// deadline's timer, `switch_out` until an unpark queues us, and take its
/// token. Returns `false` only if the deadline passed without an unpark.
#[cfg(any(gort_mn, gort_cores))]
#[inline]
pub(crate) fn park_switching_out(
    task: &TaskRef,
    deadline: Option<u64>,
    spin: impl FnOnce() -> bool,
    switch_out: impl FnOnce(),
) -> bool {
    let state = &task.park_state;
    if state
        .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
    {
        return true;
    }
    if deadline.is_some_and(|d| crate::platform::now_nanos() >= d) {
        return false;
    }
    if spin() {
        return true;
    }
    let timer = deadline.map(|d| timers::arm_unpark(d, task.clone()));
    switch_out();
    // Resumed: an unpark queued us (or raced our park). Consume its token.
    state.swap(EMPTY, Ordering::Acquire);
    match timer {
        // Still armed: a real unpark came first.
        Some(t) => timers::disarm_unpark(t),
        None => true,
    }
}

/// Blocks the current task until [`unpark`](Task::unpark) is called on it
/// (or was called since the last park). May return spuriously; callers
/// re-check. Example: see [`Task`].
pub fn park() {
    park_inner(None);
}

/// Like [`park`], but gives up after `timeout`; returns `false` if it timed
/// out without being unparked.
///
/// ```
/// use gort::task;
/// use std::time::Duration;
///
/// // A fresh goroutine, so no unpark is pending.
/// let woken = gort::spawn(|| task::park_timeout(Duration::from_millis(1)));
/// assert!(!woken.join().unwrap());
///
/// let me = task::current();
/// me.unpark(); // before the park: it returns at once
/// assert!(task::park_timeout(Duration::from_secs(60)));
/// ```
#[cfg(not(loom))]
pub fn park_timeout(timeout: Duration) -> bool {
    park_inner(Some(timeout))
}

fn park_inner(timeout: Option<Duration>) -> bool {
    let task = current();
    #[cfg(gort_cores)]
    return cores::park(&task, timeout.and_then(crate::platform::deadline_after));
    #[cfg(feature = "std")]
    park_thread_or_mn(task, timeout)
}

#[cfg(feature = "std")]
fn park_thread_or_mn(task: TaskRef, timeout: Option<Duration>) -> bool {
    #[cfg(not(loom))]
    let reason = crate::deadlock::take_reason();
    #[cfg(gort_mn)]
    if mn::in_goroutine(&task) {
        let deadline = timeout.and_then(crate::platform::deadline_after);
        if deadline.is_none() {
            crate::deadlock::task_waits(reason);
        }
        let woken = mn::park(&task, deadline);
        if deadline.is_none() {
            crate::deadlock::task_wakes(reason);
        }
        return woken;
    }
    let state = &task.park_state;
    // A wake-up often follows within microseconds (the other side of a
    // channel is running on another core): look for the token a little
    // before sleeping, so neither side pays for a futex sleep and wake.
    if !cfg!(loom) {
        for round in 0..SPIN_ROUNDS {
            if state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return true;
            }
            snooze(round);
        }
    }
    // NOTIFIED → EMPTY (consume the token) or EMPTY → SLEEPING.
    if state.fetch_sub(1, Ordering::Acquire) == NOTIFIED {
        return true;
    }
    let deadline = timeout.and_then(crate::platform::deadline_after);
    // An untimed sleep of this thread, for the deadlock monitor.
    #[cfg(not(loom))]
    let _asleep = timeout
        .is_none()
        .then(|| crate::deadlock::Asleep::new(reason));
    loop {
        let remaining = match (timeout, deadline) {
            (None, _) => None,
            (Some(t), None) => Some(t), // too large to be a deadline: forever
            (Some(_), Some(d)) => Some(Duration::from_nanos(
                d.saturating_sub(crate::platform::now_nanos()),
            )),
        };
        #[cfg(not(loom))]
        let woken = parked(|| crate::platform::futex_wait(state, SLEEPING, remaining));
        #[cfg(loom)]
        let woken = {
            assert!(
                remaining.is_none(),
                "timed parks are not modelled under loom"
            );
            state.wait(SLEEPING);
            true
        };
        if state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return true;
        }
        if !woken {
            // Timed out: leave SLEEPING unless an unpark slipped in just now.
            return state.swap(EMPTY, Ordering::Acquire) == NOTIFIED;
        }
    }
}
