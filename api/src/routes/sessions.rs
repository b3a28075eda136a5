//! Sessions CRUD: create, list (AIP-158 pages), get, update, delete.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use wagw_common::session::{SessionPatch, bounds, validate_label, validate_rates};
use wagw_common::shard::ShardRef;
use wagw_common::wire::{Command, CreateSessionV1, SessionCommandV1, UpdateSessionV1};
use wagw_common::{GatewayId, Session, SessionId, SessionStatus};

use crate::auth::{Capability, Principal, ScopedSession};
use crate::error::ApiError;
use crate::extract::{AppJson, AppQuery, SessionPath};
use crate::request_id::ReqId;
use crate::state::AppState;
use crate::store::listing::{ListRequest, list_sessions as list_page};
use crate::{commands, pagination, store};

/// `POST /sessions` body; absent settings take the contract's defaults.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"label": "Support line", "gatewayId": "gw-sg-1", "autoRead": false, "ratePerMin": 20, "ratePerHour": 600}))]
pub struct CreateSessionBody {
    /// 1-100 characters, not blank.
    #[schema(min_length = 1, max_length = 100)]
    pub label: String,
    /// One of the edge's gateways (`WAGW_GATEWAYS`); the first configured one when absent.
    #[serde(default)]
    pub gateway_id: Option<String>,
    /// Mark incoming messages read; default `false`.
    #[serde(default)]
    pub auto_read: Option<bool>,
    /// Show "typing…" before each send; default `true`.
    #[serde(default)]
    pub presence_typing: Option<bool>,
    /// Sends per minute, 1-1000; default 20.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000)]
    pub rate_per_min: Option<u32>,
    /// Sends per hour, 1-60000 and at least `ratePerMin`; default 600.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 60000)]
    pub rate_per_hour: Option<u32>,
    /// Needs the `admin` capability when true; default `false`.
    #[serde(default)]
    pub is_admin_session: Option<bool>,
}

impl CreateSessionBody {
    /// Validates the body and builds the full row for the worker to write.
    fn into_session(self, state: &AppState, principal: &Principal) -> Result<Session, ApiError> {
        validate_label(&self.label)?;
        let rate_per_min = self.rate_per_min.unwrap_or(bounds::DEFAULT_RATE_PER_MIN);
        let rate_per_hour = self.rate_per_hour.unwrap_or(bounds::DEFAULT_RATE_PER_HOUR);
        validate_rates(rate_per_min, rate_per_hour)?;
        let gateway_id = pick_gateway(state, self.gateway_id.as_deref())?;
        let now = wagw_common::time::now_ms();
        let mut row = Session::new(
            SessionId::generate(),
            principal.organization_id.clone(),
            gateway_id,
            self.label,
            principal.subject.clone(),
            now,
        );
        row.auto_read = self.auto_read.unwrap_or(row.auto_read);
        row.presence_typing = self.presence_typing.unwrap_or(row.presence_typing);
        row.rate_per_min = rate_per_min;
        row.rate_per_hour = rate_per_hour;
        row.is_admin_session = self.is_admin_session.unwrap_or(row.is_admin_session);
        Ok(row)
    }
}

/// The requested gateway if this edge serves it, else the default one.
fn pick_gateway(state: &AppState, requested: Option<&str>) -> Result<GatewayId, ApiError> {
    let served = &state.config().gateways;
    let bad = || ApiError::invalid("gatewayId", "gatewayId is not a gateway this edge serves");
    match requested {
        Some(text) => served
            .iter()
            .find(|gw| gw.as_str() == text)
            .cloned()
            .ok_or_else(bad),
        None => served.first().cloned().ok_or_else(bad),
    }
}

#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions",
    summary = "Create a session",
    description = "Creates a session — one WhatsApp number to attach — in your organization. Requires the `manage` capability; `isAdminSession: true` also needs `admin`. Absent settings take the defaults: `autoRead: false`, `presenceTyping: true`, `ratePerMin: 20`, `ratePerHour: 600`, `isAdminSession: false`, and the edge's first gateway. The session starts `stopped` with no number attached: pair it next with the QR (`GET /sessions/{session}/qr`) or a pairing code (`POST /sessions/{session}/pairing-code`). **Synchronous.** The owning worker writes the row before the edge answers, so the session is at once visible to every edge. Not idempotent: each call creates another session. **Errors.** `invalid_argument` (400) — a malformed body or a field out of bounds, named in `details.field`. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — no worker serves the gateway, or Redis is unreachable; `deadline_exceeded` (504) — the worker did not acknowledge in time (read the list before retrying). Returns **201** with the new session.",
    request_body = CreateSessionBody,
    responses((status = 201, description = "The new session: `stopped`, no number attached", body = Session,
        example = json!(wagw_common::examples::new_session())), super::openapi::CreateSessionErrors))]
