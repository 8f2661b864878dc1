//! Shared by the integration tests: run one test body under every
//! scheduler, and a watchdog that turns a hang (a lost wakeup, a deadlock)
//! into a failure instead of a stuck CI job.
#![allow(dead_code)]

use std::sync::mpsc;
use std::time::Duration;

use gort::{Builder, Runtime, Scheduler};

pub mod counting;
#[cfg(not(target_family = "wasm"))]
pub mod examples;

/// Every scheduler a test body must pass under: both, where the target
/// has M:N (`GORT_TEST_SCHEDULERS=threads` or `=mn` narrows it, to chase a
/// failure).
pub fn schedulers() -> Vec<Scheduler> {
    let all = [Scheduler::Threads, Scheduler::MN];
    let only = std::env::var("GORT_TEST_SCHEDULERS").unwrap_or_default();
    all.into_iter()
        .filter(|s| s.is_available())
        .filter(|s| only.is_empty() || only.eq_ignore_ascii_case(&format!("{s:?}")))
        .collect()
}

/// Runs `body` as the root goroutine of a fresh runtime of each scheduler,
/// under a watchdog of `limit`.
pub fn each_scheduler<F>(name: &str, limit: Duration, body: F)
where
    F: Fn() + Send + Sync + Clone + 'static,
{
    for sched in schedulers() {
        let _dog = Watchdog::new(&format!("{name} [{sched:?}]"), limit);
        runtime(sched).run(body.clone());
    }
}

pub fn runtime(sched: Scheduler) -> Runtime {
    Builder::new().scheduler(sched).build()
}

/// Exits the process with a message if not dropped within `limit`.
pub struct Watchdog {
    cancel: Option<mpsc::Sender<()>>,
}

impl Watchdog {
    pub fn new(name: &str, limit: Duration) -> Self {
        let (tx, rx) = mpsc::channel::<()>();
        let name = name.to_string();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                // Straight to the handle: the harness captures eprintln!.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "watchdog: test `{name}` still running after {limit:?}: \
                     lost wakeup or deadlock"
                );
                std::process::exit(3);
            }
        });
        Watchdog { cancel: Some(tx) }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(tx) = self.cancel.take() {
            let _ = tx.send(());
        }
    }
}

/// Runs the current test binary again with only `test` selected, `envs`
/// and `GORT_TEST_CHILD=1`, returning (exit code, stdout, stderr).
/// Child-mode tests do their work only when that variable is set.
///
/// Under an emulator (a cross rig) the binary cannot exec itself: the rig
/// sets `GORT_CHILD_RUNNER` (e.g. "qemu-aarch64 -L /usr/...") and the child
/// is started through it.
/// (Builds everywhere, so the tests that call it do; wasm cannot start
/// the child: skip there first.)
pub fn run_child(test: &str, envs: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = child_command(&std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("GORT_TEST_CHILD", "1")
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs this binary again with `var=case` and `GORT_SCHEDULER=sched` (for
/// tests with their own `main`, which pick the case from `var`) and
/// returns (exit code, None if killed after `limit`; stdout; stderr).
/// (Builds everywhere; wasm cannot start the child.)
pub fn run_case(
    var: &str,
    case: &str,
    sched: &str,
    limit: Duration,
) -> (Option<i32>, String, String) {
    use std::io::Read;
    use std::process::Stdio;
    use std::time::Instant;

    let mut c = child_command(&std::env::current_exe().unwrap())
        .env(var, case)
        .env("GORT_SCHEDULER", sched)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read both pipes while waiting: a child filling one would block.
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = pipe.read_to_string(&mut s);
            s
        })
    };
    let out = read(Box::new(c.stdout.take().unwrap()));
    let err = read(Box::new(c.stderr.take().unwrap()));
    let start = Instant::now();
    let code = loop {
        if let Some(status) = c.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > limit {
            let _ = c.kill();
            let _ = c.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (code, out.join().unwrap(), err.join().unwrap())
}

/// A command that starts the program `exe`: directly, or through the
/// rig's `GORT_CHILD_RUNNER` under an emulator.
pub fn child_command(exe: &std::path::Path) -> std::process::Command {
    let runner = std::env::var("GORT_CHILD_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut c = std::process::Command::new(program);
            c.args(words).arg(exe);
            c
        }
        None => std::process::Command::new(exe),
    }
}

pub fn is_child() -> bool {
    std::env::var_os("GORT_TEST_CHILD").is_some()
}

/// Scales iteration counts: `GORT_STRESS=n` multiplies them by n.
pub fn stress(n: usize) -> usize {
    let k = std::env::var("GORT_STRESS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    n * k
}
