//! Runs the programs in `gort/examples/` as child processes, under each
//! scheduler, for the `examples_*` tests that check their output. The
//! binaries are the ones `cargo test` builds beside the tests (a run
//! narrowed with `--test` does not build them: `cargo build --examples`
//! first). Under an emulator the rig's `GORT_CHILD_RUNNER` starts them.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// What one run printed.
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
}

impl Output {
    /// Stdout's lines.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// Stdout's lines, sorted: for output whose order the goroutines race on.
    pub fn sorted_lines(&self) -> Vec<&str> {
        let mut lines = self.lines();
        lines.sort_unstable();
        lines
    }
}

/// Where cargo put the example `name` for this test's target and profile:
/// this binary is `<target dir>/deps/examples-<hash>`, the examples are in
/// `<target dir>/examples/`.
pub fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let path = dir
        .join("examples")
        .join(name)
        .with_extension(std::env::consts::EXE_EXTENSION);
    assert!(
        path.exists(),
        "example binary {} not found: `cargo test` (without target filters) or \
         `cargo build --examples` builds it",
        path.display()
    );
    path
}

/// Runs example `name` with `args` under scheduler `sched` ("threads" or
/// "mn"); kills it and fails after `limit`.
pub fn run_with(name: &str, args: &[&str], sched: &str, limit: Duration) -> Output {
    let mut child = super::child_command(&example_path(name))
        .args(args)
        .env("GORT_SCHEDULER", sched)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting example {name}: {e}"));
    // Read both pipes on threads so a chatty child never blocks on them.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let read_out = std::thread::spawn(move || std::io::read_to_string(&mut out).unwrap());
    let read_err = std::thread::spawn(move || std::io::read_to_string(&mut err).unwrap());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "example {name} [{sched}] still running after {limit:?}; stderr:\n{}",
                read_err.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        stdout: read_out.join().unwrap(),
        stderr: read_err.join().unwrap(),
        code: status.code(),
    }
}

/// Runs example `name` under every scheduler of this target; each run must
/// exit with status 0 within a minute, and `check` must accept its output.
pub fn check_example(name: &str, args: &[&str], check: impl Fn(&Output)) {
    for sched in super::schedulers() {
        let sched = match sched {
            gort::Scheduler::Threads => "threads",
            gort::Scheduler::MN => "mn",
        };
        let out = run_with(name, args, sched, Duration::from_secs(60));
        assert_eq!(
            out.code,
            Some(0),
            "example {name} [{sched}] failed; stdout:\n{}\nstderr:\n{}",
            out.stdout,
            out.stderr
        );
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&out)));
        if let Err(e) = result {
            eprintln!("example {name} [{sched}] printed:\n{}", out.stdout);
            std::panic::resume_unwind(e);
        }
    }
}
