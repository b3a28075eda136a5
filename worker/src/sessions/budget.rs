//! The reconnect budget: more than [`MAX_FAILURES`] connection failures within [`WINDOW`] and a
//! session gives up (`failed`) instead of retrying forever. A successful connection resets it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Failures tolerated within [`WINDOW`]; one more and the session fails.
pub const MAX_FAILURES: usize = 10;
/// The sliding window over which failures are counted.
pub const WINDOW: Duration = Duration::from_secs(600);

/// Recent connection failures of one session.
#[derive(Debug, Clone)]
pub struct ReconnectBudget {
    max_failures: usize,
    window: Duration,
    failures: VecDeque<Instant>,
}

impl Default for ReconnectBudget {
    fn default() -> Self {
        Self::new(MAX_FAILURES, WINDOW)
    }
}

impl ReconnectBudget {
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            failures: VecDeque::new(),
        }
    }

    /// Counts a failure at `now`; true when the budget is exhausted (more than the maximum
    /// within the window).
    pub fn record_failure(&mut self, now: Instant) -> bool {
        while let Some(oldest) = self.failures.front() {
            if now.saturating_duration_since(*oldest) >= self.window {
                self.failures.pop_front();
            } else {
                break;
            }
        }
        self.failures.push_back(now);
        self.failures.len() > self.max_failures
    }

    /// Forgets every failure, after a successful connection.
    pub fn reset(&mut self) {
        self.failures.clear();
    }

    pub fn failures(&self) -> usize {
        self.failures.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_failure_within_ten_minutes_exhausts_the_budget() {
        let mut budget = ReconnectBudget::default();
        let start = Instant::now();
        for i in 0..10 {
            assert!(
                !budget.record_failure(start + Duration::from_secs(i)),
                "failure {i}"
            );
        }
        assert!(budget.record_failure(start + Duration::from_secs(10)));
    }

    #[test]
    fn failures_older_than_the_window_are_forgotten() {
        let mut budget = ReconnectBudget::default();
        let start = Instant::now();
        for i in 0..10 {
            assert!(!budget.record_failure(start + Duration::from_secs(i)));
        }
        // Ten minutes after the first failure, it no longer counts.
        assert!(!budget.record_failure(start + WINDOW + Duration::from_secs(1)));
        assert_eq!(budget.failures(), 9);
    }

    #[test]
    fn a_reset_restores_the_whole_budget() {
        let mut budget = ReconnectBudget::new(2, WINDOW);
        let now = Instant::now();
        assert!(!budget.record_failure(now));
        assert!(!budget.record_failure(now));
        budget.reset();
        assert!(!budget.record_failure(now));
        assert!(!budget.record_failure(now));
        assert!(budget.record_failure(now));
    }
}
