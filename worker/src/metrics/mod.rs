//! Prometheus metrics of one worker, served on `WAGW_METRICS_ADDR` ([`endpoint`]). Events are
//! counted where they happen through handles registered once here; what the worker already
//! keeps (session statuses, held shards, the ownership [`Counters`](crate::fleet::counters))
//! is copied in at each scrape instead of being counted twice. Each worker has its own
//! recorder (no global install), so tests can run several in one process; every series
//! carries the `gateway` and `worker` labels. `docs/metrics.md` lists them all.

pub mod endpoint;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram};
use metrics_exporter_prometheus::PrometheusHandle;
use wagw_common::SessionStatus;
use wagw_common::{GatewayId, WorkerId};

use crate::fleet::counters::CountersSnapshot;
use crate::webhooks::retry::Verdict;

/// `WAGW_METRICS_ADDR`: where the Prometheus endpoint listens, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAddr {
    Off,
    Listen(SocketAddr),
}

impl MetricsAddr {
    /// `off`, or an IP address and port (`127.0.0.1:9464`, `0.0.0.0:9464`, `[::1]:0`).
    ///
    /// # Errors
    /// Anything else, with what was expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.eq_ignore_ascii_case("off") {
            return Ok(Self::Off);
        }
        text.parse().map(Self::Listen).map_err(|_| {
            "expected an IP address and port (e.g. 127.0.0.1:9464) or `off`".to_owned()
        })
    }
}

/// The handle rendering this worker's recorder, and the handles events are counted through.
/// Every series is registered up front, so the recorder itself is not kept.
pub struct Metrics {
    handle: PrometheusHandle,
    /// The endpoint's bound address once it listens (port 0 resolved), for the member info.
    addr: OnceLock<SocketAddr>,
    pub qr_codes_issued: Counter,
    pub qr_pairings_expired: Counter,
    pub pairing_codes_issued: Counter,
    pub pairing_codes_expired: Counter,
    pub messages_received: Counter,
    pub sends_sent: Counter,
    pub sends_failed: Counter,
    pub webhook_delivered: Counter,
    pub webhook_retried: Counter,
    pub webhook_dead_lettered: Counter,
    /// Attempt latency by verdict: `[delivered, failed, refused]`.
    webhook_attempts: [Histogram; 3],
    /// Copied in at each scrape (see [`Metrics::render`]).
    sessions: [(SessionStatus, Gauge); 5],
    shards_held: Gauge,
    ownership: Ownership,
}

/// The ownership counters of [`crate::fleet::counters`], as series.
struct Ownership {
    lease_acquisitions: Counter,
    lease_losses: Counter,
    lease_releases: Counter,
    takeovers: Counter,
    stale_writes_refused: Counter,
    reconnects: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("addr", &self.addr.get())
            .finish_non_exhaustive()
    }
}

/// Registers a counter, its `# HELP` line with it.
macro_rules! described_counter {
    ($name:literal, $help:literal $(, $key:literal => $value:expr)*) => {{
        metrics::describe_counter!($name, $help);
        metrics::counter!($name $(, $key => $value)*)
    }};
}

