//! binary-trees end to end at depth 6: each contender's child run prints
//! its time, peak resident set and (collectors only) GC pause p99, having
//! checked its checksums; a session of the family (Go too, where there is
//! a Go toolchain) has rows for all three metrics and no failed run.

use std::process::Command;

use gort_bench::sample::Sample;
use gort_bench::trees::{PAUSE_P99, PEAK_RSS};

const BIN: &str = env!("CARGO_BIN_EXE_gort-bench");
const GC_BIN: &str = env!("CARGO_BIN_EXE_gort-bench-gc");

/// One child run's line, or `None` if the contender is not available here
/// (no libgc when gort-bench was built).
fn child_run(bin: &str, contender: &str) -> Option<Sample> {
    let out = Command::new(bin)
        .args(["--child", "binary_trees", contender, "depth=6"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if stdout.starts_with("error not applicable") {
        eprintln!("{contender} skipped: {stdout}");
        return None;
    }
    assert!(
        out.status.success(),
        "{contender}: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let words = stdout.trim().strip_prefix("value ").unwrap_or_else(|| {
        panic!("{contender}: not a value line: {stdout:?}");
    });
    Some(Sample::parse(words, &[PEAK_RSS, PAUSE_P99]).unwrap())
}

#[test]
fn every_contender_reports_its_three_numbers() {
    for (bin, contender, collector) in [
        (BIN, "rust_box", false),
        (BIN, "rust_arc", false),
        (BIN, "boehm", true),
        (GC_BIN, "gort", true),
    ] {
        let Some(s) = child_run(bin, contender) else {
            continue;
        };
        assert!(s.value > 0.0, "{contender}: {s:?}");
        // At least this test binary's code is resident.
        let peak = s.get(PEAK_RSS).unwrap_or_default();
        assert!(peak > 1e6, "{contender}: peak resident {peak} bytes");
        match s.get(PAUSE_P99) {
            Some(p) => assert!(collector && p >= 0.0, "{contender}: pause {p} ms"),
            None => assert!(!collector, "{contender}: no GC pause p99"),
        }
    }
}

#[test]
fn the_gort_contender_runs_only_in_gort_bench_gc() {
    let out = Command::new(BIN)
        .args(["--child", "binary_trees", "gort", "depth=6"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("runs in gort-bench-gc only"), "{stdout}");
}

#[test]
fn a_session_has_rows_for_every_metric() {
    let dir = std::env::temp_dir().join(format!("gort-bench-trees-{}", std::process::id()));
    let report = dir.join("results.json");
    let out = Command::new(BIN)
        .args(["--only", "binary_trees", "--size", "depth=6"])
        .args(["--runs", "1", "--warmup", "0", "--out"])
        .arg(&report)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("with --size depth=6"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let rows = json["workloads"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "binary_trees",
            "binary_trees_peak_rss",
            "binary_trees_pause_p99"
        ]
    );
    for w in rows {
        assert_eq!(w["params"]["depth"], 6, "{w}");
        for c in w["contenders"].as_array().unwrap() {
            let name = c["name"].as_str().unwrap();
            if c.get("unsupported").is_some() {
                continue; // no libgc or no Go here; no pause without a GC
            }
            assert_eq!(c["errors"].as_array().unwrap().len(), 0, "{name}: {c}");
            assert_eq!(c["runs"].as_array().unwrap().len(), 1, "{name}: {c}");
        }
    }
    let pauses = &rows[2]["contenders"];
    let lacking: Vec<&str> = pauses
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["unsupported"]
                .as_str()
                .is_some_and(|why| why.starts_with("no collector"))
        })
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(lacking, ["rust_box", "rust_arc"]);
    for chart in ["binary_trees.svg", "binary_trees_peak_rss.svg"] {
        assert!(dir.join(chart).exists(), "{chart} missing");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
