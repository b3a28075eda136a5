//! Example values of the wire types, built from the types themselves, for the OpenAPI document
//! (feature `openapi`): schema examples here, and the edge's request and response examples.
//!
//! One realistic story runs through them: the "Support line" session of `org_01J9ABC` on
//! gateway `gw-sg-1`, paired with `6281234567890`, at 2024-06-29 12:00 UTC.
//!
//! # Examples
//! ```
//! let row = wagw_common::examples::session();
//! assert_eq!(row.status, wagw_common::SessionStatus::Working);
//! ```

use serde_json::json;

use crate::events::{Event, types};
use crate::messages::{MessageAccepted, MessageStatus};
use crate::session::{DesiredState, Session, SessionPatch, SessionStatus};
use crate::webhooks::{DeadLetter, WebhookView};
use crate::wire::{PairingCode, QrCode};
use crate::{ErrorBody, GatewayId, OrganizationId, SessionId, WebhookId};

/// The example session's id.
pub const SESSION_ID: &str = "01J9ZX8K2QHV0M3T6R7P4N5W8C";
/// The example organization.
pub const ORGANIZATION_ID: &str = "org_01J9ABC";
/// The example gateway.
pub const GATEWAY_ID: &str = "gw-sg-1";
/// The example phone number: digits only, country code first.
pub const PHONE_NUMBER: &str = "6281234567890";
/// The example webhook's id.
pub const WEBHOOK_ID: &str = "01J9ZXC8N2P4Q6R8S0T2V4W6X8";
/// The example event's id.
pub const EVENT_ID: &str = "01J9ZX9M4R8S2T6V0W3X5Y7Z1A";
/// The example message's id.
pub const MESSAGE_ID: &str = "01J9ZXB3C5D7E9F1G3H5J7K9M1";
/// 2024-06-29 12:00:00 UTC, in ms: when everything in the examples happens.
pub const AT: i64 = 1_719_662_400_000;
/// The creator of the example session (a JWT `sub`).
pub const USER_ID: &str = "user_01J9DEF";

/// The example session id, typed.
pub fn session_id() -> SessionId {
    SessionId::parse(SESSION_ID).expect("SESSION_ID is a canonical ULID")
}

fn organization_id() -> OrganizationId {
    OrganizationId::parse(ORGANIZATION_ID).expect("ORGANIZATION_ID is a valid organization id")
}

fn gateway_id() -> GatewayId {
    GatewayId::parse(GATEWAY_ID).expect("GATEWAY_ID is a valid gateway id")
}

/// A paired, `working` session row, as `GET /sessions/{session}` returns it.
pub fn session() -> Session {
    Session {
        id: session_id(),
        organization_id: organization_id(),
        gateway_id: gateway_id(),
        label: "Support line".to_owned(),
        status: SessionStatus::Working,
        status_reason: None,
        desired_state: DesiredState::Running,
        phone_number: Some(PHONE_NUMBER.to_owned()),
        wa_jid: Some(format!("{PHONE_NUMBER}@s.whatsapp.net")),
        wa_lid: Some("205227043110953@lid".to_owned()),
        auto_read: false,
        presence_typing: true,
        rate_per_min: 20,
        rate_per_hour: 600,
        is_admin_session: false,
        created_by_user_id: USER_ID.to_owned(),
        created_at: AT,
        updated_at: AT,
        last_connected_at: Some(AT),
    }
}

/// The example session as `POST /sessions` creates it: `stopped`, no number, the defaults.
pub fn new_session() -> Session {
    Session::new(
        session_id(),
        organization_id(),
        gateway_id(),
        "Support line".to_owned(),
        USER_ID.to_owned(),
        AT,
    )
}

/// A `PATCH /sessions/{session}` body: a new label and tighter limits.
pub fn session_patch() -> SessionPatch {
    SessionPatch {
        label: Some("Support line (night)".to_owned()),
        rate_per_min: Some(10),
        rate_per_hour: Some(300),
        ..SessionPatch::default()
    }
}

/// The current QR of a pairing under way.
pub fn qr_code() -> QrCode {
    QrCode {
        qr: "2@Xk3dN0sLq8vYbW1mZ7pR5tG9hC4fJ6aE,Uo2iB8nS1vK5yQ3wT7cX0zL4=,mG9rD2fH6jP1sV5xZ8bN3kQ7wT0y=,wF4hK8nQ2sV6xZ0c=".to_owned(),
        expires_at: AT + 20_000,
        status: SessionStatus::ScanQrCode,
    }
}

/// A pairing code to type on the phone.
pub fn pairing_code() -> PairingCode {
    PairingCode {
        code: "K7QM-2XWD".to_owned(),
        expires_at: AT + 160_000,
        status: SessionStatus::ScanQrCode,
    }
}

/// The answer to an accepted send.
pub fn message_accepted() -> MessageAccepted {
    MessageAccepted {
        id: MESSAGE_ID.to_owned(),
        status: MessageStatus::Queued,
    }
}

/// A `session.status` event: the session became `working`.
pub fn event() -> Event {
    Event {
        id: EVENT_ID.to_owned(),
        event_type: types::SESSION_STATUS.to_owned(),
        session_id: session_id(),
        organization_id: organization_id(),
        gateway_id: gateway_id(),
        at: AT,
        data: json!({
            "status": "working",
            "previousStatus": "starting",
            "statusReason": null,
            "workerId": "worker-1"
        }),
    }
}

/// A webhook as the API shows it (no secret).
pub fn webhook_view() -> WebhookView {
    WebhookView {
        id: WebhookId::parse(WEBHOOK_ID).expect("WEBHOOK_ID is a canonical ULID"),
        url: "https://example.com/hooks/wagw".to_owned(),
        events: Some(vec![
            types::SESSION_STATUS.to_owned(),
            types::MESSAGE_RECEIVED.to_owned(),
        ]),
        session_id: None,
        created_at: AT,
        updated_at: AT,
        created_by_user_id: USER_ID.to_owned(),
    }
}

/// A delivery the receiver refused for good with `410 Gone`.
pub fn dead_letter() -> DeadLetter {
    DeadLetter {
        event: event(),
        attempts: 1,
        last_error: "HTTP 410 Gone".to_owned(),
        last_status: Some(410),
        first_attempt_at: AT + 1_000,
        failed_at: AT + 1_000,
    }
}

/// The most common error: a session that is not in the caller's organization.
pub fn error_body() -> ErrorBody {
    ErrorBody::session_not_found()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_keep_the_contract_bounds() {
        assert!(session().validate_settings().is_ok());
        assert!(new_session().validate_settings().is_ok());
        assert!(session_patch().apply_to(&session()).is_ok());
        assert!(
            crate::webhooks::event_filter_ok(&webhook_view().events.unwrap_or_default()).is_ok()
        );
    }
}
