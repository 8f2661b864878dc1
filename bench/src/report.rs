//! Results: statistics per contender, the ratio column, the printed table
//! and the JSON report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::workload::{Metric, Params, Side, Unit, Workload};

/// One measured run.
#[derive(Clone, Debug, Serialize)]
pub struct Measurement {
    /// Position in the whole session (1-based), to spot drift.
    pub seq: usize,
    pub workload: &'static str,
    pub contender: &'static str,
    /// Round within the workload (1-based).
    pub run: usize,
    /// In the workload's unit; `None` when the run failed.
    pub value: Option<f64>,
    /// CPU seconds of the run, all threads, user + system
    /// (`gort_bench::cpu`); `None` when it failed or there is no reading.
    pub cpu: Option<f64>,
    /// The workload's other metrics the run measured, by key, each in its
    /// metric's unit (`Workload::also`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub also: BTreeMap<&'static str, f64>,
    pub error: Option<String>,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    pub fn of(samples: &[f64]) -> Option<Stats> {
        if samples.is_empty() {
            return None;
        }
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let mid = s.len() / 2;
        let median = if s.len() % 2 == 1 {
            s[mid]
        } else {
            (s[mid - 1] + s[mid]) / 2.0
        };
        Some(Stats {
            median,
            min: s[0],
            max: s[s.len() - 1],
        })
    }
}

#[derive(Debug, Serialize)]
pub struct ContenderResult {
    pub name: &'static str,
    pub label: &'static str,
    pub side: Side,
    /// Why it did not run at all (no such operation in that library).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsupported: Option<&'static str>,
    /// Whether a run (warm-up included) was abandoned at the time limit.
    pub timed_out: bool,
    /// Successful runs' values (in the workload's unit), in the order
    /// they ran.
    pub runs: Vec<f64>,
    pub errors: Vec<String>,
    pub stats: Option<Stats>,
    pub ns_per_op: Option<f64>,
    /// Baseline gort median / this contender's median (peers only): above
    /// 1 gort is slower.
    pub gort_over_peer: Option<f64>,
    /// Successful runs' CPU seconds (`Measurement::cpu`), in order.
    pub cpu_runs: Vec<f64>,
    pub cpu_stats: Option<Stats>,
    /// Baseline gort's median CPU seconds / this contender's (peers only):
    /// above 1 gort burns more CPU for the same work.
    pub cpu_gort_over_peer: Option<f64>,
}

impl ContenderResult {
    pub fn new(
        name: &'static str,
        label: &'static str,
        side: Side,
        unsupported: Option<&'static str>,
    ) -> Self {
        ContenderResult {
            name,
            label,
            side,
            unsupported,
            timed_out: false,
            runs: Vec::new(),
            errors: Vec::new(),
            stats: None,
            ns_per_op: None,
            gort_over_peer: None,
            cpu_runs: Vec::new(),
            cpu_stats: None,
            cpu_gort_over_peer: None,
        }
    }

    pub fn record(&mut self, m: &Measurement) {
        if let Some(v) = m.value {
            self.runs.push(v);
        }
        if let Some(cpu) = m.cpu.filter(|_| m.value.is_some()) {
            self.cpu_runs.push(cpu);
        }
        if let Some(e) = &m.error {
            self.errors.push(e.clone());
        }
    }

    /// The metric `key` of a run (this is a row of the workload's other
    /// metrics). A failed run's error is the workload's row's: here it
    /// only leaves the value out.
    pub fn record_metric(&mut self, key: &str, m: &Measurement) {
        if m.value.is_none() || self.unsupported.is_some() {
            return;
        }
        match m.also.get(key) {
            Some(&v) => self.runs.push(v),
            None => self.errors.push(format!("the run measured no {key}")),
        }
    }

    /// A timeout outside the measured runs (a warm-up).
    pub fn note_timeout(&mut self, what: String) {
        self.timed_out = true;
        self.errors.push(what);
    }
}

#[derive(Debug, Serialize)]
pub struct WorkloadResult {
    pub name: &'static str,
    pub family: &'static str,
    pub about: &'static str,
    pub params: Params,
    pub ops: u64,
    pub unit: Unit,
    /// For the rows of one of a workload's other metrics: that workload,
    /// whose runs measured them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_of: Option<&'static str>,
    /// The gort contender the ratios are relative to.
    pub baseline: Option<&'static str>,
    pub contenders: Vec<ContenderResult>,
}

