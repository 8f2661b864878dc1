//! The vocabulary of the suite: a `Workload` is one measured task with its
//! sizes, run by each of its `Contender`s (one per implementation).
//!
//! A contender's `run` does the whole task once at the given sizes and
//! returns the time of the measured part (setup such as allocating the lock
//! is outside it where that is easy to separate). Contenders of one
//! workload must do the same work; the runner alternates them.
//!
//! A run may measure more than its workload's value: binary-trees reports
//! its time, and also the peak resident set and the GC pause p99 of the
//! same run (`Workload::also`). Each such metric gets rows of its own in
//! the report, with ratios against gort like any other row.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

pub use gort_bench::sample::Sample;

/// Named sizes of a workload (`threads`, `iters`, ...), recorded in the
/// report so a result says what it measured.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(transparent)]
pub struct Params(BTreeMap<&'static str, u64>);

impl Params {
    pub fn new(pairs: &[(&'static str, u64)]) -> Self {
        Params(pairs.iter().copied().collect())
    }

    /// The size called `key`; a workload asking for a size it did not
    /// declare is a bug in the suite.
    pub fn get(&self, key: &str) -> u64 {
        match self.0.get(key) {
            Some(&v) => v,
            None => panic!("workload parameter {key:?} missing from {:?}", self.0),
        }
    }

    /// Every size, as `key=value` words (for an external program).
    pub fn args(&self) -> impl Iterator<Item = String> + '_ {
        self.0.iter().map(|(k, v)| format!("{k}={v}"))
    }

    /// `key=value` words (from `args`) over these sizes: each key must be
    /// one of ours.
    pub fn parse_args(&self, words: &[String]) -> Result<Params, String> {
        let mut out = self.clone();
        for word in words {
            let parsed = word.split_once('=').and_then(|(k, v)| {
                let key = *self.0.keys().find(|&&known| known == k)?;
                Some((key, v.parse::<u64>().ok()?))
            });
            let (key, value) = parsed.ok_or_else(|| format!("bad size {word:?} for {self}"))?;
            out.0.insert(key, value);
        }
        Ok(out)
    }

    /// Whether it has a size called `key`.
    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// A copy with the `key=value` words of `--size` applied that name one
    /// of its sizes (the others are for other workloads).
    pub fn overridden(&self, words: &[String]) -> Result<Params, String> {
        let ours: Vec<String> = words
            .iter()
            .filter(|w| w.split_once('=').is_some_and(|(k, _)| self.has(k)))
            .cloned()
            .collect();
        self.parse_args(&ours)
    }

    /// A copy with every size at most `max` (tests run workloads small).
    #[cfg(test)]
    pub fn capped(&self, max: u64) -> Params {
        Params(self.0.iter().map(|(&k, &v)| (k, v.min(max))).collect())
    }

    /// `get` as a `usize` (counts of threads, iterations).
    pub fn n(&self, key: &str) -> usize {
        usize::try_from(self.get(key)).expect("parameter fits usize")
    }
}

impl std::fmt::Display for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (k, v) in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "{k}={v}")?;
        }
        Ok(())
    }
}

/// Which side of the comparison a contender is on: the ratio column is
/// gort's median over each peer's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Gort,
    Peer,
}

/// What a timed contender's run returns: the measured time, or why it
/// could not run (e.g. no Go toolchain).
pub type RunResult = Result<Duration, String>;

/// A run's measurement in its workload's `Unit` (seconds, or bytes per
/// item), or why there is none.
pub type ValueResult = Result<f64, String>;

/// A run's `Sample` (its value and any other metrics), or why there is
/// none.
pub type SampleResult = Result<Sample, String>;

/// Shared so the runner can hand it to the thread that runs one
/// measurement (and abandon that thread if the run never ends).
pub type RunFn = Arc<dyn Fn(&Params) -> SampleResult + Send + Sync>;

