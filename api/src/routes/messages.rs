//! `POST /sessions/{session}/messages`: sending a text message from a working session.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use wagw_common::messages::{MessageAccepted, recipient_jid, validate_text};

use crate::auth::ScopedSession;
use crate::error::ApiError;
use crate::extract::{AppJson, SessionPath};
use crate::request_id::ReqId;
use crate::sending::{self, SendRequest};
use crate::state::AppState;
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
    description = "Queues a text message from a `working` session and answers `202 {id, status: \"queued\"}` once it is durably accepted (stored in the gateway's send stream); the owning worker then sends it — with `presenceTyping`, after showing \"typing…\" for a moment — and `message.sent`, `message.delivered`, `message.read` or `message.failed` events name it by `messageId`. Requires the `send` capability (and `admin` for an admin session). `to` is digits (8-15, country code first) or a JID; `text` is 1-65,536 characters.\n\n**Async.** `202` means queued, not delivered: follow the events (`GET /sessions/{session}/events` or a webhook).\n\n**Rate limits.** The session's `ratePerMin` and `ratePerHour` hold across every edge: over either, the answer is `429 rate_limited` with a `Retry-After` header (seconds) and `details.retryAfterMs` and `details.window` (`minute` or `hour`). After an idle period a burst of `ratePerMin` is allowed at once, then one send per `60 s / ratePerMin`. A `PATCH` of the limits applies to the next send.\n\n**Idempotency.** Send an `Idempotency-Key` header (1-255 visible ASCII characters) to retry safely: within 24 h, a retry with the same key and the same body gets the first answer and sends nothing more; the same key with a different body is `400` (`details.field` = `Idempotency-Key`). Only `202` answers are remembered, so a retry after a `409`, `429` or `503` is evaluated afresh.\n\n**Errors.** `invalid_argument` (400) — bad `to`, `text` or `Idempotency-Key`, named in `details.field`. `failed_precondition` (409) — the session is not `working` (except for a retry whose `Idempotency-Key` was already answered `202`, which gets that answer). `rate_limited` (429) — see above. `not_found` (404) — no such session in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — Redis or the send stream is unreachable; nothing was queued, retry with the same key. Returns **202** with the message id.",
    params(
        super::openapi::SessionParam,
        super::openapi::IdempotencyKeyHeader,
    ),
    request_body = SendMessageBody,
    responses(
        (status = 202, description = "Durably accepted; the worker sends it next", body = MessageAccepted,
            example = json!(wagw_common::examples::message_accepted())),
        super::openapi::SendErrors))]
pub async fn send_message(
    State(state): State<AppState>,
    ScopedSession {
        principal, located, ..
    }: ScopedSession<SessionPath>,
    ReqId(request_id): ReqId,
    headers: HeaderMap,
    body: Result<AppJson<SendMessageBody>, ApiError>,
) -> Result<(StatusCode, Json<MessageAccepted>), ApiError> {
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