pub async fn create_session(
    State(state): State<AppState>,
    principal: Principal,
    ReqId(request_id): ReqId,
    body: Result<AppJson<CreateSessionBody>, ApiError>,
) -> Result<(StatusCode, Json<Session>), ApiError> {
    principal.require(Capability::Manage)?;
    let AppJson(body) = body?;
    if body.is_admin_session == Some(true) {
        principal.require(Capability::Admin)?;
    }
    let session = body.into_session(&state, &principal)?;
    let gw = session.gateway_id.clone();
    let shards = store::shard_count(&state, &gw)
        .await?
        .ok_or_else(|| ApiError::GatewayUnregistered(gw.clone()))?;
    let shard = ShardRef::of_session(&gw, &session.id, shards);
    let id = session.id;
    let command = Command::CreateSessionV1(CreateSessionV1 { session });
    commands::send(&state, &shard, &id, &command, &request_id).await?;
    let row = store::read_row(&state, &shard, &id).await?.ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!(
            "session {id} acknowledged but not in Redis"
        ))
    })?;
    Ok((StatusCode::CREATED, Json(row)))
}

/// `GET /sessions` query; typed here so a bad value names its parameter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Sessions per page: 1-500, default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500, example = 50)]
    pub page_size: Option<String>,
    /// The previous page's `nextPageToken`; absent for the first page.
    pub page_token: Option<String>,
    /// Only this gateway's sessions (one of the edge's `WAGW_GATEWAYS`, e.g. `gw-sg-1`).
    pub gateway_id: Option<String>,
    /// Only sessions in this status; a page may then hold fewer than `pageSize` sessions.
    #[param(value_type = Option<SessionStatus>)]
    pub status: Option<String>,
}

/// One page of sessions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = crate::routes::openapi::examples::session_page)]
pub struct SessionPage {
    pub sessions: Vec<Session>,
    /// `null` on the last page.
    pub next_page_token: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/sessions", tag = "sessions",
    summary = "List sessions",
    description = "Lists your organization's sessions, newest first, one page at a time (AIP-158): pass the answer's `nextPageToken` as `pageToken` for the next page; the last page has `nextPageToken: null`. Requires the `read` capability. Filter by `gatewayId` and `status`; with a `status` filter a page may hold fewer than `pageSize` sessions and still carry a `nextPageToken`. Admin sessions are listed too. **Errors.** `invalid_argument` (400) — `pageSize`, `pageToken`, `gatewayId` or `status` is bad, named in `details.field`. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — Redis is unreachable. Returns **200** with one page.",
    params(ListQuery),
    responses((status = 200, description = "One page of sessions, newest first", body = SessionPage,
        example = json!(super::openapi::examples::session_page())), super::openapi::ListSessionsErrors))]
pub async fn list_sessions(
    State(state): State<AppState>,
    principal: Principal,
    AppQuery(query): AppQuery<ListQuery>,
) -> Result<Json<SessionPage>, ApiError> {
    principal.require(Capability::Read)?;
    let page_size = pagination::page_size(query.page_size.as_deref())?;
    let after = match query.page_token.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => Some(pagination::decode_token(token)?),
        None => None,
    };
    let gateways = match query.gateway_id.as_deref() {
        Some(text) => vec![pick_gateway(&state, Some(text))?],
        None => state.config().gateways.clone(),
    };
    let status = match query.status.as_deref() {
        Some(text) => Some(SessionStatus::parse(text).ok_or_else(|| {
            ApiError::invalid(
                "status",
                "status must be one of stopped, starting, scan_qr_code, working, failed",
            )
        })?),
        None => None,
    };
    let request = ListRequest {
        org: principal.organization_id,
        gateways,
        after,
        page_size,
        status,
    };
    let page = list_page(&state, &request).await?;
    Ok(Json(SessionPage {
        sessions: page.sessions,
        next_page_token: page.next_after.as_ref().map(pagination::encode_token),
    }))
}

