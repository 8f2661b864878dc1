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
