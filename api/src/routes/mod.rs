//! The router: one module per resource, and the middleware stack every request goes through.

pub mod api_keys;
pub mod console;
pub mod docs;
pub mod events;
pub mod gateways;
pub mod health;
pub mod lifecycle;
pub mod messages;
pub mod openapi;
pub mod pairing;
pub mod sessions;
pub mod watch;
mod webhook_bodies;
pub mod webhook_dead_letters;
pub mod webhooks;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{Request, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{delete, get, post};
use tower::ServiceBuilder;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::access_log::AccessLog;
use crate::error::{self, ApiError};
use crate::metrics;
use crate::request_id::{self, MakeUlidRequestId};
use crate::state::AppState;

/// Bodies larger than this are refused with `413`.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;
/// A request still running after this is answered `504`.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Every route of the edge, with the middleware stack (outermost first): request-id sanitizing,
/// request-id setting and propagation, metrics, tracing, error logging and enveloping, the
/// request timeout and the body limit.
pub fn build_router(state: AppState) -> Router {
    let routes = Router::new()
        .route(
            "/api/v1/sessions",
            get(sessions::list_sessions).post(sessions::create_session),
        )
        .route("/api/v1/sessions:watch", get(watch::watch_sessions))
        .route(
            "/api/v1/sessions/{session}",
            get(sessions::get_session)
                .patch(sessions::update_session)
                .delete(sessions::delete_session)
                .post(lifecycle::run_action),
        )
        .route("/api/v1/sessions/{session}/qr", get(pairing::get_qr))
        .route(
            "/api/v1/sessions/{session}/events",
            get(events::list_events),
        )
        .route(
            "/api/v1/sessions/{session}/messages",
            post(messages::send_message),
        )
        .route(
            "/api/v1/sessions/{session}/pairing-code",
            post(pairing::request_pairing_code),
        )
        .route(
            "/api/v1/api-keys",
            get(api_keys::list_api_keys).post(api_keys::create_api_key),
        )
        .route("/api/v1/api-keys/{key}", delete(api_keys::revoke_api_key))
        .route(
            "/api/v1/webhooks",
            get(webhooks::list_webhooks).post(webhooks::create_webhook),
        )
        .route(
            "/api/v1/webhooks/{webhook}",
            get(webhooks::get_webhook)
                .patch(webhooks::update_webhook)
                .delete(webhooks::delete_webhook),
        )
        .route(
            "/api/v1/webhooks/{webhook}/dead-letters",
            get(webhook_dead_letters::list_dead_letters),
        )
        .route(
            "/api/v1/webhooks/{webhook}/dead-letters/{event}",
            post(webhook_dead_letters::redeliver_dead_letter),
        )
        .route("/api/v1/gateways", get(gateways::list_gateways))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(openapi::openapi_json))
        .merge(docs::router())
        .route("/console", get(console::console_page))
        .route("/console/{asset}", get(console::console_asset))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(state.clone());
    routes.layer(
        ServiceBuilder::new()
            .map_request(request_id::drop_insane_request_id)
            .layer(SetRequestIdLayer::x_request_id(MakeUlidRequestId))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(from_fn_with_state(state, metrics::track))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(make_span)
                    .on_response(AccessLog)
                    // Failures are logged once, by `finish_errors`, with their detail.
                    .on_failure(()),
            )
            .layer(from_fn(error::finish_errors))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::GATEWAY_TIMEOUT,
                REQUEST_TIMEOUT,
            ))
            .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES)),
    )
}

/// The request span: method, route template and request id, never the body or credentials.
fn make_span<B>(request: &Request<B>) -> Span {
    let matched_path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let request_id = request
        .headers()
        .get(request_id::HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "http.request",
        http.method = %request.method(),
        http.matched_path = matched_path,
        request_id,
    )
}

#[cfg(test)]
mod test_deps;
#[cfg(test)]
mod tests;