#[utoipa::path(get, path = "/api/v1/sessions/{session}", tag = "sessions",
    summary = "Get a session",
    description = "Returns one session of your organization: its settings, its `status` (`stopped`, `starting`, `scan_qr_code`, `working`, `failed` with a `statusReason`) and the attached number (`phoneNumber`, `waJid`, `waLid`, `null` while none). Requires the `read` capability, also for admin sessions. Poll it to follow a lifecycle command or a pairing. **Errors.** `invalid_argument` (400) — the id is not a ULID. `not_found` (404) — no such session in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — Redis is unreachable. Returns **200** with the session.",
    params(super::openapi::SessionParam),
    responses((status = 200, description = "The session", body = Session,
        example = json!(wagw_common::examples::session())), super::openapi::SessionReadErrors))]
pub async fn get_session(
    ScopedSession {
        principal, located, ..
    }: ScopedSession<SessionPath>,
) -> Result<Json<Session>, ApiError> {
    principal.require(Capability::Read)?;
    Ok(Json(located.row))
}

#[utoipa::path(patch, path = "/api/v1/sessions/{session}", tag = "sessions",
    summary = "Update a session",
    description = "Changes any of `label`, `autoRead`, `presenceTyping`, `ratePerMin`, `ratePerHour`, `isAdminSession`; absent fields are left alone. Requires the `manage` capability, and `admin` for an admin session or to change `isAdminSession`. The merged row is validated as a whole, so `ratePerHour >= ratePerMin` must hold even when only one of them changes. New rate limits apply to the next send. **Synchronous and idempotent.** The owning worker writes the change before the edge answers; sending the same patch again changes nothing more. **Errors.** `invalid_argument` (400) — a malformed body or a field out of bounds, named in `details.field`. `not_found` (404) — no such session in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) / `deadline_exceeded` (504) — no worker answered, or none acknowledged in time. Returns **200** with the updated session.",
    params(super::openapi::SessionParam),
    request_body = SessionPatch,
    responses((status = 200, description = "The updated session", body = Session,
        example = json!(super::openapi::examples::updated_session())),
        super::openapi::UpdateSessionErrors))]
pub async fn update_session(
    State(state): State<AppState>,
    ScopedSession {
        principal,
        located,
        path: SessionPath(id),
    }: ScopedSession<SessionPath>,
    ReqId(request_id): ReqId,
    body: Result<AppJson<SessionPatch>, ApiError>,
) -> Result<Json<Session>, ApiError> {
    principal.require_manage(&located.row)?;
    let AppJson(patch) = body?;
    if patch.is_admin_session.is_some() {
        principal.require(Capability::Admin)?;
    }
    patch.apply_to(&located.row)?;
    let organization_id = principal.organization_id.clone();
    let command = Command::UpdateSessionV1(UpdateSessionV1 {
        organization_id,
        patch,
    });
    commands::send(&state, &located.shard, &id, &command, &request_id).await?;
    Ok(Json(store::reread(&state, &located).await?))
}

#[utoipa::path(delete, path = "/api/v1/sessions/{session}", tag = "sessions",
    summary = "Delete a session",
    description = "Deletes the session for good: closes its link, unlinks the device from WhatsApp if a number is attached, destroys the stored WhatsApp credentials and removes the row. Requires the `manage` capability (and `admin` for an admin session). **Destructive.** To keep the row and only unpair the number, use `:logout`; to only disconnect, `:stop`. Its events stay in the event stream until they age out. **Errors.** `not_found` (404) — no such session in your organization (also when it is already deleted). `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) / `deadline_exceeded` (504) — no worker answered, or none acknowledged in time. Returns **204** with no body.",
    params(super::openapi::SessionParam),
    responses((status = 204, description = "Deleted; no body"), super::openapi::SessionCommandErrors))]
pub async fn delete_session(
    State(state): State<AppState>,
    ScopedSession {
        principal,
        located,
        path: SessionPath(id),
    }: ScopedSession<SessionPath>,
    ReqId(request_id): ReqId,
) -> Result<StatusCode, ApiError> {
    principal.require_manage(&located.row)?;
    let organization_id = principal.organization_id.clone();
    let command = Command::DeleteSessionV1(SessionCommandV1 { organization_id });
    commands::send(&state, &located.shard, &id, &command, &request_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
