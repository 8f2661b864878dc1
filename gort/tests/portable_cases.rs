//! The portable conformance cases (`portable/mod.rs`) under the threads
//! and M:N schedulers; the bare-metal firmware runs the same bodies under
//! the cores scheduler.

extern crate alloc;

mod common;
mod portable;

use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                common::each_scheduler(stringify!($name), LIMIT, || {
                    if let Err(why) = portable::$name() {
                        panic!("{}: {why}", stringify!($name));
                    }
                });
            }
        )*

        /// Every case in `portable::CASES` has a test above.
        #[test]
        fn every_case_is_run() {
            let here = [$(stringify!($name)),*];
            for (name, _) in portable::CASES {
                assert!(here.contains(name), "portable case {name} has no test");
            }
            assert_eq!(here.len(), portable::CASES.len());
        }
    };
}

cases!(
    mutex_counts,
    waitgroup,
    unbuffered_pingpong,
    buffered_exactly_once,
    opposite_order_selects,
    sleep_lasts,
    after_and_timeout,
);
