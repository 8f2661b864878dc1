//! Binary trees on gort's garbage collector: per-depth work in goroutines.
//! `cargo run --release -p gort --example gc_trees -- 18`

#[cfg(all(
    any(target_os = "linux", target_os = "freebsd", target_os = "macos"),
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod trees {
    use gort::gc::{self, Gc};

    #[global_allocator]
    static ALLOC: gc::ScannedAlloc = gc::ScannedAlloc;

    struct Node {
        left: Option<Gc<Node>>,
        right: Option<Gc<Node>>,
    }

    fn make(depth: u32) -> Gc<Node> {
        if depth == 0 {
            Gc::new(Node {
                left: None,
                right: None,
            })
        } else {
            Gc::new(Node {
                left: Some(make(depth - 1)),
                right: Some(make(depth - 1)),
            })
        }
    }

    fn check(n: &Node) -> u64 {
        1 + n.left.map_or(0, |l| check(&l)) + n.right.map_or(0, |r| check(&r))
    }

    pub fn main() {
        let max: u32 = std::env::args()
            .nth(1)
            .and_then(|a| a.parse().ok())
            .unwrap_or(16);
        let start = std::time::Instant::now();
        gort::Builder::new().build().run(move || {
            println!(
                "stretch tree of depth {}\t check: {}",
                max + 1,
                check(&make(max + 1))
            );
            let long = make(max);
            let handles: Vec<_> = (4..=max)
                .step_by(2)
                .map(|d| {
                    gort::spawn(move || {
                        let iters = 1u64 << (max - d + 4);
                        let sum: u64 = (0..iters).map(|_| check(&make(d))).sum();
                        format!("{iters}\t trees of depth {d}\t check: {sum}")
                    })
                })
                .collect();
            for h in handles {
                println!("{}", h.join().unwrap());
            }
            println!("long lived tree of depth {max}\t check: {}", check(&long));
        });
        let s = gc::stats();
        eprintln!(
            "time {:.3}s, {} collections, pause p50 {:?} p99 {:?} max {:?}, heap {} MB",
            start.elapsed().as_secs_f64(),
            s.collections,
            s.pause_p50,
            s.pause_p99,
            s.pause_max,
            s.heap_bytes >> 20
        );
    }
}

fn main() {
    #[cfg(all(
        any(target_os = "linux", target_os = "freebsd", target_os = "macos"),
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    trees::main();
    #[cfg(not(all(
        any(target_os = "linux", target_os = "freebsd", target_os = "macos"),
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    eprintln!("gort::gc is not available on this platform yet");
}
