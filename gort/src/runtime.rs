//! Layer 7: the API a Go programmer reaches for: `go`, `spawn`, `Builder`,
//! `Runtime`, `gosched`, `num_cpu`, `gomaxprocs`, `num_goroutine`.
//!
//! A goroutine runs on its runtime's scheduler; `go`/`spawn` called from a
//! goroutine use that goroutine's runtime, and from a plain thread the
//! default runtime (configured from the environment on first use).
//!
//! Panics follow Go: a goroutine's panic that nobody joins prints
//! `panic: <message>` and `goroutine <id> [running]` and ends the process
//! with exit status 2; a `JoinHandle` that is joined receives it instead.
//! What the runtime drops for a goroutine, it drops inside that goroutine:
//! its closure's captures, and its result when the handle is already gone
//! (a panic in that `Drop` is the goroutine's, and nobody can recover it).
//! A result the handle takes is dropped by whoever holds the handle.

use core::fmt;
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

#[cfg(gort_mn)]
use crate::task::mn;
use crate::task::{self, Task, threads::ThreadPool};

/// Which scheduler runs a runtime's goroutines.
///
/// The default ([`Builder::new`]) is `GORT_SCHEDULER` from the
/// environment (`mn` or `threads`), else M:N where it is available, as in
/// Go, and threads elsewhere.
///
/// ```
/// use gort::{Builder, Scheduler};
///
/// // Threads everywhere; M:N wherever stacks can switch (not wasm).
/// assert!(Scheduler::Threads.is_available());
/// assert_eq!(Scheduler::MN.is_available(), cfg!(not(target_family = "wasm")));
///
/// let rt = Builder::new().scheduler(Scheduler::Threads).build();
/// assert_eq!(rt.scheduler(), Scheduler::Threads);
/// assert_eq!(rt.run(|| 1 + 1), 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheduler {
    /// Goroutines as stackful coroutines on [`workers`](Builder::workers)
    /// threads (M:N), as in Go. Not available on wasm and bare metal:
    /// building it there panics.
    MN,
    /// One pooled OS thread per goroutine (1:1).
    Threads,
}

impl Scheduler {
    /// Whether this target has the scheduler (M:N needs switchable stacks:
    /// not on wasm or bare metal). Example: see [`Scheduler`].
    pub fn is_available(self) -> bool {
        match self {
            Scheduler::Threads => true,
            Scheduler::MN => cfg!(gort_mn),
        }
    }
}

/// Default stack for a goroutine thread: virtual memory, touched lazily.
const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// The smallest goroutine stack; smaller sizes are rounded up to it. A
/// panic's report with a backtrace (`RUST_BACKTRACE=1`) overflowed 16 KiB
/// and fit 32 KiB (unoptimised, x86-64): this leaves it room.
const MIN_STACK_SIZE: usize = 64 * 1024;

/// The largest goroutine stack: Go's limit (`debug.SetMaxStack`: 1 GB on
/// 64-bit, 250 MB on 32-bit), in binary units. Beyond it a size is a
/// mistake, and near `usize::MAX` the arithmetic of mapping it overflows.
const MAX_STACK_SIZE: usize = if usize::BITS >= 64 {
    1 << 30
} else {
    256 << 20
};

