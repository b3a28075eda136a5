//! Controls of the simulated phone (`WAGW_DRIVER=sim`), sent on `<root>.sim.<gw>.<session>.<action>`.
//!
//! The owning worker answers each with a [`crate::wire::Reply`].

use serde::{Deserialize, Serialize};

/// What a test or a demo makes the simulated phone or network do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimAction {
    /// The phone scans the current QR or confirms the pairing code.
    Pair,
    /// The network drops; the worker reconnects by itself.
    Disconnect,
    /// The user removes the linked device on the phone.
    Unlink,
    /// A message arrives from someone.
    Incoming,
    /// The connection fails hard and keeps failing until `:restart`.
    Fail,
}

impl SimAction {
    pub const ALL: [SimAction; 5] = [
        Self::Pair,
        Self::Disconnect,
        Self::Unlink,
        Self::Incoming,
        Self::Fail,
    ];

    pub fn token(self) -> &'static str {
        match self {
            Self::Pair => "pair",
            Self::Disconnect => "disconnect",
            Self::Unlink => "unlink",
            Self::Incoming => "incoming",
            Self::Fail => "fail",
        }
    }

    pub fn parse(token: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|action| action.token() == token)
    }
}

/// Body of `pair`. Without a number the sim invents one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PairControl {
    #[serde(default)]
    pub phone_number: Option<String>,
}

/// Body of `incoming`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IncomingControl {
    pub from: String,
    pub text: String,
}

/// Body of `fail`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FailControl {
    #[serde(default = "default_fail_reason")]
    pub reason: String,
}

fn default_fail_reason() -> String {
    "simulated connection failure".to_owned()
}
