//! The workload registry: one module per family, each contributing its
//! workloads. A new family is a new module plus one line in `registry`. The Go contender joins every workload the Go
//! program has (`crate::go`).

mod binary_trees;
mod blocking;
mod chan;
mod futex;
mod memory;
mod mutex;
pub mod net;
mod rwmutex;
mod sieve;
mod spawn;
mod timers;
mod waitgroup;

use crate::workload::{Contender, Side, Workload};

/// Every workload, in the order they run and print.
pub fn registry() -> Vec<Workload> {
    let mut all = registry_without_go();
    crate::go::add_contenders(&mut all);
    all
}

/// The Rust side only (a child process runs one Rust contender, and need
/// not look for a Go toolchain).
pub fn registry_without_go() -> Vec<Workload> {
    let families: [fn() -> Vec<Workload>; 12] = [
        mutex::workloads,
        rwmutex::workloads,
        waitgroup::workloads,
        futex::workloads,
        spawn::workloads,
        chan::workloads,
        sieve::workloads,
        timers::workloads,
        blocking::workloads,
        memory::workloads,
        binary_trees::workloads,
        net::workloads,
    ];
    let mut all: Vec<Workload> = families.iter().flat_map(|f| f()).collect();
    add_threads_twins(&mut all);
    add_mimalloc_twins(&mut all);
    // may cannot give back what a failed run took: after 1M coroutines at
    // once fail (no stack mappings left), the process could not even start
    // a thread. Every may run gets a process of its own.
    for c in all.iter_mut().flat_map(|w| &mut w.contenders) {
        if c.name == "may" && c.own_process.is_none() {
            c.own_process = Some(&[]);
        }
    }
    debug_assert!(
        {
            let mut names: Vec<_> = all.iter().map(|w| w.name).collect();
            names.sort_unstable();
            names.windows(2).all(|w| w[0] != w[1])
        },
        "workload names must be unique"
    );
    all
}

/// The environment of the `gort_threads` contender's child processes.
const THREADS_SCHEDULER: &[(&str, &str)] = &[("GORT_SCHEDULER", "threads")];

/// Adds `gort_threads` beside the `gort` contender: the same code in a
/// child process with `GORT_SCHEDULER=threads`, so goroutines are OS
/// threads (gort's other scheduler, the one wasm uses). Only where that
/// finishes in reasonable time: unbuffered channels between threads cost
/// a futex sleep and wake per message (5M messages: 15-50 s a run, as
/// crossbeam's rows show), and the sieve and the memory rows start
/// thousands to a million goroutines at once.
fn add_threads_twins(all: &mut [Workload]) {
    let wanted = |w: &Workload| {
        (w.family == "chan" && !w.name.ends_with("bounded0"))
            || [
                "spawn_join",
                "spawn_join_batched",
                "waitgroup_fanout",
                "blocking_calls",
                "tcp_echo",
            ]
            .contains(&w.name)
    };
    for w in all.iter_mut().filter(|w| wanted(w)) {
        let Some(at) = w.contenders.iter().position(|c| c.name == "gort") else {
            continue;
        };
        let twin = Contender {
            name: "gort_threads",
            label: "gort, goroutines as OS threads (GORT_SCHEDULER=threads)",
            side: Side::Gort,
            run: w.contenders[at].run.clone(),
            unsupported: None,
            own_process: Some(THREADS_SCHEDULER),
            binary: None,
            child_only: false,
        };
        w.contenders.insert(at + 1, twin);
    }
}

/// The binary of the `gort_mimalloc` contender (`src/bin/`).
pub const MIMALLOC_BINARY: &str = "gort-bench-mimalloc";

/// The workloads that get a `gort_mimalloc` row: those that allocate as
/// they go (spawning, goroutines parked in channel operations, a
/// goroutine per prime, parked goroutines' memory), where a
/// thread-caching allocator changes gort's numbers. Not binary-trees:
/// gort's `Gc` needs its own global allocator (`gort-bench-gc`).
const MIMALLOC_TWINS: &[&str] = &[
    "waitgroup_fanout",
    "spawn_join",
    "spawn_join_batched",
    "spawn_waitgroup",
    "chan_spsc_bounded0",
    "chan_pingpong",
    "sieve",
    "parked_memory",
    "parked_memory_many",
];

