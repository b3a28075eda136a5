//! Validated identifiers. Every id that crosses a boundary is parsed into one of these newtypes,
//! so a malformed id is refused where it enters, with the name of the field at fault.
//!
//! # Examples
//! ```
//! use wagw_common::{GatewayId, SessionId};
//! let id = SessionId::parse("01J9ZX8K2QHV0M3T6R7P4N5W8C").unwrap();
//! assert_eq!(id.to_string(), "01J9ZX8K2QHV0M3T6R7P4N5W8C");
//! assert!(GatewayId::parse("gw-sg-1").is_ok());
//! assert!(GatewayId::parse("GW.sg").is_err());
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;
use ulid::Ulid;

/// Why an id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be {rule}")]
pub struct IdError {
    /// The kind of id, e.g. "session id".
    pub what: &'static str,
    /// The rule it broke, phrased for a human.
    pub rule: &'static str,
}

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Ulid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn generate() -> Self {
                Self(Ulid::generate())
            }

            /// Parses the canonical form: 26 characters of upper-case Crockford base32.
            ///
            /// # Errors
            /// [`IdError`] when the text is not a canonical ULID.
            pub fn parse(text: &str) -> Result<Self, IdError> {
                const RULE: &str = "a ULID: 26 upper-case Crockford base32 characters";
                let err = IdError { what: $what, rule: RULE };
                if text.len() != 26 || text.bytes().any(|b| b.is_ascii_lowercase()) {
                    return Err(err);
                }
                let ulid = Ulid::from_string(text).map_err(|_| err.clone())?;
                // Only the canonical spelling is accepted, so one session has one id string.
                if ulid.to_string() != text {
                    return Err(err);
                }
                Ok(Self(ulid))
            }

            /// Milliseconds since the Unix epoch at which the id was generated.
            pub fn timestamp_ms(&self) -> u64 {
                self.0.timestamp_ms()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

ulid_id!(
    /// A session: one attached (or to-be-attached) WhatsApp number.
    SessionId,
    "session id"
);
ulid_id!(
    /// An API key's public id (never the secret).
    ApiKeyId,
    "API key id"
);
ulid_id!(
    /// A webhook: one endpoint an organization receives events at.
    WebhookId,
    "webhook id"
);

macro_rules! token_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $rule:literal, $max:literal, $allowed:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses and validates the id.
            ///
            /// # Errors
            /// [`IdError`] when the text is empty, too long, or has a character not allowed.
            pub fn parse(text: &str) -> Result<Self, IdError> {
                let allowed: fn(u8) -> bool = $allowed;
                if text.is_empty() || text.len() > $max || !text.bytes().all(allowed) {
                    return Err(IdError { what: $what, rule: $rule });
                }
                Ok(Self(text.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

token_id!(
    /// A gateway: one worker fleet, usually one per region (`gw-sg-1`). It appears in subjects
    /// and Redis hash tags, so it is restricted to lower-case letters, digits and `-`.
    GatewayId,
    "gateway id",
    "1-64 characters of a-z, 0-9 and '-'",
    64,
    |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
);
token_id!(
    /// An organization, as named by the login JWT's `org_id` claim (`org_01J9ABC`).
    OrganizationId,
    "organization id",
    "1-64 characters of A-Z, a-z, 0-9, '_' and '-'",
    64,
    |b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
);
token_id!(
    /// One worker process; unique within its gateway.
    WorkerId,
    "worker id",
    "1-128 characters of A-Z, a-z, 0-9, '_' and '-'",
    128,
    |b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_accepts_only_canonical_ulids() {
        let fresh = SessionId::generate().to_string();
        assert_eq!(
            SessionId::parse(&fresh).map(|id| id.to_string()),
            Ok(fresh.clone())
        );
        assert!(SessionId::parse(&fresh.to_lowercase()).is_err());
        assert!(SessionId::parse("sess_123").is_err());
        assert!(SessionId::parse("").is_err());
        // 26 characters, but the first one overflows 128 bits.
        assert!(SessionId::parse("81J9ZX8K2QHV0M3T6R7P4N5W8C").is_err());
    }

    #[test]
    fn token_ids_refuse_subject_and_hash_tag_metacharacters() {
        for bad in ["gw.sg", "gw*", "gw>", "gw{1}", "GW-1", "", "gw 1"] {
            assert!(GatewayId::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(OrganizationId::parse("org_01J9ABC").is_ok());
        assert!(OrganizationId::parse("org:1").is_err());
        assert!(OrganizationId::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn ids_round_trip_through_json() {
        let id = SessionId::generate();
        let json = serde_json::to_string(&id).expect("serializes");
        assert_eq!(serde_json::from_str::<SessionId>(&json).ok(), Some(id));
        assert!(serde_json::from_str::<GatewayId>("\"Bad.Gw\"").is_err());
    }
}