impl WorkloadResult {
    pub fn new(w: &Workload, params: &Params, ops: u64, cs: Vec<ContenderResult>) -> Self {
        let mut r = Self::rows(w, params, cs, w.unit);
        r.ops = ops;
        for c in &mut r.contenders {
            c.ns_per_op = c
                .stats
                .filter(|_| ops > 0 && w.unit == Unit::Seconds)
                .map(|s| s.median * 1e9 / ops as f64);
        }
        r
    }

    /// The rows of `m`, one of `w`'s other metrics, from the same runs.
    pub fn metric(w: &Workload, m: &Metric, params: &Params, cs: Vec<ContenderResult>) -> Self {
        WorkloadResult {
            name: m.name,
            about: m.about,
            metric_of: Some(w.name),
            ..Self::rows(w, params, cs, m.unit)
        }
    }

    /// Statistics and ratios of `cs`, values in `unit`.
    fn rows(w: &Workload, params: &Params, mut cs: Vec<ContenderResult>, unit: Unit) -> Self {
        for c in &mut cs {
            c.stats = Stats::of(&c.runs);
            c.cpu_stats = Stats::of(&c.cpu_runs);
        }
        // The baseline is the workload's first gort contender, if it ran.
        let baseline = w
            .baseline()
            .and_then(|b| cs.iter().find(|c| c.name == b))
            .and_then(|c| c.stats.map(|s| (c.name, s.median, c.cpu_stats)));
        if let Some((_, gort_median, gort_cpu)) = baseline {
            // A median of 0 (no GC pause at all) has no ratio.
            let ratio = |gort: f64, peer: Option<Stats>| {
                peer.filter(|s| s.median > 0.0).map(|s| gort / s.median)
            };
            for c in cs.iter_mut().filter(|c| c.side == Side::Peer) {
                c.gort_over_peer = ratio(gort_median, c.stats);
                c.cpu_gort_over_peer = gort_cpu.and_then(|g| ratio(g.median, c.cpu_stats));
            }
        }
        WorkloadResult {
            name: w.name,
            family: w.family,
            about: w.about,
            params: params.clone(),
            ops: 0,
            unit,
            metric_of: None,
            baseline: baseline.map(|(n, _, _)| n),
            contenders: cs,
        }
    }
}

/// What `Host::allocator` says.
pub const ALLOCATOR: &str =
    "system (gort_mimalloc: mimalloc, in gort-bench-mimalloc; gort's GC rows: gort-bench-gc)";

