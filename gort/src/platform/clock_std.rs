//! Monotonic clock for every OS that has std: nanoseconds since first use.

use std::sync::OnceLock;
use std::time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();

pub(crate) fn now_nanos() -> u64 {
    let epoch = *EPOCH.get_or_init(Instant::now);
    // Saturates after 584 years of uptime.
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
