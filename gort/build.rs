//! Sets `cfg(gort_gc)` where the garbage collector exists (below),
//! `cfg(gort_mn)` where the M:N scheduler exists: with std, on targets
//! whose stacks corosensei can switch (not wasm, not bare metal), and not
//! under loom (the models run the channel and sync code on loom threads),
//! and `cfg(gort_cores)` where the bare-metal cores scheduler runs: no std,
//! `target_os = "none"`, and a board feature naming the board;
//! `cfg(gort_net)` where `gort::net` exists (where M:N does), with
//! `gort_net_unix` / `gort_net_windows` for the OS-specific parts;
//! `cfg(gort_wasm_atomics)` for the feature `nightly-wasm-atomics` on a
//! wasm target (the crate root turns on the nightly library feature it
//! needs: OS cfgs stay in here and in `src/platform/`).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(gort_mn)");
    println!("cargo::rustc-check-cfg=cfg(gort_gc)");
    println!("cargo::rustc-check-cfg=cfg(gort_cores)");
    println!("cargo::rustc-check-cfg=cfg(gort_wasm_atomics)");
    println!("cargo::rustc-check-cfg=cfg(gort_net)");
    println!("cargo::rustc-check-cfg=cfg(gort_net_unix)");
    println!("cargo::rustc-check-cfg=cfg(gort_net_windows)");
    println!("cargo::rerun-if-changed=build.rs");
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let std = std::env::var_os("CARGO_FEATURE_STD").is_some();
    let loom = std::env::var_os("CARGO_CFG_LOOM").is_some();
    let wasm = env("CARGO_CFG_TARGET_FAMILY")
        .split(',')
        .any(|f| f == "wasm");
    let bare = env("CARGO_CFG_TARGET_OS") == "none";
    if wasm && std::env::var_os("CARGO_FEATURE_NIGHTLY_WASM_ATOMICS").is_some() {
        println!("cargo::rustc-cfg=gort_wasm_atomics");
    }
    if std && !loom && !wasm && !bare {
        println!("cargo::rustc-cfg=gort_mn");
        // Sockets over the netpoller (mio) exist where M:N does; Unix
        // adds its domain sockets and raw fds, Windows its raw sockets.
        println!("cargo::rustc-cfg=gort_net");
        let family = env("CARGO_CFG_TARGET_FAMILY");
        if family.split(',').any(|f| f == "unix") {
            println!("cargo::rustc-cfg=gort_net_unix");
        }
        if family.split(',').any(|f| f == "windows") {
            println!("cargo::rustc-cfg=gort_net_windows");
        }
    }
    let boards = ["BOARD_MPS2_AN521", "BOARD_RP2040"]
        .iter()
        .filter(|b| std::env::var_os(format!("CARGO_FEATURE_{b}")).is_some())
        .count();
    if boards > 1 {
        panic!("gort: choose at most one board feature");
    }
    if bare && !std && !loom && boards == 1 {
        println!("cargo::rustc-cfg=gort_cores");
    }
    // The garbage collector: where a signal can stop a thread and its
    // registers can be spilled (Linux, FreeBSD, macOS on x86-64 and
    // aarch64).
    let os = env("CARGO_CFG_TARGET_OS");
    let arch = env("CARGO_CFG_TARGET_ARCH");
    if std
        && !loom
        && matches!(os.as_str(), "linux" | "freebsd" | "macos")
        && matches!(arch.as_str(), "x86_64" | "aarch64")
    {
        println!("cargo::rustc-cfg=gort_gc");
    }
}
