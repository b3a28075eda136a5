//! Prometheus metrics of one edge: HTTP requests by route template and status with their
//! latency, NATS requests to workers by op and outcome with their latency, JWKS fetches, and
//! send rate-limit rejections. Each edge keeps its own recorder (no global install), so many
//! edges can run in one test process; `docs/metrics.md` lists every series.

mod jwks;
mod series;

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics::Counter;
use metrics_exporter_prometheus::{PrometheusHandle, PrometheusRecorder};
use tokio_util::sync::CancellationToken;

pub use jwks::{JwksFetchReason, JwksFetches};
use series::{RouteTable, Table, Timed};

use crate::state::AppState;
use crate::store::rate_limit::Window;

const HTTP_REQUESTS: &str = "wagw_http_requests_total";
const HTTP_DURATION: &str = "wagw_http_request_duration_seconds";
const COMMANDS: &str = "wagw_nats_commands_total";
const COMMAND_DURATION: &str = "wagw_nats_request_duration_seconds";
const JWKS_FETCHES: &str = "wagw_jwks_fetches_total";
const RATE_LIMITED: &str = "wagw_send_rate_limited_total";
/// The route label of a request no route matched (a `404` of the fallback).
const UNMATCHED: &str = "unmatched";

/// How a NATS command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// This edge's recorder, the handle that renders it, and the handles recorded through.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    http: RouteTable,
    commands: Table<(&'static str, CommandOutcome)>,
    /// `[minute, hour]`.
    rate_limited: [Counter; 2],
    /// `[ok, error]` per [`JwksFetchReason::ALL`], set from the verifier's counts at scrape.
    jwks: [[Counter; 2]; 3],
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A fresh recorder; the fixed series (rate limits, JWKS fetches) start at zero.
    pub fn new() -> Self {
        let recorder = wagw_common::metrics::recorder(&[]);
        let handle = recorder.handle();
        let (rate_limited, jwks) = metrics::with_local_recorder(&recorder, || {
            describe();
            let rate_limited = [Window::Minute, Window::Hour]
                .map(|window| metrics::counter!(RATE_LIMITED, "window" => window.as_str()));
            let jwks = JwksFetchReason::ALL.map(|reason| {
                ["ok", "error"].map(|outcome| {
                    metrics::counter!(JWKS_FETCHES, "reason" => reason.as_str(), "outcome" => outcome)
                })
            });
            (rate_limited, jwks)
        });
        Self {
            recorder,
            handle,
            http: RouteTable::default(),
            commands: Table::default(),
            rate_limited,
            jwks,
        }
    }

    /// Counts a request to `route` (its template) answered with `status`, and its latency.
    pub fn http_request(&self, method: &'static str, route: &str, status: u16, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        self.http.record((method, route, status), seconds, || {
            metrics::with_local_recorder(&self.recorder, || {
                let route = route.to_owned();
                Timed {
                    count: metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status.to_string()),
                    seconds: metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route),
                }
            })
        });
    }

    /// Counts a NATS request of command `op` that ended with `outcome`, and its latency
    /// (retries while no worker answered included).
    pub fn command(&self, op: &'static str, outcome: CommandOutcome, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        self.commands.record((op, outcome), seconds, || {
            metrics::with_local_recorder(&self.recorder, || {
                let outcome = outcome.as_str();
                Timed {
                    count: metrics::counter!(COMMANDS, "op" => op, "outcome" => outcome),
                    seconds: metrics::histogram!(COMMAND_DURATION, "op" => op, "outcome" => outcome),
                }
            })
        });
    }

    /// Counts a send refused `429` by the session's `window` limit.
    pub fn send_rate_limited(&self, window: Window) {
        let index = match window {
            Window::Minute => 0,
            Window::Hour => 1,
        };
        self.rate_limited[index].increment(1);
    }

    /// The Prometheus text exposition, with the JWKS fetch counts of `jwks`.
    pub fn render(&self, jwks: &JwksFetches) -> String {
        for (reason, [ok, error]) in JwksFetchReason::ALL.into_iter().zip(&self.jwks) {
            let (oks, errors) = jwks.get(reason);
            ok.absolute(oks);
            error.absolute(errors);
        }
        self.handle.run_upkeep();
        self.handle.render()
    }

    /// Folds queued histogram samples into their buckets every `interval` until `stop`.
    pub async fn upkeep(&self, interval: Duration, stop: CancellationToken) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while stop.run_until_cancelled(tick.tick()).await.is_some() {
            self.handle.run_upkeep();
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// The `# HELP` lines.
fn describe() {
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by method, route template and status"
    );
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency by method and route template"
    );
    metrics::describe_counter!(
        COMMANDS,
        "NATS requests to workers (commands; op send: the send stream's publish) by op and outcome"
    );
    metrics::describe_histogram!(
        COMMAND_DURATION,
        metrics::Unit::Seconds,
        "NATS request latency by op and outcome, retries while no worker answered included"
    );
    metrics::describe_counter!(
        JWKS_FETCHES,
        "JWKS fetches by reason (first, expired, unknown_kid) and outcome (ok, error)"
    );
    metrics::describe_counter!(
        RATE_LIMITED,
        "Sends refused 429 by the session's rate limit, by window (minute, hour)"
    );
}

/// The method label: the standard methods by name, any other as `other` (bounded).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::PUT => "PUT",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Counts every request under its route template (`unmatched` for unknown routes).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    // An `Arc<str>` inside: cloning it is a reference count, not a copy of the template.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    let status = response.status().as_u16();
    state.metrics().http_request(method, route, status, started);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_registered_once_and_rendered_with_their_labels() {
        let metrics = Metrics::new();
        let started = Instant::now();
        for _ in 0..3 {
            metrics.http_request("GET", "/api/v1/sessions/{session}", 200, started);
        }
        metrics.http_request("GET", "/api/v1/sessions/{session}", 404, started);
        metrics.command("stop", CommandOutcome::NoResponders, started);
        metrics.send_rate_limited(Window::Hour);
        let jwks = JwksFetches::default();
        jwks.record(JwksFetchReason::UnknownKid, true);
        let text = metrics.render(&jwks);
        for line in [
            r#"wagw_http_requests_total{method="GET",route="/api/v1/sessions/{session}",status="200"} 3"#,
            r#"wagw_http_requests_total{method="GET",route="/api/v1/sessions/{session}",status="404"} 1"#,
            r#"wagw_http_request_duration_seconds_count{method="GET",route="/api/v1/sessions/{session}"} 4"#,
            r#"wagw_nats_commands_total{op="stop",outcome="no_responders"} 1"#,
            r#"wagw_nats_request_duration_seconds_count{op="stop",outcome="no_responders"} 1"#,
            r#"wagw_send_rate_limited_total{window="hour"} 1"#,
            r#"wagw_send_rate_limited_total{window="minute"} 0"#,
            r#"wagw_jwks_fetches_total{reason="unknown_kid",outcome="ok"} 1"#,
            r#"wagw_jwks_fetches_total{reason="first",outcome="error"} 0"#,
        ] {
            assert!(text.lines().any(|l| l == line), "no {line} in\n{text}");
        }
    }

    #[test]
    fn unusual_methods_share_one_label() {
        let custom = Method::from_bytes(b"PURGE").expect("a valid method");
        assert_eq!(method_label(&custom), "other");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
    }
}
