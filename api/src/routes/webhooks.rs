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
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks",
    summary = "Create a webhook",
    description = "Registers an endpoint that receives the organization's events as signed `POST`s (see docs/webhooks.md). Requires `manage`. `events` defaults to every type (answered as `null`, which also covers types added later); `sessionId` limits deliveries to one session. Only events after creation are delivered. The `secret` (`whsec_…`) is shown only in this response. Validation errors are `400 invalid_argument` naming `url`, `events` or `sessionId`.",
    request_body = CreateWebhookBody,
    responses((status = 201, description = "The webhook and its secret", body = CreatedWebhook), super::openapi::Errors))]
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
    description = "Lists the organization's webhooks, newest first, without their secrets. Requires `manage`.",
    responses((status = 200, description = "The webhooks", body = WebhookList), super::openapi::Errors))]
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
    description = "One webhook, without its secret. Requires `manage`. Another organization's webhook is `404`.",
    params(("webhook" = String, Path, description = "The webhook id (a ULID)")),
    responses((status = 200, description = "The webhook", body = WebhookView), super::openapi::Errors))]
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
    description = "Changes any of `url`, `events`, `sessionId`. `events: null` delivers every type again; `sessionId: null` clears the session filter. Deliveries already queued use the new url (and the unchanged secret) at their next attempt. Requires `manage`.",
    params(("webhook" = String, Path, description = "The webhook id (a ULID)")),
    request_body = UpdateWebhookBody,
    responses((status = 200, description = "The updated webhook", body = WebhookView), super::openapi::Errors))]
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
    description = "Deletes the webhook and its dead letters. Deliveries already queued are dropped at their next attempt. Requires `manage`.",
    params(("webhook" = String, Path, description = "The webhook id (a ULID)")),
    responses((status = 204, description = "Deleted"), super::openapi::Errors))]
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
