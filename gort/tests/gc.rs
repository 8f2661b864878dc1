//! The garbage collector, gctest-style. Every test checks the contents of
//! what it kept after collections, so an object freed too early fails it:
//! in debug builds its memory is poisoned (0xdb) when swept, in release
//! builds it is soon reused by the allocations around it.
#![cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

mod common;

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{each_scheduler, is_child, run_child};
use gort::chan::Chan;
use gort::gc::{self, Gc};
use gort::sync::WaitGroup;

#[global_allocator]
static ALLOC: gc::ScannedAlloc = gc::ScannedAlloc;

/// Generous: the aarch64 rig runs these debug builds under emulation.
const LIMIT: Duration = Duration::from_secs(300);

struct Node {
    value: u64,
    next: Option<Gc<Node>>,
}

/// A list `n-1, n-2, ..., 0` (plus `salt` in every value).
fn list(n: u64, salt: u64) -> Option<Gc<Node>> {
    let mut head = None;
    for i in 0..n {
        head = Some(Gc::new(Node {
            value: i ^ salt,
            next: head,
        }));
    }
    head
}

fn check_list(head: Option<Gc<Node>>, n: u64, salt: u64) {
    let mut at = head;
    let mut expect = n;
    while let Some(node) = at {
        assert!(expect > 0, "list too long: a node was reused");
        expect -= 1;
        assert_eq!(node.value, expect ^ salt, "list node corrupted");
        at = node.next;
    }
    assert_eq!(expect, 0, "list too short");
}

struct Tree {
    left: Option<Gc<Tree>>,
    right: Option<Gc<Tree>>,
    depth: u32,
}

fn tree(depth: u32) -> Gc<Tree> {
    let (left, right) = if depth == 0 {
        (None, None)
    } else {
        (Some(tree(depth - 1)), Some(tree(depth - 1)))
    };
    Gc::new(Tree { left, right, depth })
}

fn check_tree(t: &Tree, depth: u32) -> u64 {
    assert_eq!(t.depth, depth, "tree node corrupted");
    match (t.left, t.right) {
        (Some(l), Some(r)) => 1 + check_tree(&l, depth - 1) + check_tree(&r, depth - 1),
        (None, None) => {
            assert_eq!(depth, 0, "tree node lost its children");
            1
        }
        _ => panic!("tree node half corrupted"),
    }
}

#[test]
fn lists_and_trees_survive_collections() {
    each_scheduler("lists and trees", LIMIT, || {
        let head = list(10_000, 7);
        let t = tree(12);
        for _ in 0..3 {
            let _garbage = list(50_000, 1);
            gc::collect();
            check_list(head, 10_000, 7);
            assert_eq!(check_tree(&t, 12), (1 << 13) - 1);
        }
    });
}

#[test]
fn large_objects_survive_and_are_zeroed() {
    each_scheduler("large objects", LIMIT, || {
        let big: Vec<Gc<[u64; 5000]>> = (0..20u64)
            .map(|i| {
                let g = Gc::new([0u64; 5000]);
                // Gc hands out shared references: fill through a copy.
                assert!(g.iter().all(|&w| w == 0), "a new object is not zeroed");
                let mut a = [0u64; 5000];
                for (k, w) in a.iter_mut().enumerate() {
                    *w = i * 10_000 + k as u64;
                }
                Gc::new(a)
            })
            .collect();
        for _ in 0..3 {
            let _garbage: Vec<Gc<[u8; 100_000]>> =
                (0..10).map(|_| Gc::new([1u8; 100_000])).collect();
            gc::collect();
            for (i, g) in big.iter().enumerate() {
                for (k, &w) in g.iter().enumerate() {
                    assert_eq!(w, i as u64 * 10_000 + k as u64, "large object corrupted");
                }
            }
        }
    });
}

/// A plain thread collecting in a loop until `stop`, which returns how
/// many collections it ran.
struct Collector {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl Collector {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut n = 0;
            while !flag.load(Ordering::Relaxed) {
                gc::collect();
                n += 1;
            }
            n
        });
        Collector { stop, thread }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// Large objects made while another thread keeps collecting: a stop that
