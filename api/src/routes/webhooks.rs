//! The organization's webhooks: create (the secret is shown once), list, get, update, delete.
//! Every endpoint needs `manage`; another organization's webhook is `404`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use wagw_common::WebhookId;
use wagw_common::time::now_ms;
use wagw_common::webhooks::{Webhook, WebhookView};

use super::webhook_bodies::{
    CreateWebhookBody, UpdateWebhookBody, validate_events, validate_session, validate_url,
};
use crate::auth::{Capability, Principal};
use crate::error::ApiError;
use crate::extract::{AppJson, WebhookPath};
use crate::state::AppState;
use crate::webhooks;

/// A new webhook: its view plus the secret, shown only in this response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = crate::routes::openapi::examples::created_webhook)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub view: WebhookView,
    /// `whsec_…`, the HMAC-SHA256 key of every delivery's `x-wagw-signature`; store it now,
    /// it is never shown again.
    #[schema(example = "whsec_5f2b6c0e9a4d4c3f8e1b7a6d5c4b3a2918f7e6d5c4b3a29180f1e2d3c4b5a697")]
    pub secret: String,
}

/// `GET /webhooks` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = crate::routes::openapi::examples::webhook_list)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks",
    summary = "Create a webhook",
    description = "Registers an endpoint that receives your organization's events as signed `POST`s: the event as the JSON body, `x-wagw-event-id` (the dedupe key) and `x-wagw-signature: t=<unix ms>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>` (see docs/webhooks.md). Requires the `manage` capability. `events` defaults to every type (answered as `null`, which also covers types added later); `sessionId` limits deliveries to one session. Only events after creation are delivered. **Async, at least once.** Deliveries are retried with backoff for up to 24 h; one that fails for good becomes a dead letter. The `secret` (`whsec_…`) is shown **only in this response**. Not idempotent: each call registers another webhook. **Errors.** `invalid_argument` (400) — `url`, `events` or `sessionId` is bad, named in `details.field`, or the body is malformed. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — Redis is unreachable. Returns **201** with the webhook and its secret.",
    request_body = CreateWebhookBody,
    responses((status = 201, description = "The webhook and its secret, shown only here", body = CreatedWebhook,
        example = json!(super::openapi::examples::created_webhook())), super::openapi::CreateWebhookErrors))]
pub async fn create_webhook(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<AppJson<CreateWebhookBody>, ApiError>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    principal.require(Capability::Manage)?;
    let AppJson(body) = body?;
    let url = validate_url(&body.url)?;
    let events = validate_events(body.events)?;
    let session_id = validate_session(&state, &principal, body.session_id).await?;
    let now = now_ms();
    let record = Webhook {
        id: WebhookId::generate(),
        organization_id: principal.organization_id.clone(),
        url,
        events,
        session_id,
        secret: webhooks::generate_secret()?,
        created_at: now,
        updated_at: now,
        created_by_user_id: principal.subject.clone(),
    };
    webhooks::insert(&state, &record).await?;
    let created = CreatedWebhook {
        view: record.view(),
        secret: record.secret,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    summary = "List webhooks",
    description = "Lists your organization's webhooks, newest first, with their `url`, `events` and `sessionId` filters — never their secrets. Requires the `manage` capability. **Errors.** `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — Redis is unreachable. Returns **200** with the webhooks.",
    responses((status = 200, description = "The webhooks, newest first", body = WebhookList,
        example = json!(super::openapi::examples::webhook_list())), super::openapi::ListWebhooksErrors))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<WebhookList>, ApiError> {
    principal.require(Capability::Manage)?;
    let webhooks = webhooks::list(&state, &principal.organization_id).await?;
    Ok(Json(WebhookList {
        webhooks: webhooks.iter().map(Webhook::view).collect(),
    }))
}

/// The caller's webhook `id`, `404` if absent or another organization's, then `manage`.
///
/// # Errors
/// `404`, `403`, Redis failures.
pub async fn visible_webhook(
    state: &AppState,
    principal: &Principal,
    id: &WebhookId,
) -> Result<Webhook, ApiError> {
    let record = webhooks::find(state, &principal.organization_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook not found"))?;
    principal.require(Capability::Manage)?;
    Ok(record)
}

#[utoipa::path(get, path = "/api/v1/webhooks/{webhook}", tag = "webhooks",
    summary = "Get a webhook",
    description = "Returns one webhook of your organization, without its secret. Requires the `manage` capability. **Errors.** `invalid_argument` (400) — the id is not a ULID. `not_found` (404) — no such webhook in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — Redis is unreachable. Returns **200** with the webhook.",
    params(super::openapi::WebhookParam),
    responses((status = 200, description = "The webhook", body = WebhookView,
        example = json!(wagw_common::examples::webhook_view())), super::openapi::WebhookErrors))]
