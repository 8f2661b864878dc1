//! The vocabulary of the suite: a `Workload` is one measured task with its
//! sizes, run by each of its `Contender`s (one per implementation).
//!
//! A contender's `run` does the whole task once at the given sizes and
//! returns the time of the measured part (setup such as allocating the lock
//! is outside it where that is easy to separate). Contenders of one
//! workload must do the same work; the runner alternates them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

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

/// What a contender's run returns: the measured time, or why it could not
/// run (e.g. a missing external toolchain, once Go contenders exist).
pub type RunResult = Result<Duration, String>;

/// Shared so the runner can hand it to the thread that runs one
/// measurement (and abandon that thread if the run never ends).
pub type RunFn = Arc<dyn Fn(&Params) -> RunResult + Send + Sync>;

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
}

impl Contender {
    pub fn gort(
        name: &'static str,
        label: &'static str,
        run: impl Fn(&Params) -> RunResult + Send + Sync + 'static,
    ) -> Self {
        Contender {
            name,
            label,
            side: Side::Gort,
            run: Arc::new(run),
            unsupported: None,
        }
    }

    pub fn peer(
        name: &'static str,
        label: &'static str,
        run: impl Fn(&Params) -> RunResult + Send + Sync + 'static,
    ) -> Self {
        Contender {
            name,
            label,
            side: Side::Peer,
            run: Arc::new(run),
            unsupported: None,
        }
    }

    /// A peer that has no way to do this workload (`why` says what is
    /// missing); it shows up in the table as `n/a` so the gap is visible.
    pub fn unsupported(name: &'static str, label: &'static str, why: &'static str) -> Self {
        Contender {
            name,
            label,
            side: Side::Peer,
            run: Arc::new(move |_: &Params| Err(format!("not applicable: {why}"))),
            unsupported: Some(why),
        }
    }
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
