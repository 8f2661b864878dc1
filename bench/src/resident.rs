//! The resident set of this process, from `/proc/self/status` (Linux;
//! elsewhere the reading says so and the run that wanted it fails).

/// Resident bytes now (`VmRSS`).
pub fn now() -> Result<u64, String> {
    status_bytes("VmRSS")
}

/// The most this process has had resident since it started (`VmHWM`, the
/// high-water mark): a workload's peak when it ran in a process of its own.
pub fn peak() -> Result<u64, String> {
    status_bytes("VmHWM")
}

/// A `<field>: <n> kB` line of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("resident memory needs /proc/self/status (Linux): {e}"))?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no {field} line in /proc/self/status"))?;
    Ok(kib * 1024)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn peak_is_at_least_now() {
        let now = super::now().unwrap();
        assert!(now > 0);
        assert!(super::peak().unwrap() >= now);
    }
}
