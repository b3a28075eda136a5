//! The session row: one WhatsApp number as the API shows it and as Redis stores it.
//!
//! The row carries both what is (`status`) and what the user asked for (`desiredState`), so a
//! worker that gains a shard knows which sessions to bring back up.

use crate::error::FieldError;
use crate::ids::{GatewayId, OrganizationId, SessionId};
use serde::{Deserialize, Serialize};

/// Bounds of the row's settings, as the API contract states them.
pub mod bounds {
    pub const LABEL_MAX_CHARS: usize = 100;
    pub const RATE_PER_MIN: std::ops::RangeInclusive<u32> = 1..=1000;
    pub const RATE_PER_HOUR: std::ops::RangeInclusive<u32> = 1..=60_000;
    pub const DEFAULT_RATE_PER_MIN: u32 = 20;
    pub const DEFAULT_RATE_PER_HOUR: u32 = 600;
}

/// What the session is doing right now, as observed by its worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Stopped,
    Starting,
    ScanQrCode,
    Working,
    Failed,
}

impl SessionStatus {
    pub const ALL: [SessionStatus; 5] = [
        Self::Stopped,
        Self::Starting,
        Self::ScanQrCode,
        Self::Working,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::Starting => "starting",
            Self::ScanQrCode => "scan_qr_code",
            Self::Working => "working",
            Self::Failed => "failed",
        }
    }

    /// Parses the wire spelling, e.g. for the `status` query filter.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

impl std::fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the user last asked for. Reconciliation drives `status` toward it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DesiredState {
    /// Connected to WhatsApp (or pairing, until pairing ends).
    Running,
    /// Disconnected; the pairing, if any, is kept.
    #[default]
    Stopped,
}

/// The session row, camelCase on the wire, exactly as `GET /sessions/{id}` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = crate::examples::session))]
#[serde(rename_all = "camelCase")]
pub struct Session {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "01J9ZX8K2QHV0M3T6R7P4N5W8C"))]
    pub id: SessionId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "org_01J9ABC"))]
    pub organization_id: OrganizationId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "gw-sg-1"))]
    pub gateway_id: GatewayId,
    pub label: String,
    pub status: SessionStatus,
    /// Why the session is `failed` or was stopped by something other than the user.
    pub status_reason: Option<String>,
    /// What the user last asked for; the worker reconciles `status` toward it.
    pub desired_state: DesiredState,
    /// Digits only, country code first; `null` while no number is attached.
    pub phone_number: Option<String>,
    pub wa_jid: Option<String>,
    pub wa_lid: Option<String>,
    pub auto_read: bool,
    pub presence_typing: bool,
    pub rate_per_min: u32,
    pub rate_per_hour: u32,
    pub is_admin_session: bool,
    /// The JWT `sub` of the creator, or `apikey:<keyId>`.
    pub created_by_user_id: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_connected_at: Option<i64>,
}

impl Session {
    /// A new session as the contract creates it: `stopped`, no number, the default settings
    /// (`autoRead: false`, `presenceTyping: true`, the default rates, not an admin session).
    pub fn new(
        id: SessionId,
        organization_id: OrganizationId,
        gateway_id: GatewayId,
        label: String,
        created_by_user_id: String,
        now: i64,
    ) -> Self {
        Self {
            id,
            organization_id,
            gateway_id,
            label,
            status: SessionStatus::Stopped,
            status_reason: None,
            desired_state: DesiredState::Stopped,
            phone_number: None,
            wa_jid: None,
            wa_lid: None,
            auto_read: false,
            presence_typing: true,
            rate_per_min: bounds::DEFAULT_RATE_PER_MIN,
            rate_per_hour: bounds::DEFAULT_RATE_PER_HOUR,
            is_admin_session: false,
            created_by_user_id,
            created_at: now,
            updated_at: now,
            last_connected_at: None,
        }
    }

    /// A number is attached: the session can be started without pairing.
    pub fn is_paired(&self) -> bool {
        self.phone_number.is_some()
    }

    /// Moves to `status` with `reason` (cleared when `None`) and returns the status it had, for
    /// the status-change event.
    pub fn transition(&mut self, status: SessionStatus, reason: Option<String>) -> SessionStatus {
        self.status_reason = reason;
        std::mem::replace(&mut self.status, status)
    }

    /// Forgets the attached number, as after a logout or an unlink on the phone.
    pub fn detach_number(&mut self) {
        self.phone_number = None;
        self.wa_jid = None;
        self.wa_lid = None;
    }

    /// Checks the settings against the contract's bounds, including `ratePerHour >= ratePerMin`.
    ///
    /// # Errors
    /// The first field out of bounds.
    pub fn validate_settings(&self) -> Result<(), FieldError> {
        validate_label(&self.label)?;
        validate_rates(self.rate_per_min, self.rate_per_hour)
    }
}

/// A partial update of the user-settable fields; absent fields are left alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = crate::examples::session_patch))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_read: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_typing: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_min: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_hour: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_admin_session: Option<bool>,
}

impl SessionPatch {
    /// Applies the patch to a row and validates the result as a whole, so that
    /// `ratePerHour >= ratePerMin` holds even when only one of them changes.
    ///
    /// # Errors
    /// The first field out of bounds; the row is left unchanged then.
    pub fn apply_to(&self, row: &Session) -> Result<Session, FieldError> {
        let mut next = row.clone();
        if let Some(label) = &self.label {
            next.label = label.clone();
        }
        if let Some(value) = self.auto_read {
            next.auto_read = value;
        }
        if let Some(value) = self.presence_typing {
            next.presence_typing = value;
        }
        if let Some(value) = self.rate_per_min {
            next.rate_per_min = value;
        }
        if let Some(value) = self.rate_per_hour {
            next.rate_per_hour = value;
        }
        if let Some(value) = self.is_admin_session {
            next.is_admin_session = value;
        }
        next.validate_settings()?;
        Ok(next)
    }
}

