//! Runs the selected workloads: per workload, warm-up runs, then `runs`
//! rounds in which every contender runs once (alternating, with the
//! starting contender rotated each round so no one always goes first).
//!
//! Every run (warm-up included) happens on a thread of its own, and the
//! runner waits for it at most `Plan::timeout`. A run that does not finish
//! by then (a deadlock, or just far too slow) is reported as timed out and
//! its thread is abandoned, still blocked; that contender's remaining runs
//! of the workload are skipped, and the suite goes on with the others. The
//! process then ends with `std::process::exit` (see `main`), which does not
//! wait for abandoned threads.
//!
//! A workload whose runs measure other metrics too (`Workload::also`) gets
//! a result per metric from the same runs, each reported as rows of its
//! own after the workload's.
//!
//! Every run also has its CPU time (`gort_bench::cpu`: measured around
//! the run here, or by the child process or Go program that ran it), and
//! the process is quiet before each run starts, so an earlier run's
//! threads bill no later one. A timed run faster than `FLOOR_NS_PER_OP`
//! per operation is an error ("impossible time"), never a ratio.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::report::{ContenderResult, Measurement, WorkloadResult};
use crate::workload::{Contender, Params, Sample, SampleResult, Unit, Workload};

pub struct Plan<'a> {
    pub workloads: Vec<(&'a Workload, Vec<&'a Contender>)>,
    pub quick: bool,
    pub runs: usize,
    pub warmup: usize,
    /// Longest wait for any one run.
    pub timeout: Duration,
    /// `key=value` sizes (`--size`) that replace those of every selected
    /// workload that has that size (checked by `check_sizes`).
    pub sizes: Vec<String>,
}