/// arrives during an allocation waits for its end (a `no_stop` section),
/// and the new object's address must then be where the stop's scan sees
/// it (the compiler once kept only its page number, computing the address
/// after the stop: the object was freed while still being handed out).
#[test]
fn large_objects_allocated_while_another_thread_collects_survive() {
    each_scheduler("large objects during stops", LIMIT, || {
        let collector = Collector::start();
        let mut kept: Vec<(Gc<[u64; 5000]>, u64)> = Vec::with_capacity(16);
        for round in 0..common::stress(3_000) as u64 {
            let g = Gc::new([round; 5000]);
            if kept.len() == 16 {
                kept.swap_remove((round % 16) as usize);
            }
            kept.push((g, round));
            for &(g, value) in &kept {
                assert!(
                    g[0] == value && g[4999] == value,
                    "large object freed while reachable: {} / {} instead of {value}",
                    g[0],
                    g[4999]
                );
            }
        }
        assert!(collector.stop() > 0);
    });
}

#[test]
fn an_interior_pointer_keeps_its_object() {
    each_scheduler("interior pointer", LIMIT, || {
        let arrays: Vec<usize> = (0..100u64)
            .map(|i| {
                let g = Gc::new([i; 64]);
                // Keep only a pointer to the middle element, hidden from
                // nothing: it is a plain address in a Vec (scanned memory).
                &g[32] as *const u64 as usize
            })
            .collect();
        let big_inner = {
            let big = Gc::new([9u64; 4096]);
            &big[4000] as *const u64 as usize
        };
        for _ in 0..3 {
            let _garbage = list(50_000, 3);
            gc::collect();
            for (i, &p) in arrays.iter().enumerate() {
                // SAFETY: the interior pointer keeps the array alive.
                let base = unsafe { &*((p - 32 * 8) as *const [u64; 64]) };
                assert!(base.iter().all(|&w| w == i as u64), "array {i} corrupted");
            }
            // SAFETY: as above, for the large object.
            let big = unsafe { &*((big_inner - 4000 * 8) as *const [u64; 4096]) };
            assert!(big.iter().all(|&w| w == 9), "large array corrupted");
        }
    });
}

/// Holds the only reference to a list in a callee-saved register (the
/// Rust variables keep it scrambled) across `collect`, which must find it
/// there.
#[test]
fn an_object_held_only_in_a_register_survives() {
    const KEY: usize = 0x5a5a_5a5a_5a5a_5a5a;
    each_scheduler("register", LIMIT, || {
        let scrambled = {
            let head = list(5_000, 11).unwrap();
            Gc::as_ptr(head) as usize ^ KEY
        };
        extern "C" fn churn_and_collect() {
            for _ in 0..3 {
                let _garbage = list(20_000, 5);
            }
            gc::collect();
        }
        let back: usize;
        #[cfg(target_arch = "x86_64")]
        // SAFETY: r12 is callee-saved: the call preserves it; every
        // caller-saved register is declared clobbered.
        unsafe {
            core::arch::asm!(
                "mov r12, {s}",
                "xor r12, {k}",
                "call {f}",
                "mov rax, r12",
                s = in(reg) scrambled,
                k = in(reg) KEY,
                f = sym churn_and_collect,
                lateout("rax") back,
                out("r12") _,
                clobber_abi("C"),
            );
        }
        #[cfg(target_arch = "aarch64")]
        // SAFETY: x20 is callee-saved, as above.
        unsafe {
            core::arch::asm!(
                "eor x20, {s}, {k}",
                "bl {f}",
                "mov x0, x20",
                s = in(reg) scrambled,
                k = in(reg) KEY,
                f = sym churn_and_collect,
                lateout("x0") back,
                out("x20") _,
                clobber_abi("C"),
            );
        }
        // SAFETY: `back` is the list's head, kept alive by the register.
        let head = unsafe { &*(back as *const Node) };
        assert_eq!(head.value, 4_999 ^ 11, "register-held object freed");
        check_list(head.next, 4_999, 11);
    });
}

