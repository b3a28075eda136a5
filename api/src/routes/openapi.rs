//! `GET /openapi.json`: the OpenAPI 3.1 document, generated from the handlers' annotations.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::Json;
use serde::Serialize;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};
use wagw_common::ErrorBody;

use super::{
    api_keys, events, gateways, health, lifecycle, messages, pairing, sessions,
    webhook_dead_letters, webhooks,
};

/// Every error response: `{"error": {code, message, details}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

/// The error responses every authenticated endpoint may give.
#[derive(Debug)]
pub struct Errors;

/// The error responses of `POST /sessions/{session}/messages`: those of every endpoint, plus
/// `429` with its `Retry-After` header; a send waits for no worker, so never `504`.
#[derive(Debug)]
pub struct SendErrors;

/// `(status, description)` of the error responses every authenticated endpoint may give.
const COMMON_ERRORS: [(&str, &str); 10] = [
    (
        "400",
        "`invalid_argument`: malformed JSON, unknown field, bad id or value; `details.field` names it",
    ),
    ("401", "`unauthorized`: no or bad credential"),
    ("403", "`forbidden`: credential fine, capability missing"),
    (
        "404",
        "`not_found`: no such resource in the caller's organization",
    ),
    (
        "409",
        "`failed_precondition`: not valid in the session's current state",
    ),
    ("413", "`payload_too_large`: body over 1 MiB"),
    (
        "415",
        "`unsupported_media_type`: body that is not `application/json`",
    ),
    ("500", "`internal`: a bug, logged with the request id"),
    (
        "503",
        "`unavailable`: no worker answered for the gateway, or NATS / Redis unreachable",
    ),
    (
        "504",
        "`deadline_exceeded`: a worker took the command but did not acknowledge in time",
    ),
];

/// One error response: the envelope, with `description`.
fn error_response(description: &str) -> utoipa::openapi::response::Response {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", content)
        .build()
}

impl utoipa::IntoResponses for Errors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        COMMON_ERRORS
            .into_iter()
            .map(|(status, description)| (status.to_owned(), RefOr::T(error_response(description))))
            .collect()
    }
}

impl utoipa::IntoResponses for SendErrors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::response::Response>> {
        let mut responses = Errors::responses();
        responses.remove("504");
        let overrides = [
            (
                "400",
                "`invalid_argument`: malformed JSON, unknown field, bad `to` or `text` (`details.field` names it), a malformed `Idempotency-Key`, or an `Idempotency-Key` used with a different request (`details.field` = `Idempotency-Key`)",
            ),
            (
                "409",
                "`failed_precondition`: the session is not `working` (the message says its status)",
            ),
            (
                "503",
                "`unavailable`: Redis or the gateway's send stream unreachable; nothing was queued or remembered, so retry (with the same `Idempotency-Key`)",
            ),
        ];
        for (status, description) in overrides {
            responses.insert(status.to_owned(), RefOr::T(error_response(description)));
        }
        let mut limited = error_response(
            "`rate_limited`: the session's `ratePerMin` or `ratePerHour` is reached; `details.retryAfterMs` says how long to wait and `details.window` (`minute` or `hour`) which limit binds. Nothing was queued or remembered.",
        );
        let retry_after = HeaderBuilder::new()
            .schema(Some(utoipa::openapi::schema::Object::with_type(
                utoipa::openapi::schema::Type::Integer,
            )))
            .description(Some(
                "Seconds to wait before retrying: `details.retryAfterMs` rounded up, at least 1",
            ))
            .build();
        limited
            .headers
            .insert("Retry-After".to_owned(), RefOr::T(retry_after));
        responses.insert("429".to_owned(), RefOr::T(limited));
        responses
    }
}

