//! The workload registry: one module per family, each contributing its
//! workloads. A new family (GC, ...) is a new module plus
//! one line in `registry`. The Go contender joins every workload the Go
//! program has (`crate::go`).

mod chan;
mod futex;
mod mutex;
mod rwmutex;
mod sieve;
mod spawn;
mod timers;
mod waitgroup;

use crate::workload::Workload;

/// Every workload, in the order they run and print.
pub fn registry() -> Vec<Workload> {
    let families: [fn() -> Vec<Workload>; 8] = [
        mutex::workloads,
        rwmutex::workloads,
        waitgroup::workloads,
        futex::workloads,
        spawn::workloads,
        chan::workloads,
        sieve::workloads,
        timers::workloads,
    ];
    let mut all: Vec<Workload> = families.iter().flat_map(|f| f()).collect();
    crate::go::add_contenders(&mut all);
    debug_assert!(
        {
            let mut names: Vec<_> = all.iter().map(|w| w.name).collect();
            names.sort_unstable();
            names.windows(2).all(|w| w[0] != w[1])
        },
        "workload names must be unique"
    );
    all
}

/// `p` with every size at most 400 (messages, round trips, spawns...;
/// a capacity N follows its message count): each workload's check still
/// runs, in moments.
#[cfg(test)]
pub fn tiny(p: &crate::workload::Params) -> crate::workload::Params {
    p.capped(400)
}

#[cfg(test)]
mod tests {
    /// Every workload passes its own check at a tiny size, for every
    /// contender that runs (catches a wrong checksum or a deadlocking
    /// shape before a long benchmark does). The Go contender counts when a
    /// Go toolchain is there (CI installs one).
    #[test]
    fn every_contender_checks_out_small() {
        let go_missing = crate::go::version().is_none();
        for w in super::registry() {
            let p = super::tiny(&w.quick);
            for c in w.contenders.iter().filter(|c| c.unsupported.is_none()) {
                if c.name == "go" && go_missing {
                    continue;
                }
                let r = (c.run)(&p);
                assert!(r.is_ok(), "{} {}: {:?}", w.name, c.name, r);
            }
        }
    }
}