/// A plain thread gort never registered holds a list on its stack while
/// another thread collects: it is stopped (and scanned) all the same.
#[test]
fn objects_on_an_unregistered_threads_stack_survive() {
    each_scheduler("unregistered thread", LIMIT, || {
        let (tx, rx) = std::sync::mpsc::channel::<usize>();
        let ready = Arc::new(Barrier::new(2));
        let done = Arc::new(Barrier::new(2));
        let (r2, d2) = (ready.clone(), done.clone());
        let t = std::thread::spawn(move || {
            // The list exists only on this thread's stack from here on.
            let head = rx.recv().unwrap() as *const Node;
            r2.wait();
            d2.wait();
            // SAFETY: the stack slot kept the list alive.
            let head = unsafe { &*head };
            assert_eq!(head.value, 2_999 ^ 13);
            check_list(head.next, 2_999, 13);
        });
        tx.send(Gc::as_ptr(list(3_000, 13).unwrap()) as usize)
            .unwrap();
        ready.wait();
        for _ in 0..3 {
            let _garbage = list(50_000, 2);
            gc::collect();
        }
        done.wait();
        t.join().unwrap();
    });
}

/// Goroutines parked on a channel hold lists on their stacks while the
/// root goroutine collects.
#[test]
fn objects_on_parked_goroutines_stacks_survive() {
    each_scheduler("parked goroutines", LIMIT, || {
        let go_on: Chan<()> = Chan::new(0);
        let wg = WaitGroup::new();
        let checked = Arc::new(AtomicUsize::new(0));
        for g in 0..20u64 {
            wg.add(1);
            let (go_on, wg, checked) = (go_on.clone(), wg.clone(), checked.clone());
            gort::go(move || {
                let head = list(1_000, g);
                go_on.recv();
                check_list(head, 1_000, g);
                checked.fetch_add(1, Ordering::Relaxed);
                wg.done();
            });
        }
        gort::time::sleep(Duration::from_millis(50));
        for _ in 0..3 {
            let _garbage = list(50_000, 4);
            gc::collect();
        }
        go_on.close();
        wg.wait();
        assert_eq!(checked.load(Ordering::Relaxed), 20);
    });
}

static GLOBAL: std::sync::Mutex<Option<Gc<Node>>> = std::sync::Mutex::new(None);

thread_local! {
    static LOCAL: Cell<Option<Gc<Node>>> = const { Cell::new(None) };
}

#[test]
fn objects_in_globals_and_thread_locals_survive() {
    each_scheduler("globals", LIMIT, || {
        *GLOBAL.lock().unwrap() = list(2_000, 21);
        // Under M:N the goroutine may resume on another worker after any
        // call that can block (`collect` waits for the collector's lock
        // while another test's collection runs), and `LOCAL.with` then
        // names that worker's slot, not the one filled here. Keep the
        // address of the slot filled (in the thread that filled it, which
        // outlives this body) and read that one: the list must survive in
        // that thread's TLS whether or not this goroutine still runs there.
        let slot: *const Cell<Option<Gc<Node>>> = LOCAL.with(|l| {
            l.set(list(2_000, 22));
            l as *const Cell<Option<Gc<Node>>>
        });
        for _ in 0..3 {
            let _garbage = list(50_000, 6);
            gc::collect();
            check_list(*GLOBAL.lock().unwrap(), 2_000, 21);
            // SAFETY: the slot is in the TLS of a thread of this runtime,
            // alive until the body returns; that thread never touches
            // `LOCAL` itself, and we only read and clear it.
            check_list(unsafe { (*slot).get() }, 2_000, 22);
        }
        *GLOBAL.lock().unwrap() = None;
        // SAFETY: as above.
        unsafe { (*slot).set(None) };
    });
}

