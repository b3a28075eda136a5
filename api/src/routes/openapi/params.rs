//! The path and header parameters several operations share, described once for the OpenAPI
//! document (the handlers read them through the extractors in `crate::extract`).

use wagw_common::examples::{EVENT_ID, SESSION_ID, WEBHOOK_ID};

/// `{session}`.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SessionParam {
    /// The session id, a ULID (26 upper-case Crockford base32 characters). A session is one
    /// attached (or to-be-attached) WhatsApp number of your organization; one in another
    /// organization is reported as `not_found` (404), never `forbidden`.
    #[param(example = json!(SESSION_ID))]
    pub session: String,
}

/// `{webhook}`.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WebhookParam {
    /// The webhook id, a ULID, as `POST /webhooks` returned it. Another organization's
    /// webhook is `not_found` (404).
    #[param(example = json!(WEBHOOK_ID))]
    pub webhook: String,
}

/// `{webhook}` and `{event}` of a dead letter.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DeadLetterParams {
    /// The webhook id, a ULID. Another organization's webhook is `not_found` (404).
    #[param(example = json!(WEBHOOK_ID))]
    pub webhook: String,
    /// The dead letter's event id (the event's `id`, a ULID), followed in the path by
    /// `:redeliver`.
    #[param(example = json!(EVENT_ID))]
    pub event: String,
}

/// `{key}`.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ApiKeyParam {
    /// The key's id (a ULID, the `id` of `GET /api-keys`), never the secret `wagw_…` itself.
    /// Another organization's key is `not_found` (404).
    #[param(example = json!("01J9ZXD2E4F6G8H0J2K4M6N8P0"))]
    pub key: String,
}

/// `Idempotency-Key` of a send.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// Makes retries safe: 1-255 visible ASCII characters, remembered 24 h. A retry with the
    /// same key and body gets the first `202` and sends nothing; the same key with another
    /// body is `400`.
    #[param(rename = "Idempotency-Key", example = json!("order-1042-shipped"))]
    pub idempotency_key: Option<String>,
}
