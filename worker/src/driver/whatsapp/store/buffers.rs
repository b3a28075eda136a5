//! Trusted-contact tokens, the sent-message store (retries, capped at [`SENT_CAP`]) and the
//! pending-inbound buffer of [`RedisBackend`], behind its `ProtocolStore`. Merges and takes run
//! under the backend's read-modify-write lock.

use super::keys::field;
use super::keys::kind::{PENDING_INBOUND, SENT, SENT_ORDER, TC_TOKEN};
use super::{Batch, RedisBackend, Res};
use serde::{Deserialize, Serialize};
use whatsapp_rust::store::TcTokenEntry;
use whatsapp_rust::wacore::time::now_secs;

/// How many sent messages a session keeps for retry receipts (as the library's reference
/// store); storing one more evicts the oldest.
pub(crate) const SENT_CAP: usize = 4096;

/// A buffered message with when it was stored (unix seconds).
#[derive(Debug, Serialize, Deserialize)]
struct Stamped {
    payload: Vec<u8>,
    at: i64,
}

impl RedisBackend {
    pub(crate) async fn tc_get(&self, jid: &str) -> Res<Option<TcTokenEntry>> {
        Ok(self.get_json(TC_TOKEN, jid).await?)
    }

    pub(crate) async fn tc_put(&self, jid: &str, entry: &TcTokenEntry) -> Res<()> {
        let mut batch = Batch::default();
        self.set_json(&mut batch, TC_TOKEN, jid, entry)?;
        self.apply(batch).await?;
        Ok(())
    }

    pub(crate) async fn tc_delete(&self, jid: &str) -> Res<()> {
        self.del_one(TC_TOKEN, jid).await
    }

    pub(crate) async fn tc_jids(&self) -> Res<Vec<String>> {
        Ok(self.fields(TC_TOKEN).await?)
    }

    pub(crate) async fn tc_delete_expired(
        &self,
        token_cutoff: i64,
        sender_cutoff: i64,
    ) -> Res<u32> {
        let _guard = self.lock().await;
        let mut batch = Batch::default();
        let mut removed = 0u32;
        for (jid, plain) in self.get_all(TC_TOKEN).await? {
            let entry: TcTokenEntry = super::parse(TC_TOKEN, &plain)?;
            let token_live = !entry.token.is_empty() && entry.token_timestamp >= token_cutoff;
            let sender_live = entry.sender_timestamp.is_some_and(|ts| ts >= sender_cutoff);
            if !token_live && !sender_live {
                self.hdel(&mut batch, TC_TOKEN, &jid);
                removed += 1;
            }
        }
        self.apply(batch).await?;
        Ok(removed)
    }

    pub(crate) async fn tc_touch_sender(&self, jid: &str, sender_timestamp: i64) -> Res<()> {
        let _guard = self.lock().await;
        let entry = match self.tc_get(jid).await? {
            Some(existing) => TcTokenEntry {
                sender_timestamp: Some(
                    existing
                        .sender_timestamp
                        .map_or(sender_timestamp, |e| e.max(sender_timestamp)),
                ),
                ..existing
            },
            None => TcTokenEntry {
                token: Vec::new(),
                token_timestamp: sender_timestamp,
                sender_timestamp: Some(sender_timestamp),
            },
        };
        self.tc_put(jid, &entry).await
    }

    pub(crate) async fn tc_store_received(&self, jid: &str, token: &[u8], ts: i64) -> Res<()> {
        let _guard = self.lock().await;
        let existing = self.tc_get(jid).await?;
        // Newer wins; a byte-less placeholder never blocks the first real token.
        if let Some(existing) = &existing
            && !existing.token.is_empty()
            && ts < existing.token_timestamp
        {
            return Ok(());
        }
        let entry = TcTokenEntry {
            token: token.to_vec(),
            token_timestamp: ts,
            sender_timestamp: existing.and_then(|e| e.sender_timestamp),
        };
        self.tc_put(jid, &entry).await
    }

    /// Stores a sent message as the newest one; beyond [`SENT_CAP`] the oldest is evicted in
    /// the same fenced write. The client's keepalive sweep prunes by age besides.
    pub(crate) async fn sent_store(&self, chat: &str, id: &str, payload: &[u8]) -> Res<()> {
        let row = Stamped {
            payload: payload.to_vec(),
            at: now_secs(),
        };
        let key = field(&[chat, id]);
        let mut batch = Batch::default();
        self.set_json(&mut batch, SENT, &key, &row)?;
        self.push_capped(&mut batch, SENT_ORDER, SENT, &key, SENT_CAP);
        self.apply(batch).await?;
        Ok(())
    }

    pub(crate) async fn sent_take(&self, chat: &str, id: &str) -> Res<Option<Vec<u8>>> {
        let _guard = self.lock().await;
        let key = field(&[chat, id]);
        let Some(row) = self.get_json::<Stamped>(SENT, &key).await? else {
            return Ok(None);
        };
        let mut batch = Batch::default();
        self.hdel(&mut batch, SENT, &key);
        self.zrem(&mut batch, SENT_ORDER, &key);
        self.apply(batch).await?;
        Ok(Some(row.payload))
    }

    pub(crate) async fn sent_delete_expired(&self, cutoff: i64) -> Res<u32> {
        self.delete_stamped_before(SENT, Some(SENT_ORDER), cutoff)
            .await
    }

    pub(crate) async fn inbound_store(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
        message: &[u8],
    ) -> Res<()> {
        let row = Stamped {
            payload: message.to_vec(),
            at: now_secs(),
        };
        let mut batch = Batch::default();
        self.set_json(
            &mut batch,
            PENDING_INBOUND,
            &field(&[chat, sender, id]),
            &row,
        )?;
        self.apply(batch).await?;
        Ok(())
    }

    pub(crate) async fn inbound_get(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Res<Option<Vec<u8>>> {
        let row: Option<Stamped> = self
            .get_json(PENDING_INBOUND, &field(&[chat, sender, id]))
            .await?;
        Ok(row.map(|row| row.payload))
    }

    pub(crate) async fn inbound_delete_expired(&self, cutoff: i64) -> Res<u32> {
        self.delete_stamped_before(PENDING_INBOUND, None, cutoff)
            .await
    }

    /// Deletes the rows of `kind` stored before `cutoff`, and their members of the sorted-set
    /// `index` if there is one; returns how many.
    async fn delete_stamped_before(
        &self,
        kind: &str,
        index: Option<&str>,
        cutoff: i64,
    ) -> Res<u32> {
        let _guard = self.lock().await;
        let mut batch = Batch::default();
        let mut removed = 0u32;
        for (key, plain) in self.get_all(kind).await? {
            let row: Stamped = super::parse(kind, &plain)?;
            if row.at < cutoff {
                self.hdel(&mut batch, kind, &key);
                if let Some(index) = index {
                    self.zrem(&mut batch, index, &key);
                }
                removed += 1;
            }
        }
        self.apply(batch).await?;
        Ok(removed)
    }
}
