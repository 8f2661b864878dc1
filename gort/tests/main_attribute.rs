//! `#[gort::main]` as users write it: this binary's own `main` is the
//! main goroutine and returns a `Result`. Run plainly, it checks that it
//! runs as a goroutine, then runs itself as a child per case
//! (`GORT_MAIN_CASE`) under both schedulers: `?` on an `Err` exits with
//! status 1 as Rust's `main` does; a panic exits 2 Go's way.

mod common;

use gort::Scheduler;

#[gort::main]
fn main() -> Result<(), String> {
    match std::env::var("GORT_MAIN_CASE").as_deref() {
        Ok("ok") => {
            let n: u32 = "21".parse().map_err(|e| format!("{e}"))?;
            println!("ok {}", gort::spawn(move || n * 2).join().unwrap());
            return Ok(());
        }
        Ok("err") => {
            let n: u32 = "twenty-one".parse().map_err(|_| "bad input".to_string())?;
            println!("unreachable {n}");
            return Ok(());
        }
        Ok("panic") => panic!("attribute boom"),
        Ok(other) => return Err(format!("unknown case {other}")),
        Err(_) => {}
    }
    // The body is a goroutine: on one of gort's threads, counted as the
    // one goroutine there is.
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("");
    let ours = name == "goroutine" || name.starts_with("gort-worker");
    if !ours || gort::num_goroutine() != 1 {
        return Err(format!(
            "main is not a goroutine: thread {name:?}, {} goroutines",
            gort::num_goroutine()
        ));
    }
    if cfg!(target_family = "wasm") {
        println!("main_attribute: children skipped (no child processes on wasm)");
        return Ok(());
    }
    let cases: [(&str, i32, &str, &str); 3] = [
        ("ok", 0, "ok 42", ""),
        ("err", 1, "", "Error: \"bad input\""),
        (
            "panic",
            2,
            "",
            "panic: attribute boom\n\ngoroutine 1 [running]:",
        ),
    ];
    let mut scheds = vec!["threads"];
    if Scheduler::MN.is_available() {
        scheds.push("mn");
    }
    let mut passed = 0;
    for sched in scheds {
        for (case, code, stdout, stderr) in cases {
            let out = gort::blocking(|| child(case, sched));
            if out.0 != Some(code) || !out.1.contains(stdout) || !out.2.contains(stderr) {
                return Err(format!(
                    "{case} [{sched}]: exit {:?} (want {code}), stdout:\n{}\nstderr:\n{}",
                    out.0, out.1, out.2
                ));
            }
            passed += 1;
        }
    }
    println!("main_attribute: {passed} cases passed");
    Ok(())
}

/// Runs `case` in a child under `sched`: (exit code, None if killed
/// after 20 s; stdout; stderr).
#[cfg(not(target_family = "wasm"))]
fn child(case: &str, sched: &str) -> (Option<i32>, String, String) {
    common::run_case(
        "GORT_MAIN_CASE",
        case,
        sched,
        std::time::Duration::from_secs(20),
    )
}

/// wasm has no child processes: `main` skips the cases there.
#[cfg(target_family = "wasm")]
fn child(_: &str, _: &str) -> (Option<i32>, String, String) {
    unreachable!("no child processes on wasm")
}