/// Adds the bearer scheme both credential kinds use.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some(
                "Send `Authorization: Bearer <token>`. Two kinds of token are accepted, tried in \
                 turn: a frontend-minted login JWT (verified against the frontend JWKS; the \
                 person's org and role are read from it), or an API key `wagw_…` for a script \
                 or service (carrying a fixed set of capabilities). The `JWT` format label \
                 describes the person-login case.",
            ))
            .build();
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "WhatsApp Gateway",
        description = "Sessions (WhatsApp numbers), their lifecycle and pairing, sending messages, events and webhooks, API keys and the fleet. Every error is `{\"error\": {code, message, details}}`; every response carries `x-request-id`."
    ),
    paths(
        sessions::create_session, sessions::list_sessions, sessions::get_session,
        sessions::update_session, sessions::delete_session,
        crate::routes::watch::watch_sessions,
        lifecycle::docs::start_session, lifecycle::docs::stop_session,
        lifecycle::docs::restart_session, lifecycle::docs::logout_session,
        pairing::get_qr, pairing::request_pairing_code,
        messages::send_message,
        events::list_events,
        api_keys::create_api_key, api_keys::list_api_keys, api_keys::revoke_api_key,
        webhooks::create_webhook, webhooks::list_webhooks, webhooks::get_webhook,
        webhooks::update_webhook, webhooks::delete_webhook,
        webhook_dead_letters::list_dead_letters, webhook_dead_letters::redeliver_dead_letter,
        gateways::list_gateways,
        health::healthz, health::readyz, health::metrics,
    ),
    components(schemas(ErrorEnvelope, ErrorBody, wagw_common::ErrorCode, wagw_common::SessionStatus)),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "sessions", description = "Sessions and their lifecycle"),
        (name = "pairing", description = "Attaching a number: QR and pairing codes"),
        (name = "messages", description = "Sending messages from a working session"),
        (name = "events", description = "What happened to a session, replayed from the durable stream"),
        (name = "api-keys", description = "Credentials for scripts and services"),
        (name = "webhooks", description = "Signed deliveries of events to your endpoints, retries and dead letters"),
        (name = "gateways", description = "The fleet"),
        (name = "operations", description = "Probes and metrics, without authentication"),
    )
)]
pub struct ApiDoc;

pub(crate) static DOCUMENT: LazyLock<serde_json::Value> = LazyLock::new(|| {
    let mut document = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    // Probes and metrics need no credential.
    if let Some(paths) = document.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for path in ["/healthz", "/readyz", "/metrics"] {
            if let Some(get) = paths.get_mut(path).and_then(|p| p.get_mut("get")) {
                get["security"] = serde_json::json!([]);
            }
        }
    }
    document
});

/// Serves the generated document.
pub async fn openapi_json() -> Json<serde_json::Value> {
    Json(DOCUMENT.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_covers_every_endpoint_with_summaries() {
        let doc = DOCUMENT.clone();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().expect("paths");
        for path in [
            "/api/v1/sessions",
            "/api/v1/sessions/{session}",
            "/api/v1/sessions/{session}:start",
            "/api/v1/sessions/{session}:restart",
            "/api/v1/sessions/{session}/qr",
            "/api/v1/sessions/{session}/pairing-code",
            "/api/v1/sessions/{session}/messages",
            "/api/v1/api-keys",
            "/api/v1/api-keys/{key}",
            "/api/v1/gateways",
            "/api/v1/webhooks",
            "/api/v1/webhooks/{webhook}",
            "/api/v1/webhooks/{webhook}/dead-letters",
            "/api/v1/webhooks/{webhook}/dead-letters/{event}:redeliver",
        ] {
            let item = paths.get(path).unwrap_or_else(|| panic!("{path} missing"));
            for (_, op) in item.as_object().expect("operations") {
                assert!(op["summary"].is_string(), "{path} has no summary");
                assert!(op["description"].is_string(), "{path} has no description");
            }
        }
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        assert!(doc["components"]["schemas"]["Session"].is_object());
        for schema in ["WebhookView", "CreatedWebhook", "DeadLetter", "Redelivery"] {
            assert!(
                doc["components"]["schemas"][schema].is_object(),
                "{schema} missing"
            );
        }
        let redeliver = &paths["/api/v1/webhooks/{webhook}/dead-letters/{event}:redeliver"];
        assert_eq!(redeliver["post"]["tags"][0], "webhooks");
        assert!(redeliver["post"]["responses"]["202"].is_object());
        assert!(redeliver["post"]["responses"]["404"].is_object());
        let create = &paths["/api/v1/webhooks"]["post"];
        assert!(create["requestBody"]["content"]["application/json"]["schema"].is_object());
    }

    #[test]
    fn the_send_endpoint_documents_its_errors_and_retry_after() {
        let doc = DOCUMENT.clone();
        let send = &doc["paths"]["/api/v1/sessions/{session}/messages"]["post"];
        for status in [
            "202", "400", "401", "403", "404", "409", "413", "415", "429", "503",
        ] {
            assert!(send["responses"][status].is_object(), "{status} missing");
        }
        assert!(send["responses"]["504"].is_null());
        assert!(send["responses"]["429"]["headers"]["Retry-After"].is_object());
        assert!(doc["components"]["schemas"]["SendMessageBody"].is_object());
        assert!(doc["components"]["schemas"]["MessageAccepted"].is_object());
        let params = send["parameters"].as_array().expect("parameters");
        assert!(
            params
                .iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
        );
    }
}
