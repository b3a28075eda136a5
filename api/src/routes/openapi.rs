//! `GET /openapi.json`: the OpenAPI 3.1 document, generated from the handlers' annotations.

mod code_samples;
#[cfg(test)]
mod document_tests;
mod error_sets;
mod errors;
pub mod examples;
mod params;

use std::sync::LazyLock;

use axum::Json;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use wagw_common::ErrorBody;

pub use error_sets::*;
pub use params::*;

use super::{
    api_keys, events, gateways, health, lifecycle, messages, pairing, sessions,
    webhook_dead_letters, webhooks,
};

/// Every error response: `{"error": {code, message, details}}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"error": {"code": "not_found", "message": "session not found", "details": {}}}))]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
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
        description = "Sessions (WhatsApp numbers), their lifecycle and pairing, sending messages, events and webhooks, API keys and the fleet.\n\n\
**Authentication.** Every `/api/v1` operation needs `Authorization: Bearer <token>`: a login JWT or an API key `wagw_…`; each operation names the capability it needs (`read`, `manage`, `send`, `admin`, `keys`). Resources are scoped to the token's organization: another organization's session, key or webhook is `404 not_found`, never `403`.\n\n\
**Errors.** Every non-2xx answer is `{\"error\": {\"code\", \"message\", \"details\"}}`; `code` follows the status (`400 invalid_argument` with `details.field`, `401 unauthorized`, `403 forbidden`, `404 not_found`, `405 method_not_allowed`, `409 failed_precondition`, `413 payload_too_large`, `415 unsupported_media_type`, `429 rate_limited`, `500 internal`, `503 unavailable`, `504 deadline_exceeded`). Each operation lists the errors it can give, with an example of each. Every response carries `x-request-id` (yours, echoed, when you send one).\n\n\
**Examples.** The `curl` examples read the edge's address and your token from the shell: `BASE_URL=http://127.0.0.1:8080 TOKEN=wagw_…`. Ids are ULIDs; timestamps are milliseconds since the Unix epoch."
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
    code_samples::add_curl_samples(&mut document);
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
