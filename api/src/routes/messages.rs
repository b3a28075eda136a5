//! `POST /sessions/{session}/messages`: sending a text message from a working session.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use wagw_common::messages::{MessageAccepted, recipient_jid, validate_text};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{AppJson, SessionPath};
use crate::request_id::ReqId;
use crate::sending::{self, SendRequest};
use crate::state::AppState;
use crate::store;
use crate::store::idempotency::IdempotencyKey;

/// `POST /sessions/{session}/messages` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"to": "6281234567890", "text": "Your order #1042 has shipped."}))]
pub struct SendMessageBody {
    /// The recipient: digits only (8-15, country code first, no `+`), or a JID
    /// (`<digits>@s.whatsapp.net`, `<digits>@lid`, or a group's `<id>@g.us`).
    #[schema(example = "6281234567890")]
    pub to: String,
    /// 1-65,536 characters.
    #[schema(example = "Your order #1042 has shipped.")]
    pub text: String,
}

#[utoipa::path(post, path = "/api/v1/sessions/{session}/messages", tag = "messages",
    summary = "Send a text message",
    description = "Queues a text message from a `working` session and answers `202 {id, status: \"queued\"}` once it is durably accepted (stored in the gateway's send stream); the owning worker then sends it, and `message.sent`, `message.delivered`, `message.read` or `message.failed` events name it by `messageId`. Requires `send` (and `admin` for an admin session). A session that is not `working` is `409 failed_precondition` (except for a retry whose `Idempotency-Key` was already answered `202`, which gets that answer).\n\n**Rate limits.** The session's `ratePerMin` and `ratePerHour` hold across every edge: over either, the answer is `429 rate_limited` with a `Retry-After` header (seconds) and `details.retryAfterMs` and `details.window` (`minute` or `hour`). After an idle period a burst of `ratePerMin` is allowed at once, then one send per `60 s / ratePerMin`. A `PATCH` of the limits applies to the next send.\n\n**Idempotency.** Send an `Idempotency-Key` header (1-255 visible ASCII characters) to retry safely: within 24 h, a retry with the same key and the same body gets the first answer and sends nothing more; the same key with a different body is `400` (`details.field` = `Idempotency-Key`). Only `202` answers are remembered, so a retry after a `409`, `429` or `503` is evaluated afresh.",
    params(
        ("session" = String, Path, description = "The session id (a ULID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: 1-255 visible ASCII characters, remembered 24 h"),
    ),
    request_body = SendMessageBody,
    responses(
        (status = 202, description = "Durably accepted; the worker sends it next", body = MessageAccepted,
            example = json!({"id": "01J9ZXB3C5D7E9F1G3H5J7K9M1", "status": "queued"})),
        super::openapi::SendErrors))]
pub async fn send_message(
    State(state): State<AppState>,
    principal: Principal,
    SessionPath(id): SessionPath,
    ReqId(request_id): ReqId,
    headers: HeaderMap,
    body: Result<AppJson<SendMessageBody>, ApiError>,
) -> Result<(StatusCode, Json<MessageAccepted>), ApiError> {
    let located = store::find_session(&state, &principal.organization_id, &id).await?;
    principal.require_send(&located.row)?;
    let AppJson(body) = body?;
    let to = recipient_jid("to", &body.to)?;
    validate_text("text", &body.text)?;
    let idempotency_key = IdempotencyKey::from_headers(&headers)?;
    let request = SendRequest {
        to,
        text: body.text,
        idempotency_key,
        request_id,
    };
    let accepted = sending::accept(&state, &located, &request).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}
