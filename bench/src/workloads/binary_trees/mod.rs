//! Binary-trees family: the Benchmarks Game's binary-trees
//! (`gort_bench::trees`: its steps, and the checksums every run must print)
//! with each contender's way to allocate a node of two child pointers:
//! gort's `gc::Gc` (in `gort-bench-gc`, whose global allocator is gort's
//! scanned one), Boehm GC (`boehm.rs`), Go (`bench/go`), and Rust without
//! a collector, `Box` and `Arc`, where each tree is freed as it drops.
//!
//! One workload, three rows from the same runs: the time; the peak
//! resident set (`VmHWM` at the end of the run: every contender runs in a
//! process of its own, so the peak is the run's); the 99th percentile
//! stop-the-world GC pause of the run (none without a collector).

mod boehm;

use std::sync::Arc;

use gort_bench::trees::{self, Job, PAUSE_P99, PEAK_RSS, Tree};

use crate::workload::{Contender, Metric, Params, SampleResult, Side, Unit, Workload};

/// The binary that runs the gort contender (`src/bin/gort-bench-gc.rs`).
const GC_BINARY: &str = "gort-bench-gc";

const NO_COLLECTOR: &str = "no collector, no pauses: each tree is freed as it drops";

/// A node whose children are `Box`es; the tree owns its root.
struct BoxNode {
    left: Option<Box<BoxNode>>,
    right: Option<Box<BoxNode>>,
}

struct BoxTree(Box<BoxNode>);

impl Tree for BoxTree {
    fn bottom_up(depth: u32) -> Self {
        fn node(depth: u32) -> Box<BoxNode> {
            let child = || (depth > 0).then(|| node(depth - 1));
            Box::new(BoxNode {
                left: child(),
                right: child(),
            })
        }
        BoxTree(node(depth))
    }

    fn check(&self) -> u64 {
        fn count(n: &BoxNode) -> u64 {
            match (&n.left, &n.right) {
                (Some(l), Some(r)) => 1 + count(l) + count(r),
                _ => 1,
            }
        }
        count(&self.0)
    }
}

/// The same with `Arc`: a reference count per node, the atomic increments
/// and decrements of shared ownership (none is ever shared here).
struct ArcNode {
    left: Option<Arc<ArcNode>>,
    right: Option<Arc<ArcNode>>,
}

struct ArcTree(Arc<ArcNode>);

impl Tree for ArcTree {
    fn bottom_up(depth: u32) -> Self {
        fn node(depth: u32) -> Arc<ArcNode> {
            let child = || (depth > 0).then(|| node(depth - 1));
            Arc::new(ArcNode {
                left: child(),
                right: child(),
            })
        }
        ArcTree(node(depth))
    }

    fn check(&self) -> u64 {
        fn count(n: &ArcNode) -> u64 {
            match (&n.left, &n.right) {
                (Some(l), Some(r)) => 1 + count(l) + count(r),
                _ => 1,
            }
        }
        count(&self.0)
    }
}

/// The depths of a run, a scoped `std::thread` each, each running
/// `work(depth, iterations)`; their sums in order.
fn on_threads(jobs: &[Job], work: impl Fn(u32, u64) -> u64 + Sync) -> Result<Vec<u64>, String> {
    std::thread::scope(|s| {
        let work = &work;
        let handles: Vec<_> = jobs
            .iter()
            .map(|&(depth, n)| s.spawn(move || work(depth, n)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().map_err(|p| {
                    let why = crate::runner::panic_message(&*p);
                    format!("a depth's thread panicked: {why}")
                })
            })
            .collect()
    })
}

/// A run of `T` trees with a thread per depth, and no collector.
fn on_std_threads<T: Tree>(p: &Params) -> SampleResult {
    let elapsed = trees::run::<T>(p.get("depth"), |jobs| {
        on_threads(jobs, trees::depth_work::<T>)
    })?;
    trees::sample(elapsed, None)
}

pub fn workloads() -> Vec<Workload> {
    let own = |c: Contender| c.in_own_process(&[]);
    let gort = Contender::measuring(
        "gort",
        "gort::gc::Gc<Node>, a goroutine per depth (in gort-bench-gc)",
        Side::Gort,
        |_| {
            Err(format!(
                "runs in {GC_BINARY} only (its global allocator is gort's)"
            ))
        },
    )
    .only_in_child(Some(GC_BINARY));
    vec![Workload {
        name: "binary_trees",
        family: "binary_trees",
        about: "Benchmarks Game binary-trees: stretch tree, long-lived tree, then 2^(depth-d+4) trees of each depth d=4,6..depth, a goroutine or thread per d: the time",
        full: Params::new(&[("depth", 21)]),
        quick: Params::new(&[("depth", 18)]),
        ops: |p| trees::nodes_allocated(p.get("depth")),
        unit: Unit::Seconds,
        also: &[
            Metric {
                name: "binary_trees_peak_rss",
                key: PEAK_RSS,
                about: "the same runs: peak resident set of the run's process (VmHWM)",
                unit: Unit::Bytes,
                lacking: &[],
            },
            Metric {
                name: "binary_trees_pause_p99",
                key: PAUSE_P99,
                about: "the same runs: 99th percentile stop-the-world GC pause",
                unit: Unit::Millis,
                lacking: &[("rust_box", NO_COLLECTOR), ("rust_arc", NO_COLLECTOR)],
            },
        ],
        contenders: vec![
            gort,
            boehm::contender(),
            own(Contender::sampling(
                "rust_box",
                "Option<Box<Node>>, a scoped std::thread per depth",
                Side::Peer,
                on_std_threads::<BoxTree>,
            )),
            own(Contender::sampling(
                "rust_arc",
                "Option<Arc<Node>>, a scoped std::thread per depth",
                Side::Peer,
                on_std_threads::<ArcTree>,
            )),
        ],
    }]
}
