//! The workload registry: one module per family, each contributing its
//! workloads. A new family (GC, ...) is a new module plus
//! one line in `registry`.

mod chan;
mod futex;
mod mutex;
mod rwmutex;
mod spawn;
mod waitgroup;

use crate::workload::Workload;

/// Every workload, in the order they run and print.
pub fn registry() -> Vec<Workload> {
    let families: [fn() -> Vec<Workload>; 6] = [
        mutex::workloads,
        rwmutex::workloads,
        waitgroup::workloads,
        futex::workloads,
        spawn::workloads,
        chan::workloads,
    ];
    let all: Vec<Workload> = families.iter().flat_map(|f| f()).collect();
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
