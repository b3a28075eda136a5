//! `DeviceStore` and `MsgSecretStore` of [`RedisBackend`]: the device record (our identity and
//! keys, the heart of "resume without re-pairing") and the per-message secrets.

use super::keys::field;
use super::keys::kind::{DEVICE, MSG_SECRET};
use super::{Batch, RedisBackend, Res};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use whatsapp_rust::store::{
    DeviceStore, MsgSecretEntry, MsgSecretStore, merge_msg_secret_expiry,
    merge_msg_secret_message_ts,
};
use whatsapp_rust::wacore::store::Device;

/// Field of the device hash holding the sealed `Device`.
const RECORD: &str = "record";
/// Field of the device hash holding the plain counter behind `create()`.
const NEXT_ID: &str = "next-id";

/// A stored message secret.
#[derive(Debug, Serialize, Deserialize)]
struct SecretRow {
    secret: Vec<u8>,
    expires_at: i64,
    message_ts: i64,
}

#[async_trait]
impl DeviceStore for RedisBackend {
    async fn save(&self, device: &Device) -> Res<()> {
        let mut batch = Batch::default();
        self.set_json(&mut batch, DEVICE, RECORD, device)?;
        self.apply(batch).await?;
        Ok(())
    }

    async fn load(&self) -> Res<Option<Device>> {
        Ok(self.get_json(DEVICE, RECORD).await?)
    }

    async fn exists(&self) -> Res<bool> {
        let exists: bool = redis::cmd("HEXISTS")
            .arg(self.scope.keys.hash(DEVICE))
            .arg(RECORD)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(super::WaStoreError::from)?;
        Ok(exists)
    }

    async fn create(&self) -> Res<i32> {
        // Like the reference InMemoryBackend: ids count from 1, and a default device is
        // materialized so that `exists()` holds afterwards.
        let _guard = self.lock().await;
        let mut batch = Batch::default();
        if !self.exists().await? {
            self.set_json(&mut batch, DEVICE, RECORD, &Device::new())?;
        }
        self.incr(&mut batch, DEVICE, NEXT_ID);
        let id = self.apply(batch).await?;
        Ok(i32::try_from(id).unwrap_or(i32::MAX))
    }

    async fn resource_report(&self) -> whatsapp_rust::wacore::stats::StorageResourceReport {
        // Remote store: nothing of it lives in this process's memory.
        whatsapp_rust::wacore::stats::StorageResourceReport {
            memory_bytes: Some(0),
            ..Default::default()
        }
    }
}

#[async_trait]
impl MsgSecretStore for RedisBackend {
    async fn put_msg_secrets(&self, entries: Vec<MsgSecretEntry>) -> Res<usize> {
        let stored = entries.len();
        let _guard = self.lock().await;
        let mut batch = Batch::default();
        for entry in entries {
            let key = field(&[&entry.chat, &entry.sender, &entry.msg_id]);
            let existing: Option<SecretRow> = self.get_json(MSG_SECRET, &key).await?;
            let row = SecretRow {
                secret: entry.secret.to_vec(),
                expires_at: existing.as_ref().map_or(entry.expires_at, |e| {
                    merge_msg_secret_expiry(e.expires_at, entry.expires_at)
                }),
                message_ts: existing.as_ref().map_or(entry.message_ts, |e| {
                    merge_msg_secret_message_ts(e.message_ts, entry.message_ts)
                }),
            };
            self.set_json(&mut batch, MSG_SECRET, &key, &row)?;
        }
        self.apply(batch).await?;
        Ok(stored)
    }

    async fn get_msg_secret(&self, chat: &str, sender: &str, msg_id: &str) -> Res<Option<Vec<u8>>> {
        Ok(self
            .get_msg_secret_with_ts(chat, sender, msg_id)
            .await?
            .map(|(secret, _)| secret))
    }

    async fn get_msg_secret_with_ts(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Res<Option<(Vec<u8>, i64)>> {
        let row: Option<SecretRow> = self
            .get_json(MSG_SECRET, &field(&[chat, sender, msg_id]))
            .await?;
        Ok(row.map(|row| (row.secret, row.message_ts)))
    }

    async fn delete_expired_msg_secrets(&self, cutoff_timestamp: i64) -> Res<u32> {
        let _guard = self.lock().await;
        let mut batch = Batch::default();
        let mut removed = 0u32;
        for (key, plain) in self.get_all(MSG_SECRET).await? {
            let row: SecretRow = super::parse(MSG_SECRET, &plain)?;
            if row.expires_at != 0 && row.expires_at <= cutoff_timestamp {
                self.hdel(&mut batch, MSG_SECRET, &key);
                removed += 1;
            }
        }
        self.apply(batch).await?;
        Ok(removed)
    }
}