pub async fn get_webhook(
    State(state): State<AppState>,
    principal: Principal,
    WebhookPath(id): WebhookPath,
) -> Result<Json<WebhookView>, ApiError> {
    let record = visible_webhook(&state, &principal, &id).await?;
    Ok(Json(record.view()))
}

#[utoipa::path(patch, path = "/api/v1/webhooks/{webhook}", tag = "webhooks",
    summary = "Update a webhook",
    description = "Changes any of `url`, `events`, `sessionId`; absent fields are left alone. `events: null` delivers every type again; `sessionId: null` clears the session filter. Deliveries already queued use the new url (and the unchanged secret) at their next attempt. The secret cannot be changed: to rotate it, create a new webhook and delete the old one. Requires the `manage` capability. Idempotent: the same patch again changes nothing more (but `updatedAt`). **Errors.** `invalid_argument` (400) — `url`, `events` or `sessionId` is bad, named in `details.field`, or the body is malformed. `not_found` (404) — no such webhook in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — Redis is unreachable. Returns **200** with the updated webhook.",
    params(super::openapi::WebhookParam),
    request_body = UpdateWebhookBody,
    responses((status = 200, description = "The updated webhook", body = WebhookView,
        example = json!(wagw_common::examples::webhook_view())), super::openapi::UpdateWebhookErrors))]
pub async fn update_webhook(
    State(state): State<AppState>,
    principal: Principal,
    WebhookPath(id): WebhookPath,
    body: Result<AppJson<UpdateWebhookBody>, ApiError>,
) -> Result<Json<WebhookView>, ApiError> {
    let mut record = visible_webhook(&state, &principal, &id).await?;
    let AppJson(body) = body?;
    if let Some(url) = body.url {
        let url = url.ok_or_else(|| ApiError::invalid("url", "url must not be null"))?;
        record.url = validate_url(&url)?;
    }
    if let Some(events) = body.events {
        record.events = validate_events(events)?;
    }
    if let Some(session) = body.session_id {
        record.session_id = validate_session(&state, &principal, session).await?;
    }
    record.updated_at = now_ms().max(record.updated_at);
    if !webhooks::replace(&state, &record).await? {
        return Err(ApiError::not_found("webhook not found"));
    }
    Ok(Json(record.view()))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{webhook}", tag = "webhooks",
    summary = "Delete a webhook",
    description = "Deletes the webhook and its dead letters; deliveries already queued are dropped at their next attempt. Requires the `manage` capability. **Destructive:** deleting it again is `404`. **Errors.** `invalid_argument` (400) — the id is not a ULID. `not_found` (404) — no such webhook in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — Redis is unreachable. Returns **204** with no body.",
    params(super::openapi::WebhookParam),
    responses((status = 204, description = "Deleted; no body"), super::openapi::WebhookErrors))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    principal: Principal,
    WebhookPath(id): WebhookPath,
) -> Result<StatusCode, ApiError> {
    visible_webhook(&state, &principal, &id).await?;
    if !webhooks::delete(&state, &principal.organization_id, &id).await? {
        return Err(ApiError::not_found("webhook not found"));
    }
    Ok(StatusCode::NO_CONTENT)
}
