//! Outgoing messages: the request body's rules, the job the edge hands to the send stream, and
//! the status a message moves through.
//!
//! A send travels as a JetStream message on the session's `send` command subject
//! (`<root>.cmd.<gw>.<shard>.<session>.send`), captured by the gateway's send stream
//! ([`send_stream_name`]); the stream's acknowledgement is the edge's proof of durable
//! acceptance, and the owning worker consumes the shard's sends from it.
//!
//! # Examples
//! ```
//! use wagw_common::messages::{recipient_jid, send_stream_name};
//! use wagw_common::GatewayId;
//! assert_eq!(recipient_jid("to", "6281234567890").unwrap(), "6281234567890@s.whatsapp.net");
//! assert_eq!(recipient_jid("to", "120363025246125486@g.us").unwrap(), "120363025246125486@g.us");
//! assert!(recipient_jid("to", "+62 812").is_err());
//! let gw = GatewayId::parse("gw-sg-1").unwrap();
//! assert_eq!(send_stream_name("WAGW_SEND", &gw), "WAGW_SEND_gw-sg-1");
//! ```

use crate::error::FieldError;
use crate::ids::{GatewayId, OrganizationId};
use crate::session::validate_phone_number;
use serde::{Deserialize, Serialize};

/// The default prefix of the per-gateway send stream names (`WAGW_SEND_STREAM_PREFIX`).
pub const DEFAULT_SEND_STREAM_PREFIX: &str = "WAGW_SEND";
/// How long a send stream remembers a job's `Nats-Msg-Id` (the message id) to drop a
/// republished job. The edge and the workers create the stream with the same settings.
pub const SEND_STREAM_DUPLICATE_WINDOW_SECS: u64 = 120;
/// How long a send stream keeps a job no worker has consumed (a gateway with no worker for this
/// long loses it).
pub const SEND_STREAM_MAX_AGE_SECS: u64 = 7 * 24 * 3600;
/// Bounds of `text`, in characters (Unicode scalar values).
pub const TEXT_CHARS: std::ops::RangeInclusive<usize> = 1..=65_536;
/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_TTL_SECS: u64 = 24 * 3600;
/// The longest `Idempotency-Key` accepted, in bytes.
pub const IDEMPOTENCY_KEY_MAX_LEN: usize = 255;

/// JID servers a message may be sent to: people, their LID, and groups.
const SERVERS: [&str; 3] = ["s.whatsapp.net", "lid", "g.us"];

/// The JetStream stream holding a gateway's accepted sends, e.g. `WAGW_SEND_gw-sg-1`.
pub fn send_stream_name(prefix: &str, gw: &GatewayId) -> String {
    format!("{prefix}_{gw}")
}

/// `to` as a JID: digits (as `phoneNumber`) become `<digits>@s.whatsapp.net`; a full JID on
/// `s.whatsapp.net`, `lid` or `g.us` is kept as it is.
///
/// # Errors
/// A [`FieldError`] naming `field` when `to` is neither.
pub fn recipient_jid(field: &'static str, to: &str) -> Result<String, FieldError> {
    let Some((user, server)) = to.split_once('@') else {
        validate_phone_number(field, to)?;
        return Ok(format!("{to}@s.whatsapp.net"));
    };
    let user_ok = !user.is_empty()
        && user.len() <= 64
        && user.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    if !user_ok || !SERVERS.contains(&server) {
        return Err(FieldError::new(
            field,
            "must be 8-15 digits, or a JID such as <digits>@s.whatsapp.net, <digits>@lid or <id>@g.us",
        ));
    }
    Ok(to.to_owned())
}

/// Checks `text` against [`TEXT_CHARS`].
///
/// # Errors
/// A [`FieldError`] naming `field`.
pub fn validate_text(field: &'static str, text: &str) -> Result<(), FieldError> {
    // Count characters only as far as needed: a 1 MiB body must not cost a full scan twice.
    let chars = text.chars().take(TEXT_CHARS.end() + 1).count();
    if !TEXT_CHARS.contains(&chars) {
        return Err(FieldError::new(field, "must be 1-65536 characters"));
    }
    Ok(())
}

/// Where an outgoing message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Durably accepted; the owning worker will send it.
    Queued,
    /// WhatsApp took it (`message.sent`).
    Sent,
    /// The recipient's phone got it (`message.delivered`).
    Delivered,
    /// The recipient read it (`message.read`).
    Read,
    /// It will not be sent (`message.failed`, with the reason).
    Failed,
}

/// The answer to an accepted send: `202 {id, status}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = crate::examples::message_accepted))]
#[serde(rename_all = "camelCase")]
pub struct MessageAccepted {
    /// The message's ULID; every `message.*` event names it as `messageId`.
    #[cfg_attr(feature = "openapi", schema(example = "01J9ZXB3C5D7E9F1G3H5J7K9M1"))]
    pub id: String,
    /// Always `queued` in this answer.
    pub status: MessageStatus,
}

/// The send job: what the edge publishes on the session's `send` subject once the message is
/// admitted, and what the owning worker consumes. The session id and shard are in the subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendMessageV1 {
    pub organization_id: OrganizationId,
    /// The message's ULID, also the stream's `Nats-Msg-Id`, so a republished job is stored once.
    pub message_id: String,
    /// The recipient as a JID (see [`recipient_jid`]).
    pub to: String,
    pub text: String,
    /// When the edge accepted it, ms since the epoch.
    pub accepted_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_digits_or_known_jids() {
        assert_eq!(
            recipient_jid("to", "6281234567890").ok().as_deref(),
            Some("6281234567890@s.whatsapp.net")
        );
        for good in [
            "6281234567890@s.whatsapp.net",
            "205227043110953@lid",
            "120363025246125486@g.us",
            "6281234567890-1600000000@g.us",
        ] {
            assert_eq!(recipient_jid("to", good).ok().as_deref(), Some(good));
        }
        for bad in [
            "",
            "+6281234567890",
            "0812345678",
            "@s.whatsapp.net",
            "628@example.com",
            "62 81@s.whatsapp.net",
            "abc@g.us",
        ] {
            let err = recipient_jid("to", bad).expect_err(bad);
            assert_eq!(err.field, "to");
        }
    }

    #[test]
    fn text_is_one_to_65536_characters() {
        assert!(validate_text("text", "").is_err());
        assert!(validate_text("text", "hi").is_ok());
        assert!(validate_text("text", &"é".repeat(65_536)).is_ok());
        assert!(validate_text("text", &"x".repeat(65_537)).is_err());
    }

    #[test]
    fn the_accepted_answer_has_the_contract_shape() {
        let accepted = MessageAccepted {
            id: "01J9ZXB3C5D7E9F1G3H5J7K9M1".into(),
            status: MessageStatus::Queued,
        };
        assert_eq!(
            serde_json::to_value(&accepted).expect("serializes"),
            serde_json::json!({"id": "01J9ZXB3C5D7E9F1G3H5J7K9M1", "status": "queued"})
        );
    }
}