/// The human-readable table, one row per contender.
pub fn table(results: &[WorkloadResult]) -> String {
    let header = [
        "workload",
        "contender",
        "implementation",
        "median",
        "min",
        "max",
        "ns/op",
        "gort/peer",
        "cpu",
        "cpu gort/peer",
    ];
    let mut rows: Vec<[String; 10]> = Vec::new();
    for w in results {
        for c in &w.contenders {
            let (med, min, max) = match c.stats {
                Some(s) => (
                    w.unit.show(s.median),
                    w.unit.show(s.min),
                    w.unit.show(s.max),
                ),
                None if c.unsupported.is_some() => ("n/a".into(), "-".into(), "-".into()),
                None if c.timed_out => ("timed out".into(), "-".into(), "-".into()),
                None => ("failed".into(), "-".into(), "-".into()),
            };
            let label = match c.unsupported {
                // A row of another metric: the contender ran, without it.
                Some(why) if w.metric_of.is_some() => format!("n/a: {why}"),
                Some(why) => format!("not run: {why}"),
                None => c.label.to_string(),
            };
            let ratio = |r: Option<f64>| match (c.side, r) {
                (Side::Peer, Some(r)) => format!("{r:.2}x"),
                (Side::Peer, None) => "-".into(),
                (Side::Gort, _) if w.baseline == Some(c.name) => "(base)".into(),
                (Side::Gort, _) => String::new(),
            };
            // A metric's rows come from the workload's runs, whose CPU
            // time is on the workload's rows.
            let (cpu, cpu_ratio) = match (c.cpu_stats, w.metric_of) {
                (_, Some(_)) => (String::new(), String::new()),
                (Some(s), None) => (format!("{:.4} s", s.median), ratio(c.cpu_gort_over_peer)),
                (None, None) if c.stats.is_some() => ("n/a".into(), "-".into()),
                (None, None) => ("-".into(), "-".into()),
            };
            rows.push([
                w.name.to_string(),
                c.name.to_string(),
                label,
                med,
                min,
                max,
                c.ns_per_op.map_or("-".into(), |n| format!("{n:.1}")),
                ratio(c.gort_over_peer),
                cpu,
                cpu_ratio,
            ]);
        }
    }
    let mut width = header.map(str::len);
    for r in &rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[&str]| {
        for (i, cell) in cells.iter().enumerate() {
            // Text columns left-aligned, numbers right-aligned.
            if i < 3 {
                let _ = write!(out, "{cell:<w$}  ", w = width[i]);
            } else {
                let _ = write!(out, "{cell:>w$}  ", w = width[i]);
            }
        }
        let trimmed = out.trim_end().len();
        out.truncate(trimmed);
        out.push('\n');
    };
    line(&mut out, &header);
    let rule: Vec<String> = width.iter().map(|&w| "-".repeat(w)).collect();
    line(
        &mut out,
        &rule.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let mut last = "";
    for (r, w) in rows.iter().zip(
        results
            .iter()
            .flat_map(|w| w.contenders.iter().map(move |_| w.name)),
    ) {
        if !last.is_empty() && last != w {
            out.push('\n');
        }
        last = w;
        line(&mut out, &r.each_ref().map(String::as_str));
    }
    out.push_str(
        "\ngort/peer = gort median / peer median (above 1: gort slower). cpu = median CPU seconds of a run \
         (user + system, every thread, until its threads are idle again); cpu gort/peer likewise \
         (above 1: gort burns more CPU).\n",
    );
    let problems: Vec<String> = results
        .iter()
        .flat_map(|w| w.contenders.iter().map(move |c| (w.name, c)))
        .filter(|(_, c)| !c.errors.is_empty())
        .map(|(w, c)| {
            format!(
                "  {w} {}: {} failure(s), {} good run(s); first: {}",
                c.name,
                c.errors.len(),
                c.runs.len(),
                c.errors[0]
            )
        })
        .collect();
    if !problems.is_empty() {
        out.push_str(
            "\nfailed or timed-out runs (a timed-out contender runs no more in that workload):\n",
        );
        for p in problems {
            out.push_str(&p);
            out.push('\n');
        }
    }
    out
}

/// The results as one Markdown table (for the README): a row per
/// workload, a column per contender (in order of first appearance), each
/// cell the median and, for peers, gort's median over theirs.
pub fn markdown(results: &[WorkloadResult]) -> String {
    let mut names: Vec<&'static str> = Vec::new();
    for c in results.iter().flat_map(|w| &w.contenders) {
        if !names.contains(&c.name) {
            names.push(c.name);
        }
    }
    let mut out = format!("| workload | {} |\n|---|", names.join(" | "));
    out.push_str(&"---|".repeat(names.len()));
    out.push('\n');
    for w in results {
        let _ = write!(out, "| {} |", w.name);
        for name in &names {
            let cell = match w.contenders.iter().find(|c| c.name == *name) {
                None => String::new(),
                Some(c) => {
                    let mut cell = match (c.stats, c.gort_over_peer) {
                        (Some(s), Some(r)) => format!("{} ({r:.2}x)", w.unit.show(s.median)),
                        (Some(s), None) => w.unit.show(s.median),
                        (None, _) if c.unsupported.is_some() => "n/a".into(),
                        (None, _) if c.timed_out => "timed out".into(),
                        (None, _) => "failed".into(),
                    };
                    match (
                        c.cpu_stats.filter(|_| w.metric_of.is_none()),
                        c.cpu_gort_over_peer,
                    ) {
                        (Some(s), Some(r)) => {
                            let _ = write!(cell, "; cpu {:.4} s ({r:.2}x)", s.median);
                        }
                        (Some(s), None) => {
                            let _ = write!(cell, "; cpu {:.4} s", s.median);
                        }
                        (None, _) => {}
                    }
                    cell
                }
            };
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }
    out
}

/// Where the report goes by default: `<target dir>/bench-report/results.json`.
pub fn default_path() -> PathBuf {
    target_dir().join("bench-report").join("results.json")
}

/// Cargo's target folder: `$CARGO_TARGET_DIR`, else the workspace's.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            // The workspace root is this package's parent folder.
            let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
            bench.parent().unwrap_or(bench).join("target")
        })
}

