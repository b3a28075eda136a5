//! `ProtocolStore` of [`RedisBackend`]: sender-key device tracking, LID/PN mapping, base keys,
//! device lists, group metadata; trusted-contact tokens and message buffers are in
//! [`super::buffers`].

use super::keys::field;
use super::keys::kind::{BASE_KEY, DEVICE_LIST, GROUP_META, LID, PN, SKD};
use super::{Batch, RedisBackend, Res};
use async_trait::async_trait;
use whatsapp_rust::store::{DeviceListRecord, LidPnMappingEntry, ProtocolStore, TcTokenEntry};

/// Splits a sender-key-devices field `<group>SEP<device>`.
fn skd_parts(f: &str) -> Option<(&str, &str)> {
    f.split_once(super::keys::SEP)
}

#[async_trait]
impl ProtocolStore for RedisBackend {
    async fn get_sender_key_devices(&self, group_jid: &str) -> Res<Vec<(String, bool)>> {
        let mut out = Vec::new();
        for (f, plain) in self.get_all(SKD).await? {
            if let Some((group, device)) = skd_parts(&f)
                && group == group_jid
            {
                out.push((device.to_owned(), plain.first() == Some(&1)));
            }
        }
        Ok(out)
    }

    async fn set_sender_key_status(&self, group_jid: &str, entries: &[(&str, bool)]) -> Res<()> {
        let mut batch = Batch::default();
        for (device, has_key) in entries {
            self.set(
                &mut batch,
                SKD,
                &field(&[group_jid, device]),
                &[u8::from(*has_key)],
            )?;
        }
        self.apply(batch).await?;
        Ok(())
    }

    async fn clear_sender_key_devices(&self, group_jid: &str) -> Res<()> {
        self.delete_skd_where(|group, _| group == group_jid).await
    }

    async fn delete_sender_key_device_rows(&self, device_jids: &[&str]) -> Res<()> {
        if device_jids.is_empty() {
            return Ok(());
        }
        self.delete_skd_where(|_, device| device_jids.contains(&device))
            .await
    }

    async fn clear_all_sender_key_devices(&self) -> Res<()> {
        let mut batch = Batch::default();
        self.del(&mut batch, SKD);
        self.apply(batch).await?;
        Ok(())
    }

    async fn get_lid_mapping(&self, lid: &str) -> Res<Option<LidPnMappingEntry>> {
        Ok(self.get_json(LID, lid).await?)
    }

    async fn get_pn_mapping(&self, phone: &str) -> Res<Option<LidPnMappingEntry>> {
        let Some(lid) = self.get(PN, phone).await? else {
            return Ok(None);
        };
        self.get_lid_mapping(&String::from_utf8_lossy(&lid)).await
    }

    async fn put_lid_mapping(&self, entry: &LidPnMappingEntry) -> Res<()> {
        self.put_lid_mappings(std::slice::from_ref(entry)).await
    }

    async fn put_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> Res<()> {
        let _guard = self.lock().await;
        let mut batch = Batch::default();
        for entry in entries {
            // A LID that moves to another number drops its stale reverse entry.
            let old: Option<LidPnMappingEntry> = self.get_json(LID, &entry.lid).await?;
            if let Some(old) = old.filter(|old| old.phone_number != entry.phone_number) {
                self.hdel(&mut batch, PN, &old.phone_number);
            }
            self.set(&mut batch, PN, &entry.phone_number, entry.lid.as_bytes())?;
            self.set_json(&mut batch, LID, &entry.lid, entry)?;
        }
        self.apply(batch).await?;
        Ok(())
    }

    async fn get_all_lid_mappings(&self) -> Res<Vec<LidPnMappingEntry>> {
        self.get_all(LID)
            .await?
            .iter()
            .map(|(_, plain)| Ok(super::parse(LID, plain)?))
            .collect()
    }

    async fn save_base_key(&self, address: &str, message_id: &str, base_key: &[u8]) -> Res<()> {
        let mut batch = Batch::default();
        self.set(
            &mut batch,
            BASE_KEY,
            &field(&[address, message_id]),
            base_key,
        )?;
        self.apply(batch).await?;
        Ok(())
    }

    async fn has_same_base_key(
        &self,
        address: &str,
        message_id: &str,
        current: &[u8],
    ) -> Res<bool> {
        let stored = self.get(BASE_KEY, &field(&[address, message_id])).await?;
        Ok(stored.is_some_and(|stored| stored == current))
    }

