//! `POST /sessions/{session}:start|:stop|:restart|:logout`: asynchronous lifecycle commands.
//!
//! The edge returns once the owning worker has acknowledged the command and written the
//! transition, so the row it reads back already shows the new state.

use axum::Json;
use axum::extract::State;
use wagw_common::Session;
use wagw_common::wire::{Command, SessionCommandV1};

use crate::auth::ScopedSession;
use crate::error::ApiError;
use crate::extract::{SessionAction, SessionActionPath};
use crate::request_id::ReqId;
use crate::state::AppState;
use crate::{commands, store};

/// Runs `:start`, `:stop`, `:restart` or `:logout` (the router sends every POST on
/// `/sessions/{session}` here; the action follows the colon).
pub async fn run_action(
    State(state): State<AppState>,
    ScopedSession {
        principal,
        located,
        path: SessionActionPath(id, action),
    }: ScopedSession<SessionActionPath>,
    ReqId(request_id): ReqId,
) -> Result<Json<Session>, ApiError> {
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

    use crate::routes::openapi::{
        PairedCommandErrors, SessionCommandErrors, SessionParam, examples,
    };

    #[utoipa::path(post, path = "/api/v1/sessions/{session}:start", tag = "sessions",
        summary = "Start a session",
        description = "Connects an **already-paired** session to WhatsApp. Requires the `manage` capability (and `admin` for an admin session). **Precondition.** The session must already have a number attached. To pair a *new* session instead, use the QR (`GET /sessions/{session}/qr`) or pairing-code (`POST /sessions/{session}/pairing-code`) endpoints. **Async / idempotency.** Connecting happens in the background: the edge answers once the owning worker has acknowledged the command, with the session re-read after it, so it already shows `starting` (or `working`); follow it on `GET /sessions/{session}` or the `session.status` events. Calling start on a session that is already started is a harmless no-op. **Errors.** `failed_precondition` (409) — no number attached. `not_found` (404) — no such session in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) / `deadline_exceeded` (504) — no worker answered, or none acknowledged in time. Returns **200** with the refreshed session.",
        params(SessionParam),
        responses((status = 200, description = "The refreshed session, `starting` or already `working`", body = Session,
            example = json!(examples::starting_session())), PairedCommandErrors))]
    pub fn start_session() {}

    #[utoipa::path(post, path = "/api/v1/sessions/{session}:stop", tag = "sessions",
        summary = "Stop a session",
        description = "Disconnects the session from WhatsApp but **keeps the pairing**: the number stays attached and `:start` reconnects without pairing again. Requires the `manage` capability (and `admin` for an admin session). A pairing under way is cancelled. Incoming messages are not received while stopped, and sends are refused (`409`). **Async / idempotency.** The edge answers once the owning worker has acknowledged the command; the returned row is read after it and shows `stopped`. Stopping a stopped session is a harmless no-op. **Errors.** `not_found` (404) — no such session in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) / `deadline_exceeded` (504) — no worker answered, or none acknowledged in time. Returns **200** with the refreshed session.",
        params(SessionParam),
        responses((status = 200, description = "The refreshed session, `stopped`, number still attached", body = Session,
            example = json!(examples::stopped_session())), SessionCommandErrors))]
    pub fn stop_session() {}

    #[utoipa::path(post, path = "/api/v1/sessions/{session}:restart", tag = "sessions",
        summary = "Restart a session",
        description = "Stops and then starts the session — a reconnect that keeps the number paired. Requires the `manage` capability (and `admin` for an admin session). Use this to recover a session that is stuck or in a `failed` state. The number stays attached throughout; no re-pairing is needed. **Precondition.** The session must have a number attached. **Async.** The reconnect proceeds in the background; the edge answers once the owning worker has acknowledged the command, with the session re-read after it so you can observe its new status (`starting`, then `working`). **Errors.** `failed_precondition` (409) — no number attached. `not_found` (404) — no such session in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) / `deadline_exceeded` (504) — no worker answered, or none acknowledged in time. Returns **200** with the refreshed session.",
        params(SessionParam),
        responses((status = 200, description = "The refreshed session, reconnecting", body = Session,
            example = json!(examples::starting_session())), PairedCommandErrors))]
    pub fn restart_session() {}

    #[utoipa::path(post, path = "/api/v1/sessions/{session}:logout", tag = "sessions",
        summary = "Log out a session (unpair the device)",
        description = "Logs the session out of WhatsApp and **unlinks the device**, so the number is no longer attached. Requires the `manage` capability (and `admin` for an admin session). **Destructive.** Unlike `:stop` (which keeps the pairing), logout severs the link and destroys the stored WhatsApp credentials: to use the number again you must pair it from scratch via QR or a pairing code. The session row itself remains, `stopped`, with `phoneNumber`, `waJid` and `waLid` set to `null` — use `DELETE /sessions/{session}` to remove it entirely. **Idempotency.** Logging out a session that is already logged out / unpaired is a harmless no-op; a pairing under way is cancelled. The edge answers once the owning worker has acknowledged the command, with the session re-read after it. **Errors.** `not_found` (404) — no such session in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) / `deadline_exceeded` (504) — no worker answered, or none acknowledged in time. Returns **200** with the refreshed session.",
        params(SessionParam),
        responses((status = 200, description = "The refreshed session, `stopped`, number detached", body = Session,
            example = json!(examples::logged_out_session())), SessionCommandErrors))]
    pub fn logout_session() {}
}
