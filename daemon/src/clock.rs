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

/// `secs` since the epoch as ISO 8601 in UTC (`2026-12-06T13:05:09Z`), for protocols that
/// want dates as text (ACP). Days to a civil date by Howard Hinnant's `civil_from_days`.
pub fn iso8601(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

fn since_epoch() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::iso8601;

    #[test]
    fn iso8601_of_known_instants() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_796_562_309), "2026-12-06T13:05:09Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59Z");
    }
}
