//! Sets `cfg(have_libgc)` where the Boehm GC library (`libgc`, Debian's
//! `libgc-dev`) is there to link: its contender runs then, and is listed
//! as `n/a` otherwise, so gort-bench builds either way. Found by
//! `pkg-config bdw-gc`, else by looking for `libgc.so` in the usual
//! library folders.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(have_libgc)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");
    let multiarch = format!(
        "/usr/lib/{}-linux-gnu",
        std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default()
    );
    let dirs = [
        multiarch.as_str(),
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/lib",
    ];
    // Installing the library adds its pkg-config file: look again then.
    for dir in dirs {
        let pc = Path::new(dir).join("pkgconfig");
        if pc.is_dir() {
            println!("cargo::rerun-if-changed={}", pc.display());
        }
    }
    let by_pkg_config = Command::new("pkg-config")
        .args(["--libs-only-L", "bdw-gc"])
        .output()
        .ok()
        .filter(|o| o.status.success());
    if let Some(out) = &by_pkg_config {
        for dir in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Some(dir) = dir.strip_prefix("-L") {
                println!("cargo::rustc-link-search=native={dir}");
            }
        }
    }
    let on_disk = || dirs.iter().any(|d| Path::new(d).join("libgc.so").exists());
    if by_pkg_config.is_some() || on_disk() {
        println!("cargo::rustc-cfg=have_libgc");
    } else {
        println!(
            "cargo::warning=libgc not found: the boehm contender is n/a (apt-get install libgc-dev)"
        );
    }
}
