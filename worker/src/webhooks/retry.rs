//! What a failed attempt leads to: a retry after a delay, or a dead letter.
//!
//! The delay grows exponentially with the attempt number (JetStream's delivered count), capped,
//! with full jitter above the base: uniform in `[min, min(max, min * 2^(n-1))]`. A
//! `Retry-After` on 429/503 wins when it is longer, within the cap. The last retry is moved to
//! the end of the retry window rather than past it.

use rand::Rng;
use std::time::Duration;

/// How an attempt ended, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx.
    Delivered,
    /// A 4xx other than 408/429: the endpoint refuses this event; retrying will not help.
    Refused { status: Option<u16>, error: String },
    /// Anything else: 5xx, 408, 429, timeout, connection failure.
    Failed {
        status: Option<u16>,
        error: String,
        /// From `Retry-After` on a 429 or 503.
        retry_after: Option<Duration>,
    },
}

impl Verdict {
    /// The verdict of an HTTP status.
    pub fn of_status(status: u16, retry_after: Option<Duration>) -> Self {
        let error = format!("HTTP {status}");
        match status {
            200..=299 => Self::Delivered,
            408 | 429 => Self::Failed {
                status: Some(status),
                error,
                retry_after: (status == 429).then_some(retry_after).flatten(),
            },
            400..=499 => Self::Refused {
                status: Some(status),
                error,
            },
            _ => Self::Failed {
                status: Some(status),
                error,
                retry_after: (status == 503).then_some(retry_after).flatten(),
            },
        }
    }
}

/// The retry schedule of one deployment.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub min: Duration,
    pub max: Duration,
    pub window: Duration,
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1`, after attempt `attempt` (1-based) failed.
    pub fn delay(&self, attempt: u64, retry_after: Option<Duration>) -> Duration {
        let doublings = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX)
            .min(40);
        let ceiling = self
            .min
            .saturating_mul(2u32.saturating_pow(doublings.min(31)))
            .min(self.max);
        let floor = self.min.min(ceiling);
        let jittered = if ceiling > floor {
            rand::rng().random_range(floor..=ceiling)
        } else {
            ceiling
        };
        match retry_after {
            Some(asked) => jittered.max(asked.min(self.max)),
            None => jittered,
        }
    }

    /// What to do after a failed attempt: `Some(delay)` to retry, `None` for a dead letter.
    /// `elapsed` is the time since the delivery's first attempt started.
    pub fn next(
        &self,
        attempt: u64,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        let left = self
            .window
            .checked_sub(elapsed)
            .filter(|left| !left.is_zero())?;
        Some(self.delay(attempt, retry_after).min(left))
    }
}

/// `Retry-After` in seconds (the HTTP-date form is ignored).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        min: Duration::from_secs(1),
        max: Duration::from_secs(600),
        window: Duration::from_secs(86_400),
    };

    #[test]
    fn delays_grow_within_the_base_and_the_cap() {
        for _ in 0..200 {
            let first = POLICY.delay(1, None);
            assert_eq!(first, Duration::from_secs(1));
            let fourth = POLICY.delay(4, None);
            assert!((Duration::from_secs(1)..=Duration::from_secs(8)).contains(&fourth));
            let late = POLICY.delay(10_000, None);
            assert!((Duration::from_secs(1)..=Duration::from_secs(600)).contains(&late));
        }
    }

    #[test]
    fn retry_after_is_honoured_within_the_cap() {
        assert!(POLICY.delay(1, Some(Duration::from_secs(30))) >= Duration::from_secs(30));
        assert!(POLICY.delay(1, Some(Duration::from_secs(9_999))) <= Duration::from_secs(600));
    }

    #[test]
    fn the_window_ends_retries() {
        let day = Duration::from_secs(86_400);
        assert_eq!(POLICY.next(3, day, None), None);
        let close = POLICY.next(30, day - Duration::from_secs(2), None);
        assert!(close.is_some_and(|d| d <= Duration::from_secs(2)));
    }

    #[test]
    fn statuses_sort_into_verdicts() {
        assert_eq!(Verdict::of_status(204, None), Verdict::Delivered);
        assert!(matches!(
            Verdict::of_status(410, None),
            Verdict::Refused {
                status: Some(410),
                ..
            }
        ));
        let later = Some(Duration::from_secs(5));
        for (status, kept) in [(429, later), (503, later), (500, None), (408, None)] {
            match Verdict::of_status(status, later) {
                Verdict::Failed { retry_after, .. } => assert_eq!(retry_after, kept, "{status}"),
                other => panic!("{status}: {other:?}"),
            }
        }
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
