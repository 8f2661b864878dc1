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
//! Schedulers, one file each, and what a task is to them:
//! - a thread (a plain thread, or a goroutine of the 1:1 `threads`
//!   scheduler, whose pool is `threads.rs`) sleeps on its word
//!   (`park_thread`);
//! - a goroutine that a scheduler switches out: `mn` (M:N) switches it out
//!   to its worker and `unpark` queues it again; `cores` (bare metal) does
//!   the same with one scheduler loop per core. A build has at most one of
//!   them, named `switcher` here (`threads_only` where there is none);
//!   each offers the same functions (`park`, `unparked`, `yield_now`,
//!   `wait_advice`, `in_goroutine`, `Slot`).
//!
//! A task is reached through `TaskRef`s, counted in the task itself; the
//! last one's drop calls the task's `release`, the one place that knows
//! where the task lives: a box (threads, plain threads, cores), or an
//! M:N goroutine's record at the top of its pooled stack (`mn`). Cloning,
//! dropping, parking and unparking are the same code for both.
//!
//! The functions below dispatch on what the task is; the choices a build
//! makes are the `cfg`s on items, never inside a body. Under loom a task
//! is a loom thread whose futex is loom's model (`platform`), so the
//! channel core above is model-checked as written.

#[cfg(gort_cores)]
pub(crate) mod cores;
#[cfg(gort_mn)]
pub(crate) mod mn;
#[cfg(gort_net)]
pub(crate) mod netpoll;
mod park_thread;
#[cfg(any(gort_mn, loom))]
#[doc(hidden)]
pub mod proc_status;
#[cfg(any(gort_net, loom))]
#[doc(hidden)]
pub mod readiness;
#[cfg(gort_gc)]
pub(crate) mod registry;
#[cfg(gort_mn)]
mod stacks;
#[cfg(all(feature = "std", not(loom)))]
pub(crate) mod thread_limit;
#[cfg(all(feature = "std", not(loom)))]
pub(crate) mod threads;
#[cfg(not(any(gort_mn, gort_cores)))]
mod threads_only;
#[cfg(any(all(feature = "std", not(loom)), gort_cores))]
pub(crate) mod timers;

#[cfg(gort_cores)]
use cores as switcher;
#[cfg(gort_mn)]
use mn as switcher;
#[cfg(not(any(gort_mn, gort_cores)))]
use threads_only as switcher;

/// For the idle waits of gort's own threads (`threads`, `mn`).
#[cfg(all(feature = "std", not(loom)))]
pub(crate) use park_thread::parked;
pub(crate) use park_thread::sleep_on;
use switcher::WaitAdvice;

#[cfg(feature = "std")]
use core::cell::RefCell;
use core::time::Duration;

use core::ptr::NonNull;

use crate::futex::WaitReason;
#[cfg(not(loom))]
use crate::shim::atomic::AtomicU64;
use crate::shim::atomic::{AtomicU32, AtomicUsize, Ordering};
/// Ids are not part of any model: a plain static counter under loom too.
#[cfg(loom)]
use std::sync::atomic::AtomicU64;

const EMPTY: u32 = 0;
const NOTIFIED: u32 = 1;
/// A thread asleep on the word (EMPTY - 1, see `park_thread`).
const SLEEPING: u32 = u32::MAX;
/// A goroutine switched out, its reference in its `ParkedSlot`.
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
    /// The `TaskRef`s to this task; the last one dropped calls `release`.
    refs: AtomicUsize,
    /// Frees the task's memory (see `TaskRef`).
    release: Release,
    id: u64,
    /// The park word (under loom, one its modelled futex can sleep on).
    park_state: AtomicU32,
    /// The state of the channel operation or `select` this task is blocked
    /// in (see `chan::waiter`); it lives with the task so blocking on a
    /// channel allocates nothing.
    pub(crate) select_state: AtomicUsize,
    /// The switching scheduler's side of a goroutine: its coroutine (M:N)
    /// or stack (cores); unused by other tasks, and empty in threads-only
    /// builds.
    #[cfg_attr(not(any(gort_mn, gort_cores)), allow(dead_code))]
    pub(crate) goroutine: switcher::Slot,
    /// The runtime a goroutine belongs to (`None` for plain threads, and
    /// where there is no `Runtime`: loom models, bare metal).
    #[cfg_attr(any(loom, not(feature = "std")), allow(dead_code))]
    runtime: Option<RuntimeRef>,
}

