//! Webhook delivery, run by every worker of every gateway in two JetStream stages, so a slow
//! or dead endpoint never slows sending or another organization's webhooks:
//!
//! 1. [`fanout`]: a durable consumer on the event stream turns each event into one delivery
//!    job per matching webhook, published to the delivery stream (a work queue).
//! 2. [`deliver`]: a durable consumer on the delivery stream POSTs each job ([`attempt`]),
//!    signed ([`signature`]), at most `WAGW_WEBHOOK_CONCURRENCY` at once per webhook
//!    ([`limiter`]), retried with backoff by `nak` ([`retry`]) until the retry window ends,
//!    then kept as a dead letter ([`store`]).
//!
//! Both pumps (`pump`) stop taking messages when the worker begins to shut down; what is
//! under way finishes (or is handed out again by JetStream after its ack wait).

pub mod attempt;
pub mod deliver;
pub mod fanout;
pub mod limiter;
mod pump;
pub mod retry;
pub mod settings;
pub mod signature;
pub mod store;
pub mod stream;

pub use settings::WebhookSettings;

use std::ops::Deref;
use std::sync::Arc;

use crate::Worker;
use limiter::Limiter;
use retry::RetryPolicy;

/// Jobs of one worker being fanned out at once.
const FANOUT_IN_FLIGHT: usize = 64;
/// Deliveries of one worker under way at once (over every webhook).
const DELIVERY_IN_FLIGHT: usize = 256;

/// The webhook runtime of one worker; cheap to clone.
#[derive(Debug, Clone)]
pub struct Webhooks(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub worker: Worker,
    pub client: reqwest::Client,
    pub limiter: Limiter,
    pub policy: RetryPolicy,
}

impl Deref for Webhooks {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Webhooks {
    /// The runtime of `worker`, with its HTTP client.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (TLS set-up).
    pub fn new(worker: Worker) -> anyhow::Result<Self> {
        let settings = &worker.config.webhooks;
        let client = attempt::http_client(settings.timeout())?;
        let limiter = Limiter::new(settings.webhook_concurrency);
        let policy = RetryPolicy {
            min: settings.retry_min(),
            max: settings.retry_max(),
            window: settings.retry_window(),
        };
        Ok(Self(Arc::new(Inner {
            worker,
            client,
            limiter,
            policy,
        })))
    }

    /// Starts the fan-out and delivery pumps on the worker's background tasks.
    pub fn start(&self) {
        let worker = &self.worker;
        worker.tasks.spawn(pump::run(
            self.clone(),
            pump::Stage::Fanout,
            FANOUT_IN_FLIGHT,
        ));
        worker.tasks.spawn(pump::run(
            self.clone(),
            pump::Stage::Deliver,
            DELIVERY_IN_FLIGHT,
        ));
    }
}