/// Adds `gort_mimalloc` beside the `gort` contender of the workloads in
/// `MIMALLOC_TWINS`: the same code in a child process of
/// `gort-bench-mimalloc`, whose global allocator is mimalloc (gort-bench
/// runs on the system's, as users' programs do).
fn add_mimalloc_twins(all: &mut [Workload]) {
    for w in all.iter_mut().filter(|w| MIMALLOC_TWINS.contains(&w.name)) {
        let Some(at) = w.contenders.iter().position(|c| c.name == "gort") else {
            continue;
        };
        let gort = &w.contenders[at];
        // A fresh process, warmed as gort's row is warm in gort-bench (its
        // workers started, its stack pool filled); not where the row
        // measures memory, which a warm-up would skew.
        let env = match gort.own_process {
            Some(env) => env,
            None => crate::child::WARM,
        };
        let twin = Contender {
            name: "gort_mimalloc",
            label: "the gort row's code on mimalloc (gort-bench-mimalloc)",
            side: Side::Gort,
            run: gort.run.clone(),
            unsupported: None,
            own_process: Some(env),
            binary: Some(MIMALLOC_BINARY),
            child_only: true,
        };
        let after = at
            + 1
            + usize::from(
                w.contenders
                    .get(at + 1)
                    .is_some_and(|c| c.name == "gort_threads"),
            );
        w.contenders.insert(after, twin);
    }
}

/// `p` with every size at most 400 (messages, round trips, spawns...;
/// a capacity N follows its message count) and tree depths at 6 (the work
/// doubles per level): each workload's check still runs, in moments.
#[cfg(test)]
pub fn tiny(p: &crate::workload::Params) -> crate::workload::Params {
    let small = p.capped(400);
    small.overridden(&["depth=6".into()]).unwrap_or(small)
}

#[cfg(test)]
mod tests {
    /// Every workload named for a `gort_mimalloc` row has one, run by
    /// `gort-bench-mimalloc` in a child process, right after gort's rows.
    #[test]
    fn mimalloc_twins_exist() {
        let all = super::registry_without_go();
        for name in super::MIMALLOC_TWINS {
            let w = all.iter().find(|w| w.name == *name);
            let w = w.unwrap_or_else(|| panic!("{name}: no such workload"));
            let c = w.contenders.iter().find(|c| c.name == "gort_mimalloc");
            let c = c.unwrap_or_else(|| panic!("{name}: no gort_mimalloc"));
            assert_eq!(c.binary, Some(super::MIMALLOC_BINARY));
            assert!(c.own_process.is_some() && c.child_only);
            // Timed rows warm the fresh process up; memory rows must not.
            let warm = c.own_process == Some(crate::child::WARM);
            assert_eq!(warm, w.unit == crate::workload::Unit::Seconds, "{name}");
            assert_eq!(w.baseline(), Some("gort"));
        }
    }

    /// Every workload passes its own check at a tiny size, for every
    /// contender that runs (catches a wrong checksum or a deadlocking
    /// shape before a long benchmark does). The Go contender counts when a
    /// Go toolchain is there (CI installs one; without, it is `n/a`).
    /// Contenders that run only as a child process's main are tested as
    /// children (`tests/binary_trees.rs`).
    ///
    /// Each run gets `LIMIT`. A gort contender that exceeds it fails the
    /// test; a peer that does (may's coroutines, once, inside this process
    /// after every other workload had run, under a loaded CI machine) is
    /// reported and left behind on its thread: a hang inside a peer's
    /// runtime is not a wrong shape of ours, and the benchmark proper runs
    /// every network contender in a process of its own under its limit.
    #[test]
    fn every_contender_checks_out_small() {
        const LIMIT: std::time::Duration = std::time::Duration::from_secs(120);
        for w in super::registry() {
            let p = super::tiny(&w.quick);
            let runnable = |c: &&super::Contender| c.unsupported.is_none() && !c.child_only;
            for c in w.contenders.iter().filter(runnable) {
                let (tx, rx) = std::sync::mpsc::channel();
                let (run, p) = (c.run.clone(), p.clone());
                std::thread::spawn(move || {
                    let _ = tx.send(run(&p));
                });
                match rx.recv_timeout(LIMIT) {
                    Ok(r) => assert!(r.is_ok(), "{} {}: {:?}", w.name, c.name, r),
                    Err(_) if c.side == crate::workload::Side::Peer => {
                        eprintln!(
                            "{} {}: still running after {LIMIT:?}; left behind",
                            w.name, c.name
                        )
                    }
                    Err(e) => panic!("{} {}: no result within {LIMIT:?} ({e})", w.name, c.name),
                }
            }
        }
    }
}
