//! The Boehm GC contender: nodes from the Boehm-Demers-Weiser conservative
//! collector (Debian's libgc 8.2: threads, thread-local allocation and
//! parallel marking, as Debian builds it), through its C API. `build.rs`
//! sets `cfg(have_libgc)` where it finds the library; elsewhere the
//! contender is `n/a`, saying so.
//!
//! Invariants Boehm needs, and how they hold:
//! - `GC_init` runs first, on the process's main thread (it registers the
//!   calling thread as the one with the main stack): the run refuses any
//!   other thread, and so runs only as a child process's main.
//! - A thread registers itself (`GC_register_my_thread`) before it
//!   allocates or holds a node, and unregisters before it ends, holding
//!   none: `registered` wraps each depth's thread; the jobs return only
//!   their sums.
//! - Nodes are reachable only from stacks (and registers) of registered
//!   threads and from other nodes: nothing Rust allocates holds one (the
//!   Rust heap is not scanned).
//!
//! Pauses: Boehm stops the world for a whole collection (marking
//! included). `on_event` takes the time from `GC_EVENT_PRE_STOP_WORLD` to
//! `GC_EVENT_POST_START_WORLD` of each, as Go's `/sched/pauses/total/gc`
//! counts from the decision to stop to the restart.

use crate::workload::Contender;

const LABEL: &str = "Boehm GC (libgc) GC_malloc nodes, a registered std::thread per depth";

#[cfg(not(have_libgc))]
pub fn contender() -> Contender {
    Contender::unsupported(
        "boehm",
        LABEL,
        "no libgc when gort-bench was built (apt-get install libgc-dev, then cargo clean -p gort-bench)",
    )
}

#[cfg(have_libgc)]
pub fn contender() -> Contender {
    Contender::sampling("boehm", LABEL, crate::workload::Side::Peer, collected::run)
        .only_in_child(None)
}

#[cfg(have_libgc)]
mod collected {
    use std::ffi::{c_int, c_void};
    use std::ptr::{NonNull, null, null_mut};
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
    use std::sync::{Once, OnceLock};
    use std::time::{Duration, Instant};

    use gort_bench::trees::{self, Tree};

    use crate::workload::{Params, SampleResult};

    /// `struct GC_stack_base` on x86-64 and aarch64 (only ia64 and e2k
    /// add a register stack's base).
    #[repr(C)]
    struct StackBase {
        mem_base: *mut c_void,
    }

    /// `GC_SUCCESS`.
    const SUCCESS: c_int = 0;
    /// `GC_EventType` values (a C enum, an `int`).
    const EVENT_PRE_STOP_WORLD: c_int = 6;
    const EVENT_POST_START_WORLD: c_int = 9;

    #[link(name = "gc")]
    unsafe extern "C" {
        fn GC_init();
        fn GC_allow_register_threads();
        fn GC_set_on_collection_event(f: Option<unsafe extern "C" fn(c_int)>);
        fn GC_get_stack_base(sb: *mut StackBase) -> c_int;
        fn GC_register_my_thread(sb: *const StackBase) -> c_int;
        fn GC_unregister_my_thread() -> c_int;
        fn GC_malloc(bytes: usize) -> *mut c_void;
    }

    /// A node of two pointers into Boehm's heap (null in a leaf).
    #[repr(C)]
    struct Node {
        left: *const Node,
        right: *const Node,
    }

    struct BoehmTree(NonNull<Node>);

    fn new_node(left: *const Node, right: *const Node) -> *const Node {
        // SAFETY: the collector is initialised (`init`, before any tree)
        // and this thread is registered (the main thread, by `GC_init`, or
        // a depth's thread inside `registered`).
        let p = unsafe { GC_malloc(size_of::<Node>()) }.cast::<Node>();
        assert!(!p.is_null(), "Boehm GC: out of memory");
        // SAFETY: a fresh object of `size_of::<Node>()` bytes, aligned to
        // Boehm's granule (16 bytes), that nothing else uses yet.
        unsafe { p.write(Node { left, right }) };
        p
    }

    fn bottom_up(depth: u32) -> *const Node {
        if depth == 0 {
            return new_node(null(), null());
        }
        // `left` lives in this frame (or a saved register) while `right`
        // is built: scanned, so not collected.
        let left = bottom_up(depth - 1);
        let right = bottom_up(depth - 1);
        new_node(left, right)
    }

    fn count(n: *const Node) -> u64 {
        // SAFETY: `n` is reachable from a tree root the caller holds on its
        // registered thread's stack, so the collector has not freed it.
        let n = unsafe { &*n };
        if n.left.is_null() {
            1
        } else {
            1 + count(n.left) + count(n.right)
        }
    }

