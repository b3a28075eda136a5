//! Webhooks: the stored record (with its secret), what the API shows of it, which events it
//! receives, the delivery job the fan-out queues, and the dead letter a failed delivery leaves.
//!
//! # Examples
//! ```
//! use wagw_common::webhooks::event_filter_ok;
//! assert!(event_filter_ok(&["session.status".to_owned()]).is_ok());
//! assert!(event_filter_ok(&[]).is_err());
//! ```

use crate::events::{Event, types};
use crate::ids::{OrganizationId, SessionId, WebhookId};
use serde::{Deserialize, Serialize};

/// The JetStream work-queue stream of delivery jobs (`WAGW_WEBHOOKS_STREAM`).
pub const DEFAULT_WEBHOOKS_STREAM: &str = "WAGW_WEBHOOKS";
/// How long the delivery stream remembers a job's `Nats-Msg-Id` to drop a re-queued one (s).
pub const DELIVERY_DUPLICATE_WINDOW_SECS: u64 = 120;
/// The delivery stream's description, the same from the edge and the workers.
pub const DELIVERY_STREAM_DESCRIPTION: &str =
    "wagw webhook deliveries: one job per event and webhook";
/// Every webhook secret starts with this; the rest is 32 random bytes in hex.
pub const SECRET_PREFIX: &str = "whsec_";
/// The longest `url` accepted, in characters.
pub const URL_MAX_CHARS: usize = 2048;
/// Dead letters kept per webhook; the oldest failures are dropped beyond it.
pub const DEAD_LETTER_CAP: usize = 10_000;
/// `t=<unix ms>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
pub const SIGNATURE_HEADER: &str = "x-wagw-signature";
/// The event's id, the receiver's dedupe key.
pub const EVENT_ID_HEADER: &str = "x-wagw-event-id";

/// A webhook as stored in Redis, secret included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: WebhookId,
    pub organization_id: OrganizationId,
    pub url: String,
    /// `None`: every event type, including types added later.
    pub events: Option<Vec<String>>,
    /// `Some`: only that session's events.
    pub session_id: Option<SessionId>,
    /// `whsec_…`, the HMAC key of every delivery's signature.
    pub secret: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub created_by_user_id: String,
}

impl Webhook {
    /// Whether `event` goes to this webhook: its type is wanted, its session matches the
    /// filter, and it happened after the webhook was created (a new webhook gets no backlog).
    pub fn matches(&self, event: &Event) -> bool {
        let type_ok = self
            .events
            .as_ref()
            .is_none_or(|wanted| wanted.contains(&event.event_type));
        let session_ok = self.session_id.is_none_or(|id| id == event.session_id);
        type_ok
            && session_ok
            && event.organization_id == self.organization_id
            && event.at >= self.created_at
    }

    /// The record without its secret.
    pub fn view(&self) -> WebhookView {
        WebhookView {
            id: self.id,
            url: self.url.clone(),
            events: self.events.clone(),
            session_id: self.session_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            created_by_user_id: self.created_by_user_id.clone(),
        }
    }
}

/// A webhook as the API shows it: never the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = crate::examples::webhook_view))]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "01J9ZX8K2QHV0M3T6R7P4N5W8C"))]
    pub id: WebhookId,
    #[cfg_attr(
        feature = "openapi",
        schema(example = "https://example.com/hooks/wagw")
    )]
    pub url: String,
    /// The event types delivered; `null` means every type, including types added later.
    #[cfg_attr(feature = "openapi", schema(example = json!(["session.status", "message.received"])))]
    pub events: Option<Vec<String>>,
    /// Only this session's events when set; `null` = every session of the organization.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub session_id: Option<SessionId>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The JWT `sub` of the creator, or `apikey:<keyId>`.
    pub created_by_user_id: String,
}

/// One delivery to do: the event for one webhook. The webhook's url and secret are read at
/// each attempt, so an edit applies to deliveries already queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryJob {
    pub webhook_id: WebhookId,
    pub organization_id: OrganizationId,
    pub event: Event,
    /// When the job was queued (ms).
    pub queued_at: i64,
}

