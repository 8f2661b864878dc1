//! What gort-bench's two binaries share. `gort-bench` runs the suite;
//! `gort-bench-gc` runs the contenders on gort's garbage collector, whose
//! global allocator (`gort::gc::ScannedAlloc`, every allocation scanned)
//! must not slow the others down, so it is a binary of its own that
//! `gort-bench` starts as a child process (`src/child.rs`).
//!
//! `sample`: what a run measured and the line a child prints it as;
//! `trees`: the binary-trees benchmark for any kind of node; `resident`:
//! the resident set, now and at its peak; `cpu`: a run's CPU time.

pub mod cpu;
pub mod resident;
pub mod sample;
pub mod trees;