    async fn delete_base_key(&self, address: &str, message_id: &str) -> Res<()> {
        self.del_one(BASE_KEY, &field(&[address, message_id])).await
    }

    async fn update_device_list(&self, record: DeviceListRecord) -> Res<()> {
        self.update_device_lists(vec![record]).await
    }

    async fn update_device_lists(&self, records: Vec<DeviceListRecord>) -> Res<()> {
        let mut batch = Batch::default();
        for record in &records {
            self.set_json(&mut batch, DEVICE_LIST, &record.user, record)?;
        }
        self.apply(batch).await?;
        Ok(())
    }

    async fn get_devices(&self, user: &str) -> Res<Option<DeviceListRecord>> {
        Ok(self.get_json(DEVICE_LIST, user).await?)
    }

    async fn delete_devices(&self, user: &str) -> Res<()> {
        self.del_one(DEVICE_LIST, user).await
    }

    async fn get_group_metadata(&self, group_jid: &str) -> Res<Option<Vec<u8>>> {
        Ok(self.get(GROUP_META, group_jid).await?)
    }

    async fn put_group_metadata(&self, group_jid: &str, blob: &[u8]) -> Res<()> {
        let mut batch = Batch::default();
        self.set(&mut batch, GROUP_META, group_jid, blob)?;
        self.apply(batch).await?;
        Ok(())
    }

    async fn delete_group_metadata(&self, group_jid: &str) -> Res<()> {
        self.del_one(GROUP_META, group_jid).await
    }

    async fn get_tc_token(&self, jid: &str) -> Res<Option<TcTokenEntry>> {
        self.tc_get(jid).await
    }

    async fn put_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> Res<()> {
        self.tc_put(jid, entry).await
    }

    async fn delete_tc_token(&self, jid: &str) -> Res<()> {
        self.tc_delete(jid).await
    }

    async fn get_all_tc_token_jids(&self) -> Res<Vec<String>> {
        self.tc_jids().await
    }

    async fn delete_expired_tc_tokens(&self, token_cutoff: i64, sender_cutoff: i64) -> Res<u32> {
        self.tc_delete_expired(token_cutoff, sender_cutoff).await
    }

    async fn touch_tc_token_sender_timestamp(&self, jid: &str, sender_timestamp: i64) -> Res<()> {
        self.tc_touch_sender(jid, sender_timestamp).await
    }

    async fn store_received_tc_token(&self, jid: &str, token: &[u8], ts: i64) -> Res<()> {
        self.tc_store_received(jid, token, ts).await
    }

    async fn store_sent_message(
        &self,
        chat_jid: &str,
        message_id: &str,
        payload: &[u8],
    ) -> Res<()> {
        self.sent_store(chat_jid, message_id, payload).await
    }

    async fn take_sent_message(&self, chat_jid: &str, message_id: &str) -> Res<Option<Vec<u8>>> {
        self.sent_take(chat_jid, message_id).await
    }

    async fn delete_expired_sent_messages(&self, cutoff_timestamp: i64) -> Res<u32> {
        self.sent_delete_expired(cutoff_timestamp).await
    }

    async fn store_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
        message: &[u8],
    ) -> Res<()> {
        self.inbound_store(chat, sender, id, message).await
    }

    async fn get_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Res<Option<Vec<u8>>> {
        self.inbound_get(chat, sender, id).await
    }

    async fn delete_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Res<()> {
        self.del_one(
            super::keys::kind::PENDING_INBOUND,
            &field(&[chat, sender, id]),
        )
        .await
    }

    async fn delete_expired_pending_inbound(&self, cutoff_timestamp: i64) -> Res<u32> {
        self.inbound_delete_expired(cutoff_timestamp).await
    }
}

impl RedisBackend {
    /// Deletes the sender-key-device rows whose `(group, device)` match.
    async fn delete_skd_where(&self, matches: impl Fn(&str, &str) -> bool + Send) -> Res<()> {
        let _guard = self.lock().await;
        let mut batch = Batch::default();
        for f in self.fields(SKD).await? {
            if skd_parts(&f).is_some_and(|(group, device)| matches(group, device)) {
                self.hdel(&mut batch, SKD, &f);
            }
        }
        self.apply(batch).await?;
        Ok(())
    }
}
