//! binary-trees, the Benchmarks Game program (its rules, our code), for
//! any kind of node: a `Tree` is built bottom-up to a depth, and `check`
//! counts its nodes. A run at `max_depth` (at least `MIN_DEPTH + 2`):
//!
//! 1. a stretch tree of depth `max_depth + 1`: built, checked, dropped;
//! 2. a long-lived tree of depth `max_depth`, kept to the end;
//! 3. for each depth `d` = 4, 6, ... up to `max_depth`, `2^(max_depth - d
//!    + 4)` trees of depth `d`, each built, checked and dropped; the depths
//!    run in parallel, a thread or goroutine each (the caller's `fan_out`);
//! 4. the long-lived tree checked.
//!
//! The time is from 1 to 4. The program's output, one line per step with
//! its checksum (`expected`), must then equal the closed form exactly: a
//! tree of depth `d` has `2^(d+1) - 1` nodes. Every contender's run is
//! checked against that one text, so they print the same checksums.

use std::time::{Duration, Instant};

use crate::sample::Sample;

/// The shallowest trees of step 3.
pub const MIN_DEPTH: u32 = 4;

/// The metric keys of a run's `Sample` besides its seconds: the peak
/// resident set in bytes, and the 99th percentile GC pause in milliseconds
/// (collectors only).
pub const PEAK_RSS: &str = "peak_rss";
pub const PAUSE_P99: &str = "pause_p99";

/// A binary tree of one allocation per node.
pub trait Tree: Sized {
    /// A perfect tree of `depth` (depth 0: one node without children).
    fn bottom_up(depth: u32) -> Self;
    /// Its number of nodes, counted by walking it.
    fn check(&self) -> u64;
}

/// One depth of step 3: its depth and how many trees it builds.
pub type Job = (u32, u64);

/// The depth a run uses for the `depth` size asked for.
pub fn max_depth(depth: u64) -> u32 {
    u32::try_from(depth).map_or(u32::MAX, |d| d.max(MIN_DEPTH + 2))
}

/// Step 3's depths, shallowest first.
pub fn jobs(max_depth: u32) -> Vec<Job> {
    (MIN_DEPTH..=max_depth)
        .step_by(2)
        .map(|d| (d, 1u64 << (max_depth - d + MIN_DEPTH)))
        .collect()
}

/// One job: `iterations` trees of `depth`, each built, checked and dropped
/// before the next; the sum of their checks.
pub fn depth_work<T: Tree>(depth: u32, iterations: u64) -> u64 {
    (0..iterations).map(|_| T::bottom_up(depth).check()).sum()
}

/// Nodes in a tree of `depth`.
pub fn nodes(depth: u32) -> u64 {
    (1u64 << (depth + 1)) - 1
}

/// Nodes one run allocates (its operations, for ns/op).
pub fn nodes_allocated(depth: u64) -> u64 {
    let max = max_depth(depth);
    let middle: u64 = jobs(max).iter().map(|&(d, n)| n * nodes(d)).sum();
    nodes(max + 1) + nodes(max) + middle
}

/// The output a run must print: the stretch tree's line, one per depth,
/// the long-lived tree's.
pub fn expected(max_depth: u32) -> Vec<String> {
    let sums: Vec<u64> = jobs(max_depth).iter().map(|&(d, n)| n * nodes(d)).collect();
    output(max_depth, nodes(max_depth + 1), &sums, nodes(max_depth))
}

fn output(max_depth: u32, stretch: u64, sums: &[u64], long_lived: u64) -> Vec<String> {
    let mut lines = vec![format!(
        "stretch tree of depth {}\t check: {stretch}",
        max_depth + 1
    )];
    for (&(d, n), sum) in jobs(max_depth).iter().zip(sums) {
        lines.push(format!("{n}\t trees of depth {d}\t check: {sum}"));
    }
    lines.push(format!(
        "long lived tree of depth {max_depth}\t check: {long_lived}"
    ));
    lines
}

/// One run at the `depth` size: steps 1 to 4 with trees of `T`, step 3
/// through `fan_out`, which runs `depth_work::<T>` for every job in
/// parallel and returns each job's sum, in order. Returns the time, or
/// why the run failed (a checksum differs from `expected`: the first
/// line that does is in the message).
pub fn run<T: Tree>(
    depth: u64,
    fan_out: impl FnOnce(&[Job]) -> Result<Vec<u64>, String>,
) -> Result<Duration, String> {
    let max = max_depth(depth);
    let jobs = jobs(max);
    let start = Instant::now();
    let stretch = T::bottom_up(max + 1).check();
    let long_lived = T::bottom_up(max);
    let sums = fan_out(&jobs)?;
    let long_check = long_lived.check();
    let elapsed = start.elapsed();
    drop(long_lived);
    if sums.len() != jobs.len() {
        return Err(format!(
            "{} depth results for {} depths",
            sums.len(),
            jobs.len()
        ));
    }
    let got = output(max, stretch, &sums, long_check);
    match got.iter().zip(expected(max)).find(|(g, w)| *g != w) {
        Some((g, w)) => Err(format!("wrong checksum: got {g:?}, want {w:?}")),
        None => Ok(elapsed),
    }
}

/// A run's `Sample`: its seconds, this process's peak resident set and,
/// for a collector, its 99th percentile pause.
pub fn sample(elapsed: Duration, pause_p99: Option<Duration>) -> Result<Sample, String> {
    let mut also = vec![(PEAK_RSS, crate::resident::peak()? as f64)];
    if let Some(p) = pause_p99 {
        also.push((PAUSE_P99, p.as_secs_f64() * 1e3));
    }
    Ok(Sample {
        value: elapsed.as_secs_f64(),
        also,
        cpu: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The simplest tree: what every contender's must agree with.
    struct Boxed(Option<Box<(Boxed, Boxed)>>);

    impl Tree for Boxed {
        fn bottom_up(depth: u32) -> Self {
            Boxed(
                (depth > 0)
                    .then(|| Box::new((Self::bottom_up(depth - 1), Self::bottom_up(depth - 1)))),
            )
        }
        fn check(&self) -> u64 {
            1 + self.0.as_ref().map_or(0, |c| c.0.check() + c.1.check())
        }
    }

    fn serially(jobs: &[Job]) -> Result<Vec<u64>, String> {
        Ok(jobs
            .iter()
            .map(|&(d, n)| depth_work::<Boxed>(d, n))
            .collect())
    }

    #[test]
    fn output_of_the_benchmarks_game() {
        // Its published output for depth 10.
        let want = "stretch tree of depth 11\t check: 4095
1024\t trees of depth 4\t check: 31744
256\t trees of depth 6\t check: 32512
64\t trees of depth 8\t check: 32704
16\t trees of depth 10\t check: 32752
long lived tree of depth 10\t check: 2047";
        assert_eq!(expected(10).join("\n"), want);
        assert_eq!(max_depth(1), 6);
        assert_eq!(nodes_allocated(6), 255 + 127 + 64 * 31 + 16 * 127);
    }

    #[test]
    fn a_run_counts_its_nodes() {
        assert!(run::<Boxed>(8, serially).is_ok());
        let short = |jobs: &[Job]| {
            serially(jobs).map(|mut s| {
                s[1] -= 1;
                s
            })
        };
        let e = run::<Boxed>(8, short).unwrap_err();
        assert!(
            e.starts_with("wrong checksum") && e.contains("trees of depth 6"),
            "{e}"
        );
    }
}
