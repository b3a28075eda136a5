//! A webhook's dead letters: list them (newest failure first, paged like the other lists) and
//! redeliver one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use wagw_common::webhooks::DeadLetter;

use super::webhooks::visible_webhook;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{AppQuery, RedeliverPath, WebhookPath};
use crate::pagination;
use crate::state::AppState;
use crate::webhooks::dead_letters::{self, Cursor};

/// Which page of dead letters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadLettersQuery {
    /// Dead letters per page: 1-500, default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500, example = 50)]
    pub page_size: Option<String>,
    /// The previous page's `nextPageToken`; absent for the first page.
    pub page_token: Option<String>,
}

/// One page of dead letters.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = crate::routes::openapi::examples::dead_letter_page)]
pub struct DeadLetterPage {
    pub dead_letters: Vec<DeadLetter>,
    /// `null` on the last page.
    pub next_page_token: Option<String>,
}

/// `POST …:redeliver` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = crate::routes::openapi::examples::redelivery)]
pub struct Redelivery {
    #[schema(example = "01J9ZX9M4R8S2T6V0W3X5Y7Z1A")]
    pub event_id: String,
    #[schema(value_type = String, example = "01J9ZX8K2QHV0M3T6R7P4N5W8C")]
    pub webhook_id: wagw_common::WebhookId,
    /// When the new delivery was queued (ms).
    pub queued_at: i64,
}

#[utoipa::path(get, path = "/api/v1/webhooks/{webhook}/dead-letters", tag = "webhooks",
    summary = "List a webhook's dead letters",
    description = "Lists the webhook's dead letters: deliveries that failed for good, because the receiver refused them with a 4xx other than 408/429, or they were still failing when the retry window (24 h by default) ended. Each holds the event, the attempts made, the last error and status. Newest failure first, one page at a time (`nextPageToken` → `pageToken`); at most 10,000 are kept per webhook, the oldest dropped. Requires the `manage` capability. **Errors.** `invalid_argument` (400) — the id, `pageSize` or `pageToken` is bad. `not_found` (404) — no such webhook in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — Redis is unreachable. Returns **200** with one page of dead letters.",
    params(super::openapi::WebhookParam, DeadLettersQuery),
    responses((status = 200, description = "One page of dead letters, newest failure first", body = DeadLetterPage,
        example = json!(super::openapi::examples::dead_letter_page())), super::openapi::ListDeadLettersErrors))]
pub async fn list_dead_letters(
    State(state): State<AppState>,
    principal: Principal,
    WebhookPath(id): WebhookPath,
    AppQuery(query): AppQuery<DeadLettersQuery>,
) -> Result<Json<DeadLetterPage>, ApiError> {
    let webhook = visible_webhook(&state, &principal, &id).await?;
    let page_size = pagination::page_size(query.page_size.as_deref())?;
    let after = match query.page_token.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => Some(Cursor::decode(token)?),
        None => None,
    };
    let org = &webhook.organization_id;
    let page = dead_letters::page(&state, org, &id, page_size, after.as_ref()).await?;
    Ok(Json(DeadLetterPage {
        dead_letters: page.letters,
        next_page_token: page.next.as_ref().map(Cursor::encode),
    }))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{webhook}/dead-letters/{event}:redeliver", tag = "webhooks",
    summary = "Redeliver a dead letter",
    description = "Queues the dead letter's event for the webhook again, as a new delivery whose attempts and retry window start afresh (with the webhook's current url and secret), and removes the dead letter. Requires the `manage` capability. **Async.** Answers `202` once the delivery is queued, not delivered; if it fails for good again it becomes a dead letter again. The event keeps its id, so a receiver that already has it can drop it. Not idempotent: the dead letter is gone once redelivered, so a second call is `404`. **Errors.** `invalid_argument` (400) — the webhook or event id is not a ULID. `not_found` (404) — no such webhook in your organization, or no dead letter for that event. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — Redis or the delivery queue is unreachable; the dead letter is kept. Returns **202** with the queued redelivery.",
    params(super::openapi::DeadLetterParams),
    responses((status = 202, description = "Queued for delivery", body = Redelivery,
        example = json!(super::openapi::examples::redelivery())), super::openapi::RedeliverErrors))]
pub async fn redeliver_dead_letter(
    State(state): State<AppState>,
    principal: Principal,
    RedeliverPath(id, event_id): RedeliverPath,
) -> Result<(StatusCode, Json<Redelivery>), ApiError> {
    let webhook = visible_webhook(&state, &principal, &id).await?;
    let queued_at = dead_letters::redeliver(&state, &webhook, &event_id)
        .await?
        .ok_or_else(|| ApiError::not_found("dead letter not found"))?;
    let body = Redelivery {
        event_id,
        webhook_id: id,
        queued_at,
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}
