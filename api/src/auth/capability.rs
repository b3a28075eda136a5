//! Capabilities: what a principal may do, and how JWT roles map onto them.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// One permission, as api.md's capability table lists them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    /// List and get sessions.
    Read,
    /// Create, update, delete, start, stop, restart, log out sessions; QR and pairing code.
    Manage,
    /// Send messages from a session.
    Send,
    /// Manage and send from sessions with `isAdminSession: true`; set that flag.
    Admin,
    /// Create, list and revoke the organization's API keys (JWT principals only).
    Keys,
}

impl Capability {
    pub const ALL: [Capability; 5] = [
        Self::Read,
        Self::Manage,
        Self::Send,
        Self::Admin,
        Self::Keys,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Manage => "manage",
            Self::Send => "send",
            Self::Admin => "admin",
            Self::Keys => "keys",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|cap| cap.as_str() == text)
    }

    /// Whether an API key may carry it: every capability but `keys`.
    pub fn grantable_to_api_key(self) -> bool {
        self != Self::Keys
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Capability {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse(text).ok_or_else(|| format!("unknown capability {text:?}"))
    }
}

/// The capabilities of a login JWT's `role`: `owner` and `admin` get all five, `member` gets
/// `read` and `send`, `viewer` gets `read`, anything else none.
pub fn for_role(role: &str) -> BTreeSet<Capability> {
    match role {
        "owner" | "admin" => Capability::ALL.into_iter().collect(),
        "member" => [Capability::Read, Capability::Send].into_iter().collect(),
        "viewer" => [Capability::Read].into_iter().collect(),
        _ => BTreeSet::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_map_to_the_contract_capabilities() {
        assert_eq!(for_role("owner").len(), 5);
        assert_eq!(for_role("admin").len(), 5);
        assert_eq!(
            for_role("member"),
            [Capability::Read, Capability::Send].into_iter().collect()
        );
        assert_eq!(for_role("viewer"), [Capability::Read].into_iter().collect());
        assert!(for_role("superuser").is_empty());
        assert!(for_role("Owner").is_empty());
    }

    #[test]
    fn capabilities_are_lower_case_on_the_wire() {
        let json =
            serde_json::to_string(&[Capability::Read, Capability::Keys]).expect("serializes");
        assert_eq!(json, r#"["read","keys"]"#);
        assert_eq!(Capability::parse("manage"), Some(Capability::Manage));
        assert_eq!(Capability::parse("MANAGE"), None);
        assert!(!Capability::Keys.grantable_to_api_key());
    }
}
