//! gort-bench-gc: the contenders on gort's garbage collector, run by
//! gort-bench as child processes (`src/child.rs`). Its global allocator is
//! `gort::gc::ScannedAlloc` (every Rust allocation scanned, as `Gc` needs),
//! which gort-bench's other contenders must not pay for.
//!
//! `gort-bench-gc --child binary_trees gort depth=<n>`: one binary-trees
//! run (`gort_bench::trees`) with `Gc` nodes and a goroutine per depth;
//! prints its line (`gort_bench::sample`): seconds, peak resident bytes,
//! the p99 of gort's stop-the-world pauses (`gort::gc::stats`), and the
//! run's CPU time (`gort_bench::cpu`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;

use gort::gc::Gc;
use gort_bench::sample::{Sample, print_result};
use gort_bench::trees::{self, Tree};

#[global_allocator]
static ALLOC: gort::gc::ScannedAlloc = gort::gc::ScannedAlloc;

struct Node {
    left: Option<Gc<Node>>,
    right: Option<Gc<Node>>,
}

struct GcTree(Gc<Node>);

impl Tree for GcTree {
    fn bottom_up(depth: u32) -> Self {
        fn node(depth: u32) -> Gc<Node> {
            let child = || (depth > 0).then(|| node(depth - 1));
            Gc::new(Node {
                left: child(),
                right: child(),
            })
        }
        GcTree(node(depth))
    }

    fn check(&self) -> u64 {
        fn count(n: &Node) -> u64 {
            match (n.left, n.right) {
                (Some(l), Some(r)) => 1 + count(&l) + count(&r),
                _ => 1,
            }
        }
        count(&self.0)
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".into())
}

/// One run from a goroutine (as Go's `main` is one), a goroutine per depth.
fn binary_trees(depth: u64) -> Result<Sample, String> {
    let run = gort::spawn(move || {
        trees::run::<GcTree>(depth, |jobs| {
            let depths: Vec<_> = jobs
                .iter()
                .map(|&(d, n)| gort::spawn(move || trees::depth_work::<GcTree>(d, n)))
                .collect();
            depths
                .into_iter()
                .map(|h| {
                    h.join().map_err(|p| {
                        format!("a depth's goroutine panicked: {}", panic_message(&*p))
                    })
                })
                .collect()
        })
    });
    let elapsed = run
        .join()
        .map_err(|p| format!("panicked: {}", panic_message(&*p)))??;
    trees::sample(elapsed, Some(gort::gc::stats().pause_p99))
}

/// The sizes after `--child <workload> <contender>`: `depth=<n>`.
fn depth(sizes: &[&str]) -> Result<u64, String> {
    match sizes {
        [size] => size
            .strip_prefix("depth=")
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| format!("bad size {size:?} for depth=<n>")),
        _ => Err(format!("want one size, depth=<n>; got {sizes:?}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match words.as_slice() {
        ["--child", "binary_trees", "gort", sizes @ ..] => depth(sizes).and_then(|d| {
            let (r, cpu) = gort_bench::cpu::measured(|| {
                catch_unwind(AssertUnwindSafe(|| binary_trees(d)))
                    .unwrap_or_else(|p| Err(format!("panicked: {}", panic_message(&*p))))
            });
            r.map(|s| Sample { cpu, ..s })
        }),
        _ => Err(format!(
            "usage: gort-bench-gc --child binary_trees gort depth=<n> (got {args:?})"
        )),
    };
    print_result(&result)
}