/// Picks workloads by name or family (or the name of one of their other
/// metrics' rows) and contenders by name; every name given must match
/// something.
pub fn select<'a>(
    all: &'a [Workload],
    only: &[String],
    contenders: &[String],
) -> Result<Vec<(&'a Workload, Vec<&'a Contender>)>, String> {
    let named =
        |w: &Workload, n: &str| n == w.name || n == w.family || w.also.iter().any(|m| m.name == n);
    for name in only {
        if !all.iter().any(|w| named(w, name)) {
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
        .filter(|w| only.is_empty() || only.iter().any(|n| named(w, n)))
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

/// Every `--size` word is `key=count` and names a size of some selected
/// workload.
pub fn check_sizes(
    picked: &[(&Workload, Vec<&Contender>)],
    words: &[String],
) -> Result<(), String> {
    for word in words {
        let ok = word.split_once('=').is_some_and(|(k, v)| {
            v.parse::<u64>().is_ok() && picked.iter().any(|(w, _)| w.full.has(k))
        });
        if !ok {
            return Err(format!(
                "--size {word:?}: want key=count, the key a size of a selected workload (see --list)"
            ));
        }
    }
    Ok(())
}

#[derive(Serialize)]
pub struct Outcome {
    pub workloads: Vec<WorkloadResult>,
    /// Every measured run in the order it ran.
    pub measurements: Vec<Measurement>,
    /// Whether some run timed out (its thread may still be blocked).
    pub any_timed_out: bool,
}

/// How one run ended.
pub enum Ran {
    Finished(SampleResult),
    TimedOut(Duration),
}

/// Runs `c` once at `params` (in a child process if it asks for one) and
/// waits for it at most `limit`.
fn measure(w: &Workload, c: &Contender, params: &Params, limit: Duration) -> Ran {
    let ran = match c.own_process {
        Some(env) => {
            // The child bills its own CPU time; this keeps an earlier
            // run's threads here off its CPUs.
            gort_bench::cpu::settle();
            crate::child::measure(w, c, params, env, limit)
        }
        None => measure_here(c, params, limit),
    };
    match ran {
        Ran::Finished(r) => Ran::Finished(r.and_then(|s| plausible(w, params, s))),
        timed_out => timed_out,
    }
}

/// No operation of the suite takes less than this (see `plausible`).
pub const FLOOR_NS_PER_OP: f64 = 1.0;

/// A timed run's sample if its time is possible: positive, finite, and at
/// least `FLOOR_NS_PER_OP` per operation of the workload. Every operation
/// of the suite makes at least one atomic read-modify-write or system
/// call (a lock, a channel hand-off, a spawn), which takes more than a
/// nanosecond; a run below that did not do its work, or was timed wrong.
pub fn plausible(w: &Workload, params: &Params, s: Sample) -> SampleResult {
    if w.unit != Unit::Seconds {
        return Ok(s);
    }
    let ops = (w.ops)(params).max(1);
    let ns_per_op = s.value * 1e9 / ops as f64;
    if s.value.is_finite() && ns_per_op >= FLOOR_NS_PER_OP {
        Ok(s)
    } else {
        Err(format!(
            "impossible time: {} s for {ops} operations ({ns_per_op:.3} ns each, under the {FLOOR_NS_PER_OP} ns floor)",
            s.value
        ))
    }
}

/// Runs `c` once at `params` on a fresh thread and waits for it at most
/// `limit`. A panic in the run becomes an error; a run past the limit is
/// abandoned (its thread is leaked). The run's CPU time is this
/// process's from before it until it has gone quiet after it
/// (`gort_bench::cpu`), plus what the run reports of the other processes
/// it ran (the Go program, which measures itself the same way).
fn measure_here(c: &Contender, params: &Params, limit: Duration) -> Ran {
    let run = Arc::clone(&c.run);
    let params = params.clone();
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name(format!("bench-{}", c.name))
        .spawn(move || {
            let (r, cpu) = gort_bench::cpu::measured(|| {
                catch_unwind(AssertUnwindSafe(|| run(&params)))
                    .unwrap_or_else(|p| Err(format!("panicked: {}", panic_message(&*p))))
            });
            // A run that used other processes (the Go program, Go's HTTP
            // server) reports their CPU time: it adds to ours.
            let r = r.map(|s| Sample {
                cpu: match (s.cpu, cpu) {
                    (Some(theirs), Some(ours)) => Some(theirs + ours),
                    (theirs, ours) => theirs.or(ours),
                },
                ..s
            });
            let _ = tx.send(r);
        });
    let handle = match spawned {
        Ok(h) => h,
        Err(e) => return Ran::Finished(Err(format!("could not start a thread for the run: {e}"))),
    };
    match rx.recv_timeout(limit) {
        Ok(r) => {
            // It has sent its result, so it is about to end.
            let _ = handle.join();
            Ran::Finished(r)
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Ran::TimedOut(limit),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Ran::Finished(Err("the run's thread ended without a result".into()))
        }
    }
}

pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".into()
    }
}

fn timed_out_msg(limit: Duration) -> String {
    format!("timed out after {} s", limit.as_secs_f64())
}

pub fn run(plan: &Plan<'_>) -> Outcome {
    let total: usize = plan
        .workloads
        .iter()
        .map(|(_, cs)| cs.iter().filter(|c| c.unsupported.is_none()).count() * plan.runs)
        .sum();
    let mut seq = 0;
    let mut measurements = Vec::new();
    let mut results = Vec::new();
    let mut any_timed_out = false;

    for (w, cs) in &plan.workloads {
        let params = &w
            .params(plan.quick)
            .overridden(&plan.sizes)
            .expect("--size words are checked by check_sizes");
        eprintln!("== {} ({params}): {}", w.name, w.about);
        let mut per: Vec<ContenderResult> = cs
            .iter()
            .map(|c| ContenderResult::new(c.name, c.label, c.side, c.unsupported))
            .collect();
        // The workload's other metrics: a result per metric and contender.
        let mut also: Vec<Vec<ContenderResult>> = w
            .also
            .iter()
            .map(|m| {
                cs.iter()
                    .map(|c| {
                        let lacking = c.unsupported.or(m.lacking(c.name));
                        ContenderResult::new(c.name, c.label, c.side, lacking)
                    })
                    .collect()
            })
            .collect();
        // Indices of the contenders that run; the rest are `n/a`.
        let runnable: Vec<usize> = (0..cs.len())
            .filter(|&i| match cs[i].unsupported {
                None => true,
                Some(why) => {
                    eprintln!("   {:<12} n/a: {why}", cs[i].name);
                    false
                }
            })
            .collect();
        // Contenders that timed out in this workload run no more.
        let mut stuck = vec![false; cs.len()];
        for round in 0..plan.warmup {
            for &i in &runnable {
                let c = cs[i];
                if stuck[i] {
                    continue;
                }
                let started = Instant::now();
                let shown = match measure(w, c, params, plan.timeout) {
                    Ran::Finished(r) => show(w, &r, started),
                    Ran::TimedOut(limit) => {
                        stuck[i] = true;
                        any_timed_out = true;
                        per[i].note_timeout(format!("warm-up {}", timed_out_msg(limit)));
                        for rows in &mut also {
                            rows[i].timed_out = true;
                        }
                        format!("TIMED OUT after {} s; no more runs", limit.as_secs_f64())
                    }
                };
                eprintln!(
                    "   warmup {}/{} {:<12} {shown}",
                    round + 1,
                    plan.warmup,
                    c.name,
                );
            }
        }
        for round in 0..plan.runs {
            for k in 0..runnable.len() {
                let i = runnable[(k + round) % runnable.len()];
                let c = cs[i];
                seq += 1;
                if stuck[i] {
                    eprintln!(
                        "[{seq:>3}/{total}] {} run {}/{} {:<12} skipped (timed out before)",
                        w.name,
                        round + 1,
                        plan.runs,
                        c.name,
                    );
                    continue;
                }
                let started = Instant::now();
                let (r, shown) = match measure(w, c, params, plan.timeout) {
                    Ran::Finished(r) => {
                        let shown = show(w, &r, started);
                        (r, shown)
                    }
                    Ran::TimedOut(limit) => {
                        stuck[i] = true;
                        any_timed_out = true;
                        per[i].timed_out = true;
                        for rows in &mut also {
                            rows[i].timed_out = true;
                        }
                        (
                            Err(timed_out_msg(limit)),
                            format!("TIMED OUT after {} s; no more runs", limit.as_secs_f64()),
                        )
                    }
                };
                eprintln!(
                    "[{seq:>3}/{total}] {} run {}/{} {:<12} {shown}",
                    w.name,
                    round + 1,
                    plan.runs,
                    c.name,
                );
                let m = Measurement {
                    seq,
                    workload: w.name,
                    contender: c.name,
                    run: round + 1,
                    value: r.as_ref().ok().map(|s| s.value),
                    cpu: r.as_ref().ok().and_then(|s| s.cpu),
                    also: r
                        .as_ref()
                        .map_or_else(|_| BTreeMap::new(), |s| s.also.iter().copied().collect()),
                    error: r.as_ref().err().cloned(),
                };
                per[i].record(&m);
                for (metric, rows) in w.also.iter().zip(&mut also) {
                    rows[i].record_metric(metric.key, &m);
                }
                measurements.push(m);
            }
        }
        results.push(WorkloadResult::new(w, params, (w.ops)(params), per));
        for (metric, rows) in w.also.iter().zip(also) {
            results.push(WorkloadResult::metric(w, metric, params, rows));
        }
    }
    Outcome {
        workloads: results,
        measurements,
        any_timed_out,
    }
}

/// A run's progress line: its value, then its other metrics.
fn show(w: &Workload, r: &SampleResult, started: Instant) -> String {
    match r {
        Ok(s) => {
            let mut out = w.unit.show(s.value);
            for m in w.also {
                if let Some(v) = s.get(m.key) {
                    let _ = write!(out, ", {} {}", m.key, m.unit.show(v));
                }
            }
            if let Some(cpu) = s.cpu {
                let _ = write!(out, ", cpu {cpu:.4} s");
            }
            out
        }
        Err(e) => format!("FAILED after {:.3} s: {e}", started.elapsed().as_secs_f64()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Side;

    fn workload(unit: Unit) -> Workload {
        Workload {
            name: "w",
            family: "f",
            about: "test",
            full: Params::new(&[("messages", 100_000)]),
            quick: Params::new(&[("messages", 100_000)]),
            ops: |p| p.get("messages"),
            unit,
            also: &[],
            contenders: vec![Contender::measuring("gort", "g", Side::Gort, |_| Ok(1.0))],
        }
    }

    /// 100,000 messages in 0.0000 s did not happen: an error, not a ratio.
    #[test]
    fn an_impossible_time_is_an_error() {
        let w = workload(Unit::Seconds);
        let p = &w.full;
        for fast in [0.0, 1e-5, 9.9e-5, f64::NAN, -1.0] {
            let e = plausible(&w, p, Sample::of(fast)).unwrap_err();
            assert!(e.starts_with("impossible time"), "{fast}: {e}");
        }
        for real in [1e-4, 0.0032, 2.0] {
            assert_eq!(plausible(&w, p, Sample::of(real)), Ok(Sample::of(real)));
        }
        // Not a time: no floor.
        let bytes = workload(Unit::BytesPerItem);
        assert!(plausible(&bytes, p, Sample::of(0.0)).is_ok());
    }
}
