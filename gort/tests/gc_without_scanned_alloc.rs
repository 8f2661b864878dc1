//! A program that uses `Gc` without installing `ScannedAlloc` gets a panic
//! that says what to add, not a collector blind to its `Box`es and `Vec`s.
#![cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

#[test]
fn gc_new_without_the_scanned_allocator_panics_with_the_fix() {
    let err = std::panic::catch_unwind(|| gort::gc::Gc::new(1u64)).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(
        msg.contains("Gc::new needs gort's scanned allocator")
            && msg.contains("#[global_allocator]")
            && msg.contains("static ALLOC: gort::gc::ScannedAlloc = gort::gc::ScannedAlloc;"),
        "{msg}"
    );
}
