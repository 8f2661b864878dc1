//! Puts the chosen board's memory map where cortex-m-rt's `link.x` looks
//! for `memory.x`, and links with it.

use std::path::PathBuf;

fn main() {
    let board = match (
        std::env::var_os("CARGO_FEATURE_MPS2_AN521").is_some(),
        std::env::var_os("CARGO_FEATURE_RP2040").is_some(),
    ) {
        (true, false) => "mps2-an521",
        (false, true) => "rp2040",
        _ => panic!("gort-firmware: choose one board feature: mps2-an521 or rp2040"),
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let memory = std::fs::read(format!("memory/{board}.x")).unwrap();
    std::fs::write(out.join("memory.x"), memory).unwrap();
    println!("cargo::rustc-link-search={}", out.display());
    println!("cargo::rerun-if-changed=memory");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-link-arg=--nmagic");
    println!("cargo::rustc-link-arg=-Tlink.x");
}