/// What a workload's runs measure. Smaller is better for every unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Unit {
    /// Seconds of the measured part.
    #[serde(rename = "s")]
    Seconds,
    /// Growth of the resident set per item (a parked goroutine), in bytes.
    #[serde(rename = "B/item")]
    BytesPerItem,
    /// A process's peak resident set, in bytes (shown in MiB).
    #[serde(rename = "B")]
    Bytes,
    /// Milliseconds (GC pauses).
    #[serde(rename = "ms")]
    Millis,
    /// A count of OS threads (a run's peak).
    #[serde(rename = "threads")]
    Threads,
}

impl Unit {
    /// A value of this unit for the table and the progress lines.
    pub fn show(self, v: f64) -> String {
        match self {
            Unit::Seconds => format!("{v:.4} s"),
            Unit::BytesPerItem => format!("{v:.0} B"),
            Unit::Bytes => format!("{:.1} MiB", v / (1024.0 * 1024.0)),
            Unit::Millis => format!("{v:.3} ms"),
            Unit::Threads => format!("{v:.0} threads"),
        }
    }
}

/// Another number a workload's runs measure besides its value (the peak
/// resident set of a run, its GC pause p99): it has rows of its own.
pub struct Metric {
    /// The rows' name in the report: `binary_trees_peak_rss`.
    pub name: &'static str,
    /// Its key in a run's `Sample` (and a child's line): `peak_rss`.
    pub key: &'static str,
    pub about: &'static str,
    pub unit: Unit,
    /// Contenders that have no such number, and why (`n/a` in its rows):
    /// no collector, no GC pause.
    pub lacking: &'static [(&'static str, &'static str)],
}

impl Metric {
    /// Why `contender` has no value of this metric, if it has none.
    pub fn lacking(&self, contender: &str) -> Option<&'static str> {
        self.lacking
            .iter()
            .find(|(c, _)| *c == contender)
            .map(|&(_, why)| why)
    }
}

/// One implementation of a workload.
pub struct Contender {
    /// Short id used by `--contenders` and in the report: `gort`, `std`,
    /// `parking_lot`, `crossbeam`, ...
    pub name: &'static str,
    /// What exactly runs, for the table: `std::sync::Mutex`.
    pub label: &'static str,
    pub side: Side,
    pub run: RunFn,
    /// Why this peer cannot do the workload at all (e.g. "kanal has no
    /// select"): it is listed in the table as `n/a` and never run.
    pub unsupported: Option<&'static str>,
    /// Each run happens in a fresh child process (`gort-bench --child`)
    /// with these extra environment variables: for memory measurements,
    /// which earlier runs' caches would skew, and for a runtime chosen by
    /// environment (`GORT_SCHEDULER=threads`).
    pub own_process: Option<&'static [(&'static str, &'static str)]>,
    /// The binary that runs it in its child process, a sibling of
    /// gort-bench (`None`: gort-bench itself): `gort-bench-gc` for gort's
    /// garbage collector, whose global allocator the others must not pay
    /// for.
    pub binary: Option<&'static str>,
    /// `run` works only as a child process's main (it needs the main
    /// thread, or `binary`'s allocator): the in-process test skips it.
    pub child_only: bool,
}

impl Contender {
    fn new(name: &'static str, label: &'static str, side: Side, run: RunFn) -> Self {
        Contender {
            name,
            label,
            side,
            run,
            unsupported: None,
            own_process: None,
            binary: None,
            child_only: false,
        }
    }

