//! The network family end to end, small: a session of it has rows for
//! every workload and metric with no failed run (Go too, where there is a
//! Go toolchain); gort's echo runs on a handful of threads where std's
//! needs one per connection end; the idle-connections run (a child of
//! gort-bench with a holder process) measures a plausible cost.

use std::process::Command;

use gort_bench::sample::Sample;

const BIN: &str = env!("CARGO_BIN_EXE_gort-bench");

/// 100 connections, 5 echoes or 20 requests each.
const SIZES: [&str; 6] = [
    "--size",
    "connections=100",
    "--size",
    "messages=5",
    "--size",
    "requests=20",
];

#[test]
fn a_session_has_every_row_and_no_failed_run() {
    let dir = std::env::temp_dir().join(format!("gort-bench-net-{}", std::process::id()));
    let report = dir.join("results.json");
    let out = Command::new(BIN)
        .args(["--only", "net", "--runs", "1", "--warmup", "0"])
        .args(SIZES)
        .arg("--out")
        .arg(&report)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let rows = json["workloads"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "tcp_echo",
            "tcp_echo_threads",
            "http_hello",
            "idle_connections"
        ]
    );
    let mut threads = Vec::new();
    for w in rows {
        assert_eq!(w["params"]["connections"], 100, "{w}");
        for c in w["contenders"].as_array().unwrap() {
            let name = c["name"].as_str().unwrap();
            if c.get("unsupported").is_some() {
                continue; // no Go here
            }
            assert_eq!(c["errors"].as_array().unwrap().len(), 0, "{name}: {c}");
            let runs = c["runs"].as_array().unwrap();
            assert_eq!(runs.len(), 1, "{name}: {c}");
            if w["name"] == "tcp_echo_threads" {
                threads.push((name.to_string(), runs[0].as_f64().unwrap()));
            }
        }
    }
    let of = |who: &str| threads.iter().find(|(n, _)| n == who).unwrap().1;
    // 100 connections, 200 ends: std has a thread per live end (the peak
    // sample may miss ends that finished early, so not all 200); gort's
    // M:N goroutines park in the poller and hold none.
    assert!(of("std") > 64.0, "{threads:?}");
    assert!(of("gort_threads") > 64.0, "{threads:?}");
    assert!(of("gort") < 64.0, "{threads:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// gort's idle run as the runner starts it: a child of gort-bench, whose
/// holder is gort-bench again; every reader saw EOF (or the run fails), and
/// a connection costs at least something and less than a thread's stack.
#[test]
fn idle_connections_measures_a_cost_per_connection() {
    let out = Command::new(BIN)
        .args(["--child", "idle_connections", "gort", "connections=300"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let words = stdout.trim().strip_prefix("value ").unwrap();
    let bytes = Sample::parse(words, &[]).unwrap().value;
    assert!(bytes > 0.0 && bytes < 256.0 * 1024.0, "{bytes} bytes");
}

/// The holder refuses bad arguments.
#[test]
fn the_holder_wants_a_port_and_a_count() {
    let out = Command::new(BIN).args(["--hold", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: gort-bench --hold"));
}
