//! The only place Redis key strings are built.
//!
//! Everything a session owns lives under its shard's hash tag `{<gw>:<shard>}`, so one Lua
//! script can check the shard's fencing epoch and write a row with its indexes in one slot
//! (Redis Cluster stays possible). API keys live under their organization's tag.
//!
//! # Examples
//! ```
//! use wagw_common::{GatewayId, SessionId, keys::Keys, shard::ShardRef};
//! let keys = Keys::new("wagw").unwrap();
//! let shard = ShardRef::new(GatewayId::parse("gw-sg-1").unwrap(), 7);
//! let id = SessionId::parse("01J9ZX8K2QHV0M3T6R7P4N5W8C").unwrap();
//! assert_eq!(keys.session(&shard, &id), "wagw:{gw-sg-1:7}:session:01J9ZX8K2QHV0M3T6R7P4N5W8C");
//! ```

use crate::ids::{ApiKeyId, GatewayId, IdError, OrganizationId, SessionId, WebhookId};
use crate::shard::ShardRef;

/// Builds keys under one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// # Errors
    /// When `prefix` is empty or has characters other than `[A-Za-z0-9_:.-]`; braces would
    /// break the hash tags.
    pub fn new(prefix: &str) -> Result<Self, IdError> {
        let ok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'.' | b'-');
        if prefix.is_empty() || !prefix.bytes().all(ok) {
            return Err(IdError {
                what: "key prefix",
                rule: "non-empty, of A-Z, a-z, 0-9, '_', ':', '.' and '-'",
            });
        }
        Ok(Self {
            prefix: prefix.to_owned(),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn in_shard(&self, shard: &ShardRef, rest: &str) -> String {
        format!(
            "{}:{{{}:{}}}:{rest}",
            self.prefix, shard.gateway, shard.shard
        )
    }

    /// The session row, JSON.
    pub fn session(&self, shard: &ShardRef, id: &SessionId) -> String {
        self.in_shard(shard, &format!("session:{id}"))
    }

    /// Sorted set of every session id in the shard (score 0, ordered by id, i.e. by age).
    pub fn shard_sessions(&self, shard: &ShardRef) -> String {
        self.in_shard(shard, "sessions")
    }

    /// Sorted set of one organization's session ids in the shard (score 0, by id).
    pub fn org_sessions(&self, shard: &ShardRef, org: &OrganizationId) -> String {
        self.in_shard(shard, &format!("org:{org}"))
    }

    /// The driver's credentials of a paired session (the real driver's keys, the sim's pairing).
    pub fn credentials(&self, shard: &ShardRef, id: &SessionId) -> String {
        self.in_shard(shard, &format!("creds:{id}"))
    }

    /// The current QR of a pairing under way, with a TTL until it expires.
    pub fn pairing_qr(&self, shard: &ShardRef, id: &SessionId) -> String {
        self.in_shard(shard, &format!("qr:{id}"))
    }

    /// The current pairing code of a pairing by code under way (with the phone number it was
    /// asked for), with a TTL until it expires.
    pub fn pairing_code(&self, shard: &ShardRef, id: &SessionId) -> String {
        self.in_shard(shard, &format!("paircode:{id}"))
    }

    /// `<prefix>:{<gw>:<shard>}:wa:<sessionId>:`, the start of every key of a session's
    /// WhatsApp state (one hash per kind); the set is open-ended (one hash per app-state
    /// collection), so it is found by [`Self::wa_state_pattern`].
    pub fn wa_state_prefix(&self, shard: &ShardRef, id: &SessionId) -> String {
        self.in_shard(shard, &format!("wa:{id}:"))
    }

    /// One hash of a session's WhatsApp state, e.g. `session` or `mutation-mac:regular`.
    pub fn wa_state(&self, shard: &ShardRef, id: &SessionId, kind: &str) -> String {
        format!("{}{kind}", self.wa_state_prefix(shard, id))
    }

    /// `SCAN MATCH` pattern of every key of a session's WhatsApp state. No glob character can
    /// occur in the prefix: key prefixes, gateway ids and session ids exclude them.
    pub fn wa_state_pattern(&self, shard: &ShardRef, id: &SessionId) -> String {
        format!("{}*", self.wa_state_prefix(shard, id))
    }

    /// A session's send-rate state: one hash holding a theoretical arrival time per limit
    /// (`min`, `hour`), shared by every edge; it expires once the session has been idle long
    /// enough that it would be empty anyway.
    pub fn send_rate(&self, shard: &ShardRef, id: &SessionId) -> String {
        self.in_shard(shard, &format!("rate:{id}"))
    }

    /// An `Idempotency-Key` of a session's sends: JSON `{messageId, fingerprint, state}`, kept
    /// [`crate::messages::IDEMPOTENCY_TTL_SECS`]. The client's key is hashed (hex SHA-256), so
    /// any bytes it sends make a safe key.
    pub fn idempotency(&self, shard: &ShardRef, id: &SessionId, key_sha256_hex: &str) -> String {
        self.in_shard(shard, &format!("idem:{id}:{key_sha256_hex}"))
    }

    /// An outgoing message's state as its worker records it (sending, sent with WhatsApp's id,
    /// failed), written fenced so a redelivered job is never sent twice.
    pub fn message(&self, shard: &ShardRef, id: &SessionId, message_id: &str) -> String {
        self.in_shard(shard, &format!("msg:{id}:{message_id}"))
    }

    /// WhatsApp's id of a message we sent → our message id, to name receipts.
    pub fn wa_message(&self, shard: &ShardRef, id: &SessionId, wa_message_id: &str) -> String {
        self.in_shard(shard, &format!("wamsg:{id}:{wa_message_id}"))
    }

    /// The shard's lease: `<workerId> <epoch>`, with a TTL.
    pub fn lease(&self, shard: &ShardRef) -> String {
        self.in_shard(shard, "lease")
    }

    /// The shard's fencing epoch, incremented on every acquisition.
    pub fn epoch(&self, shard: &ShardRef) -> String {
        self.in_shard(shard, "epoch")
    }

    /// The gateway's shard count, recorded by its first worker.
    pub fn shard_count(&self, gw: &GatewayId) -> String {
        format!("{}:gw:{gw}:shards", self.prefix)
    }

    /// Sorted set of the gateway's live workers, scored by their last heartbeat (ms).
    pub fn members(&self, gw: &GatewayId) -> String {
        format!("{}:gw:{gw}:members", self.prefix)
    }

    /// A worker's self-description (shards held, driver), with a TTL a little past a heartbeat.
    pub fn member_info(&self, gw: &GatewayId, worker: &str) -> String {
        format!("{}:gw:{gw}:member:{worker}", self.prefix)
    }

    /// Maps the SHA-256 (hex) of an API key to a copy of its record (older keys: to
    /// `<orgId> <keyId>`); deleting it revokes the key.
    pub fn api_key_by_hash(&self, sha256_hex: &str) -> String {
        format!("{}:apikey-hash:{sha256_hex}", self.prefix)
    }

    /// An API key's record (JSON, without the secret).
    pub fn api_key(&self, org: &OrganizationId, id: &ApiKeyId) -> String {
        format!("{}:{{org:{org}}}:apikey:{id}", self.prefix)
    }

    /// Sorted set of an organization's API key ids.
    pub fn org_api_keys(&self, org: &OrganizationId) -> String {
        format!("{}:{{org:{org}}}:apikeys", self.prefix)
    }

    /// Hash of an organization's webhooks: webhook id → record JSON (with its secret).
    pub fn webhooks(&self, org: &OrganizationId) -> String {
        format!("{}:{{org:{org}}}:webhooks", self.prefix)
    }

    /// Sorted set of a webhook's dead letters: event id scored by failure time (ms).
    pub fn webhook_dead_letters(&self, org: &OrganizationId, id: &WebhookId) -> String {
        format!("{}:{{org:{org}}}:webhook:{id}:dead", self.prefix)
    }

    /// Hash of a webhook's dead letters: event id → dead letter JSON.
    pub fn webhook_dead_letter_records(&self, org: &OrganizationId, id: &WebhookId) -> String {
        format!("{}:{{org:{org}}}:webhook:{id}:dead-records", self.prefix)
    }

    /// Hash of a webhook's deliveries under retry: `<eventId>` → failed attempts so far,
    /// `<eventId>:first` → when the first attempt started (ms).
    pub fn webhook_attempts(&self, org: &OrganizationId, id: &WebhookId) -> String {
        format!("{}:{{org:{org}}}:webhook:{id}:attempts", self.prefix)
    }
}

impl Default for Keys {
    fn default() -> Self {
        Self {
            prefix: "wagw".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_keys_share_the_shard_hash_tag() {
        let keys = Keys::default();
        let shard = ShardRef::new(GatewayId::parse("gw-a").expect("valid"), 3);
        let id = SessionId::generate();
        let org = OrganizationId::parse("org_1").expect("valid");
        for key in [
            keys.session(&shard, &id),
            keys.shard_sessions(&shard),
            keys.org_sessions(&shard, &org),
            keys.credentials(&shard, &id),
            keys.lease(&shard),
            keys.epoch(&shard),
            keys.pairing_qr(&shard, &id),
            keys.wa_state(&shard, &id, "session"),
        ] {
            assert!(key.contains("{gw-a:3}"), "{key}");
        }
    }

    #[test]
    fn wa_state_keys_keep_their_format() {
        let keys = Keys::default();
        let shard = ShardRef::new(GatewayId::parse("gw-a").expect("valid"), 3);
        let id = SessionId::parse("01J9ZX8K2QHV0M3T6R7P4N5W8C").expect("valid");
        let prefix = "wagw:{gw-a:3}:wa:01J9ZX8K2QHV0M3T6R7P4N5W8C:";
        assert_eq!(keys.wa_state_prefix(&shard, &id), prefix);
        assert_eq!(
            keys.wa_state(&shard, &id, "session"),
            format!("{prefix}session")
        );
        assert_eq!(
            keys.wa_state(&shard, &id, "mutation-mac:regular"),
            format!("{prefix}mutation-mac:regular")
        );
        assert_eq!(keys.wa_state_pattern(&shard, &id), format!("{prefix}*"));
    }

    #[test]
    fn send_rate_key_keeps_its_format_under_the_shard_hash_tag() {
        let keys = Keys::default();
        let shard = ShardRef::new(GatewayId::parse("gw-a").expect("valid"), 3);
        let id = SessionId::parse("01J9ZX8K2QHV0M3T6R7P4N5W8C").expect("valid");
        assert_eq!(
            keys.send_rate(&shard, &id),
            "wagw:{gw-a:3}:rate:01J9ZX8K2QHV0M3T6R7P4N5W8C"
        );
    }

    #[test]
    fn webhook_keys_share_the_organization_hash_tag() {
        let keys = Keys::default();
        let org = OrganizationId::parse("org_1").expect("valid");
        let id = WebhookId::parse("01J9ZX8K2QHV0M3T6R7P4N5W8C").expect("valid");
        assert_eq!(keys.webhooks(&org), "wagw:{org:org_1}:webhooks");
        for key in [
            keys.webhook_dead_letters(&org, &id),
            keys.webhook_dead_letter_records(&org, &id),
            keys.webhook_attempts(&org, &id),
        ] {
            assert!(
                key.starts_with("wagw:{org:org_1}:webhook:01J9ZX8K2QHV0M3T6R7P4N5W8C:"),
                "{key}"
            );
        }
    }

    #[test]
    fn prefixes_with_braces_are_refused() {
        assert!(Keys::new("wa{gw}").is_err());
        assert!(Keys::new("").is_err());
        assert!(Keys::new("test:01ABC").is_ok());
    }
}
