//! `POST /sessions/{session}:start|:stop|:restart|:logout`: asynchronous lifecycle commands.
//!
//! The edge returns once the owning worker has acknowledged the command and written the
//! transition, so the row it reads back already shows the new state.

use axum::Json;
use axum::extract::State;
use wagw_common::Session;
use wagw_common::wire::{Command, SessionCommandV1};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{SessionAction, SessionActionPath};
use crate::request_id::ReqId;
use crate::state::AppState;
use crate::{commands, store};

/// Runs `:start`, `:stop`, `:restart` or `:logout` (the router sends every POST on
/// `/sessions/{session}` here; the action follows the colon).
pub async fn run_action(
    State(state): State<AppState>,
    principal: Principal,
    SessionActionPath(id, action): SessionActionPath,
    ReqId(request_id): ReqId,
) -> Result<Json<Session>, ApiError> {
    let located = store::find_session(&state, &principal.organization_id, &id).await?;
    principal.require_manage(&located.row)?;
    let body = SessionCommandV1 {
        organization_id: principal.organization_id.clone(),
    };
    let command = match action {
        SessionAction::Start => Command::StartSessionV1(body),
        SessionAction::Stop => Command::StopSessionV1(body),
        SessionAction::Restart => Command::RestartSessionV1(body),
        SessionAction::Logout => Command::LogoutSessionV1(body),
    };
    commands::send(&state, &located.shard, &id, &command, &request_id).await?;
    Ok(Json(store::reread(&state, &located).await?))
}

/// OpenAPI descriptions of the four actions, which share one handler.
pub mod docs {
    use wagw_common::Session;

    #[utoipa::path(post, path = "/api/v1/sessions/{session}:start", tag = "sessions",
        summary = "Start a session",
        description = "Connects an **already-paired** session to WhatsApp. Requires the `manage` capability. **Precondition.** The session must already have a number attached (`409 failed_precondition` otherwise). To pair a *new* session instead, use the QR (`GET /sessions/{session}/qr`) or pairing-code (`POST /sessions/{session}/pairing-code`) endpoints. **Async / idempotency.** Connecting happens in the background; the response returns the refreshed session row so you can observe its new status (it may still be transitioning). Calling start on a session that is already started is a harmless no-op. **Errors.** `not_found` (404) — no such session in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. Returns **200** with the refreshed session.",
        params(("session" = String, Path, description = "The session id (a ULID)")),
        responses((status = 200, description = "The refreshed session", body = Session), crate::routes::openapi::Errors))]
    pub fn start_session() {}

    #[utoipa::path(post, path = "/api/v1/sessions/{session}:stop", tag = "sessions",
        summary = "Stop a session",
        description = "Disconnects the session from WhatsApp but keeps the pairing: the number stays attached and `:start` reconnects without pairing again. Requires the `manage` capability. The session ends `stopped`. Idempotent. Returns **200** with the refreshed session.",
        params(("session" = String, Path, description = "The session id (a ULID)")),
        responses((status = 200, description = "The refreshed session", body = Session), crate::routes::openapi::Errors))]
    pub fn stop_session() {}

    #[utoipa::path(post, path = "/api/v1/sessions/{session}:restart", tag = "sessions",
        summary = "Restart a session",
        description = "Stops and then starts the session — a reconnect that keeps the number paired. Requires the `manage` capability. Use this to recover a session that is stuck or in a failed state. The number stays attached throughout; no re-pairing is needed (an unpaired session is `409 failed_precondition`). **Async.** The reconnect proceeds in the background; the response returns the refreshed session row so you can observe its new status. **Errors.** `not_found` (404) — no such session in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. Returns **200** with the refreshed session.",
        params(("session" = String, Path, description = "The session id (a ULID)")),
        responses((status = 200, description = "The refreshed session", body = Session), crate::routes::openapi::Errors))]
    pub fn restart_session() {}

    #[utoipa::path(post, path = "/api/v1/sessions/{session}:logout", tag = "sessions",
        summary = "Log out a session (unpair the device)",
        description = "Logs the session out of WhatsApp and **unlinks the device**, so the number is no longer attached. Requires the `manage` capability. **Destructive.** Unlike `:stop` (which keeps the pairing), logout severs the link: to use the number again you must pair it from scratch via QR or a pairing code. The session row itself remains — use `DELETE /sessions/{session}` to remove it entirely. **Idempotency.** Logging out a session that is already logged out / unpaired is a harmless no-op. The response returns the refreshed session so you can see its new status. **Errors.** `not_found` (404) — no such session in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. Returns **200** with the refreshed session.",
        params(("session" = String, Path, description = "The session id (a ULID)")),
        responses((status = 200, description = "The refreshed session", body = Session), crate::routes::openapi::Errors))]
    pub fn logout_session() {}
}