#[derive(Serialize)]
pub struct Host {
    pub os: &'static str,
    pub arch: &'static str,
    pub num_cpu: usize,
    pub gomaxprocs: usize,
    pub env_gomaxprocs: Option<String>,
    pub env_gort_scheduler: Option<String>,
    /// `/proc/loadavg` before the first run (Linux): other load on the
    /// machine skews contended workloads most.
    pub loadavg_before: Option<String>,
    /// `go version` of the Go contender's toolchain, if there is one.
    pub go_version: Option<String>,
    /// The Rust contenders' global allocator: the system's (what a user's
    /// program gets), but for `gort_mimalloc`'s rows (a process of its own
    /// on mimalloc) and gort's GC rows (`gort-bench-gc`).
    pub allocator: &'static str,
    /// `model name` of `/proc/cpuinfo` (Linux).
    pub cpu_model: Option<String>,
    /// `PRETTY_NAME` of `/etc/os-release` and the kernel release (Linux).
    pub os_release: Option<String>,
    pub kernel: Option<String>,
    /// `rustc --version` on PATH (what `cargo run` builds with).
    pub rustc: Option<String>,
}

impl Host {
    pub fn detect() -> Self {
        Host {
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
            num_cpu: gort::num_cpu(),
            gomaxprocs: gort::gomaxprocs(),
            env_gomaxprocs: std::env::var("GOMAXPROCS").ok(),
            env_gort_scheduler: std::env::var("GORT_SCHEDULER").ok(),
            loadavg_before: loadavg(),
            go_version: crate::go::version(),
            allocator: ALLOCATOR,
            cpu_model: read_field("/proc/cpuinfo", "model name", ':'),
            os_release: read_field("/etc/os-release", "PRETTY_NAME", '=')
                .map(|v| v.trim_matches('"').to_string()),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .ok()
                .map(|k| k.trim().to_string()),
            rustc: std::process::Command::new("rustc")
                .arg("--version")
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()),
        }
    }

    /// One line naming the machine: CPU, cores, OS, kernel, compiler.
    pub fn machine(&self) -> String {
        let mut parts = vec![format!(
            "{} CPUs ({}; GOMAXPROCS {})",
            self.num_cpu,
            self.cpu_model.as_deref().unwrap_or(self.arch),
            self.gomaxprocs
        )];
        parts.push(match (&self.os_release, &self.kernel) {
            (Some(os), Some(k)) => format!("{os}, kernel {k}"),
            (Some(os), None) => os.clone(),
            _ => self.os.to_string(),
        });
        parts.extend(self.rustc.clone());
        parts.join("; ")
    }
}

/// The value of the first `key<sep>value` line of a file, trimmed.
fn read_field(path: &str, key: &str, sep: char) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(sep)?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

/// The first three fields of `/proc/loadavg` (1, 5, 15 minutes), if any.
pub fn loadavg() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// The revision measured, best effort (`None` outside a git checkout).
#[derive(Serialize)]
pub struct Revision {
    pub commit: String,
    pub dirty: bool,
}

impl Revision {
    pub fn detect() -> Option<Self> {
        let dir = env!("CARGO_MANIFEST_DIR");
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(["-C", dir])
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        Some(Revision {
            commit: git(&["rev-parse", "HEAD"])?,
            dirty: !git(&["status", "--porcelain", "--untracked-files=no"])?.is_empty(),
        })
    }
}

#[derive(Serialize)]
pub struct Report<'a> {
    pub tool: &'static str,
    pub version: &'static str,
    /// Seconds since the Unix epoch at the end of the session.
    pub finished_unix_s: u64,
    pub wall_s: f64,
    pub quick: bool,
    pub runs: usize,
    pub warmup: usize,
    pub host: Host,
    pub loadavg_after: Option<String>,
    pub revision: Option<Revision>,
    #[serde(flatten)]
    pub outcome: &'a crate::runner::Outcome,
}

pub fn write_json(path: &Path, report: &Report<'_>) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_has_a_column_per_contender() {
        let md = markdown(&[crate::plot::tests::result(Unit::Seconds, 1.0, 4.0)]);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(lines[0], "| workload | gort | peerx |");
        assert_eq!(lines[1], "|---|---|---|");
        assert_eq!(
            lines[2],
            "| w1 | 1.0000 s; cpu 2.0000 s | 4.0000 s (0.25x); cpu 8.0000 s (0.25x) |"
        );
    }

    #[test]
    fn table_has_cpu_and_its_ratio() {
        let t = table(&[crate::plot::tests::result(Unit::Seconds, 1.0, 4.0)]);
        let peer = t
            .lines()
            .find(|l| l.starts_with("w1") && l.contains("peerx"));
        let cells: Vec<&str> = peer.unwrap().split_whitespace().collect();
        assert_eq!(cells[cells.len() - 3..], ["8.0000", "s", "0.25x"]);
        assert!(t.lines().next().unwrap().ends_with("cpu  cpu gort/peer"));
    }

    #[test]
    fn stats_median_min_max() {
        let s = Stats::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        let s = Stats::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert!(Stats::of(&[]).is_none());
    }
}
