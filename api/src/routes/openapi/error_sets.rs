//! The error responses of each operation, as `IntoResponses` types for `#[utoipa::path]`:
//! exactly the statuses the handler can answer, each with its cases and example envelopes.

use std::collections::BTreeMap;

use utoipa::openapi::{RefOr, response::Response};
use wagw_common::error::FieldError;
use wagw_common::messages::{recipient_jid, validate_text};
use wagw_common::session::{validate_label, validate_phone_number, validate_rates};
use wagw_common::{ApiKeyId, ErrorBody, ErrorCode, WebhookId};

use super::errors::ErrorDoc;
use crate::error::ApiError;
use crate::pagination;
use crate::routes::webhook_bodies::{validate_events, validate_url};

/// Declares a unit type per operation whose `IntoResponses` is the built [`ErrorDoc`].
macro_rules! error_sets {
    ($($(#[$doc:meta])* $name:ident => $build:expr;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                let doc: ErrorDoc = $build;
                doc.build()
            }
        }
    )*};
}

/// The body a validator refuses with; `None` if it (unexpectedly) accepts the example input.
fn field_refusal(result: Result<(), FieldError>) -> Option<ErrorBody> {
    result.err().map(ErrorBody::from)
}

/// The body an edge check refuses with.
fn api_refusal<T>(result: Result<T, ApiError>) -> Option<ErrorBody> {
    match result {
        Err(ApiError::Body(body)) => Some(body),
        _ => None,
    }
}

impl ErrorDoc {
    /// Adds the case when `refusal` is a body (the validators above produce it).
    fn refused(self, name: &'static str, when: &str, refusal: Option<ErrorBody>) -> Self {
        match refusal {
            Some(body) => self.case(name, when, body),
            None => self,
        }
    }

    /// `400` for `pageSize` out of 1-500.
    fn page_size(self) -> Self {
        let refusal = api_refusal(pagination::page_size(Some("0")));
        self.refused(
            "badPageSize",
            "`pageSize` is not an integer from 1 to 500",
            refusal,
        )
    }

    /// `400` for a `pageToken` this edge did not issue.
    fn page_token(self) -> Self {
        let refusal = api_refusal(pagination::decode_token("bm90LWEtdG9rZW4"));
        self.refused(
            "badPageToken",
            "`pageToken` is not a token this API issued",
            refusal,
        )
    }

    /// A read, a command or a send on one session: `400` bad id, `403` for an admin session
    /// without `admin` (`admin_session` when it applies), `404`.
    fn on_session(capability: &str, admin_session: bool) -> Self {
        let doc = Self::authenticated(capability);
        let doc = if admin_session {
            doc.admin_session()
        } else {
            doc
        };
        doc.bad_session_id().session_not_found()
    }

    /// A webhook's own path (`manage`): `400` bad id, `404`.
    fn on_webhook() -> Self {
        Self::authenticated("manage")
            .bad_id("webhook", WebhookId::parse("hook_1"))
            .not_found(
                "webhookNotFound",
                "no such webhook in your organization",
                "webhook not found",
            )
    }

    /// The `409` of `:start` and `:restart`.
    fn not_paired(self) -> Self {
        self.precondition(
            "notPaired",
            "the session has no number attached; pair it first",
            "session has no number attached; pair it first with GET /qr or POST /pairing-code",
        )
    }

    /// The `409` of the pairing endpoints.
    fn already_paired(self) -> Self {
        self.precondition(
            "alreadyPaired",
            "the session already has a number attached; log it out to pair another",
            "the session is already paired; log it out to pair another number",
        )
    }
}