    impl Tree for BoehmTree {
        fn bottom_up(depth: u32) -> Self {
            BoehmTree(NonNull::new(bottom_up(depth).cast_mut()).expect("GC_malloc checked"))
        }
        fn check(&self) -> u64 {
            count(self.0.as_ptr())
        }
    }

    /// Pauses `on_event` measured, in nanoseconds, in a buffer allocated
    /// before the collector starts (so never scanned by it).
    struct Pauses {
        epoch: Instant,
        stopping_since: AtomicU64,
        count: AtomicUsize,
        ns: Box<[AtomicU64]>,
    }

    /// Far above the collections of a run at depth 21 (a few hundred).
    const MAX_PAUSES: usize = 1 << 16;

    static PAUSES: OnceLock<Pauses> = OnceLock::new();

    /// Called by the collector with its lock held, some events with the
    /// world stopped: it allocates nothing and takes no lock.
    extern "C" fn on_event(event: c_int) {
        let Some(p) = PAUSES.get() else { return };
        let now = p.epoch.elapsed().as_nanos() as u64;
        match event {
            EVENT_PRE_STOP_WORLD => p.stopping_since.store(now, Relaxed),
            EVENT_POST_START_WORLD => {
                let i = p.count.fetch_add(1, Relaxed);
                if let Some(slot) = p.ns.get(i) {
                    slot.store(now - p.stopping_since.load(Relaxed), Relaxed);
                }
            }
            _ => {}
        }
    }

    /// The 99th percentile of the pauses so far (0 if none): the
    /// nearest-rank sample, as `gort::gc::stats` picks it.
    fn pause_p99() -> Result<Duration, String> {
        let p = PAUSES.get().ok_or("the collector never started")?;
        let n = p.count.load(Relaxed);
        if n > p.ns.len() {
            return Err(format!("{n} collections: more than {MAX_PAUSES} recorded"));
        }
        let mut ns: Vec<u64> = p.ns[..n].iter().map(|a| a.load(Relaxed)).collect();
        ns.sort_unstable();
        let at = ((n.saturating_sub(1)) as f64 * 0.99).round() as usize;
        Ok(Duration::from_nanos(ns.get(at).copied().unwrap_or(0)))
    }

    /// Starts the collector, once: on the main thread (checked by `run`).
    fn init() {
        static STARTED: Once = Once::new();
        STARTED.call_once(|| {
            let pauses = Pauses {
                epoch: Instant::now(),
                stopping_since: AtomicU64::new(0),
                count: AtomicUsize::new(0),
                ns: (0..MAX_PAUSES).map(|_| AtomicU64::new(0)).collect(),
            };
            let _ = PAUSES.set(pauses);
            // SAFETY: the first GC call, on the main thread (`GC_INIT` is
            // `GC_init` on Linux); the callback allocates nothing and
            // takes no lock; threads may register from here on.
            unsafe {
                GC_init();
                GC_set_on_collection_event(Some(on_event));
                GC_allow_register_threads();
            }
        });
    }

    /// Unregisters the current thread when dropped (also if its job
    /// panics, so the collector never waits for a thread that is gone).
    struct Registration;

    impl Drop for Registration {
        fn drop(&mut self) {
            // SAFETY: made only after `GC_register_my_thread` succeeded on
            // this thread, and dropped on it, holding no node any more.
            unsafe { GC_unregister_my_thread() };
        }
    }

    /// Runs `f` on the current (non-main) thread registered with the
    /// collector; `f` must return nothing that points into its heap.
    fn registered<T>(f: impl FnOnce() -> T) -> T {
        let mut base = StackBase {
            mem_base: null_mut(),
        };
        // SAFETY: `base` is a valid `GC_stack_base` to fill in.
        let found = unsafe { GC_get_stack_base(&mut base) };
        assert_eq!(found, SUCCESS, "GC_get_stack_base failed");
        // SAFETY: registration is allowed (`init`), this thread is not
        // registered yet, and `base` is its stack's bottom.
        let r = unsafe { GC_register_my_thread(&base) };
        assert_eq!(r, SUCCESS, "GC_register_my_thread failed");
        let _registered = Registration;
        f()
    }

    pub fn run(p: &Params) -> SampleResult {
        if std::thread::current().name() != Some("main") {
            return Err(
                "Boehm GC starts on its process's main thread: run it as a child's main".into(),
            );
        }
        init();
        let elapsed = trees::run::<BoehmTree>(p.get("depth"), |jobs| {
            super::super::on_threads(jobs, |depth, n| {
                registered(|| trees::depth_work::<BoehmTree>(depth, n))
            })
        })?;
        trees::sample(elapsed, Some(pause_p99()?))
    }
}