impl Metrics {
    /// A recorder labelling every series with `gateway` and `worker`; all series start at zero.
    pub fn new(gateway: &GatewayId, worker: &WorkerId) -> Self {
        let labels = [("gateway", gateway.as_str()), ("worker", worker.as_str())];
        let recorder = wagw_common::metrics::recorder(&labels);
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || Self {
            qr_codes_issued: described_counter!(
                "wagw_worker_qr_codes_issued_total",
                "QR codes shown to pair a session"
            ),
            qr_pairings_expired: described_counter!(
                "wagw_worker_qr_pairings_expired_total",
                "QR pairings that ended unscanned (every QR expired)"
            ),
            pairing_codes_issued: described_counter!(
                "wagw_worker_pairing_codes_issued_total",
                "Pairing codes issued"
            ),
            pairing_codes_expired: described_counter!(
                "wagw_worker_pairing_codes_expired_total",
                "Pairings by code that ended unused"
            ),
            messages_received: described_counter!(
                "wagw_worker_messages_received_total",
                "Incoming WhatsApp messages"
            ),
            sends_sent: described_counter!("wagw_worker_sends_total", "Sends finished, by outcome (sent, failed)", "outcome" => "sent"),
            sends_failed: described_counter!("wagw_worker_sends_total", "Sends finished, by outcome (sent, failed)", "outcome" => "failed"),
            webhook_delivered: described_counter!("wagw_worker_webhook_deliveries_total", "Webhook deliveries by outcome: delivered, retried (an attempt failed, another is scheduled), dead_lettered", "outcome" => "delivered"),
            webhook_retried: described_counter!("wagw_worker_webhook_deliveries_total", "Webhook deliveries by outcome", "outcome" => "retried"),
            webhook_dead_lettered: described_counter!("wagw_worker_webhook_deliveries_total", "Webhook deliveries by outcome", "outcome" => "dead_lettered"),
            webhook_attempts: webhook_attempt_histograms(),
            sessions: SessionStatus::ALL.map(|status| {
                metrics::describe_gauge!(
                    "wagw_worker_sessions",
                    "Sessions of the held shards, by status"
                );
                (
                    status,
                    metrics::gauge!("wagw_worker_sessions", "status" => status.as_str()),
                )
            }),
            shards_held: {
                metrics::describe_gauge!(
                    "wagw_worker_shards_held",
                    "Shards whose lease this worker holds"
                );
                metrics::gauge!("wagw_worker_shards_held")
            },
            ownership: Ownership {
                lease_acquisitions: described_counter!(
                    "wagw_worker_lease_acquisitions_total",
                    "Shard leases acquired"
                ),
                lease_losses: described_counter!(
                    "wagw_worker_lease_losses_total",
                    "Shard leases lost (not renewed in time, or taken)"
                ),
                lease_releases: described_counter!(
                    "wagw_worker_lease_releases_total",
                    "Shard leases given up gracefully (handoff, shutdown)"
                ),
                takeovers: described_counter!(
                    "wagw_worker_takeovers_total",
                    "Lease acquisitions of a shard that was held before (epoch above 1)"
                ),
                stale_writes_refused: described_counter!(
                    "wagw_worker_stale_writes_refused_total",
                    "Writes refused by the lease fence (a stale owner)"
                ),
                reconnects: described_counter!(
                    "wagw_worker_reconnects_total",
                    "Reconnect attempts of dropped sessions"
                ),
            },
            handle,
            addr: OnceLock::new(),
        })
    }

    /// Times one webhook attempt under its verdict.
    pub fn webhook_attempt(&self, verdict: &Verdict, took: Duration) {
        let index = match verdict {
            Verdict::Delivered => 0,
            Verdict::Failed { .. } => 1,
            Verdict::Refused { .. } => 2,
        };
        self.webhook_attempts[index].record(took.as_secs_f64());
    }

    /// The endpoint's bound address, once it listens.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr.get().copied()
    }

    fn set_addr(&self, addr: SocketAddr) {
        // Set once, by the one endpoint a worker starts.
        let _ = self.addr.set(addr);
    }

    /// The Prometheus text, after copying in the state the worker keeps anyway.
    pub fn render(&self, state: &Observed) -> String {
        for (status, gauge) in &self.sessions {
            gauge.set(state.sessions.get(status).copied().unwrap_or(0) as f64);
        }
        self.shards_held.set(state.shards_held as f64);
        let (o, c) = (&self.ownership, &state.counters);
        o.lease_acquisitions.absolute(c.lease_acquired);
        o.lease_losses.absolute(c.lease_lost);
        o.lease_releases.absolute(c.lease_released);
        o.takeovers.absolute(c.takeovers);
        o.stale_writes_refused.absolute(c.stale_writes_refused);
        o.reconnects.absolute(c.reconnects);
        self.handle.run_upkeep();
        self.handle.render()
    }

    /// Folds queued histogram samples into their buckets (the recorder queues them until then).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

/// What a scrape copies in: read from the worker's own state, no Redis call.
#[derive(Debug)]
pub struct Observed {
    pub sessions: std::collections::HashMap<SessionStatus, usize>,
    pub shards_held: usize,
    pub counters: CountersSnapshot,
}

fn webhook_attempt_histograms() -> [Histogram; 3] {
    const NAME: &str = "wagw_worker_webhook_attempt_duration_seconds";
    metrics::describe_histogram!(
        NAME,
        metrics::Unit::Seconds,
        "Webhook delivery attempt latency, by verdict (delivered, failed, refused)"
    );
    ["delivered", "failed", "refused"]
        .map(|verdict| metrics::histogram!(NAME, "verdict" => verdict))
}

#[cfg(test)]
mod tests;
