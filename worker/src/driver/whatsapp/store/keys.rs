//! Redis keys of a session's WhatsApp state: one hash per kind under the session's shard hash
//! tag, `<prefix>:{<gw>:<shard>}:wa:<sessionId>:<kind>`, with the item as the hash field.
//!
//! Local on purpose: the lead moves these builders into `wagw_common::keys` later.

use wagw_common::SessionId;
use wagw_common::keys::Keys;
use wagw_common::shard::ShardRef;

/// Separates the parts of a composite hash field (chat, sender, id...); never in a JID.
pub const SEP: char = '\u{1f}';

/// The kinds of state, one hash each (mutation MACs: one hash per collection).
pub mod kind {
    pub const DEVICE: &str = "device";
    pub const IDENTITY: &str = "identity";
    pub const SESSION: &str = "session";
    pub const PREKEY: &str = "prekey";
    pub const SIGNED_PREKEY: &str = "signed-prekey";
    pub const SENDER_KEY: &str = "sender-key";
    pub const SYNC_KEY: &str = "sync-key";
    pub const SYNC_VERSION: &str = "sync-version";
    pub const SKD: &str = "sender-key-devices";
    pub const LID: &str = "lid";
    pub const PN: &str = "pn";
    pub const BASE_KEY: &str = "base-key";
    pub const DEVICE_LIST: &str = "device-list";
    pub const GROUP_META: &str = "group-meta";
    pub const TC_TOKEN: &str = "tc-token";
    pub const SENT: &str = "sent";
    pub const PENDING_INBOUND: &str = "pending-inbound";
    pub const MSG_SECRET: &str = "msg-secret";

    /// The hash of one app-state collection's mutation MACs.
    pub fn mutation_macs(collection: &str) -> String {
        format!("mutation-mac:{collection}")
    }
}

/// Where one session's WhatsApp state lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaKeys {
    base: String,
    session: String,
}

impl WaKeys {
    pub fn new(keys: &Keys, shard: &ShardRef, session: &SessionId) -> Self {
        Self {
            base: wa_state_prefix(keys, shard, session),
            session: session.to_string(),
        }
    }

    /// The hash of `kind`.
    pub fn hash(&self, kind: &str) -> String {
        format!("{}{kind}", self.base)
    }

    /// `SCAN MATCH` pattern of every key of the session's state.
    pub fn pattern(&self) -> String {
        format!("{}*", self.base)
    }

    /// The associated data binding a sealed value to its place.
    pub fn aad(&self, kind: &str, field: &str) -> String {
        format!("{}/{kind}/{field}", self.session)
    }
}

/// `<prefix>:{<gw>:<shard>}:wa:<sessionId>:`: the common start of a session's state keys.
pub fn wa_state_prefix(keys: &Keys, shard: &ShardRef, session: &SessionId) -> String {
    format!(
        "{}:{{{}:{}}}:wa:{session}:",
        keys.prefix(),
        shard.gateway,
        shard.shard
    )
}

/// Joins the parts of a composite field.
pub fn field(parts: &[&str]) -> String {
    parts.join(&SEP.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use wagw_common::GatewayId;

    #[test]
    fn keys_share_the_shard_hash_tag() {
        let keys = Keys::default();
        let shard = ShardRef::new(GatewayId::parse("gw-a").expect("valid"), 3);
        let id = SessionId::parse("01J9ZX8K2QHV0M3T6R7P4N5W8C").expect("valid");
        let wa = WaKeys::new(&keys, &shard, &id);
        assert_eq!(
            wa.hash(kind::SESSION),
            "wagw:{gw-a:3}:wa:01J9ZX8K2QHV0M3T6R7P4N5W8C:session"
        );
        assert!(keys.lease(&shard).contains("{gw-a:3}"));
        assert!(wa.pattern().ends_with(":wa:01J9ZX8K2QHV0M3T6R7P4N5W8C:*"));
    }
}
