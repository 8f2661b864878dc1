//! Runs in a child process: a contender whose runs must not share a
//! process with the others (memory measurements, which earlier runs'
//! allocator and stack caches would skew; a runtime chosen by environment;
//! a garbage collector) runs once per child, `gort-bench --child <workload>
//! <contender> key=value...`. The child prints one line, `value <words>`
//! or `error <why>` (`gort_bench::sample`); the parent kills it at the
//! time limit.
//!
//! A contender may name another binary of this package to be its child
//! (`Contender::binary`): `gort-bench-gc`, whose global allocator is gort's
//! scanned one. It takes the same arguments and prints the same line. The
//! parent builds it once per session (`cargo build`, a no-op when it is up
//! to date), so it is never older than gort-bench's sources. The other
//! sibling is `gort-bench-mimalloc`: the suite on mimalloc, for the
//! `gort_mimalloc` contender.
//!
//! The child measures its run's CPU time itself (`gort_bench::cpu`) and
//! prints it on its line (`cpu=`): the parent's threads never bill it.

use std::io::Read as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::runner::Ran;
use crate::workload::{Contender, Params, Sample, SampleResult, Workload};

/// The first argument that makes this process a child.
pub const FLAG: &str = "--child";

/// With this variable set (`WARM` as a contender's environment), the child
/// runs its contender once untimed before the measured run, so a fresh
/// process compares with one that has run the workload before.
const WARM_VAR: &str = "GORT_BENCH_CHILD_WARMUP";

/// The environment of a child that warms up first.
pub const WARM: &[(&str, &str)] = &[(WARM_VAR, "1")];

/// Parent side: one run of `c` in a fresh child with `env` set.
pub fn measure(
    w: &Workload,
    c: &Contender,
    params: &Params,
    env: &[(&str, &str)],
    limit: Duration,
) -> Ran {
    let exe = match c.binary {
        None => std::env::current_exe().map_err(|e| format!("cannot find gort-bench itself: {e}")),
        Some(name) => sibling(name),
    };
    let exe = match exe {
        Ok(p) => p,
        Err(e) => return Ran::Finished(Err(e)),
    };
    let spawned = Command::new(exe)
        .arg(FLAG)
        .arg(w.name)
        .arg(c.name)
        .args(params.args())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(ch) => ch,
        Err(e) => return Ran::Finished(Err(format!("cannot start a child process: {e}"))),
    };
    // Read both pipes on threads, so a chatty child never blocks on them.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Ran::TimedOut(limit);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Ran::Finished(Err(format!("waiting for the child: {e}"))),
        }
    };
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    let keys: Vec<&'static str> = w.also.iter().map(|m| m.key).collect();
    Ran::Finished(parse(&out, &err, status, &keys))
}

/// The sibling binary `name`, built once per session for the profile and
/// features gort-bench was built with (`cargo build --bin <name>`; cargo
/// says where it put it). Without cargo (a copied gort-bench), the file
/// beside gort-bench, as it is.
fn sibling(name: &'static str) -> Result<PathBuf, String> {
    type Built = Vec<(&'static str, Result<PathBuf, String>)>;
    static BUILT: Mutex<Built> = Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, r)) = built.iter().find(|(n, _)| *n == name) {
        return r.clone();
    }
    let r = build(name);
    built.push((name, r.clone()));
    r
}

fn build(name: &str) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--package", env!("CARGO_PKG_NAME"), "--bin", name])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    eprintln!("   (building {name}: cargo build --bin {name})");
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => {
            let beside = std::env::current_exe()
                .map_err(|e| e.to_string())?
                .with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
            return if beside.exists() {
                Ok(beside)
            } else {
                Err(format!(
                    "no {name} beside gort-bench, and no cargo to build it: {e}"
                ))
            };
        }
    };
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = err.trim();
        let tail = err.get(err.len().saturating_sub(600)..).unwrap_or(err);
        return Err(format!("cargo build --bin {name} failed: {tail}"));
    }
    // One JSON message per line; the artifact of our binary names its file.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == name)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("cargo build --bin {name} named no executable"))
}

/// The child's last line; `keys` are the workload's other metrics.
fn parse(
    out: &str,
    err: &str,
    status: std::process::ExitStatus,
    keys: &[&'static str],
) -> SampleResult {
    let last = out.lines().last().unwrap_or("");
    if let Some(v) = last.strip_prefix("value ") {
        return Sample::parse(v, keys).map_err(|e| format!("the child printed {last:?}: {e}"));
    }
    if let Some(why) = last.strip_prefix("error ") {
        return Err(why.to_string());
    }
    let err = err.trim();
    let tail = err.get(err.len().saturating_sub(300)..).unwrap_or(err);
    Err(format!(
        "the child ended ({status}) without a result: {tail}"
    ))
}

/// Child side: `args` after `--child`. Runs the contender once and prints
/// its line.
pub fn main(args: &[String]) -> ExitCode {
    gort_bench::sample::print_result(&run(args))
}

fn run(args: &[String]) -> SampleResult {
    let [workload, contender, sizes @ ..] = args else {
        return Err("usage: gort-bench --child <workload> <contender> key=value...".into());
    };
    let all = crate::workloads::registry_without_go();
    let w = all
        .iter()
        .find(|w| w.name == workload)
        .ok_or_else(|| format!("no workload {workload:?}"))?;
    let c = w
        .contenders
        .iter()
        .find(|c| c.name == contender)
        .ok_or_else(|| format!("{workload} has no contender {contender:?}"))?;
    // A contender that names its binary (its allocator) runs only there.
    if let Some(binary) = c.binary {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        if exe.file_stem().and_then(|s| s.to_str()) != Some(binary) {
            return Err(format!(
                "{contender} runs in {binary} only, not in {}",
                exe.display()
            ));
        }
    }
    let params = w.full.parse_args(sizes)?;
    let once = || {
        catch_unwind(AssertUnwindSafe(|| (c.run)(&params)))
            .unwrap_or_else(|p| Err(format!("panicked: {}", crate::runner::panic_message(&*p))))
    };
    if std::env::var_os(WARM_VAR).is_some() {
        once().map_err(|e| format!("warm-up: {e}"))?;
    }
    let (r, cpu) = gort_bench::cpu::measured(once);
    r.map(|s| Sample { cpu, ..s })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt as _;

    #[test]
    fn reads_the_childs_line() {
        let ok = std::process::ExitStatus::from_raw(0);
        let failed = std::process::ExitStatus::from_raw(1 << 8);
        assert_eq!(
            parse("noise\nvalue 4346.5\n", "", ok, &[]),
            Ok(Sample::of(4346.5))
        );
        let with_rss = Sample {
            value: 1.5,
            also: vec![("peak_rss", 8192.0)],
            cpu: Some(0.75),
        };
        assert_eq!(
            parse("value 1.5 peak_rss=8192 cpu=0.75\n", "", ok, &["peak_rss"]),
            Ok(with_rss)
        );
        assert_eq!(
            parse(
                "error goroutines woken by close: got 3, want 4\n",
                "",
                failed,
                &[]
            ),
            Err("goroutines woken by close: got 3, want 4".into())
        );
        let e = parse("", "thread 'main' panicked at x", failed, &[]).unwrap_err();
        assert!(
            e.contains("without a result") && e.contains("panicked at x"),
            "{e}"
        );
        assert!(parse("value lots\n", "", ok, &[]).is_err());
        assert!(parse("value 1 heap=2\n", "", ok, &["peak_rss"]).is_err());
    }
}