/// A goroutine's runtime, opaque at this layer.
#[cfg(feature = "std")]
type RuntimeRef = std::sync::Arc<dyn core::any::Any + Send + Sync>;
/// Bare metal has one scheduler and no `Runtime` to name.
#[cfg(not(feature = "std"))]
type RuntimeRef = core::convert::Infallible;

// A task's state words are atomics whose every transition is complete
// before a panic could start; the goroutine slot is only touched by the
// scheduler, outside any user code.
impl core::panic::UnwindSafe for Task {}
impl core::panic::RefUnwindSafe for Task {}

/// What frees a task once its last `TaskRef` is gone: a boxed task's box,
/// or (M:N) the goroutine record at the top of a pooled stack, whose
/// stack then goes back to the pool.
///
/// # Safety
/// Called once, by the drop of the last reference, with the task it is
/// stored in; nothing touches the task after.
pub(crate) type Release = unsafe fn(NonNull<Task>);

/// A shared handle to a task: what wakers keep to
/// [`unpark`](Task::unpark) it. Cloning and dropping it count references
/// in the task itself, as `Arc` does; the last drop frees the task where
/// it lives (a box, or for an M:N goroutine the top of its stack, see
/// `mn`), the only place that knows the difference.
///
/// ```
/// let me = gort::task::current();
/// let also = me.clone();
/// assert!(gort::task::TaskRef::ptr_eq(&me, &also));
/// assert_eq!(me.id(), also.id());
/// ```
pub struct TaskRef {
    ptr: NonNull<Task>,
}

// SAFETY: a `TaskRef` is a shared reference to a `Task` that lives as
// long as it does (the count above); `Task` is `Sync` (atomics, and slots
// the park protocol hands over), so its references may cross threads.
unsafe impl Send for TaskRef {}
// SAFETY: as above.
unsafe impl Sync for TaskRef {}

/// Far beyond any real count (as `Arc`'s limit): a leak loop, not a program.
const MAX_REFS: usize = isize::MAX as usize;

impl TaskRef {
    /// A boxed task (threads, plain threads, cores).
    fn boxed(task: Task) -> TaskRef {
        let ptr = NonNull::from(alloc::boxed::Box::leak(alloc::boxed::Box::new(task)));
        TaskRef { ptr }
    }

    /// Adopts the first reference of a task made with `Task::record`.
    ///
    /// # Safety
    /// `ptr` points at such a task, whose one reference (count 1) nobody
    /// else adopted; its `release` frees it.
    #[cfg(gort_mn)]
    pub(crate) unsafe fn adopt(ptr: NonNull<Task>) -> TaskRef {
        TaskRef { ptr }
    }

    /// Whether both name the same task.
    pub fn ptr_eq(a: &TaskRef, b: &TaskRef) -> bool {
        a.ptr == b.ptr
    }

    /// The task's address (valid while a reference lives).
    pub fn as_ptr(this: &TaskRef) -> *const Task {
        this.ptr.as_ptr()
    }

    /// Gives up this reference as a pointer, for `from_raw`.
    #[cfg_attr(not(gort_mn), allow(dead_code))]
    pub(crate) fn into_raw(this: TaskRef) -> *const Task {
        core::mem::ManuallyDrop::new(this).ptr.as_ptr()
    }

    /// Takes back a reference given up by `into_raw`.
    ///
    /// # Safety
    /// `ptr` came from `into_raw`, and this takes that reference once.
    #[cfg_attr(not(gort_mn), allow(dead_code))]
    pub(crate) unsafe fn from_raw(ptr: *const Task) -> TaskRef {
        // SAFETY: `into_raw` gave a non-null pointer (contract above).
        let ptr = unsafe { NonNull::new_unchecked(ptr.cast_mut()) };
        TaskRef { ptr }
    }
}

impl Clone for TaskRef {
    #[inline]
    fn clone(&self) -> TaskRef {
        // Relaxed, as `Arc`: a new reference comes from an existing one,
        // which keeps the task alive meanwhile.
        if self.refs.fetch_add(1, Ordering::Relaxed) > MAX_REFS {
            panic!("gort: task reference count overflow");
        }
        TaskRef { ptr: self.ptr }
    }
}

