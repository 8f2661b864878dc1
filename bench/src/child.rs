//! Runs in a child process: a contender whose runs must not share a
//! process with the others (memory measurements, which earlier runs'
//! allocator and stack caches would skew; a runtime chosen by environment)
//! runs once per child, `gort-bench --child <workload> <contender>
//! key=value...`. The child prints one line, `value <number>` or
//! `error <why>`; the parent kills it at the time limit.

use std::io::Read as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::runner::Ran;
use crate::workload::{Contender, Params, Workload};

/// The first argument that makes this process a child.
pub const FLAG: &str = "--child";

/// Parent side: one run of `c` in a fresh child with `env` set.
pub fn measure(
    w: &Workload,
    c: &Contender,
    params: &Params,
    env: &[(&str, &str)],
    limit: Duration,
) -> Ran {
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return Ran::Finished(Err(format!("cannot find gort-bench itself: {e}"))),
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
    Ran::Finished(parse(&out, &err, status))
}

fn parse(out: &str, err: &str, status: std::process::ExitStatus) -> Result<f64, String> {
    let last = out.lines().last().unwrap_or("");
    if let Some(v) = last.strip_prefix("value ") {
        return v
            .trim()
            .parse()
            .map_err(|_| format!("the child printed {last:?}"));
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
    let result = run(args);
    match &result {
        Ok(v) => println!("value {v}"),
        Err(e) => println!("error {}", e.replace('\n', " ")),
    }
    ExitCode::from(u8::from(result.is_err()))
}

fn run(args: &[String]) -> Result<f64, String> {
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
    let params = w.full.parse_args(sizes)?;
    catch_unwind(AssertUnwindSafe(|| (c.run)(&params)))
        .unwrap_or_else(|p| Err(format!("panicked: {}", crate::runner::panic_message(&*p))))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt as _;

    #[test]
    fn reads_the_childs_line() {
        let ok = std::process::ExitStatus::from_raw(0);
        let failed = std::process::ExitStatus::from_raw(1 << 8);
        assert_eq!(parse("noise\nvalue 4346.5\n", "", ok), Ok(4346.5));
        assert_eq!(
            parse(
                "error goroutines woken by close: got 3, want 4\n",
                "",
                failed
            ),
            Err("goroutines woken by close: got 3, want 4".into())
        );
        let e = parse("", "thread 'main' panicked at x", failed).unwrap_err();
        assert!(
            e.contains("without a result") && e.contains("panicked at x"),
            "{e}"
        );
        assert!(parse("value lots\n", "", ok).is_err());
    }
}
