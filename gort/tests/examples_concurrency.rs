//! The output of the concurrency examples in `gort/examples/` (run by
//! `common::examples`; not on wasm, which has no child processes).
#![cfg(not(target_family = "wasm"))]

mod common;

use common::examples::check_example;

#[test]
fn goroutines() {
    check_example("goroutines", &[], |out| {
        let lines = out.lines();
        // The direct call finishes before any goroutine starts.
        assert_eq!(lines[..3], ["direct : 0", "direct : 1", "direct : 2"]);
        // Each goroutine's own lines keep their order; they race each other.
        let from_goroutine: Vec<_> = lines[3..]
            .iter()
            .filter(|l| l.starts_with("goroutine"))
            .collect();
        assert_eq!(
            from_goroutine,
            [&"goroutine : 0", &"goroutine : 1", &"goroutine : 2"]
        );
        assert_eq!(lines[3..].iter().filter(|l| **l == "going").count(), 1);
        assert_eq!(lines.last(), Some(&"done"));
        assert_eq!(lines.len(), 8);
    });
}

/// `worker N starts job J` / `worker N finished job J` as (start?, N, J).
fn worker_line(line: &str) -> (bool, u32, u64) {
    let words: Vec<&str> = line.split(' ').collect();
    match words[..] {
        ["worker", w, verb @ ("starts" | "finished"), "job", j] => {
            (verb == "starts", w.parse().unwrap(), j.parse().unwrap())
        }
        _ => panic!("unexpected line {line:?}"),
    }
}

#[test]
fn worker_pools() {
    check_example("worker_pools", &[], |out| {
        let lines = out.lines();
        assert_eq!(lines.len(), 13);
        // Every result arrives after every worker line.
        assert_eq!(lines[12], "squares: 1 4 9 16 25 36");
        let events: Vec<_> = lines[..12].iter().map(|l| worker_line(l)).collect();
        // Which worker takes which job races; but each worker does one job
        // at a time (start J, finish J, start K, ...), and every job is
        // started and finished exactly once.
        let mut jobs = Vec::new();
        for w in 1..=3 {
            let mine: Vec<_> = events.iter().filter(|e| e.1 == w).collect();
            for pair in mine.chunks(2) {
                assert!(
                    matches!(pair, [(true, _, a), (false, _, b)] if a == b),
                    "worker {w}: {mine:?}"
                );
                jobs.push(pair[0].2);
            }
        }
        assert!(events.iter().all(|e| (1..=3).contains(&e.1)), "{events:?}");
        jobs.sort_unstable();
        assert_eq!(jobs, [1, 2, 3, 4, 5, 6]);
    });
}

#[test]
fn waitgroups() {
    check_example("waitgroups", &[], |out| {
        let lines = out.lines();
        // wait returns only after every task ended.
        assert_eq!(lines.last(), Some(&"all tasks ended"));
        let tasks = &lines[..lines.len() - 1];
        let mut sorted = tasks.to_vec();
        sorted.sort_unstable();
        let mut expected = Vec::new();
        for id in 1..=6 {
            expected.push(format!("task {id} begins"));
            expected.push(format!("task {id} ends"));
        }
        expected.sort_unstable();
        assert_eq!(sorted, expected);
        // Each task begins before it ends; the tasks race each other.
        for id in 1..=6 {
            let at = |l: String| tasks.iter().position(|t| *t == l).unwrap();
            assert!(at(format!("task {id} begins")) < at(format!("task {id} ends")));
        }
    });
}

#[test]
fn atomic_counters() {
    check_example("atomic_counters", &[], |out| {
        assert_eq!(out.lines(), ["hits: 20000"]);
    });
}

#[test]
fn mutexes() {
    check_example("mutexes", &[], |out| {
        assert_eq!(out.lines(), [r#"{"blue": 5000, "red": 16000}"#]);
    });
}

#[test]
fn stateful_goroutines() {
    check_example("stateful_goroutines", &[], |out| {
        assert_eq!(
            out.lines(),
            [
                "read ops: 300",
                "write ops: 60",
                "key 0 = 15",
                "key 1 = 15",
                "key 2 = 15",
                "key 3 = 15",
            ]
        );
    });
}