/// Configures a [`Runtime`].
///
/// Most programs need none: [`go`] and [`spawn`] use a default runtime
/// configured from the environment. A runtime of one's own fixes the
/// scheduler and the worker count (Go has one runtime per process, sized
/// by `GOMAXPROCS`).
///
/// ```
/// use gort::{Builder, Scheduler};
///
/// // M:N where this target has it (not on wasm), else one thread per goroutine.
/// let sched = if Scheduler::MN.is_available() { Scheduler::MN } else { Scheduler::Threads };
/// let rt = Builder::new()
///     .scheduler(sched)
///     .workers(2)
///     .stack_size(128 * 1024)
///     .build();
/// assert_eq!(rt.scheduler(), sched);
/// assert_eq!(rt.run(gort::gomaxprocs), 2); // inside: the runtime's workers
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    scheduler: Scheduler,
    workers: Option<usize>,
    stack_size: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// The defaults: `GORT_SCHEDULER` (else M:N where available, threads
    /// on wasm), `GOMAXPROCS` workers (else [`num_cpu`]), 256 KiB
    /// goroutine stacks.
    ///
    /// ```
    /// // Whatever the environment says, the default is usable here.
    /// assert!(gort::Builder::new().scheduler_choice().is_available());
    /// ```
    pub fn new() -> Self {
        Builder {
            scheduler: env_scheduler(),
            workers: None,
            stack_size: DEFAULT_STACK_SIZE,
        }
    }

    /// The scheduler this builder will use.
    ///
    /// ```
    /// use gort::{Builder, Scheduler};
    /// let b = Builder::new().scheduler(Scheduler::Threads);
    /// assert_eq!(b.scheduler_choice(), Scheduler::Threads);
    /// ```
    pub fn scheduler_choice(&self) -> Scheduler {
        self.scheduler
    }

    /// Chooses the scheduler. Example: see [`Builder`].
    pub fn scheduler(mut self, scheduler: Scheduler) -> Self {
        self.scheduler = scheduler;
        self
    }

    /// Number of worker threads (M:N); reported by [`gomaxprocs`] inside
    /// the runtime. The threads scheduler does not cap running goroutines.
    /// Example: see [`Builder`].
    ///
    /// # Panics
    /// If `n` is zero.
    pub fn workers(mut self, n: usize) -> Self {
        assert!(n > 0, "gort: Builder::workers must be at least 1");
        self.workers = Some(n);
        self
    }

    /// Stack size of each goroutine in bytes: address space, backed as it
    /// is touched. Fixed, unlike Go's growable stacks. A size below 64 KiB
    /// is rounded up to it, and every size up to whole pages. Example: see
    /// [`Builder`].
    ///
    /// # Panics
    /// If `bytes` exceeds the maximum: 1 GiB on 64-bit targets, 256 MiB on
    /// 32-bit ones (Go's limit is 1 GB and 250 MB).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        assert!(
            bytes <= MAX_STACK_SIZE,
            "gort: stack size {bytes} exceeds the maximum {MAX_STACK_SIZE}"
        );
        self.stack_size = bytes.max(MIN_STACK_SIZE);
        self
    }

    /// Builds the runtime (M:N: starts its worker threads, which stop when
    /// the last handle and the last goroutine of the runtime are gone).
    /// Example: see [`Builder`].
    ///
    /// # Panics
    /// With [`Scheduler::MN`] on a target without it (wasm, bare metal).
    pub fn build(self) -> Runtime {
        let workers = self.workers.unwrap_or_else(gomaxprocs_env);
        let sched = match self.scheduler {
            Scheduler::Threads => Sched::Threads(ThreadPool::new(self.stack_size)),
            #[cfg(gort_mn)]
            Scheduler::MN => Sched::MN(mn::Scheduler::start(workers, self.stack_size)),
            #[cfg(not(gort_mn))]
            Scheduler::MN => panic!(
                "gort: the M:N scheduler is not available on this target; use \
                 Scheduler::Threads (or GORT_SCHEDULER=threads)"
            ),
        };
        Runtime {
            inner: Arc::new(RuntimeInner {
                scheduler: self.scheduler,
                workers,
                sched,
            }),
        }
    }
}

/// A set of goroutines sharing a scheduler. Cloning gives another handle.
///
/// Made by [`Builder::build`]. A goroutine's own [`go`] and [`spawn`]
/// calls start goroutines on its runtime.
///
/// ```
/// use gort::chan::Chan;
///
/// let rt = gort::Builder::new().workers(2).build();
/// let results = Chan::new(2);
/// for i in 0..2 {
///     let results = results.clone();
///     rt.go(move || results.send(i * 10).unwrap());
/// }
/// let mut got = [results.recv().unwrap(), results.recv().unwrap()];
/// got.sort();
/// assert_eq!(got, [0, 10]);
///
/// let handle = rt.spawn(|| "joined");
/// assert_eq!(handle.join().unwrap(), "joined");
/// // `run` blocks the caller until its goroutine returns.
/// assert_eq!(rt.run(|| gort::spawn(|| 7).join().unwrap()), 7);
/// ```
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    scheduler: Scheduler,
    workers: usize,
    sched: Sched,
}

enum Sched {
    Threads(Arc<ThreadPool>),
    #[cfg(gort_mn)]
    MN(Arc<mn::Scheduler>),
}

