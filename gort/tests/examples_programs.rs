//! The output of the programs examples in `gort/examples/` (run by
//! `common::examples`; not on wasm, which has no child processes).
#![cfg(not(target_family = "wasm"))]

mod common;

use common::examples::check_example;

#[test]
fn pipeline() {
    check_example("pipeline", &[], |out| {
        assert_eq!(
            out.lines(),
            [
                "goroutines at start: 1",
                "goroutines while running: 9 (main, generator, 3 workers, 3 copiers, closer)",
                // 1² + 2² + ... + 20² = 20·21·41/6
                "full run: 20 squares, sum 2870",
                "goroutines after the full run: 1",
                "early stop: took 3 squares",
                // Nothing leaked: every stage ended on `done`.
                "goroutines after the early stop: 1",
            ]
        );
    });
}

#[test]
fn crawler() {
    check_example("crawler", &[], |out| {
        let lines = out.lines();
        assert_eq!(
            lines[..lines.len() - 1],
            [
                r#"depth 0: https://gort.example/ "Home""#,
                r#"depth 1: https://gort.example/about "About us""#,
                r#"depth 1: https://gort.example/blog "Blog""#,
                "depth 1: https://gort.example/careers: error: not found",
                r#"depth 1: https://gort.example/docs "Docs""#,
                r#"depth 2: https://gort.example/blog/2024 "Posts of 2024""#,
                r#"depth 2: https://gort.example/blog/2025 "Posts of 2025""#,
                r#"depth 2: https://gort.example/docs/chan "Channels""#,
                r#"depth 2: https://gort.example/docs/select "Select""#,
                r#"depth 2: https://gort.example/docs/sync "Sync""#,
                r#"depth 2: https://gort.example/team "The team""#,
                r#"depth 3: https://gort.example/blog/draft "Draft""#,
                r#"depth 3: https://gort.example/docs/chan/examples "Examples""#,
                "depth 3: https://gort.example/docs/sync/old: error: not found",
                "links not followed past depth 3: 1",
                // 14 fetches of 14 distinct urls: each fetched exactly once.
                "fetches: 14, distinct urls: 14",
            ]
        );
        // How many fetches overlapped depends on timing; never over 3.
        let last = lines.last().unwrap();
        let max: usize = last
            .strip_prefix("max fetches in flight: ")
            .and_then(|rest| rest.strip_suffix(" (limit 3)"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unexpected last line {last:?}"));
        assert!((1..=3).contains(&max), "{last}");
    });
}
