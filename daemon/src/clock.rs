//! Wall-clock time in the two units the wire and the store use. A leaf: every layer may read the
//! clock, so it lives below all of them.

/// Seconds since the Unix epoch, the unit of every stored and wire timestamp.
pub fn unix_now() -> i64 {
    since_epoch().as_secs() as i64
}

/// Milliseconds since the Unix epoch (`startedAtMs`, `completedAtMs`).
pub fn now_ms() -> i64 {
    since_epoch().as_millis() as i64
}

fn since_epoch() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}