impl Drop for TaskRef {
    #[inline]
    fn drop(&mut self) {
        // Release, then Acquire by the last: every use of the task through
        // any reference happens before its release (as `Arc`).
        if self.refs.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // An acquire load where `Arc` has a fence: the same order (it
        // reads the end of the release sequence of every drop), and the
        // form ThreadSanitizer understands (it does not model fences;
        // std's `Arc` does the same under it).
        self.refs.load(Ordering::Acquire);
        let release = self.release;
        // SAFETY: this was the last reference (count 1 → 0), so nobody
        // else can reach the task; `release` belongs to it (`Release`).
        unsafe { release(self.ptr) };
    }
}

impl core::ops::Deref for TaskRef {
    type Target = Task;
    #[inline]
    fn deref(&self) -> &Task {
        // SAFETY: this reference keeps the task alive (its count).
        unsafe { self.ptr.as_ref() }
    }
}

impl core::fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&**self, f)
    }
}

/// `Release` of a boxed task.
///
/// # Safety
/// As `Release`; `task` came from `TaskRef::boxed`.
unsafe fn release_box(task: NonNull<Task>) {
    // SAFETY: made by `Box::leak` in `TaskRef::boxed`; the last reference
    // is gone (contract).
    drop(unsafe { alloc::boxed::Box::from_raw(task.as_ptr()) });
}

#[cfg(all(feature = "std", not(loom)))]
thread_local! {
    static CURRENT: RefCell<Option<TaskRef>> = const { RefCell::new(None) };
}
#[cfg(gort_mn)]
thread_local! {
    /// The M:N goroutine running on this thread, or null. Borrowed: the
    /// worker that resumed it holds a reference until it switches back,
    /// so a switch costs no count traffic. Comes before `CURRENT`.
    static RUNNING: core::cell::Cell<*const Task> = const { core::cell::Cell::new(core::ptr::null()) };
}

/// The running M:N goroutine's task, borrowed (see `RUNNING`): valid
/// while the goroutine runs, which outlasts any use of it by its own code.
#[cfg(gort_mn)]
fn running() -> Option<core::mem::ManuallyDrop<TaskRef>> {
    let ptr = RUNNING.with(core::cell::Cell::get);
    // SAFETY: a non-null `RUNNING` points at the task of the goroutine
    // running on this thread, whose worker holds a reference to it until
    // the goroutine switches back; `ManuallyDrop` takes no count and
    // gives none back.
    (!ptr.is_null()).then(|| core::mem::ManuallyDrop::new(unsafe { TaskRef::from_raw(ptr) }))
}

/// Marks `task` as the goroutine running on this thread (null: none) for
/// `current()`; the caller holds a reference to it meanwhile.
#[cfg(gort_mn)]
pub(crate) fn set_running(task: *const Task) {
    RUNNING.with(|r| r.set(task));
}
#[cfg(loom)]
loom::thread_local! {
    static CURRENT: RefCell<Option<TaskRef>> = RefCell::new(None);
}

impl Task {
    /// A task with one reference that `release` frees.
    fn with(runtime: Option<RuntimeRef>, release: Release) -> Task {
        Task {
            refs: AtomicUsize::new(1),
            release,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            park_state: AtomicU32::new(EMPTY),
            select_state: AtomicUsize::new(0),
            goroutine: switcher::Slot::default(),
            runtime,
        }
    }

    #[allow(clippy::new_ret_no_self)] // a task is only ever reached by reference
    pub(crate) fn new() -> TaskRef {
        TaskRef::boxed(Task::with(None, release_box))
    }

    /// A boxed task for a goroutine of `runtime` (kept opaque at this
    /// layer).
    #[cfg(all(feature = "std", not(loom)))]
    pub(crate) fn for_runtime(runtime: RuntimeRef) -> TaskRef {
        TaskRef::boxed(Task::with(Some(runtime), release_box))
    }

    /// A task for a goroutine of `runtime` that its scheduler places
    /// itself (M:N: at the top of its stack), with one reference for
    /// `TaskRef::adopt`; `release` frees it.
    #[cfg(gort_mn)]
    pub(crate) fn record(runtime: RuntimeRef, release: Release) -> Task {
        Task::with(Some(runtime), release)
    }

    /// Takes the runtime out of a task being released (its scheduler
    /// drops it last, after giving the task's memory back).
    #[cfg(gort_mn)]
    pub(crate) fn take_runtime(&mut self) -> Option<RuntimeRef> {
        self.runtime.take()
    }