impl Drop for RuntimeInner {
    fn drop(&mut self) {
        // No handle and no goroutine of this runtime is left.
        #[cfg(gort_mn)]
        if let Sched::MN(s) = &self.sched {
            s.shutdown();
        }
    }
}

// A panic never leaves a runtime half-updated: goroutine panics are caught
// at the goroutine's edge, and the scheduler's own state changes under
// locks or atomics that panics do not interrupt.
impl std::panic::UnwindSafe for Runtime {}
impl std::panic::RefUnwindSafe for Runtime {}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("scheduler", &self.inner.scheduler)
            .field("workers", &self.inner.workers)
            .finish()
    }
}

/// Goroutines started and not yet finished, in every runtime.
static LIVE_GOROUTINES: AtomicUsize = AtomicUsize::new(0);

impl Runtime {
    /// Runs `f` as a goroutine of this runtime and waits for it; its panic
    /// resumes in the caller. Example: see [`Runtime`].
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        match self.spawn(f).join() {
            Ok(v) => v,
            Err(payload) => resume_unwind(payload),
        }
    }

    /// Starts a joinable goroutine on this runtime. Example: see
    /// [`Runtime`].
    pub fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> JoinHandle<T> {
        let packet = Packet {
            state: AtomicU32::new(0),
            waiter: std::cell::UnsafeCell::new(None),
            result: std::cell::UnsafeCell::new(None),
        };
        let (id, shared) = self.launch(packet, f, |id, packet, result| packet.finish(id, result));
        let (packet, keep) = match shared {
            Shared::Record(task, packet) => (packet, Keep::Record(task)),
            Shared::Heap(packet) => (NonNull::from(&*packet), Keep::Heap(packet)),
        };
        JoinHandle {
            packet,
            keep: Some(keep),
            id,
        }
    }

    /// Starts a detached goroutine on this runtime (Go's `go f()`). If it
    /// panics, the process prints the panic and exits with status 2.
    /// Example: see [`Runtime`].
    pub fn go(&self, f: impl FnOnce() + Send + 'static) {
        // No join packet: nobody can receive the result or the panic.
        self.launch((), f, |id, (), result| {
            if let Err(payload) = result {
                fatal_panic(id, &*payload);
            }
        });
    }

    /// Starts `f` as a new goroutine, counted in `LIVE_GOROUTINES` while
    /// it runs; `done(id, payload, result)` then gets its value or its
    /// panic. Returns its id and where `payload` lives: under M:N in the
    /// goroutine's record (with the task, at the top of its stack: no
    /// allocation), on threads in an `Arc`.
    fn launch<T, P: Send + Sync + 'static>(
        &self,
        payload: P,
        f: impl FnOnce() -> T + Send + 'static,
        done: impl FnOnce(u64, &P, std::thread::Result<T>) + Send + 'static,
    ) -> (u64, Shared<P>) {
        LIVE_GOROUTINES.fetch_add(1, Ordering::Relaxed);
        let job = move |id, payload: &P| {
            let result = catch_unwind(AssertUnwindSafe(f));
            LIVE_GOROUTINES.fetch_sub(1, Ordering::Relaxed);
            // `done` drops the value when nobody will join it: a panic in
            // its `Drop` is this goroutine's, and nobody can recover it.
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| done(id, payload, result))) {
                fatal_panic(id, &*payload);
            }
        };
        match &self.inner.sched {
            Sched::Threads(pool) => {
                let task = Task::for_runtime(self.inner.clone());
                let id = task.id();
                let payload = Arc::new(payload);
                let theirs = payload.clone();
                pool.spawn(Box::new(move || {
                    task::set_current(Some(task));
                    job(id, &theirs);
                    task::set_current(None);
                }));
                (id, Shared::Heap(payload))
            }
            #[cfg(gort_mn)]
            Sched::MN(s) => {
                let (task, payload) = s.spawn(self.inner.clone(), payload, job);
                (task.id(), Shared::Record(task, payload))
            }
        }
    }

    /// The scheduler this runtime uses. Example: see [`Scheduler`].
    pub fn scheduler(&self) -> Scheduler {
        self.inner.scheduler
    }

    /// The runtime of the calling goroutine, or the default one.
    fn current() -> Runtime {
        Runtime::of_current_goroutine().unwrap_or_else(|| default_runtime().clone())
    }

    fn of_current_goroutine() -> Option<Runtime> {
        let task = task::current_if_any()?;
        let inner = task.runtime()?.clone().downcast::<RuntimeInner>().ok()?;
        Some(Runtime { inner })
    }
}