    /// A gort contender of a timed workload.
    pub fn gort(
        name: &'static str,
        label: &'static str,
        run: impl Fn(&Params) -> RunResult + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, label, Side::Gort, seconds(run))
    }

    /// A peer of a timed workload.
    pub fn peer(
        name: &'static str,
        label: &'static str,
        run: impl Fn(&Params) -> RunResult + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, label, Side::Peer, seconds(run))
    }

    /// A contender whose run returns its value in the workload's unit
    /// (memory workloads, the Go program).
    pub fn measuring(
        name: &'static str,
        label: &'static str,
        side: Side,
        run: impl Fn(&Params) -> ValueResult + Send + Sync + 'static,
    ) -> Self {
        Self::new(
            name,
            label,
            side,
            Arc::new(move |p: &Params| run(p).map(Sample::of)),
        )
    }

    /// A contender whose run returns a whole `Sample`: its value and the
    /// workload's other metrics (`Workload::also`).
    pub fn sampling(
        name: &'static str,
        label: &'static str,
        side: Side,
        run: impl Fn(&Params) -> SampleResult + Send + Sync + 'static,
    ) -> Self {
        Self::new(name, label, side, Arc::new(run))
    }

    /// Runs in a child process of its own, with `env` set there.
    pub fn in_own_process(mut self, env: &'static [(&'static str, &'static str)]) -> Self {
        self.own_process = Some(env);
        self
    }

    /// Runs only as the main of a child process of its own: of `binary`
    /// (a sibling of gort-bench), or of gort-bench itself.
    pub fn only_in_child(mut self, binary: Option<&'static str>) -> Self {
        self.own_process = Some(&[]);
        self.binary = binary;
        self.child_only = true;
        self
    }

    /// A peer that has no way to do this workload (`why` says what is
    /// missing); it shows up in the table as `n/a` so the gap is visible.
    pub fn unsupported(name: &'static str, label: &'static str, why: &'static str) -> Self {
        let mut c = Self::new(
            name,
            label,
            Side::Peer,
            Arc::new(move |_: &Params| Err(format!("not applicable: {why}"))),
        );
        c.unsupported = Some(why);
        c
    }
}

fn seconds(run: impl Fn(&Params) -> RunResult + Send + Sync + 'static) -> RunFn {
    Arc::new(move |p: &Params| run(p).map(|d| Sample::of(d.as_secs_f64())))
}

/// One measured task and every implementation of it.
pub struct Workload {
    /// Unique id used by `--only`: `mutex_contended`.
    pub name: &'static str,
    /// The module it comes from (`mutex`, `spawn`, ...); `--only` accepts
    /// a family to select all its workloads.
    pub family: &'static str,
    /// One line on what is measured.
    pub about: &'static str,
    /// Sizes of the default run.
    pub full: Params,
    /// Sizes under `--quick`.
    pub quick: Params,
    /// Operations one run performs at the given sizes (for ns/op).
    pub ops: fn(&Params) -> u64,
    pub unit: Unit,
    /// Other metrics its runs measure, each reported in rows of its own.
    pub also: &'static [Metric],
    /// Gort contenders first: the first one is the baseline of the ratios.
    pub contenders: Vec<Contender>,
}

impl Workload {
    pub fn params(&self, quick: bool) -> &Params {
        if quick { &self.quick } else { &self.full }
    }

    /// The contender the ratio column compares every peer against.
    pub fn baseline(&self) -> Option<&'static str> {
        self.contenders
            .iter()
            .find(|c| c.side == Side::Gort)
            .map(|c| c.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_from_words() {
        let p = Params::new(&[("goroutines", 10), ("cap", 1)]);
        let q = p.parse_args(&["goroutines=7".to_string()]).unwrap();
        assert_eq!((q.get("goroutines"), q.get("cap")), (7, 1));
        for bad in ["threads=2", "goroutines", "goroutines=-1", "goroutines=x"] {
            assert!(p.parse_args(&[bad.to_string()]).is_err(), "{bad}");
        }
        let words = ["depth=6".to_string(), "cap=2".to_string()];
        let q = p.overridden(&words).unwrap();
        assert_eq!((q.get("goroutines"), q.get("cap")), (10, 2));
        assert!(p.overridden(&["cap=x".to_string()]).is_err());
    }
}
