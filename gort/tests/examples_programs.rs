//! The output of the programs examples in `gort/examples/` (run by
//! `common::examples`; not on wasm, which has no child processes).
#![cfg(not(target_family = "wasm"))]

mod common;

use common::examples::check_example;
