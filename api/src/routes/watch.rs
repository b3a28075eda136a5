//! `GET /sessions:watch`: a live Server-Sent Events stream of the status changes of the
//! caller's organization, on every gateway this edge serves.
//!
//! The edge subscribes to each gateway's status subjects for as long as the stream is open and
//! passes on the changes whose `organizationId` is the caller's. Nothing is replayed: the
//! stream starts with the changes after it opened (`GET /sessions/{session}/events` replays).
//! The subscriptions are registered at the NATS server before the response head is sent, so a
//! client that lists sessions once the head arrives misses no change in between.

use std::convert::Infallible;
use std::future;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt, stream};
use wagw_common::OrganizationId;
use wagw_common::events::StatusChange;

use crate::auth::{Capability, Principal};
use crate::error::ApiError;
use crate::state::AppState;

/// A comment line this often keeps proxies and load balancers from closing an idle stream.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// The SSE event type of a status change.
pub const STATUS_EVENT: &str = "status";

#[utoipa::path(get, path = "/api/v1/sessions:watch", tag = "sessions",
    summary = "Watch status changes live",
    description = "Streams the status changes of every session of the caller's organization, on every gateway this edge serves, as Server-Sent Events (`text/event-stream`). Requires the `read` capability.\n\nEach change is one event of type `status` whose `data` is one line of JSON, `{sessionId, organizationId, gatewayId, status, previousStatus, statusReason, workerId, at}`: the message the worker publishes on the session's status subject. A comment line (`: keep-alive`) comes every 15 s while nothing happens, so idle connections are not cut.\n\n**Live only.** Nothing is replayed: the stream carries the changes after it opened, and a client that reconnects misses what happened in between. Once the response head has arrived the stream is live, so list the sessions (`GET /sessions`) after that to start from a complete picture, and again after each reconnect. For a session's history, `GET /sessions/{session}/events` replays its durable events. The stream ends when the edge shuts down; reconnect with a backoff.\n\nBrowsers' `EventSource` cannot send the `Authorization` header; read the stream with `fetch` and a stream reader instead.\n\n**Errors.** `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — NATS (or, for an API key, Redis) is unreachable, so no stream could be opened. Returns **200** and then streams until the edge shuts down.",
    responses(
        (status = 200, description = "The stream of `status` events (each `data` is a `StatusChange`)",
            content((StatusChange = "text/event-stream", example = json!("event: status\ndata: {\"sessionId\":\"01J9ZX8K2QHV0M3T6R7P4N5W8C\",\"organizationId\":\"org_01J9ABC\",\"gatewayId\":\"gw-sg-1\",\"status\":\"working\",\"previousStatus\":\"starting\",\"statusReason\":null,\"workerId\":\"worker-1\",\"at\":1719662400000}\n\n: keep-alive\n\n")))),
        super::openapi::WatchErrors,
    ))]
pub async fn watch_sessions(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    principal.require(Capability::Read)?;
    let changes = subscribe_status(&state).await?;
    let organization = principal.organization_id;
    let events = changes
        .filter_map(move |message| future::ready(status_event(&organization, &message.payload)))
        .map(Ok::<_, Infallible>)
        .take_until(state.streams_end().clone().cancelled_owned());
    let keep_alive = KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive");
    // Tells nginx-style proxies not to buffer the stream.
    let no_buffering = (
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    Ok(([no_buffering], Sse::new(events).keep_alive(keep_alive)).into_response())
}

/// One subscription per served gateway, merged, registered at the server when this returns.
async fn subscribe_status(
    state: &AppState,
) -> Result<impl Stream<Item = async_nats::Message> + use<>, ApiError> {
    let unavailable = |what: &str, detail: &dyn std::fmt::Display| {
        tracing::warn!(error = %detail, "{what} failed");
        ApiError::unavailable("the message bus is unavailable; retry")
    };
    let mut subscribers = Vec::new();
    for gateway in &state.config().gateways {
        let subject = state.subjects().status_all(gateway);
        let subscriber = (state.nats().subscribe(subject).await)
            .map_err(|err| unavailable("subscribing to status changes", &err))?;
        subscribers.push(subscriber);
    }
    // The flush's round trip proves the server has the subscriptions.
    tokio::time::timeout(state.config().command_timeout(), state.nats().flush())
        .await
        .map_err(|_| unavailable("flushing the status subscriptions", &"timed out"))?
        .map_err(|err| unavailable("flushing the status subscriptions", &err))?;
    Ok(stream::select_all(subscribers))
}

/// The SSE event of a status message, when it is a change of `organization`'s.
fn status_event(organization: &OrganizationId, payload: &[u8]) -> Option<Event> {
    let change: StatusChange = match serde_json::from_slice(payload) {
        Ok(change) => change,
        Err(err) => {
            tracing::debug!(error = %err, "skipping a status message that is not a StatusChange");
            return None;
        }
    };
    if &change.organization_id != organization {
        return None;
    }
    // Re-serialized from the typed change: one line of JSON, whatever the publisher sent.
    Event::default().event(STATUS_EVENT).json_data(&change).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(org: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "sessionId": "01J9ZX8K2QHV0M3T6R7P4N5W8C", "organizationId": org,
            "gatewayId": "gw-a", "status": "working", "previousStatus": "scan_qr_code",
            "statusReason": null, "workerId": "w-1", "at": 1,
        }))
        .expect("serializes")
    }

    #[test]
    fn only_the_callers_organization_changes_become_events() {
        let org = OrganizationId::parse("org_a").expect("valid");
        assert!(status_event(&org, &payload("org_a")).is_some());
        assert!(status_event(&org, &payload("org_b")).is_none());
        assert!(status_event(&org, b"not json").is_none());
    }

    #[test]
    fn the_openapi_document_describes_the_stream() {
        let doc = super::super::openapi::DOCUMENT.clone();
        let get = &doc["paths"]["/api/v1/sessions:watch"]["get"];
        assert!(get["summary"].is_string());
        let description = get["description"].as_str().expect("a description");
        assert!(description.contains("replay"), "{description}");
        let ok = &get["responses"]["200"]["content"]["text/event-stream"];
        assert!(ok["schema"].is_object(), "{get}");
        for status in ["401", "403", "503"] {
            assert!(get["responses"][status].is_object(), "{status} missing");
        }
        assert!(doc["components"]["schemas"]["StatusChange"].is_object());
    }
}