error_sets! {
    /// `POST /sessions`.
    CreateSessionErrors => ErrorDoc::authenticated("manage")
        .case("adminFlag", "`isAdminSession: true` without the `admin` capability",
            ErrorBody::new(ErrorCode::Forbidden, "this operation needs the `admin` capability"))
        .json_body()
        .refused("badLabel", "`label` is blank or longer than 100 characters", field_refusal(validate_label(" ")))
        .refused("badRates", "`ratePerMin` / `ratePerHour` out of bounds, or `ratePerHour < ratePerMin`", field_refusal(validate_rates(20, 10)))
        .invalid("badGateway", "`gatewayId` is not one of the edge's `WAGW_GATEWAYS`", "gatewayId", "gatewayId is not a gateway this edge serves")
        .case("gatewayUnregistered", "no worker has ever started for the gateway",
            ErrorBody::new(ErrorCode::Unavailable, format!("no worker has registered gateway {} yet", wagw_common::examples::GATEWAY_ID)))
        .worker_command();

    /// `GET /sessions`.
    ListSessionsErrors => ErrorDoc::authenticated("read")
        .page_size()
        .page_token()
        .invalid("badStatus", "`status` is not a session status", "status", "status must be one of stopped, starting, scan_qr_code, working, failed")
        .invalid("badGateway", "`gatewayId` is not one of the edge's gateways", "gatewayId", "gatewayId is not a gateway this edge serves");

    /// `GET /sessions/{session}`: the errors of reading one session.
    SessionReadErrors => ErrorDoc::on_session("read", false);

    /// `PATCH /sessions/{session}`.
    UpdateSessionErrors => ErrorDoc::on_session("manage", true)
        .case("adminFlag", "changing `isAdminSession` without the `admin` capability",
            ErrorBody::new(ErrorCode::Forbidden, "this operation needs the `admin` capability"))
        .json_body()
        .refused("badRates", "the merged row breaks a bound, e.g. `ratePerHour < ratePerMin`", field_refusal(validate_rates(20, 10)))
        .worker_command();

    /// `DELETE /sessions/{session}`, `:stop` and `:logout`: commands that are valid in every
    /// state.
    SessionCommandErrors => ErrorDoc::on_session("manage", true).worker_command();

    /// `:start` and `:restart`: commands that need a number attached.
    PairedCommandErrors => ErrorDoc::on_session("manage", true).not_paired().worker_command();

    /// `GET /sessions/{session}/qr`.
    QrErrors => ErrorDoc::on_session("manage", true).already_paired().worker_command();

    /// `POST /sessions/{session}/pairing-code`.
    PairingCodeErrors => ErrorDoc::on_session("manage", true)
        .json_body()
        .refused("badPhoneNumber", "`phoneNumber` is not 8-15 digits, country code first", field_refusal(validate_phone_number("phoneNumber", "+62 812")))
        .already_paired()
        .worker_command();

    /// `POST /sessions/{session}/messages`: no worker is waited for, so never `504`; `429`
    /// with `Retry-After`.
    SendErrors => ErrorDoc::on_session("send", true)
        .json_body()
        .refused("badRecipient", "`to` is neither 8-15 digits nor a JID", field_refusal(recipient_jid("to", "+62 812").map(drop)))
        .refused("badText", "`text` is empty or longer than 65,536 characters", field_refusal(validate_text("text", "")))
        .invalid("badIdempotencyKey", "`Idempotency-Key` is not 1-255 visible ASCII characters, or is repeated", "Idempotency-Key", "Idempotency-Key must be one header of 1-255 visible ASCII characters")
        .invalid("idempotencyKeyReused", "the `Idempotency-Key` was used within 24 h with a different `to` or `text`", "Idempotency-Key", "this Idempotency-Key was used with a different request")
        .precondition("notWorking", "the session is not `working` (the message says its status)", "session is stopped; only a working session can send")
        .case("rateLimited", "the session's `ratePerMin` or `ratePerHour` is reached; `details.retryAfterMs` says how long to wait and `details.window` (`minute` or `hour`) which limit binds; nothing was queued or remembered",
            ErrorBody::new(ErrorCode::RateLimited, "the session's ratePerMin limit is reached; retry after 2400 ms")
                .with_detail("retryAfterMs", 2400)
                .with_detail("window", "minute"))
        .case("notQueued", "the gateway's send stream did not take the message; nothing was queued or remembered, so retry with the same `Idempotency-Key`",
            ErrorBody::new(ErrorCode::Unavailable, "the message could not be queued; retry"));

    /// `GET /sessions/{session}/events`.
    ListEventsErrors => ErrorDoc::on_session("read", false)
        .invalid("badAfter", "`after` is not an event id", "after", "after must be an event id (a ULID)")
        .page_size()
        .case("streamUnavailable", "the event stream did not answer in time",
            ErrorBody::new(ErrorCode::Unavailable, "the event stream did not answer in time; retry"));

    /// `POST /api-keys`.
    CreateApiKeyErrors => ErrorDoc::authenticated("keys")
        .json_body()
        .invalid("badName", "`name` is blank or longer than 100 characters", "name", "name must be 1-100 characters and not blank")
        .invalid("badCapabilities", "`capabilities` is empty or names something other than `read`, `manage`, `send`, `admin`", "capabilities", "capabilities must be a non-empty subset of read, manage, send, admin")
        .invalid("badExpiresAt", "`expiresAt` is not in the future", "expiresAt", "expiresAt must be in the future");

    /// `GET /api-keys`.
    ListApiKeysErrors => ErrorDoc::authenticated("keys");

    /// `DELETE /api-keys/{key}`.
    RevokeApiKeyErrors => ErrorDoc::authenticated("keys")
        .bad_id("key", ApiKeyId::parse("wagw_secret"))
        .not_found("apiKeyNotFound", "no such key in your organization", "API key not found");

    /// `POST /webhooks`.
    CreateWebhookErrors => ErrorDoc::authenticated("manage")
        .json_body()
        .refused("badUrl", "`url` is not an absolute `http`/`https` URL of at most 2048 characters", api_refusal(validate_url("ftp://example.com/")))
        .refused("badEvents", "`events` is empty, repeats a type or names an unknown one", api_refusal(validate_events(Some(vec!["session.exploded".to_owned()]))))
        .invalid("badSession", "`sessionId` is not a session of your organization", "sessionId", "sessionId is not a session of your organization");

    /// `GET /webhooks`.
    ListWebhooksErrors => ErrorDoc::authenticated("manage");

    /// `GET` and `DELETE /webhooks/{webhook}`.
    WebhookErrors => ErrorDoc::on_webhook();

    /// `PATCH /webhooks/{webhook}`.
    UpdateWebhookErrors => ErrorDoc::on_webhook()
        .json_body()
        .refused("badUrl", "`url` is null or not an absolute `http`/`https` URL", api_refusal(validate_url("ftp://example.com/")))
        .refused("badEvents", "`events` is empty, repeats a type or names an unknown one", api_refusal(validate_events(Some(Vec::new()))))
        .invalid("badSession", "`sessionId` is not a session of your organization", "sessionId", "sessionId is not a session of your organization");

    /// `GET /webhooks/{webhook}/dead-letters`.
    ListDeadLettersErrors => ErrorDoc::on_webhook().page_size().page_token();

    /// `POST /webhooks/{webhook}/dead-letters/{event}:redeliver`.
    RedeliverErrors => ErrorDoc::on_webhook()
        .invalid("badEvent", "`event` is not an event id (a ULID)", "event", "event must be an event id (a ULID)")
        .not_found("deadLetterNotFound", "the webhook has no dead letter for that event", "dead letter not found")
        .case("queueUnavailable", "the delivery queue did not take the redelivery; the dead letter is kept",
            ErrorBody::new(ErrorCode::Unavailable, "the delivery queue is unavailable; retry"));

    /// `GET /gateways`.
    GatewaysErrors => ErrorDoc::authenticated("read");

    /// `GET /sessions:watch`: no stream without NATS.
    WatchErrors => ErrorDoc::authenticated("read")
        .case("busUnavailable", "NATS is unreachable, so no stream could be opened",
            ErrorBody::new(ErrorCode::Unavailable, "the message bus is unavailable; retry"));
}

/// The errors of an authenticated operation on one session, for paths without a set of their
/// own: those of [`SessionReadErrors`].
pub type Errors = SessionReadErrors;