    /// The runtime this goroutine belongs to, if it is one.
    #[cfg(all(feature = "std", not(loom)))]
    pub(crate) fn runtime(&self) -> Option<&RuntimeRef> {
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
            SLEEPING => crate::platform::futex_wake(&self.park_state),
            PARKED => {
                let queued = switcher::unparked(self);
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
    #[cfg(gort_mn)]
    if let Some(task) = running() {
        return TaskRef::clone(&task);
    }
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
    #[cfg(gort_mn)]
    if let Some(task) = running() {
        return Some(TaskRef::clone(&task));
    }
    CURRENT.with(|c| c.borrow().clone())
}

/// Installs `task` as this thread's current task (a scheduler starting a
/// goroutine on a thread it owns).
#[cfg(all(feature = "std", not(loom)))]
pub(crate) fn set_current(task: Option<TaskRef>) {
    CURRENT.with(|c| *c.borrow_mut() = task);
}

/// The current task if it is a goroutine its scheduler switches out (an
/// M:N goroutine; on bare metal, the goroutine running on this core, if
/// the caller is one); never in a threads-only build.
pub(crate) use switcher::current as current_goroutine;

/// One step of a polling loop's backoff, `round` from 0: a doubling spin
/// for 6 rounds, then a yield (of the worker, for an M:N goroutine). An
/// M:N goroutine whose counterpart cannot be running elsewhere yields at
/// once (`mn::wait_advice`). Returns false, without waiting, if polling
/// cannot help at all: on a one-worker scheduler (or one core) the caller
/// should park at once, as Go's channels do (yielding round the global queue there cost
/// 40% of a `bounded(1)` message; with two workers, yielding beats
/// parking).
pub(crate) fn snooze(round: u32) -> bool {
    match switcher::wait_advice() {
        WaitAdvice::Park => return false,
        WaitAdvice::Spin if round < 6 => {
            for _ in 0..1 << round {
                core::hint::spin_loop();
            }
        }
        _ => yield_now(),
    }
    true
}

/// Registers the calling thread with the collector (once: a thread-local
/// check after that). Called wherever gort may hand a thread a value it
/// did not have (a channel receive, a lock, a join): the value may hold
/// `Gc`s, which the collector finds only on the stacks of threads it can
/// stop (see `registry`).
#[cfg(gort_gc)]
pub(crate) use registry::register_current_thread as register_thread;

/// No collector: nothing to register.
#[cfg(not(gort_gc))]
#[inline]
pub(crate) fn register_thread() {}

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

/// Lets other goroutines run: a switched goroutine goes to the back of its
/// scheduler's queue; a thread yields its CPU (on bare metal, an interrupt
/// handler just spins once).
pub(crate) fn yield_now() {
    match current_goroutine() {
        Some(task) => switcher::yield_now(&task),
        None => crate::platform::yield_now(),
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
    /// switched out: keeps a reference to it here, then turns the park
    /// word EMPTY → PARKED (Release). Returns that reference if an unpark
    /// came first (the word was NOTIFIED): the caller queues it to run
    /// again. (One count taken per park: the caller keeps its own
    /// reference, which keeps the task alive across the CAS.)
    ///
    /// # Safety
    /// `self` is `task`'s slot, the goroutine is switched out and not
    /// PARKED, and the caller is the scheduler that switched it out.
    #[inline]
    pub(crate) unsafe fn publish(&self, task: &TaskRef) -> Option<TaskRef> {
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
        unsafe { (*self.0.get()).take() }
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
    // A load first: most parks find no token, and the CAS is a locked
    // instruction.
    if state.load(Ordering::Relaxed) == NOTIFIED
        && state
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
    park_for(WaitReason::Unknown, None);
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
pub fn park_timeout(timeout: Duration) -> bool {
    park_for(WaitReason::Unknown, Some(timeout))
}

/// gort's own park (Go's `gopark`): [`park`], or with a timeout
/// [`park_timeout`], waiting for `reason`, which the deadlock report names
/// while the wait is untimed. Returns `false` only if it timed out.
pub(crate) fn park_for(reason: WaitReason, timeout: Option<Duration>) -> bool {
    #[cfg(gort_mn)]
    if let Some(task) = running() {
        let deadline = timeout.and_then(crate::platform::deadline_after);
        return switcher::park(&task, reason, deadline);
    }
    let task = current();
    if switcher::in_goroutine(&task) {
        let deadline = timeout.and_then(crate::platform::deadline_after);
        switcher::park(&task, reason, deadline)
    } else {
        park_thread::park(&task, reason, timeout)
    }
}
