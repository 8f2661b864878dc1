//! The garbage collector, gctest-style: every test checks contents after
//! collections, so an object freed too early (poisoned in debug builds,
//! reused in release) fails it.
#![cfg(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))]

mod common;

use std::time::Duration;

use common::each_scheduler;
use gort::gc::{self, Gc};

#[global_allocator]
static ALLOC: gc::ScannedAlloc = gc::ScannedAlloc;

struct Node {
    value: u64,
    next: Option<Gc<Node>>,
}

fn list(n: u64) -> Option<Gc<Node>> {
    let mut head = None;
    for value in 0..n {
        head = Some(Gc::new(Node { value, next: head }));
    }
    head
}

fn check_list(head: Option<Gc<Node>>, n: u64) {
    let mut at = head;
    let mut expect = n;
    while let Some(node) = at {
        expect -= 1;
        assert_eq!(node.value, expect, "list node corrupted");
        at = node.next;
    }
    assert_eq!(expect, 0, "list too short");
}

#[test]
fn a_list_on_the_stack_survives_collections() {
    each_scheduler("list", Duration::from_secs(60), || {
        let head = list(10_000);
        for _ in 0..3 {
            gc::collect();
            check_list(head, 10_000);
        }
    });
}

#[test]
fn garbage_is_reclaimed_and_the_heap_stays_bounded() {
    each_scheduler("bounded", Duration::from_secs(120), || {
        let keep = list(1000);
        let mut peak = 0;
        for round in 0..200u64 {
            // 100k short-lived nodes (3.2 MB) per round.
            let garbage = list(100_000);
            check_list(garbage, 100_000);
            if round % 20 == 0 {
                check_list(keep, 1000);
            }
            peak = peak.max(gc::stats().heap_bytes);
        }
        gc::collect();
        let s = gc::stats();
        eprintln!("{s:?} peak {peak}");
        check_list(keep, 1000);
        assert!(s.collections >= 10, "{s:?}");
        assert!(
            peak < 64 << 20,
            "heap grew to {peak} bytes under a steady load"
        );
        assert!(s.live_bytes < 4 << 20, "{s:?}");
    });
}
