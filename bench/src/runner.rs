//! Runs the selected workloads: per workload, warm-up runs, then `runs`
//! rounds in which every contender runs once (alternating, with the
//! starting contender rotated each round so no one always goes first).

use std::time::Instant;

use serde::Serialize;

use crate::report::{ContenderResult, Measurement, WorkloadResult};
use crate::workload::{Contender, Workload};

pub struct Plan<'a> {
    pub workloads: Vec<(&'a Workload, Vec<&'a Contender>)>,
    pub quick: bool,
    pub runs: usize,
    pub warmup: usize,
}

/// Picks workloads by name or family and contenders by name; every name
/// given must match something.
pub fn select<'a>(
    all: &'a [Workload],
    only: &[String],
    contenders: &[String],
) -> Result<Vec<(&'a Workload, Vec<&'a Contender>)>, String> {
    for name in only {
        if !all.iter().any(|w| w.name == name || w.family == name) {
            return Err(format!(
                "--only: no workload or family {name:?} (see --list)"
            ));
        }
    }
    for name in contenders {
        if !all
            .iter()
            .any(|w| w.contenders.iter().any(|c| c.name == name))
        {
            return Err(format!("--contenders: no contender {name:?} (see --list)"));
        }
    }
    let picked = all
        .iter()
        .filter(|w| only.is_empty() || only.iter().any(|n| n == w.name || n == w.family))
        .map(|w| {
            let cs = w
                .contenders
                .iter()
                .filter(|c| contenders.is_empty() || contenders.iter().any(|n| n == c.name))
                .collect::<Vec<_>>();
            (w, cs)
        })
        .filter(|(_, cs)| !cs.is_empty())
        .collect::<Vec<_>>();
    if picked.is_empty() {
        return Err("nothing selected: no workload has any of those contenders".into());
    }
    Ok(picked)
}

#[derive(Serialize)]
pub struct Outcome {
    pub workloads: Vec<WorkloadResult>,
    /// Every measured run in the order it ran.
    pub measurements: Vec<Measurement>,
}

pub fn run(plan: &Plan<'_>) -> Outcome {
    let total: usize = plan
        .workloads
        .iter()
        .map(|(_, cs)| cs.len() * plan.runs)
        .sum();
    let mut seq = 0;
    let mut measurements = Vec::new();
    let mut results = Vec::new();

    for (w, cs) in &plan.workloads {
        let params = w.params(plan.quick);
        eprintln!("== {} ({params}): {}", w.name, w.about);
        for round in 0..plan.warmup {
            for c in cs {
                let started = Instant::now();
                let r = (c.run)(params);
                eprintln!(
                    "   warmup {}/{} {:<12} {}",
                    round + 1,
                    plan.warmup,
                    c.name,
                    show(&r, started)
                );
            }
        }
        let mut per: Vec<ContenderResult> = cs
            .iter()
            .map(|c| ContenderResult::new(c.name, c.label, c.side))
            .collect();
        for round in 0..plan.runs {
            for k in 0..cs.len() {
                let i = (k + round) % cs.len();
                let c = cs[i];
                let started = Instant::now();
                let r = (c.run)(params);
                seq += 1;
                eprintln!(
                    "[{seq:>3}/{total}] {} run {}/{} {:<12} {}",
                    w.name,
                    round + 1,
                    plan.runs,
                    c.name,
                    show(&r, started)
                );
                let m = Measurement {
                    seq,
                    workload: w.name,
                    contender: c.name,
                    run: round + 1,
                    seconds: r.as_ref().ok().map(|d| d.as_secs_f64()),
                    error: r.as_ref().err().cloned(),
                };
                per[i].record(&m);
                measurements.push(m);
            }
        }
        results.push(WorkloadResult::new(w, params, (w.ops)(params), per));
    }
    Outcome {
        workloads: results,
        measurements,
    }
}

fn show(r: &crate::workload::RunResult, started: Instant) -> String {
    match r {
        Ok(d) => format!("{:.4} s", d.as_secs_f64()),
        Err(e) => format!("FAILED after {:.3} s: {e}", started.elapsed().as_secs_f64()),
    }
}
