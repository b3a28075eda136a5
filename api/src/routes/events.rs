//! A session's events, replayed from the durable event stream, oldest first.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use wagw_common::events::Event;

use crate::auth::{Capability, ScopedSession};
use crate::error::ApiError;
use crate::events::{ReplayError, read_page};
use crate::extract::{AppQuery, SessionPath};
use crate::pagination;
use crate::state::AppState;

/// Which events to return.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events after this event id (the previous page's `nextPageToken`); absent for the
    /// oldest events still stored.
    pub after: Option<String>,
    /// Events per page: 1-500, default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500, example = 50)]
    pub page_size: Option<String>,
}

/// One page of events.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = crate::routes::openapi::examples::event_page)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// The last event's id, to pass as `after`; `null` when no more events are stored yet.
    pub next_page_token: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/sessions/{session}/events", tag = "events",
    summary = "Replay a session's events",
    description = "Replays the session's events — status changes, QR codes, pairing, logouts, messages received, sent, delivered, read or failed — from the durable event stream, oldest first, as `{id, type, sessionId, organizationId, gatewayId, at, data}`. Requires the `read` capability. Events are kept for the stream's retention (7 days by default). Page with `after` = the previous page's `nextPageToken`; `nextPageToken: null` means no more events are stored yet, so poll again later with the last id you have. Event ids are the dedupe key: the same event seen on a webhook carries the same id. **Errors.** `invalid_argument` (400) — `after` is not an event id, or `pageSize` is out of range. `not_found` (404) — no such session in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — the event stream or Redis is unreachable. Returns **200** with one page of events.",
    params(super::openapi::SessionParam, EventsQuery),
    responses((status = 200, description = "One page of events, oldest first", body = EventPage,
        example = json!(super::openapi::examples::event_page())), super::openapi::ListEventsErrors))]
pub async fn list_events(
    State(state): State<AppState>,
    ScopedSession {
        principal,
        located,
        path: SessionPath(id),
    }: ScopedSession<SessionPath>,
    AppQuery(query): AppQuery<EventsQuery>,
) -> Result<Json<EventPage>, ApiError> {
    principal.require(Capability::Read)?;
    let page_size = pagination::page_size(query.page_size.as_deref())?;
    let after = match query.after.as_deref().filter(|a| !a.is_empty()) {
        Some(text) => Some(
            ulid::Ulid::from_string(text)
                .map_err(|_| ApiError::invalid("after", "after must be an event id (a ULID)"))?,
        ),
        None => None,
    };
    let subject = state
        .subjects()
        .session_events(&located.row.gateway_id, &id);
    let js = async_nats::jetstream::new(state.nats().clone());
    let stream = &state.config().events_stream;
    let page = read_page(&js, stream, subject, after, page_size)
        .await
        .map_err(|err| match err {
            ReplayError::Timeout => {
                ApiError::unavailable("the event stream did not answer in time; retry")
            }
            ReplayError::Stream(detail) => {
                tracing::warn!(error = detail, "reading the event stream failed");
                ApiError::unavailable("the event stream is unavailable; retry")
            }
        })?;
    let next_page_token = page
        .more
        .then(|| page.events.last().map(|event| event.id.clone()))
        .flatten();
    Ok(Json(EventPage {
        events: page.events,
        next_page_token,
    }))
}
