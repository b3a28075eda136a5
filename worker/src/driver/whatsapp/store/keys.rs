//! Where a session's WhatsApp state lives: one hash per kind under the session's shard hash
//! tag, `<prefix>:{<gw>:<shard>}:wa:<sessionId>:<kind>` (built by `wagw_common::keys`), with
//! the item as the hash field; the kinds, the composite fields and the sealing's associated
//! data are store-internal and stay here.

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
    /// Sorted set of the `SENT` fields by insertion order, for its size cap.
    pub const SENT_ORDER: &str = "sent-order";
    pub const PENDING_INBOUND: &str = "pending-inbound";
    pub const MSG_SECRET: &str = "msg-secret";

    /// The hash of one app-state collection's mutation MACs.
    pub fn mutation_macs(collection: &str) -> String {
        format!("mutation-mac:{collection}")
    }
}

/// Where one session's WhatsApp state lives: the common key builders bound to one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaKeys {
    keys: Keys,
    shard: ShardRef,
    session: SessionId,
}

impl WaKeys {
    pub fn new(keys: &Keys, shard: &ShardRef, session: &SessionId) -> Self {
        Self {
            keys: keys.clone(),
            shard: shard.clone(),
            session: *session,
        }
    }

    /// The hash of `kind`.
    pub fn hash(&self, kind: &str) -> String {
        self.keys.wa_state(&self.shard, &self.session, kind)
    }

    /// `SCAN MATCH` pattern of every key of the session's state.
    pub fn pattern(&self) -> String {
        self.keys.wa_state_pattern(&self.shard, &self.session)
    }

    /// The associated data binding a sealed value to its place.
    pub fn aad(&self, kind: &str, field: &str) -> String {
        format!("{}/{kind}/{field}", self.session)
    }
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
        assert_eq!(
            wa.hash(&kind::mutation_macs("regular")),
            "wagw:{gw-a:3}:wa:01J9ZX8K2QHV0M3T6R7P4N5W8C:mutation-mac:regular"
        );
        assert_eq!(
            wa.pattern(),
            "wagw:{gw-a:3}:wa:01J9ZX8K2QHV0M3T6R7P4N5W8C:*"
        );
    }
}
