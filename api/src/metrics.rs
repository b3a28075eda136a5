//! Prometheus metrics of one edge: HTTP requests by route template and status, their latency,
//! and NATS command outcomes. Each edge keeps its own recorder (no global install), so many
//! edges can run in one test process.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use crate::state::AppState;

const HTTP_REQUESTS: &str = "wagw_http_requests_total";
const HTTP_DURATION: &str = "wagw_http_request_duration_seconds";
const COMMANDS: &str = "wagw_nats_commands_total";
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// How a NATS command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandOutcome {
    Ok,
    Refused,
    NoResponders,
    Timeout,
    Error,
}

impl CommandOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Refused => "refused",
            Self::NoResponders => "no_responders",
            Self::Timeout => "timeout",
            Self::Error => "error",
        }
    }
}

/// This edge's recorder and the handle that renders it.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// # Errors
    /// When the histogram buckets are refused (they are constant, so never in practice).
    pub fn new() -> anyhow::Result<Self> {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.to_owned()), &LATENCY_BUCKETS)?
            .build_recorder();
        let handle = recorder.handle();
        Ok(Self { recorder, handle })
    }

    pub fn http_request(&self, method: &str, route: &str, status: u16, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        let (method, route, status) = (method.to_owned(), route.to_owned(), status.to_string());
        metrics::with_local_recorder(&self.recorder, || {
            metrics::counter!(HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status)
                .increment(1);
            metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route)
                .record(seconds);
        });
    }

    pub fn command(&self, op: &'static str, outcome: CommandOutcome) {
        metrics::with_local_recorder(&self.recorder, || {
            metrics::counter!(COMMANDS, "op" => op, "outcome" => outcome.as_str()).increment(1);
        });
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }
}

/// Counts every request under its route template (`unmatched` for unknown routes).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    state
        .metrics()
        .http_request(&method, &route, response.status().as_u16(), started);
    response
}
