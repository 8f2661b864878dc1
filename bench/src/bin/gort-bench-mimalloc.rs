//! gort-bench-mimalloc: the `gort_mimalloc` contender's process. It is
//! gort-bench's own suite (the same modules, by path) with mimalloc as the
//! global allocator, so the gort rows can be seen on a thread-caching
//! allocator too, while gort-bench and every peer run on the system's.
//!
//! `gort-bench-mimalloc --child <workload> gort_mimalloc key=value...`:
//! one run, one line (`gort_bench::sample`), as `gort-bench --child`.

// The suite's modules (and their re-exports), of which this binary uses
// only the child side.
#![allow(dead_code, unused_imports)]

use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../child.rs"]
mod child;
#[path = "../go.rs"]
mod go;
#[path = "../harness.rs"]
mod harness;
#[path = "../may_peer.rs"]
mod may_peer;
#[path = "../plot.rs"]
mod plot;
#[path = "../report.rs"]
mod report;
#[path = "../runner.rs"]
mod runner;
#[path = "../workload.rs"]
mod workload;
#[path = "../workloads/mod.rs"]
mod workloads;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((flag, rest)) if flag == child::FLAG => child::main(rest),
        _ => {
            eprintln!(
                "usage: gort-bench-mimalloc {} <workload> gort_mimalloc key=value...",
                child::FLAG
            );
            ExitCode::from(2)
        }
    }
}
