//! The worker's record of each outgoing message (`sending`, `sent`, `failed`) and the map from
//! WhatsApp's message id back to ours, both fenced like row writes and kept
//! [`MESSAGE_RECORD_TTL`]; they make a redelivered send job a no-op.

use super::scripts::WRITE_MESSAGE;
use super::{Fence, Store, StoreError};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use wagw_common::SessionId;

/// How long a message's record (and its WhatsApp id map) is kept: as long as the send stream
/// keeps a job, so any redelivery still finds it.
pub const MESSAGE_RECORD_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Where an outgoing message stands in the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    /// The driver was (or is about to be) asked to send it; a crash leaves it here, and the
    /// next attempt sends again with the same WhatsApp id.
    Sending,
    /// WhatsApp took it.
    Sent,
    /// It will not be sent.
    Failed,
}

/// `{state, waMessageId, eventId?, reason?, at}` at `Keys::message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRecord {
    pub state: SendState,
    pub wa_message_id: String,
    /// The id of the `message.sent` / `message.failed` event, so a job redelivered after a
    /// failed publish republishes the same event (stored once, deduped by id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the state was written, ms since the epoch.
    pub at: i64,
}

impl Store {
    /// The record of a message, if one was written.
    ///
    /// # Errors
    /// Redis errors, or a record that does not parse.
    pub async fn load_message(
        &self,
        shard: u32,
        id: &SessionId,
        message_id: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let key = self.keys.message(&self.shard_ref(shard), id, message_id);
        self.get_json(key, "message record").await
    }

    /// Writes a message's record; with `map_wa_id`, also the map from its WhatsApp id to
    /// `message_id`, so receipts can name our id.
    ///
    /// # Errors
    /// [`StoreError::Fenced`] when the lease moved; Redis errors.
    pub async fn write_message(
        &self,
        fence: &Fence,
        id: &SessionId,
        message_id: &str,
        record: &MessageRecord,
        map_wa_id: bool,
    ) -> Result<(), StoreError> {
        let shard = self.shard_ref(fence.shard);
        let key = self.keys.message(&shard, id, message_id);
        let json = serde_json::to_string(record).map_err(|source| StoreError::Corrupt {
            what: "message record",
            key: key.clone(),
            source,
        })?;
        let ttl_ms = u64::try_from(MESSAGE_RECORD_TTL.as_millis()).unwrap_or(u64::MAX);
        let mut invocation = WRITE_MESSAGE.key(self.keys.lease(&shard));
        invocation.key(key).arg(&fence.token).arg(json).arg(ttl_ms);
        if map_wa_id {
            invocation
                .key(self.keys.wa_message(&shard, id, &record.wa_message_id))
                .arg(message_id);
        }
        self.run_fenced(fence, &mut invocation).await
    }

    /// Our message id of a message this session sent, by WhatsApp's id.
    ///
    /// # Errors
    /// Redis errors.
    pub async fn message_id_of(
        &self,
        shard: u32,
        id: &SessionId,
        wa_message_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let key = self
            .keys
            .wa_message(&self.shard_ref(shard), id, wa_message_id);
        Ok(self.conn().get(&key).await?)
    }
}
