//! The access log: one line when a request is answered, `finished processing request` with its
//! `status` and `latency_ms`, under the request's span (so with its `request_id`).
//!
//! A success (1xx–3xx) is logged at DEBUG, anything else at INFO. A busy edge answers thousands
//! of requests a second, and writing a line for each costs it about a fifth of its throughput
//! (`BENCHMARKS.md`), while `/metrics` already counts every request by route and status. So the
//! default `RUST_LOG=info` keeps every refusal and failure, and `RUST_LOG=info,wagw_api::access=debug`
//! turns on the line for every request. A 5xx also gets its one `request failed` WARN line from
//! `error::finish_errors`.

use std::time::Duration;

use axum::http::Response;
use tower_http::trace::OnResponse;
use tracing::Span;

/// The target of the access log lines, for `RUST_LOG`.
pub const TARGET: &str = "wagw_api::access";

/// `OnResponse` of the edge's `TraceLayer`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessLog;

impl<B> OnResponse<B> for AccessLog {
    fn on_response(self, response: &Response<B>, latency: Duration, _span: &Span) {
        let status = response.status();
        let latency_ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        let status = status.as_u16();
        if status < 400 {
            tracing::debug!(target: TARGET, status, latency_ms, "finished processing request");
        } else {
            tracing::info!(target: TARGET, status, latency_ms, "finished processing request");
        }
    }
}
