//! What workers publish: a status change on `<root>.status.<gw>.<session>`, and typed events on
//! `<root>.events.<gw>.<session>.<type>`.

use crate::ids::{GatewayId, OrganizationId, SessionId, WorkerId};
use crate::session::SessionStatus;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ulid::Ulid;

/// One status transition of a session, published after the row is written (and streamed to
/// callers by `GET /sessions:watch`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatusChange {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "01J9ZX8K2QHV0M3T6R7P4N5W8C"))]
    pub session_id: SessionId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "org_acme"))]
    pub organization_id: OrganizationId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "gw-sg-1"))]
    pub gateway_id: GatewayId,
    pub status: SessionStatus,
    /// `null` for the first status of a new session.
    pub previous_status: Option<SessionStatus>,
    /// Why the session is in this status, e.g. `qr_expired`; `null` when there is nothing to say.
    pub status_reason: Option<String>,
    /// The worker that made the transition.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "worker-1"))]
    pub worker_id: WorkerId,
    /// When it happened, in ms since the epoch.
    pub at: i64,
}

/// The JetStream stream capturing every event (`WAGW_EVENTS_STREAM`), read back by
/// `GET /sessions/{session}/events`.
pub const DEFAULT_EVENTS_STREAM: &str = "WAGW_EVENTS";

/// Event type names, as they appear in the event's `type` and at the end of its subject.
pub mod types {
    pub const SESSION_STATUS: &str = "session.status";
    pub const SESSION_QR: &str = "session.qr";
    pub const SESSION_PAIRED: &str = "session.paired";
    pub const SESSION_LOGGED_OUT: &str = "session.logged_out";
    pub const MESSAGE_RECEIVED: &str = "message.received";
    pub const MESSAGE_SENT: &str = "message.sent";
    pub const MESSAGE_DELIVERED: &str = "message.delivered";
    pub const MESSAGE_READ: &str = "message.read";
    pub const MESSAGE_FAILED: &str = "message.failed";

    /// Every type above: what a webhook without an `events` filter receives, and what a filter
    /// may name.
    pub const ALL: [&str; 9] = [
        SESSION_STATUS,
        SESSION_QR,
        SESSION_PAIRED,
        SESSION_LOGGED_OUT,
        MESSAGE_RECEIVED,
        MESSAGE_SENT,
        MESSAGE_DELIVERED,
        MESSAGE_READ,
        MESSAGE_FAILED,
    ];

    /// Whether `name` is a known event type.
    pub fn is_known(name: &str) -> bool {
        ALL.contains(&name)
    }
}

/// `{id, type, sessionId, organizationId, gatewayId, at, data}`: the event shape of the contract
/// (version 1; fields are only ever added).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = crate::examples::event))]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// A ULID; the dedupe key for at-least-once consumers.
    #[cfg_attr(feature = "openapi", schema(example = "01J9ZX9M4R8S2T6V0W3X5Y7Z1A"))]
    pub id: String,
    /// `session.status`, `session.qr`, `session.paired`, `session.logged_out`,
    /// `message.received`, `message.sent`, `message.delivered`, `message.read`, `message.failed`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(example = "session.status"))]
    pub event_type: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub session_id: SessionId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub organization_id: OrganizationId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub gateway_id: GatewayId,
    /// When it happened, in ms since the epoch.
    pub at: i64,
    /// The type's payload, e.g. `{status, previousStatus, statusReason, workerId}` for
    /// `session.status`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: Value,
}

impl Event {
    /// A new event with a fresh id, stamped now.
    pub fn new(event_type: &str, session: &crate::Session, data: Value) -> Self {
        Self {
            id: Ulid::generate().to_string(),
            event_type: event_type.to_owned(),
            session_id: session.id,
            organization_id: session.organization_id.clone(),
            gateway_id: session.gateway_id.clone(),
            at: crate::time::now_ms(),
            data,
        }
    }
}