/// The runtime a goroutine started later should run on: the one current
/// when this was made (weakly: it is not kept alive for this), else the
/// default one. `time::after_func` calls start this way.
pub(crate) struct LaterRuntime(Option<std::sync::Weak<RuntimeInner>>);

impl LaterRuntime {
    /// The calling goroutine's runtime; none on a plain thread.
    pub(crate) fn current() -> Self {
        LaterRuntime(Runtime::of_current_goroutine().map(|rt| Arc::downgrade(&rt.inner)))
    }

    /// Starts `f` as a detached goroutine (see [`go`]), from any thread.
    pub(crate) fn go(&self, f: impl FnOnce() + Send + 'static) {
        match self.0.as_ref().and_then(std::sync::Weak::upgrade) {
            Some(inner) => Runtime { inner }.go(f),
            None => default_runtime().go(f),
        }
    }
}

/// The runtime plain threads start goroutines on (and `gort::main`'s).
static DEFAULT: OnceLock<Runtime> = OnceLock::new();

fn default_runtime() -> &'static Runtime {
    DEFAULT.get_or_init(|| Builder::new().build())
}

/// Starts a detached goroutine (Go's `go f()`). If it panics, the process
/// prints the panic and exits with status 2.
///
/// Called from a goroutine, it uses that goroutine's [`Runtime`]; from a
/// plain thread, the default one. Nothing waits for a detached goroutine:
/// hand its result back on a channel, or use [`spawn`].
///
/// ```
/// use gort::chan::Chan;
///
/// let answers = Chan::new(0);
/// let tx = answers.clone();
/// gort::go(move || tx.send(6 * 7).unwrap());
/// assert_eq!(answers.recv(), Some(42));
/// ```
pub fn go(f: impl FnOnce() + Send + 'static) {
    Runtime::current().go(f);
}

/// Go 1.25's `WaitGroup.Go`. Defined here, at the API layer, because it
/// starts a goroutine; the rest of `WaitGroup` is in `sync`.
impl crate::sync::WaitGroup {
    /// Adds one to the counter and runs `f` in a new goroutine, which
    /// calls `done` when `f` returns.
    ///
    /// ```
    /// use gort::sync::WaitGroup;
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let (wg, sum) = (WaitGroup::new(), Arc::new(AtomicUsize::new(0)));
    /// for i in 1..=4 {
    ///     let sum = sum.clone();
    ///     wg.go(move || {
    ///         sum.fetch_add(i, Ordering::Relaxed);
    ///     });
    /// }
    /// wg.wait();
    /// assert_eq!(sum.load(Ordering::Relaxed), 10);
    /// ```
    pub fn go(&self, f: impl FnOnce() + Send + 'static) {
        self.add(1);
        let wg = self.clone();
        go(move || {
            f();
            wg.done();
        });
    }
}

/// Starts a goroutine whose result (or panic) [`JoinHandle::join`]
/// returns (Go has no such handle: results come back on channels).
///
/// ```
/// let squares: Vec<_> = (1..=3u64).map(|i| gort::spawn(move || i * i)).collect();
/// let sum: u64 = squares.into_iter().map(|h| h.join().unwrap()).sum();
/// assert_eq!(sum, 14);
/// ```
pub fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    Runtime::current().spawn(f)
}

