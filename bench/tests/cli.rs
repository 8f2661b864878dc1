//! The built `gort-bench` end to end: a child-process run prints its
//! value, and a small session writes the table, the JSON report, the
//! Markdown table and the charts, and exits 0.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_gort-bench");

/// Runs the binary with `args`; its stdout, after checking it succeeded.
fn run_ok<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn a_child_run_prints_its_measurement() {
    let stdout = run_ok(["--child", "parked_memory", "gort", "goroutines=2000"]);
    let (bytes, cpu) = value_line(&stdout);
    // At least the one stack page each goroutine touches.
    assert!(bytes >= 4096.0, "{bytes} bytes per parked goroutine");
    // Starting 2,000 goroutines costs some CPU time, wherever it is read.
    if cfg!(unix) {
        assert!(cpu.is_some_and(|c| c > 0.0), "{stdout}");
    }

    let out = Command::new(BIN)
        .args(["--child", "parked_memory", "gort", "threads=2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("error bad size"));
}

/// A child's `value <x> [cpu=<s>]` line: the value and the CPU seconds.
fn value_line(stdout: &str) -> (f64, Option<f64>) {
    let words = stdout.trim().strip_prefix("value ");
    let mut words = words
        .unwrap_or_else(|| panic!("not a value line: {stdout:?}"))
        .split_whitespace();
    let value = words.next().and_then(|v| v.parse().ok());
    let value = value.unwrap_or_else(|| panic!("no value in {stdout:?}"));
    let cpu = words.find_map(|w| w.strip_prefix("cpu=")?.parse().ok());
    (value, cpu)
}

/// `gort_mimalloc` runs in gort-bench-mimalloc (mimalloc is its global
/// allocator), never in gort-bench, whose allocator is the system's.
#[test]
fn gort_mimalloc_runs_only_in_its_binary() {
    const MIMALLOC: &str = env!("CARGO_BIN_EXE_gort-bench-mimalloc");
    let args = [
        "--child",
        "chan_pingpong",
        "gort_mimalloc",
        "round_trips=1000",
    ];
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("runs in gort-bench-mimalloc only"),
        "{stdout}"
    );

    let out = Command::new(MIMALLOC).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let (seconds, _) = value_line(&stdout);
    assert!(seconds > 0.0, "{stdout}");
}

#[test]
fn a_small_session_writes_every_output() {
    let dir = std::env::temp_dir().join(format!("gort-bench-cli-{}", std::process::id()));
    let out = dir.join("results.json");
    let stdout = run_ok([
        "--quick",
        "--only",
        "spawn_join,parked_memory",
        "--contenders",
        "gort,gort_threads,gort_mimalloc,std",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--out",
        out.to_str().expect("temp path is UTF-8"),
    ]);
    let has_row = |workload: &str, contender: &str| {
        stdout.lines().any(|l| {
            let mut words = l.split_whitespace();
            words.next() == Some(workload) && words.next() == Some(contender)
        })
    };
    for (w, c) in [
        ("spawn_join", "gort"),
        ("spawn_join", "gort_threads"),
        ("spawn_join", "gort_mimalloc"),
        ("parked_memory", "gort_mimalloc"),
        ("spawn_join", "std"),
        ("parked_memory", "gort"),
    ] {
        assert!(has_row(w, c), "no row {w} {c} in\n{stdout}");
    }
    assert!(stdout.contains("100k+ OS threads exceed"), "{stdout}");
    for file in [
        "results.json",
        "table.md",
        "spawn.svg",
        "memory.svg",
        "index.html",
    ] {
        assert!(dir.join(file).exists(), "{file} missing");
    }
    let json = std::fs::read_to_string(dir.join("results.json")).unwrap();
    assert!(json.contains("\"unit\": \"B/item\""), "{json}");
    if cfg!(unix) {
        assert!(json.contains("\"cpu_stats\": {"), "{json}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
