//! The output of the tour (the README's first command) and of the prime
//! sieve it runs (run by `common::examples`; not on wasm, which has no
//! child processes).
#![cfg(not(target_family = "wasm"))]

mod common;

use common::examples::check_example;

#[test]
fn prime_sieve() {
    const FIRST: [&str; 25] = [
        "2", "3", "5", "7", "11", "13", "17", "19", "23", "29", "31", "37", "41", "43", "47", "53",
        "59", "61", "67", "71", "73", "79", "83", "89", "97",
    ];
    check_example("prime_sieve", &["25"], |out| {
        assert_eq!(out.lines(), FIRST);
    });
    // 300 primes: ~49k hand-offs, seconds under qemu-user's debug build.
    check_example("prime_sieve", &["300"], |out| {
        let lines = out.lines();
        assert_eq!(lines.len(), 300);
        assert_eq!(lines[..25], FIRST);
        assert_eq!(lines[299], "1987");
    });
    check_example("prime_sieve", &[], |out| {
        assert_eq!(out.lines(), FIRST[..10]);
    });
}

/// The tour with `--quick` sizes; under an emulator without its own
/// child process (the rig's runner would have to start it).
#[test]
fn tour() {
    let under_emulator = std::env::var_os("GORT_CHILD_RUNNER").is_some();
    let args: &[&str] = if under_emulator {
        &["--quick", "--no-child"]
    } else {
        &["--quick"]
    };
    check_example("tour", args, |out| {
        let lines = out.lines();
        assert!(lines[0].starts_with("gort tour: "), "{}", lines[0]);
        let headers: Vec<_> = lines
            .iter()
            .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .map(|l| &l[..2])
            .collect();
        assert_eq!(headers, ["1.", "2.", "3.", "4."]);
        assert!(lines.last().unwrap().starts_with("tour done in "));

        // Stop 1: every goroutine reported once, and their counts add up
        // to the number of primes below 200,000.
        let goroutines: usize = section(&lines, "1.")[0]
            .split(": ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|s| s.parse().ok())
            .expect("stop 1 says how many goroutines");
        let mut seen: Vec<usize> = section(&lines, "1.")
            .iter()
            .filter_map(|l| l.split_once(": goroutines "))
            .flat_map(|(_, list)| list.split(' ').map(|g| g.parse::<usize>().unwrap()))
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..goroutines).collect::<Vec<_>>());
        assert!(
            section(&lines, "1.")
                .iter()
                .any(|l| l.starts_with("   17984 primes in ")),
            "primes below 200,000"
        );

        // Stop 2: the slow server always loses to the timeout, the fast
        // one always answers.
        let stop2 = section(&lines, "2.");
        assert_eq!(stop2[1], "   slow server: no answer within 50ms, gave up");
        assert!(stop2[2].starts_with("   fast server: answered 42 in "));

        // Stop 3: the sieve's results on both schedulers, and the hops.
        let stop3 = section(&lines, "3.").join("\n");
        assert!(stop3.contains("(the last is 1987): 48648 channel hand-offs"));
        if gort::Scheduler::MN.is_available() {
            assert!(stop3.contains("(the last is 379): 3377 channel hand-offs"));
            assert!(stop3.contains("per hand-off: "));
        }

        // Stop 4: the child's report and exit status.
        let stop4 = section(&lines, "4.");
        if under_emulator {
            assert_eq!(stop4, ["4. the deadlock detector: skipped (--no-child)"]);
        } else {
            assert_eq!(
                stop4[1..],
                [
                    "   | fatal error: all goroutines are asleep - deadlock!",
                    "   | ",
                    "   | waiting: 2 [chan receive], 1 [sync.WaitGroup.Wait]",
                    "   the child exited with status 2",
                ]
            );
        }
    });
}

/// The lines of the stop whose header starts with `header`, up to the next
/// blank line.
fn section<'a>(lines: &[&'a str], header: &str) -> Vec<&'a str> {
    lines
        .iter()
        .skip_while(|l| !l.starts_with(header))
        .take_while(|l| !l.is_empty())
        .copied()
        .collect()
}