#[test]
fn objects_in_rust_collections_and_channels_survive() {
    each_scheduler("collections", LIMIT, || {
        let boxed: Box<Option<Gc<Node>>> = Box::new(list(1_000, 31));
        let vec: Vec<Gc<Node>> = (0..100).map(|i| list(10, i).unwrap()).collect();
        let mut map: HashMap<u64, Gc<Node>> = HashMap::new();
        for i in 0..100 {
            map.insert(i, list(10, 1000 + i).unwrap());
        }
        let ch: Chan<Gc<Node>> = Chan::new(64);
        for i in 0..64 {
            ch.send(list(10, 2000 + i).unwrap()).unwrap();
        }
        for _ in 0..3 {
            let _garbage = list(50_000, 8);
            gc::collect();
            check_list(*boxed, 1_000, 31);
            for (i, &l) in vec.iter().enumerate() {
                check_list(Some(l), 10, i as u64);
            }
            for (&i, &l) in &map {
                check_list(Some(l), 10, 1000 + i);
            }
        }
        for i in 0..64 {
            check_list(ch.recv(), 10, 2000 + i);
        }
    });
}

/// Threads start and end all the while another thread collects: none
/// may start or end mid-collection unseen, and what they hold survives.
#[test]
fn thread_churn_during_collections() {
    each_scheduler("thread churn", LIMIT, || {
        let collector = Collector::start();
        for round in 0..common::stress(20) as u64 {
            let handles: Vec<_> = (0..4u64)
                .map(|k| {
                    std::thread::spawn(move || {
                        let head = list(2_000, round * 10 + k);
                        std::thread::yield_now();
                        check_list(head, 2_000, round * 10 + k);
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
        }
        assert!(collector.stop() > 0);
    });
}

/// A thread blocked in `read(2)` on a pipe is stopped by signal during
/// collections; its call resumes (`SA_RESTART`), and it gets its data.
#[test]
fn a_thread_blocked_in_a_syscall_is_stopped_and_resumes() {
    each_scheduler("syscall", LIMIT, || {
        let mut fds = [0i32; 2];
        // SAFETY: a two-int array for pipe(2).
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let (r, w) = (fds[0], fds[1]);
        let reader = std::thread::spawn(move || {
            let head = list(1_000, 41);
            let mut buf = [0u8; 5];
            // SAFETY: reads into `buf`.
            let n = unsafe { libc::read(r, buf.as_mut_ptr().cast(), 5) };
            let err = std::io::Error::last_os_error();
            assert_eq!(n, 5, "read failed: {err}");
            assert_eq!(&buf, b"hello");
            check_list(head, 1_000, 41);
        });
        std::thread::sleep(Duration::from_millis(50));
        for _ in 0..5 {
            gc::collect();
        }
        // SAFETY: writes 5 bytes from a static string.
        assert_eq!(unsafe { libc::write(w, b"hello".as_ptr().cast(), 5) }, 5);
        reader.join().unwrap();
        // SAFETY: our descriptors.
        unsafe {
            libc::close(r);
            libc::close(w);
        }
    });
}

/// Every worker allocates and checks its own lists while collections run
/// again and again; every object's contents are checked every round.
#[test]
fn stress_allocating_on_every_worker_while_collecting() {
    each_scheduler("stress", LIMIT, || {
        let workers = 4u64;
        let rounds = common::stress(30) as u64;
        let wg = WaitGroup::new();
        let done = Arc::new(AtomicUsize::new(0));
        for w in 0..workers {
            wg.add(1);
            let (wg, done) = (wg.clone(), done.clone());
            gort::go(move || {
                let mut kept: Vec<(Option<Gc<Node>>, u64)> = Vec::new();
                for round in 0..rounds {
                    let salt = w << 32 | round;
                    kept.push((list(500, salt), salt));
                    if kept.len() > 8 {
                        kept.remove(0);
                    }
                    let _garbage = list(5_000, !salt);
                    for &(l, s) in &kept {
                        check_list(l, 500, s);
                    }
                    if round % 5 == w % 5 {
                        gc::collect();
                    }
                    gort::gosched();
                }
                done.fetch_add(1, Ordering::Relaxed);
                wg.done();
            });
        }
        let collections = gc::stats().collections;
        wg.wait();
        assert_eq!(done.load(Ordering::Relaxed), workers as usize);
        assert!(gc::stats().collections > collections);
    });
}

#[test]
fn garbage_is_reclaimed_and_the_heap_stays_bounded() {
    each_scheduler("bounded", LIMIT, || {
        let keep = list(1000, 51);
        let mut peak = 0;
        for round in 0..60u64 {
            // 50k short-lived nodes (1.6 MB) a round: 96 MB in all.
            let garbage = list(50_000, round);
            check_list(garbage, 50_000, round);
            if round % 20 == 0 {
                check_list(keep, 1000, 51);
            }
            peak = peak.max(gc::stats().heap_bytes);
        }
        gc::collect();
        let s = gc::stats();
        check_list(keep, 1000, 51);
        assert!(s.collections >= 10, "{s:?}");
        assert!(
            peak < 64 << 20,
            "the heap grew to {peak} bytes under a steady load"
        );
        assert!(s.live_bytes < 8 << 20, "{s:?}");
        assert!(s.pause_max >= s.pause_p99 && s.pause_p99 >= s.pause_p50);
        assert!(s.pause_total >= s.pause_max);
    });
}

#[test]
fn gctrace_prints_a_line_per_collection() {
    if is_child() {
        for _ in 0..3 {
            let _garbage = list(10_000, 1);
            gc::collect();
        }
        return;
    }
    let (code, _, err) = run_child(
        "gctrace_prints_a_line_per_collection",
        &[("GORT_GCTRACE", "1"), ("GORT_GOGC", "off")],
    );
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("gc ")).collect();
    assert_eq!(lines.len(), 3, "{err}");
    for (i, l) in lines.iter().enumerate() {
        assert!(l.starts_with(&format!("gc {} @", i + 1)), "{l}");
        assert!(
            l.contains(" ms pause, ") && l.contains(" MB heap, ") && l.contains(" MB live"),
            "{l}"
        );
    }
}

/// Starts a thread that blocks every signal (after registering with the
/// collector by allocating, if `registered`) and then sleeps forever.
fn start_signal_blocking_thread(registered: bool) {
    let blocked = Arc::new(Barrier::new(2));
    let b2 = blocked.clone();
    std::thread::Builder::new()
        .name("stubborn".into())
        .spawn(move || {
            if registered {
                check_list(list(10, 1), 10, 1);
            }
            // SAFETY: blocks every signal for this thread only.
            unsafe {
                let mut all: libc::sigset_t = core::mem::zeroed();
                libc::sigfillset(&mut all);
                libc::pthread_sigmask(libc::SIG_BLOCK, &all, core::ptr::null_mut());
            }
            b2.wait();
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        })
        .unwrap();
    blocked.wait();
}

#[test]
fn a_registered_thread_that_never_stops_is_named_in_a_fatal_error() {
    let name = "a_registered_thread_that_never_stops_is_named_in_a_fatal_error";
    if is_child() {
        start_signal_blocking_thread(true);
        gc::collect();
        unreachable!("the collection cannot finish");
    }
    let (code, _, err) = run_child(name, &[("GORT_GCSTOPTIMEOUT", "300")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("fatal error: gort gc: thread ")
            && err.contains(" (stubborn) blocks the stop signal (")
            && err.contains("GORT_GCSIGNAL): a thread that uses gort must let it through"),
        "{err}"
    );
}

/// A thread gort never registered that blocks the stop signal (as C
/// libraries' threads do) is left running; the collection completes.
#[test]
fn an_unregistered_thread_blocking_the_signal_is_left_running() {
    let name = "an_unregistered_thread_blocking_the_signal_is_left_running";
    if is_child() {
        start_signal_blocking_thread(false);
        let head = list(1_000, 3);
        gc::collect();
        check_list(head, 1_000, 3);
        println!("collected");
        return;
    }
    let (code, out, err) = run_child(name, &[("GORT_GCSTOPTIMEOUT", "2000")]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("collected"), "{out}{err}");
}

/// Blocks every signal in the calling thread, as sigwait-style threads and
/// many C libraries do.
fn block_all_signals() {
    // SAFETY: changes the calling thread's own mask; `all` is initialised
    // by sigfillset before use.
    unsafe {
        let mut all: libc::sigset_t = core::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, core::ptr::null_mut());
    }
}

/// A plain thread that blocks every signal and then receives a list, node
/// by node, over a gort channel, while the main thread allocates and
/// collects: the nodes it received are on its stack only. Receiving
/// registers the thread, and registering lets the stop signal through
/// again, so it is stopped and scanned like any other and every node
/// survives. (Before, it was left running unscanned: 2,107 of 2,400 nodes
/// came back damaged, or the walk crashed.)
#[test]
fn a_signal_blocking_thread_keeps_what_it_receives_over_a_channel() {
    const N: u64 = 2_400;
    const SALT: u64 = 0x5eed;
    let name = "a_signal_blocking_thread_keeps_what_it_receives_over_a_channel";
    if is_child() {
        let ch: Chan<Gc<Node>> = Chan::new(0);
        let ready = Arc::new(AtomicBool::new(false));
        let collected = Arc::new(AtomicBool::new(false));
        let (rx, r2, c2) = (ch.clone(), ready.clone(), collected.clone());
        let holder = std::thread::Builder::new()
            .name("blocker".into())
            .spawn(move || {
                block_all_signals();
                let mut head = None;
                while let Some(node) = rx.recv() {
                    head = Some(node);
                }
                r2.store(true, Ordering::Release);
                while !c2.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                // Walk at most N + 1 nodes: a damaged list may run on into
                // other lists.
                let (mut seen, mut damaged, mut at) = (0u64, 0u64, head);
                while let Some(node) = at {
                    if seen > N {
                        break;
                    }
                    if node.value != (N - 1 - seen.min(N - 1)) ^ SALT {
                        damaged += 1;
                    }
                    seen += 1;
                    at = node.next;
                }
                println!("verified {seen} nodes, {damaged} damaged");
            })
            .unwrap();
        // The list is made on a thread of its own, which then ends: the
        // holder has the only references.
        let producer = std::thread::spawn(move || {
            let mut prev = None;
            for i in 0..N {
                let node = Gc::new(Node {
                    value: i ^ SALT,
                    next: prev,
                });
                ch.send(node).unwrap();
                prev = Some(node);
            }
            ch.close();
        });
        while !ready.load(Ordering::Acquire) {
            let _garbage = list(20_000, 9);
            gc::collect();
        }
        producer.join().unwrap();
        for _ in 0..5 {
            let _garbage = list(50_000, 10);
            gc::collect();
        }
        collected.store(true, Ordering::Release);
        holder.join().unwrap();
        return;
    }
    let (code, out, err) = run_child(name, &[("GORT_GOGC", "off")]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!("verified {N} nodes, 0 damaged")),
        "{out}{err}"
    );
}

/// Whether `[addr, addr + 1)` can be read (a guard page cannot), asked of
/// the kernel through a pipe so that a guard page fails the call instead
/// of faulting.
fn readable(pipe: (i32, i32), addr: usize) -> bool {
    let mut byte = 0u8;
    // SAFETY: the kernel checks the source address; `byte` is ours.
    unsafe {
        if libc::write(pipe.1, addr as *const libc::c_void, 1) != 1 {
            return false;
        }
        libc::read(pipe.0, (&mut byte as *mut u8).cast(), 1);
    }
    true
}

/// The lowest usable address of the stack the caller runs on: the page
/// above its guard page.
#[inline(never)]
fn stack_floor() -> usize {
    let mut fds = [0i32; 2];
    // SAFETY: a two-int array for pipe(2).
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let here = 0u8;
    let mut page = std::hint::black_box(&here) as *const u8 as usize & !4095;
    while readable((fds[0], fds[1]), page - 4096) {
        page -= 4096;
    }
    // SAFETY: our descriptors.
    unsafe {
        libc::close(fds[0]);
        libc::close(fds[1]);
    }
    page
}

/// Recurses in frames of a few hundred bytes until at most `headroom`
/// bytes of stack are left above `floor`, then spins there (running, not
/// parked) until `collections` reaches `target`. Returns the depth.
#[inline(never)]
fn recurse_then_spin(
    floor: usize,
    headroom: usize,
    collections: &AtomicU64,
    target: u64,
    keep: Gc<Node>,
) -> usize {
    let pad = std::hint::black_box([keep.value as u8; 256]);
    let here = &pad as *const [u8; 256] as usize;
    if here - floor <= headroom {
        while collections.load(Ordering::Relaxed) < target {
            std::hint::spin_loop();
        }
        assert_eq!(
            keep.value,
            999 ^ 62,
            "the object held at the bottom was freed"
        );
        return 1;
    }
    let depth = 1 + recurse_then_spin(floor, headroom, collections, target, keep);
    // The frame stays whole (and the call is no tail call).
    std::hint::black_box(&pad);
    depth
}

/// A goroutine with about 2 KiB of stack left is running (not parked in
/// gort) while another thread collects again and again: the stop signal's
/// handler must not run on that stack (it ended the process with a bare
/// SIGSEGV). Under both schedulers; a child process, so that a crash is a
/// failure with a message.
#[test]
fn a_goroutine_nearly_out_of_stack_is_stopped_safely() {
    let name = "a_goroutine_nearly_out_of_stack_is_stopped_safely";
    if is_child() {
        each_scheduler("nearly out of stack", LIMIT, || {
            let collections = Arc::new(AtomicU64::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let (c2, s2) = (collections.clone(), stop.clone());
            let collector = std::thread::spawn(move || {
                while !s2.load(Ordering::Relaxed) {
                    let _garbage = list(2_000, 3);
                    gc::collect();
                    c2.fetch_add(1, Ordering::Relaxed);
                }
            });
            let head = list(1_000, 61);
            let bottom = list(1_000, 62).unwrap();
            let floor = stack_floor();
            let target = collections.load(Ordering::Relaxed) + 20;
            let depth = recurse_then_spin(floor, 2048, &collections, target, bottom);
            stop.store(true, Ordering::Relaxed);
            collector.join().unwrap();
            check_list(head, 1_000, 61);
            check_list(Some(bottom), 1_000, 62);
            println!("survived at depth {depth}");
        });
        return;
    }
    let (code, out, err) = run_child(name, &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(
        out.matches("survived at depth").count(),
        common::schedulers().len(),
        "{out}{err}"
    );
}

static IN_HANDLER: AtomicBool = AtomicBool::new(false);

fn monotonic_ms() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: fills `t`; async-signal-safe.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec as u64 * 1000 + t.tv_nsec as u64 / 1_000_000
}

/// Spins for half a second (every other thread may be stopped meanwhile:
/// nothing else could end it).
extern "C" fn spin_in_handler(_: libc::c_int) {
    IN_HANDLER.store(true, Ordering::Release);
    let start = monotonic_ms();
    while monotonic_ms() - start < 500 {
        std::hint::spin_loop();
    }
}

/// A stop that comes while a thread runs another signal's handler on its
/// signal stack waits for that handler to return, and the thread's own
/// stack is scanned then. (The stop comes during the handler unless the
/// first collection starts half a second late.)
#[test]
fn a_stop_during_another_handler_on_the_signal_stack_waits_for_it() {
    let name = "a_stop_during_another_handler_on_the_signal_stack_waits_for_it";
    if is_child() {
        // SAFETY: installs a handler that only reads the clock and stores
        // an atomic; the sigaction is zeroed ("no flags, empty mask")
        // before it is filled.
        unsafe {
            let mut action: libc::sigaction = core::mem::zeroed();
            action.sa_sigaction = spin_in_handler as *const () as usize;
            action.sa_flags = libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            assert_eq!(
                libc::sigaction(libc::SIGUSR1, &action, core::ptr::null_mut()),
                0
            );
        }
        let holder = std::thread::spawn(|| {
            let head = list(2_000, 71);
            // SAFETY: signals this thread; the handler returns by itself.
            unsafe { libc::pthread_kill(libc::pthread_self(), libc::SIGUSR1) };
            check_list(head, 2_000, 71);
            println!("checked");
        });
        while !IN_HANDLER.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
        for _ in 0..3 {
            let _garbage = list(50_000, 72);
            gc::collect();
        }
        holder.join().unwrap();
        return;
    }
    let (code, out, err) = run_child(name, &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("checked"), "{out}{err}");
}

/// A thread gort never registered that blocks the stop signal is left
/// running while the world is stopped, and it may allocate and free
/// through `ScannedAlloc` meanwhile: the collector must neither walk a
/// block list it is changing nor scan a block it freed (a 64 MiB block
/// goes back to the OS at once, and scanning it then faults).
#[test]
fn an_unregistered_thread_allocating_while_the_world_is_stopped_is_harmless() {
    let name = "an_unregistered_thread_allocating_while_the_world_is_stopped_is_harmless";
    if is_child() {
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let churner = std::thread::spawn(move || {
            block_all_signals();
            let mut n = 0u64;
            while !s2.load(Ordering::Relaxed) {
                let block = vec![0u8; 64 << 20];
                std::hint::black_box(&block);
                n += 1;
            }
            n
        });
        let head = list(1_000, 81);
        // Each collection scans a 64 MiB block: under an emulator (the
        // rig's runner is set) that is slow, so fewer rounds there.
        let emulated = std::env::var_os("GORT_CHILD_RUNNER").is_some();
        for _ in 0..common::stress(if emulated { 20 } else { 300 }) {
            let _garbage = list(1_000, 82);
            gc::collect();
        }
        stop.store(true, Ordering::Relaxed);
        let blocks = churner.join().unwrap();
        check_list(head, 1_000, 81);
        println!("done, {blocks} blocks");
        return;
    }
    let (code, out, err) = run_child(name, &[]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("done, "), "{out}{err}");
}

/// Collections while goroutines park in socket calls holding `Gc`s on
/// their stacks: every echoed message comes from a `Gc` kept across the
/// waits, and it must be intact (a worker blocked in the poller is stopped
/// and scanned like any other).
#[cfg(gort_net)]
#[test]
fn collections_during_network_waits_keep_what_goroutines_hold() {
    use gort::gc::collect;
    use gort::net::{TcpListener, TcpStream};
    use std::io::{Read, Write};
    const CONNS: usize = 10;
    const MSGS: usize = 50;
    each_scheduler("collections_during_network_waits", LIMIT, || {
        let l = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = l.local_addr().unwrap();
        let server = {
            let l = l.clone();
            gort::spawn(move || {
                let conns: Vec<_> = (0..CONNS)
                    .map(|_| {
                        let (mut s, _) = l.accept().unwrap();
                        gort::spawn(move || {
                            let mut buf = [0u8; 64];
                            for _ in 0..MSGS {
                                s.read_exact(&mut buf).unwrap();
                                // Kept only here while the write may park.
                                let held = Gc::new(buf);
                                let _garbage = Gc::new([0xAAu8; 256]);
                                s.write_all(&*held).unwrap();
                            }
                        })
                    })
                    .collect();
                for c in conns {
                    c.join().unwrap();
                }
            })
        };
        let done = Arc::new(AtomicUsize::new(0));
        let collector = {
            let done = done.clone();
            gort::spawn(move || {
                let mut n = 0;
                while done.load(Ordering::SeqCst) == 0 {
                    collect();
                    n += 1;
                    gort::time::sleep(Duration::from_millis(1));
                }
                n
            })
        };
        let clients: Vec<_> = (0..CONNS)
            .map(|c| {
                gort::spawn(move || {
                    let mut s = TcpStream::connect(addr).unwrap();
                    for m in 0..MSGS {
                        let msg = [(c * 31 + m) as u8; 64];
                        s.write_all(&msg).unwrap();
                        let mut back = [0u8; 64];
                        s.read_exact(&mut back).unwrap();
                        assert_eq!(back, msg, "client {c} message {m}");
                    }
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        server.join().unwrap();
        done.store(1, Ordering::SeqCst);
        assert!(collector.join().unwrap() > 0);
    });
}