/// Runs `f`, which may block its OS thread (a blocking syscall, a std
/// lock, `std::thread::sleep`, a C library call), without stalling other
/// goroutines, and returns its result (or resumes its panic).
///
/// Under M:N, a goroutine that blocks its thread outside gort keeps its
/// processor until the system monitor notices (after about 10 ms) and
/// hands the processor's queue to another thread. `blocking` does that
/// at once (Go's `entersyscallblock`): the processor goes to an idle or
/// new thread, `f` runs on the goroutine's own thread (thread-locals
/// included), and the goroutine then queues to run wherever a processor
/// is free. Under the threads scheduler, and on plain threads, `f` simply
/// runs.
///
/// `f` may borrow from the caller, as it returns before `blocking` does.
///
/// ```
/// let lines = vec!["a", "bb", "ccc"];
/// let total = gort::spawn(move || {
///     gort::blocking(|| {
///         std::thread::sleep(std::time::Duration::from_millis(1)); // blocks a thread
///         lines.iter().map(|l| l.len()).sum::<usize>()
///     })
/// });
/// assert_eq!(total.join().unwrap(), 6);
/// ```
pub fn blocking<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    #[cfg(gort_mn)]
    return task::mn::blocking(f);
    #[cfg(not(gort_mn))]
    f()
}

/// Lets other goroutines run (Go's `runtime.Gosched`): an M:N goroutine
/// goes to the back of the run queue; a thread yields its CPU.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// // One worker: the flag is set only if the waiting goroutine lets go.
/// let rt = gort::Builder::new().workers(1).build();
/// rt.run(|| {
///     let flag = Arc::new(AtomicBool::new(false));
///     let f = flag.clone();
///     gort::go(move || f.store(true, Ordering::Release));
///     while !flag.load(Ordering::Acquire) {
///         gort::gosched();
///     }
/// });
/// ```
pub fn gosched() {
    task::yield_now();
}

/// Logical CPUs usable by this process (Go's `runtime.NumCPU`).
///
/// ```
/// assert!(gort::num_cpu() >= 1);
/// ```
pub fn num_cpu() -> usize {
    crate::platform::num_cpus()
}

/// Worker count: the current runtime's [`workers`](Builder::workers),
/// else `GOMAXPROCS` from the environment (read once), else [`num_cpu`].
/// Unlike Go's `runtime.GOMAXPROCS`, it cannot be changed while running.
///
/// ```
/// assert!(gort::gomaxprocs() >= 1);
/// let rt = gort::Builder::new().workers(3).build();
/// assert_eq!(rt.run(gort::gomaxprocs), 3);
/// ```
pub fn gomaxprocs() -> usize {
    Runtime::of_current_goroutine().map_or_else(gomaxprocs_env, |rt| rt.inner.workers)
}

/// Goroutines that exist now, counting the main thread as one (Go's
/// `runtime.NumGoroutine`), in every runtime; other plain threads are not
/// counted. Under [`main`] the main thread only waits: the main goroutine
/// is counted instead.
///
/// ```standalone_crate
/// use gort::chan::Chan;
///
/// assert_eq!(gort::num_goroutine(), 1); // just the main thread
/// let release = Chan::<()>::new(0);
/// let rx = release.clone();
/// let h = gort::spawn(move || rx.recv());
/// assert_eq!(gort::num_goroutine(), 2);
/// release.close();
/// h.join().unwrap();
/// assert_eq!(gort::num_goroutine(), 1);
/// ```
pub fn num_goroutine() -> usize {
    // Under `gort::main` the main goroutine is live and counts itself.
    let main_thread = usize::from(!MAIN_STARTED.load(Ordering::Relaxed));
    LIVE_GOROUTINES.load(Ordering::Relaxed) + main_thread
}

fn gomaxprocs_env() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("GOMAXPROCS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(num_cpu)
    })
}

fn env_scheduler() -> Scheduler {
    static S: OnceLock<Scheduler> = OnceLock::new();
    // M:N wherever stacks can switch, as in Go; threads elsewhere (wasm).
    let default = if Scheduler::MN.is_available() {
        Scheduler::MN
    } else {
        Scheduler::Threads
    };
    *S.get_or_init(|| match std::env::var("GORT_SCHEDULER").as_deref() {
        Ok("mn") | Ok("MN") if Scheduler::MN.is_available() => Scheduler::MN,
        Ok("threads") => Scheduler::Threads,
        Err(_) => default,
        Ok(other) => {
            eprintln!("gort: GORT_SCHEDULER={other:?} is not available here; using {default:?}");
            default
        }
    })
}

/// Where `launch` put what a goroutine shares with its spawner.
enum Shared<P> {
    /// In the goroutine's record (M:N), alive while its task is.
    #[cfg_attr(not(gort_mn), allow(dead_code))]
    Record(task::TaskRef, NonNull<P>),
    Heap(Arc<P>),
}

