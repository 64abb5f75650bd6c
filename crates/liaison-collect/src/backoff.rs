//! Backing off failing feeds: each consecutive failure doubles the wait, from one
//! minute up to a day, with a deterministic jitter per feed so that feeds failing
//! together (a network outage) do not all retry in the same second.

use chrono::{DateTime, Duration, Utc};

/// The first wait after a failure.
pub const BASE_SECS: i64 = 60;
/// The longest wait.
pub const MAX_SECS: i64 = 86_400;

/// The wait after `failures` consecutive failures (≥ 1), jittered by up to 10 %
/// by a hash of the feed's name.
pub fn delay(failures: u32, feed: &str) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    let secs = (BASE_SECS << exp).min(MAX_SECS);
    let h = feed.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    let jitter = (h % 1000) as i64 * secs / 10_000;
    Duration::seconds(secs + jitter)
}

/// When a feed that failed at `now` should run again: the later of its schedule and its backoff.
pub fn retry_at(
    failures: u32,
    feed: &str,
    now: DateTime<Utc>,
    scheduled: DateTime<Utc>,
) -> DateTime<Utc> {
    scheduled.max(now + delay(failures, feed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps() {
        let d: Vec<i64> = (1..=5).map(|f| delay(f, "x").num_seconds()).collect();
        for w in d.windows(2) {
            assert!(w[1] > w[0], "{d:?}");
        }
        assert!(d[0] >= 60 && d[0] < 66);
        assert!(delay(40, "x").num_seconds() <= MAX_SECS * 11 / 10);
    }
}