/// `label`: 1-100 characters, not only whitespace.
///
/// # Errors
/// A [`FieldError`] naming `label`.
pub fn validate_label(label: &str) -> Result<(), FieldError> {
    let chars = label.chars().count();
    if label.trim().is_empty() || chars > bounds::LABEL_MAX_CHARS {
        return Err(FieldError::new(
            "label",
            "must be 1-100 characters and not blank",
        ));
    }
    Ok(())
}

/// `ratePerMin` 1-1000, `ratePerHour` 1-60000 and `ratePerHour >= ratePerMin`.
///
/// # Errors
/// A [`FieldError`] naming the field at fault.
pub fn validate_rates(per_min: u32, per_hour: u32) -> Result<(), FieldError> {
    if !bounds::RATE_PER_MIN.contains(&per_min) {
        return Err(FieldError::new("ratePerMin", "must be between 1 and 1000"));
    }
    if !bounds::RATE_PER_HOUR.contains(&per_hour) {
        return Err(FieldError::new(
            "ratePerHour",
            "must be between 1 and 60000",
        ));
    }
    if per_hour < per_min {
        return Err(FieldError::new(
            "ratePerHour",
            "must be at least ratePerMin",
        ));
    }
    Ok(())
}

/// A phone number as the API takes it: digits only, 8-15 of them, country code first.
///
/// # Errors
/// A [`FieldError`] naming `field`.
pub fn validate_phone_number(field: &'static str, text: &str) -> Result<(), FieldError> {
    let digits_only = text.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || !(8..=15).contains(&text.len()) || text.starts_with('0') {
        return Err(FieldError::new(
            field,
            "must be 8-15 digits, country code first, without '+' or a leading 0",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{GatewayId, OrganizationId, SessionId};

    fn row() -> Session {
        Session::new(
            SessionId::generate(),
            OrganizationId::parse("org_1").expect("valid"),
            GatewayId::parse("gw-local-1").expect("valid"),
            "Support".into(),
            "user_1".into(),
            1,
        )
    }

    #[test]
    fn row_serializes_with_the_contract_field_names() {
        let json = serde_json::to_value(row()).expect("serializes");
        for field in [
            "organizationId",
            "gatewayId",
            "phoneNumber",
            "waJid",
            "waLid",
            "autoRead",
            "presenceTyping",
            "ratePerMin",
            "ratePerHour",
            "isAdminSession",
            "createdByUserId",
            "createdAt",
            "updatedAt",
            "lastConnectedAt",
            "statusReason",
        ] {
            assert!(json.get(field).is_some(), "missing {field}");
        }
        assert_eq!(json["status"], "stopped");
        assert!(json["phoneNumber"].is_null());
    }

    #[test]
    fn patch_validates_the_merged_rates() {
        let patch = SessionPatch {
            rate_per_min: Some(700),
            ..Default::default()
        };
        assert_eq!(
            patch.apply_to(&row()).map_err(|e| e.field),
            Err("ratePerHour")
        );
        let patch = SessionPatch {
            rate_per_min: Some(0),
            ..Default::default()
        };
        assert_eq!(
            patch.apply_to(&row()).map_err(|e| e.field),
            Err("ratePerMin")
        );
        let patch = SessionPatch {
            rate_per_hour: Some(60_001),
            ..Default::default()
        };
        assert_eq!(
            patch.apply_to(&row()).map_err(|e| e.field),
            Err("ratePerHour")
        );
        let patch = SessionPatch {
            label: Some("x".repeat(101)),
            ..Default::default()
        };
        assert_eq!(patch.apply_to(&row()).map_err(|e| e.field), Err("label"));
        let ok = SessionPatch {
            rate_per_min: Some(5),
            auto_read: Some(true),
            ..Default::default()
        };
        let next = ok.apply_to(&row()).expect("valid");
        assert_eq!((next.rate_per_min, next.auto_read), (5, true));
    }

    #[test]
    fn transition_returns_the_previous_status_and_sets_the_reason() {
        let mut row = row();
        row.status_reason = Some("old".into());
        let before = row.transition(SessionStatus::Failed, Some("banned".into()));
        assert_eq!(before, SessionStatus::Stopped);
        assert_eq!(
            (row.status, row.status_reason.as_deref()),
            (SessionStatus::Failed, Some("banned"))
        );
        row.transition(SessionStatus::Starting, None);
        assert_eq!(row.status_reason, None);
    }

    #[test]
    fn patch_refuses_unknown_fields() {
        assert!(serde_json::from_str::<SessionPatch>(r#"{"status":"working"}"#).is_err());
    }

    #[test]
    fn phone_numbers_are_8_to_15_digits() {
        assert!(validate_phone_number("phoneNumber", "6281234567890").is_ok());
        for bad in [
            "+6281234567890",
            "1234567",
            "1234567890123456",
            "62812abc",
            "0812345678",
        ] {
            assert!(
                validate_phone_number("phoneNumber", bad).is_err(),
                "{bad} accepted"
            );
        }
    }

    #[test]
    fn labels_are_1_to_100_characters_counted_as_chars() {
        assert!(validate_label(&"é".repeat(100)).is_ok());
        assert!(validate_label("   ").is_err());
        assert!(validate_label("").is_err());
    }
}