/// What keeps a `JoinHandle`'s packet alive.
enum Keep<T> {
    /// The goroutine's task, whose record holds the packet (M:N).
    #[allow(dead_code)] // held, not read
    Record(task::TaskRef),
    #[allow(dead_code)] // held, not read
    Heap(Arc<Packet<T>>),
}

/// The result slot a goroutine and its `JoinHandle` share.
///
/// `state` bits: `DONE` (the result is written), `DETACHED` (the handle is
/// gone) and `WAITING` (a joiner parked, its task in `waiter`). Whoever
/// sets the second of `DONE` and `DETACHED` owns the result: the handle
/// when it sees `DONE`, the goroutine when it sees `DETACHED`. The joiner
/// writes `waiter` before it sets `WAITING`; whoever sets the second of
/// `DONE` and `WAITING` owns `waiter` then: the goroutine takes it out
/// and unparks it, or the joiner takes its own task back. A join parks
/// its task directly, so joining allocates nothing (no futex queue).
struct Packet<T> {
    state: AtomicU32,
    waiter: std::cell::UnsafeCell<Option<task::TaskRef>>,
    result: std::cell::UnsafeCell<Option<std::thread::Result<T>>>,
}

const DONE: u32 = 1;
const DETACHED: u32 = 2;
const WAITING: u32 = 4;

// SAFETY: `result` and `waiter` are handed over by the protocol above, so
// exactly one side touches each at a time; the value crosses threads, so
// `T: Send` is required.
unsafe impl<T: Send> Sync for Packet<T> {}

impl<T> Packet<T> {
    fn finish(&self, id: u64, result: std::thread::Result<T>) {
        // SAFETY: until DONE is published only the goroutine touches the slot.
        unsafe { *self.result.get() = Some(result) };
        let before = self.state.fetch_or(DONE, Ordering::AcqRel);
        if before & DETACHED != 0 {
            // SAFETY: the handle is gone, so the slot is ours again.
            if let Some(Err(payload)) = unsafe { (*self.result.get()).take() } {
                fatal_panic(id, &*payload);
            }
        } else if before & WAITING != 0 {
            // SAFETY: WAITING came first (AcqRel): the joiner wrote
            // `waiter` before it, and leaves it to us.
            if let Some(joiner) = unsafe { (*self.waiter.get()).take() } {
                joiner.unpark();
            }
        }
    }

    /// Waits for `DONE` (the joiner's side).
    fn wait(&self) {
        if self.state.load(Ordering::Acquire) & DONE != 0 {
            return;
        }
        // SAFETY: WAITING is not set yet, so the slot is the joiner's.
        unsafe { *self.waiter.get() = Some(task::current()) };
        if self.state.fetch_or(WAITING, Ordering::AcqRel) & DONE != 0 {
            // Finished meanwhile, without looking at `waiter`: ours again.
            // SAFETY: as above.
            drop(unsafe { (*self.waiter.get()).take() });
            return;
        }
        while self.state.load(Ordering::Acquire) & DONE == 0 {
            task::park_for(crate::futex::WaitReason::Join, None);
        }
    }
}

/// Waits for a goroutine started by [`spawn`] or [`Runtime::spawn`].
///
/// Dropping the handle detaches the goroutine: if it panicked or panics
/// later, the process exits with status 2 as in Go.
///
/// ```
/// use gort::chan::Chan;
///
/// let input = Chan::new(0);
/// let rx = input.clone();
/// let h = gort::spawn(move || rx.recv().unwrap() * 2);
/// assert!(!h.is_finished()); // it waits for its input
/// input.send(21).unwrap();
/// assert_eq!(h.join().unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    /// The packet, alive while `keep` is held (and `keep` is held until
    /// the handle joins or drops: `None` after).
    packet: NonNull<Packet<T>>,
    keep: Option<Keep<T>>,
    id: u64,
}

// SAFETY: the handle is an owner of the packet, as an `Arc<Packet<T>>`
// would be: `Packet<T>` is `Send` and `Sync` when `T: Send`, and the
// task or `Arc` that keeps it is `Send` and `Sync`.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: as above; `&JoinHandle` only reads the packet's state word.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// The packet, while the handle has not joined or dropped.
    fn packet(&self) -> Option<&Packet<T>> {
        // SAFETY: `keep` keeps the packet alive while it is `Some`.
        self.keep.as_ref().map(|_| unsafe { self.packet.as_ref() })
    }
}

