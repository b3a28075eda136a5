//! Probes and metrics, outside `/api/v1` and without authentication.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wagw_common::{ErrorBody, ErrorCode};

use crate::error::ApiError;
use crate::state::AppState;

/// How long the readiness probe waits for Redis.
const PING_TIMEOUT: Duration = Duration::from_secs(1);

#[utoipa::path(get, path = "/healthz", tag = "operations",
    summary = "Liveness",
    description = "Answers `200 {\"status\": \"ok\"}` while the edge process runs and serves HTTP, whatever the state of NATS and Redis: use it as the liveness probe (restart the process when it fails). No authentication. Returns **200**.",
    responses((status = 200, description = "Alive", body = Object, example = json!({"status": "ok"}))))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    summary = "Readiness",
    description = "Checks that the edge can serve the API: NATS connected and Redis answering a `PING` within 1 s. Use it as the readiness probe (send no traffic while it fails). No authentication. **Errors.** `unavailable` (503) — either is unreachable; `details.nats` and `details.redis` say which (`ok` or `down`). Returns **200** `{\"nats\": \"ok\", \"redis\": \"ok\"}` when both are reachable.",
    responses((status = 200, description = "Ready: NATS and Redis reachable", body = Object, example = json!({"nats": "ok", "redis": "ok"})),
        (status = 503, description = "`unavailable`: NATS or Redis is unreachable; `details` says which.", body = crate::routes::openapi::ErrorEnvelope,
            example = json!({"error": {"code": "unavailable", "message": "a dependency is unreachable", "details": {"nats": "ok", "redis": "down"}}}))))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let mut redis = state.redis();
    let command = redis::cmd("PING");
    let ping = command.query_async::<String>(&mut redis);
    let redis_ok = matches!(tokio::time::timeout(PING_TIMEOUT, ping).await, Ok(Ok(_)));
    let nats_ok = state.nats().connection_state() == async_nats::connection::State::Connected;
    let word = |ok: bool| if ok { "ok" } else { "down" };
    if redis_ok && nats_ok {
        return Ok(Json(json!({ "nats": "ok", "redis": "ok" })));
    }
    Err(
        ErrorBody::new(ErrorCode::Unavailable, "a dependency is unreachable")
            .with_detail("nats", word(nats_ok))
            .with_detail("redis", word(redis_ok))
            .into(),
    )
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    summary = "Prometheus metrics",
    description = "The edge's metrics in the Prometheus text format: HTTP requests by route template and status and their latency, NATS requests to workers by op and outcome and their latency, JWKS fetches by reason and outcome, and send rate-limit rejections by window. Each worker serves its own on `WAGW_METRICS_ADDR`. Every series is listed in `docs/metrics.md`. No authentication: expose it only to your monitoring network. Returns **200**.",
    responses((status = 200, description = "Metrics, Prometheus text format 0.0.4", body = String, content_type = "text/plain",
        example = json!("# TYPE wagw_http_requests_total counter\nwagw_http_requests_total{method=\"GET\",route=\"/api/v1/sessions/{session}\",status=\"200\"} 42\n"))))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = state.metrics().render(&state.jwt().fetches).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(wagw_common::metrics::CONTENT_TYPE),
    );
    response
}
