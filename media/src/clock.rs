//! One clock for capture stamps, shared by every process on a machine.

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch.
///
/// Capture stamps use the wall clock (not `Instant`) so that a sender and a receiver running
/// as separate processes on one machine can subtract each other's stamps to get latency.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros() as u64)
}

/// Sleeps until `deadline`; returns at once when it has passed.
pub fn sleep_until(deadline: std::time::Instant) {
    let now = std::time::Instant::now();
    if deadline > now {
        std::thread::sleep(deadline - now);
    }
}