impl<T> JoinHandle<T> {
    /// Waits for the goroutine; returns its value or its panic payload.
    ///
    /// ```
    /// assert_eq!(gort::spawn(|| "done").join().unwrap(), "done");
    ///
    /// // A joined goroutine's panic comes back here (where panics unwind:
    /// // on wasm they abort the process).
    /// #[cfg(panic = "unwind")]
    /// {
    ///     let err = gort::spawn(|| panic!("lost")).join().unwrap_err();
    ///     assert_eq!(err.downcast_ref::<&str>(), Some(&"lost"));
    /// }
    /// ```
    pub fn join(mut self) -> std::thread::Result<T> {
        task::register_thread();
        let packet = self.packet().expect("join handle already used");
        packet.wait();
        // SAFETY: DONE (Acquire) means the goroutine wrote the slot and
        // will not touch it again; the handle is the only other owner.
        let result = unsafe { (*packet.result.get()).take() };
        // The packet's keeper goes now (the goroutine may be long gone:
        // its stack returns to the pool), and `Drop` finds nothing to do.
        drop(self.keep.take());
        result.expect("goroutine result missing")
    }

    /// The goroutine's id: its [`Task::id`](crate::task::Task::id).
    ///
    /// ```
    /// let h = gort::spawn(|| gort::task::current().id());
    /// let id = h.id();
    /// assert_eq!(h.join().unwrap(), id);
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether the goroutine has finished (then [`join`](Self::join) does
    /// not wait). Example: see [`JoinHandle`].
    pub fn is_finished(&self) -> bool {
        self.packet()
            .is_some_and(|p| p.state.load(Ordering::Acquire) & DONE != 0)
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let Some(packet) = self.packet() else {
            return;
        };
        if packet.state.fetch_or(DETACHED, Ordering::AcqRel) & DONE != 0 {
            // SAFETY: DONE was set first, so the result is ours to drop.
            let result = unsafe { (*packet.result.get()).take() };
            // Dropped (a value's `Drop` may panic) while `keep` still
            // holds the packet; `keep` goes after, with the handle.
            if let Some(Err(payload)) = result {
                fatal_panic(self.id, &*payload);
            }
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("id", &self.id).finish()
    }
}

/// Go's ending for a panic nobody recovers: message, goroutine, status 2.
pub(crate) fn fatal_panic(id: u64, payload: &(dyn Any + Send)) -> ! {
    let msg = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string panic payload)");
    // Straight to the stderr handle, not `eprintln!`: the test harness
    // captures the macros' output and would lose it when we exit.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "panic: {msg}\n\ngoroutine {id} [running]:\nexit status 2"
    );
    std::process::exit(2);
}

/// Prints a whole line with one write, so lines from different goroutines
/// never interleave. Used by [`gort::println!`](crate::println).
#[doc(hidden)]
pub fn print_line(args: fmt::Arguments<'_>) {
    use std::io::Write;
    let mut line = std::fmt::format(args);
    line.push('\n');
    let mut out = std::io::stdout().lock();
    // Like std's println!, a closed stdout is the only error and it panics.
    out.write_all(line.as_bytes())
        .and_then(|()| out.flush())
        .expect("gort::println!: failed writing to stdout");
}

// ---- `main` as goroutine 1 -------------------------------------------------
//
// Invariants: at most one main goroutine per process (`MAIN_STARTED`),
// started from a plain thread; it runs on the default runtime, so `go`
// from it and from plain threads reach the same scheduler. Its panic ends
// the process where it happens, as any detached goroutine's does
// (`Runtime::go`). The caller waits in an untimed gort wait of reason
// `Internal`: counted asleep by the deadlock monitor (so a main goroutine
// blocked forever is reported), left out of the report's list (Go's report
// knows no such waiter).

