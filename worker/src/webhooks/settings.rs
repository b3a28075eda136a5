//! The worker's webhook settings (`WAGW_WEBHOOK*`), flattened into [`crate::Config`].

use clap::Args;
use std::time::Duration;

/// How workers deliver webhooks: the delivery stream, the HTTP timeout, the retry schedule
/// and the per-webhook cap on concurrent attempts.
#[derive(Args, Debug, Clone)]
pub struct WebhookSettings {
    /// The JetStream work-queue stream of delivery jobs (`<root>.deliveries.>`).
    #[arg(long, env = "WAGW_WEBHOOKS_STREAM", value_name = "WAGW_WEBHOOKS_STREAM", default_value = wagw_common::webhooks::DEFAULT_WEBHOOKS_STREAM)]
    pub webhooks_stream: String,

    /// How long one delivery attempt may take, connecting included (ms).
    #[arg(long, env = "WAGW_WEBHOOK_TIMEOUT_MS", value_name = "WAGW_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=300_000))]
    pub webhook_timeout_ms: u64,

    /// The first retry's delay (ms); later ones double, with jitter, up to the maximum.
    #[arg(long, env = "WAGW_WEBHOOK_RETRY_MIN_MS", value_name = "WAGW_WEBHOOK_RETRY_MIN_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    pub webhook_retry_min_ms: u64,

    /// The longest delay between two attempts of one delivery (ms).
    #[arg(long, env = "WAGW_WEBHOOK_RETRY_MAX_MS", value_name = "WAGW_WEBHOOK_RETRY_MAX_MS", default_value_t = 600_000, value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    pub webhook_retry_max_ms: u64,

    /// How long after its first attempt a delivery is retried before it becomes a dead letter (s).
    #[arg(long, env = "WAGW_WEBHOOK_RETRY_WINDOW_SECS", value_name = "WAGW_WEBHOOK_RETRY_WINDOW_SECS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
    pub webhook_retry_window_secs: u64,

    /// Attempts to one webhook at once, per worker process; more wait in the queue.
    #[arg(long, env = "WAGW_WEBHOOK_CONCURRENCY", value_name = "WAGW_WEBHOOK_CONCURRENCY", default_value_t = 4, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1000))]
    pub webhook_concurrency: usize,
}

impl WebhookSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.webhook_timeout_ms)
    }

    pub fn retry_min(&self) -> Duration {
        Duration::from_millis(self.webhook_retry_min_ms)
    }

    /// Never below the minimum, whatever was configured.
    pub fn retry_max(&self) -> Duration {
        Duration::from_millis(self.webhook_retry_max_ms.max(self.webhook_retry_min_ms))
    }

    pub fn retry_window(&self) -> Duration {
        Duration::from_secs(self.webhook_retry_window_secs)
    }
}
