//! Commands the edge sends to the owning worker, and the replies it gets.
//!
//! Commands are an internally tagged, versioned enum: a new shape gets a new tag (`….v2`), tags
//! are never reused, and new optional fields are `#[serde(default)]`. The reply is
//! `{"ok": true, ...}` or `{"ok": false, "error": {code, message, details}}`.
//!
//! # Examples
//! ```
//! use wagw_common::{OrganizationId, wire::{Command, SessionCommandV1}};
//! let cmd = Command::StartSessionV1(SessionCommandV1 {
//!     organization_id: OrganizationId::parse("org_1").unwrap(),
//! });
//! let json = serde_json::to_string(&cmd).unwrap();
//! assert_eq!(json, r#"{"type":"start_session.v1","organizationId":"org_1"}"#);
//! ```

use crate::error::ErrorBody;
use crate::ids::OrganizationId;
pub use crate::messages::SendMessageV1;
use crate::session::{Session, SessionPatch, SessionStatus};
use crate::subjects::CommandOp;
use serde::{Deserialize, Serialize};

/// NATS header carrying the edge's request id to the worker, so logs join up.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A lifecycle command for one session; the session id and op are in the subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Command {
    #[serde(rename = "create_session.v1")]
    CreateSessionV1(CreateSessionV1),
    #[serde(rename = "update_session.v1")]
    UpdateSessionV1(UpdateSessionV1),
    #[serde(rename = "delete_session.v1")]
    DeleteSessionV1(SessionCommandV1),
    #[serde(rename = "start_session.v1")]
    StartSessionV1(SessionCommandV1),
    #[serde(rename = "stop_session.v1")]
    StopSessionV1(SessionCommandV1),
    #[serde(rename = "restart_session.v1")]
    RestartSessionV1(SessionCommandV1),
    #[serde(rename = "logout_session.v1")]
    LogoutSessionV1(SessionCommandV1),
    #[serde(rename = "qr.v1")]
    QrV1(SessionCommandV1),
    #[serde(rename = "pairing_code.v1")]
    PairingCodeV1(PairingCodeV1),
    /// Not a request-reply command: it is published into the gateway's send stream (JetStream
    /// answers with its acknowledgement) and the owning worker consumes it from there.
    #[serde(rename = "send_message.v1")]
    SendMessageV1(SendMessageV1),
}

impl Command {
    /// The subject token this command must travel under.
    pub fn op(&self) -> CommandOp {
        match self {
            Self::CreateSessionV1(_) => CommandOp::Create,
            Self::UpdateSessionV1(_) => CommandOp::Update,
            Self::DeleteSessionV1(_) => CommandOp::Delete,
            Self::StartSessionV1(_) => CommandOp::Start,
            Self::StopSessionV1(_) => CommandOp::Stop,
            Self::RestartSessionV1(_) => CommandOp::Restart,
            Self::LogoutSessionV1(_) => CommandOp::Logout,
            Self::QrV1(_) => CommandOp::Qr,
            Self::PairingCodeV1(_) => CommandOp::PairingCode,
            Self::SendMessageV1(_) => CommandOp::Send,
        }
    }

    /// The organization the caller acts for; the worker refuses a session of another one.
    pub fn organization_id(&self) -> &OrganizationId {
        match self {
            Self::CreateSessionV1(cmd) => &cmd.session.organization_id,
            Self::UpdateSessionV1(cmd) => &cmd.organization_id,
            Self::PairingCodeV1(cmd) => &cmd.organization_id,
            Self::SendMessageV1(cmd) => &cmd.organization_id,
            Self::DeleteSessionV1(cmd)
            | Self::StartSessionV1(cmd)
            | Self::StopSessionV1(cmd)
            | Self::RestartSessionV1(cmd)
            | Self::LogoutSessionV1(cmd)
            | Self::QrV1(cmd) => &cmd.organization_id,
        }
    }
}

/// A command that names only the session (in the subject) and the caller's organization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionCommandV1 {
    pub organization_id: OrganizationId,
}

/// Creates the row, built and validated by the edge; the worker writes it and its indexes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSessionV1 {
    pub session: Session,
}

/// Applies a patch; the worker validates the merged row again, since it holds the truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateSessionV1 {
    pub organization_id: OrganizationId,
    pub patch: SessionPatch,
}

/// Asks for a pairing code for `phoneNumber` (digits, validated by the edge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairingCodeV1 {
    pub organization_id: OrganizationId,
    pub phone_number: String,
}

/// The current QR string of a pairing under way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = crate::examples::qr_code))]
#[serde(rename_all = "camelCase")]
pub struct QrCode {
    pub qr: String,
    pub expires_at: i64,
    pub status: SessionStatus,
}

/// A pairing code to type on the phone, `XXXX-XXXX`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = crate::examples::pairing_code))]
#[serde(rename_all = "camelCase")]
pub struct PairingCode {
    pub code: String,
    pub expires_at: i64,
    pub status: SessionStatus,
}

/// A worker's answer to a command or a sim control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reply {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr: Option<QrCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing_code: Option<PairingCode>,
}

impl Reply {
    /// `{"ok": true}`.
    pub fn ok() -> Self {
        Self {
            ok: true,
            error: None,
            qr: None,
            pairing_code: None,
        }
    }

    /// `{"ok": false, "error": ...}`.
    pub fn refused(error: ErrorBody) -> Self {
        Self {
            ok: false,
            error: Some(error),
            qr: None,
            pairing_code: None,
        }
    }

    /// The refusal as an `Err`, so callers can use `?`.
    ///
    /// # Errors
    /// The worker's error body; an `internal` one when `ok` is false without a body.
    pub fn into_result(self) -> Result<Self, ErrorBody> {
        match (self.ok, self.error) {
            (true, _) => Ok(Self {
                error: None,
                ..self
            }),
            (false, Some(error)) => Err(error),
            (false, None) => Err(ErrorBody::new(
                crate::ErrorCode::Internal,
                "worker refused without a reason",
            )),
        }
    }
}

impl From<Result<Reply, ErrorBody>> for Reply {
    fn from(result: Result<Reply, ErrorBody>) -> Self {
        result.unwrap_or_else(Reply::refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_reply_has_the_contract_shape() {
        let reply = Reply::refused(ErrorBody::session_not_found());
        let json = serde_json::to_value(&reply).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({"ok": false, "error": {"code": "not_found", "message": "session not found", "details": {}}})
        );
        assert!(
            Reply::refused(ErrorBody::session_not_found())
                .into_result()
                .is_err()
        );
    }

    #[test]
    fn unknown_command_tags_are_refused() {
        assert!(
            serde_json::from_str::<Command>(r#"{"type":"start_session.v9","organizationId":"o"}"#)
                .is_err()
        );
    }
}