/// A delivery that failed for good: kept until redelivered, the webhook deleted, or pushed
/// out by [`DEAD_LETTER_CAP`] newer ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = crate::examples::dead_letter))]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub event: Event,
    /// HTTP attempts made.
    pub attempts: u32,
    /// The last attempt's failure, e.g. `HTTP 410` or `timed out after 10000 ms`.
    #[cfg_attr(feature = "openapi", schema(example = "HTTP 410 Gone"))]
    pub last_error: String,
    /// The last attempt's HTTP status; `null` when no response came (timeout, refused).
    pub last_status: Option<u16>,
    pub first_attempt_at: i64,
    pub failed_at: i64,
}

/// Why an `events` filter is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventFilterError {
    #[error("events must not be empty; omit it (or send null) for every type")]
    Empty,
    #[error("events: unknown event type {0:?}")]
    Unknown(String),
    #[error("events: {0:?} is listed twice")]
    Duplicate(String),
}

/// Checks an `events` filter: non-empty, known types, no duplicates.
///
/// # Errors
/// The first problem found.
pub fn event_filter_ok(events: &[String]) -> Result<(), EventFilterError> {
    if events.is_empty() {
        return Err(EventFilterError::Empty);
    }
    for (index, name) in events.iter().enumerate() {
        if !types::is_known(name) {
            return Err(EventFilterError::Unknown(name.clone()));
        }
        if events[..index].contains(name) {
            return Err(EventFilterError::Duplicate(name.clone()));
        }
    }
    Ok(())
}

/// The `x-wagw-signature` value for a timestamp and the hex HMAC.
pub fn signature_header(timestamp_ms: i64, hex_hmac: &str) -> String {
    format!("t={timestamp_ms},v1={hex_hmac}")
}

/// What a receiver signs: `"<t>.<raw body>"`.
pub fn signed_payload(timestamp_ms: i64, body: &[u8]) -> Vec<u8> {
    let mut payload = format!("{timestamp_ms}.").into_bytes();
    payload.extend_from_slice(body);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GatewayId;
    use serde_json::json;

    fn webhook(events: Option<Vec<&str>>, session: Option<SessionId>) -> Webhook {
        Webhook {
            id: WebhookId::generate(),
            organization_id: OrganizationId::parse("org_a").expect("valid"),
            url: "https://example.com/hook".into(),
            events: events.map(|e| e.into_iter().map(str::to_owned).collect()),
            session_id: session,
            secret: "whsec_00".into(),
            created_at: 1000,
            updated_at: 1000,
            created_by_user_id: "user_1".into(),
        }
    }

    fn event(event_type: &str, session: SessionId, org: &str, at: i64) -> Event {
        Event {
            id: ulid::Ulid::generate().to_string(),
            event_type: event_type.into(),
            session_id: session,
            organization_id: OrganizationId::parse(org).expect("valid"),
            gateway_id: GatewayId::parse("gw-a").expect("valid"),
            at,
            data: json!({}),
        }
    }

    #[test]
    fn matching_honours_type_session_organization_and_creation_time() {
        let (s1, s2) = (SessionId::generate(), SessionId::generate());
        let all = webhook(None, None);
        assert!(all.matches(&event("message.read", s1, "org_a", 1000)));
        assert!(!all.matches(&event("message.read", s1, "org_b", 2000)));
        assert!(!all.matches(&event("message.read", s1, "org_a", 999)));
        let typed = webhook(Some(vec!["session.status"]), Some(s1));
        assert!(typed.matches(&event("session.status", s1, "org_a", 2000)));
        assert!(!typed.matches(&event("session.paired", s1, "org_a", 2000)));
        assert!(!typed.matches(&event("session.status", s2, "org_a", 2000)));
    }

    #[test]
    fn event_filters_must_be_known_distinct_and_non_empty() {
        let list = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        assert!(event_filter_ok(&list(&types::ALL)).is_ok());
        assert_eq!(event_filter_ok(&[]), Err(EventFilterError::Empty));
        assert!(matches!(
            event_filter_ok(&list(&["session.bogus"])),
            Err(EventFilterError::Unknown(_))
        ));
        assert!(matches!(
            event_filter_ok(&list(&["session.qr", "session.qr"])),
            Err(EventFilterError::Duplicate(_))
        ));
    }

    #[test]
    fn the_signed_payload_is_timestamp_dot_body() {
        assert_eq!(signed_payload(17, b"{}"), b"17.{}");
        assert_eq!(signature_header(17, "ab"), "t=17,v1=ab");
    }
}