/// Set by the first `gort::main` call.
static MAIN_STARTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs `f` as the program's main goroutine (Go's goroutine 1) on the
/// default runtime, waits for it on the calling thread and returns its
/// value. `#[gort::main]` on `fn main` does this for you.
///
/// Go's `main`, as far as a library can: call it from `fn main` and return
/// what it returns; the process then ends even if other goroutines still
/// run. A panic in `f` prints `panic: <message>` and `goroutine <id>
/// [running]` and exits with status 2; the deadlock report counts `f`'s
/// goroutine like any other (the waiting caller is not listed).
///
/// The default runtime is the one [`go`] and [`spawn`] use from plain
/// threads: `GORT_SCHEDULER` and `GOMAXPROCS` configure it.
///
/// ```standalone_crate
/// // In `fn main`:
/// let sum = gort::main(|| {
///     let parts: Vec<_> = (1..=4u64).map(|i| gort::spawn(move || i * i)).collect();
///     parts.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
/// });
/// assert_eq!(sum, 30);
/// ```
///
/// # Panics
/// Called from a goroutine, or a second time in the process: a program
/// has one main goroutine (start others with [`go`] or [`spawn`]; use
/// [`Runtime::run`] to run code as a goroutine and wait for it).
#[track_caller]
pub fn main<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    claim_main();
    run_main(default_runtime(), f)
}

/// `#[gort::main(scheduler = .., workers = ..)]`: [`main`] on a runtime
/// built by `builder`, which becomes the default runtime.
///
/// # Panics
/// As [`main`]; and if the default runtime already exists (a `go` or
/// `spawn` from a plain thread ran before `main`).
#[doc(hidden)]
#[track_caller]
pub fn __main_with<T: Send + 'static>(
    builder: Builder,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    claim_main();
    let mut built = false;
    let rt = DEFAULT.get_or_init(|| {
        built = true;
        builder.build()
    });
    assert!(
        built,
        "#[gort::main(..)]: the default runtime was already started (by `go` or `spawn` \
         from a plain thread) before main, so its scheduler and workers cannot be chosen"
    );
    run_main(rt, f)
}

#[track_caller]
fn claim_main() {
    assert!(
        Runtime::of_current_goroutine().is_none(),
        "gort::main called from a goroutine: it starts the program's main goroutine \
         from `fn main`; use `gort::spawn` or `Runtime::run` inside goroutines"
    );
    assert!(
        !MAIN_STARTED.swap(true, Ordering::Relaxed),
        "gort::main called twice: a program has one main goroutine; use \
         `gort::spawn` or `Runtime::run` to run more code as goroutines"
    );
}

/// The main goroutine's value, handed to the waiting caller: `done` goes
/// 0 → `MAIN_RETURNED` once `value` is written, → `MAIN_TAKEN` once the
/// caller has it.
struct MainResult<T> {
    done: crate::futex::Futex,
    value: crate::sync::Mutex<Option<T>>,
}

fn run_main<T: Send + 'static>(rt: &Runtime, f: impl FnOnce() -> T + Send + 'static) -> T {
    let slot = Arc::new(MainResult {
        done: crate::futex::Futex::new(0),
        value: crate::sync::Mutex::new(None),
    });
    let theirs = slot.clone();
    rt.go(move || {
        let value = f();
        *theirs.value.lock() = Some(value);
        theirs.done.store(MAIN_RETURNED, Ordering::Release);
        theirs.done.wake_all();
        // Stay, in timed sleeps, until the caller has the value. Woken but
        // not yet run, the caller still counts as asleep; with every other
        // goroutine blocked for good (normal when main returns), a caller
        // the OS keeps off the CPU for two deadlock periods would look
        // like a deadlock. A pending timer rules that out.
        while theirs.done.load(Ordering::Acquire) != MAIN_TAKEN {
            crate::time::sleep(std::time::Duration::from_millis(1));
        }
    });
    // The value may hold `Gc`s: the collector must see this thread.
    task::register_thread();
    while slot.done.load(Ordering::Acquire) == 0 {
        slot.done.wait_as(0, crate::futex::WaitReason::Internal);
    }
    let value = slot.value.lock().take();
    slot.done.store(MAIN_TAKEN, Ordering::Release);
    value.expect("main goroutine's value missing")
}

/// `MainResult::done`: the main goroutine wrote its value.
const MAIN_RETURNED: u32 = 1;
/// `MainResult::done`: the caller took it.
const MAIN_TAKEN: u32 = 2;
