//! `SignalStore` of [`RedisBackend`]: identities, sessions, pre-keys, signed pre-keys, sender
//! keys; raw bytes, sealed.

use super::keys::kind::{IDENTITY, PREKEY, SENDER_KEY, SESSION, SIGNED_PREKEY};
use super::{Batch, RedisBackend, Res, WaStoreError, array};
use async_trait::async_trait;
use std::sync::Arc;
use whatsapp_rust::bytes::Bytes;
use whatsapp_rust::store::SignalStore;

impl RedisBackend {
    async fn put_one(&self, kind: &str, field: &str, plain: &[u8]) -> Res<()> {
        let mut batch = Batch::default();
        self.set(&mut batch, kind, field, plain)?;
        self.apply(batch).await?;
        Ok(())
    }

    pub(crate) async fn del_one(&self, kind: &str, field: &str) -> Res<()> {
        let mut batch = Batch::default();
        self.hdel(&mut batch, kind, field);
        self.apply(batch).await?;
        Ok(())
    }

    async fn put_many<'a>(
        &self,
        kind: &str,
        items: impl Iterator<Item = (String, &'a [u8])>,
    ) -> Res<()> {
        let mut batch = Batch::default();
        for (field, plain) in items {
            self.set(&mut batch, kind, &field, plain)?;
        }
        self.apply(batch).await?;
        Ok(())
    }
}

/// Whether `address` (`user@server` or `user:device@server`) belongs to `user`.
fn is_of_user(address: &str, user: &str) -> bool {
    address
        .strip_prefix(user)
        .is_some_and(|rest| rest.starts_with('@') || rest.starts_with(':'))
}

#[async_trait]
impl SignalStore for RedisBackend {
    async fn put_identity(&self, address: &str, key: [u8; 32]) -> Res<()> {
        self.put_one(IDENTITY, address, &key).await
    }

    async fn put_identities_batch(&self, identities: &[(Arc<str>, [u8; 32])]) -> Res<()> {
        self.put_many(
            IDENTITY,
            identities
                .iter()
                .map(|(address, key)| (address.to_string(), key.as_slice())),
        )
        .await
    }

    async fn load_identity(&self, address: &str) -> Res<Option<[u8; 32]>> {
        Ok(self
            .get(IDENTITY, address)
            .await?
            .map(|plain| array::<32>(IDENTITY, &plain))
            .transpose()?)
    }

    async fn delete_identity(&self, address: &str) -> Res<()> {
        self.del_one(IDENTITY, address).await
    }

    async fn get_session(&self, address: &str) -> Res<Option<Bytes>> {
        Ok(self.get(SESSION, address).await?.map(Bytes::from))
    }

    async fn put_session(&self, address: &str, session: &[u8]) -> Res<()> {
        self.put_one(SESSION, address, session).await
    }

    async fn put_sessions_batch(&self, sessions: &[(Arc<str>, Bytes)]) -> Res<()> {
        self.put_many(
            SESSION,
            sessions
                .iter()
                .map(|(address, record)| (address.to_string(), record.as_ref())),
        )
        .await
    }

    async fn delete_session(&self, address: &str) -> Res<()> {
        self.del_one(SESSION, address).await
    }

    async fn has_signal_state_for_user(&self, user: &str) -> Res<bool> {
        for kind in [SESSION, IDENTITY] {
            if self.fields(kind).await?.iter().any(|a| is_of_user(a, user)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn store_prekey(&self, id: u32, record: &[u8], _uploaded: bool) -> Res<()> {
        // Like the reference InMemoryBackend, the uploaded flag is not kept.
        self.put_one(PREKEY, &id.to_string(), record).await
    }

    async fn store_prekeys_batch(&self, keys: &[(u32, Bytes)], _uploaded: bool) -> Res<()> {
        self.put_many(
            PREKEY,
            keys.iter()
                .map(|(id, record)| (id.to_string(), record.as_ref())),
        )
        .await
    }

    async fn load_prekey(&self, id: u32) -> Res<Option<Bytes>> {
        Ok(self.get(PREKEY, &id.to_string()).await?.map(Bytes::from))
    }

    async fn mark_prekeys_uploaded(&self, _ids: &[u32]) -> Res<()> {
        // No uploaded flag is kept, so nothing to update, and nothing deleted is resurrected.
        Ok(())
    }

    async fn remove_prekey(&self, id: u32) -> Res<()> {
        self.del_one(PREKEY, &id.to_string()).await
    }

    async fn get_max_prekey_id(&self) -> Res<u32> {
        Ok(self
            .fields(PREKEY)
            .await?
            .iter()
            .filter_map(|f| f.parse::<u32>().ok())
            .max()
            .unwrap_or(0))
    }

    async fn store_signed_prekey(&self, id: u32, record: &[u8]) -> Res<()> {
        self.put_one(SIGNED_PREKEY, &id.to_string(), record).await
    }

    async fn load_signed_prekey(&self, id: u32) -> Res<Option<Vec<u8>>> {
        Ok(self.get(SIGNED_PREKEY, &id.to_string()).await?)
    }

    async fn load_all_signed_prekeys(&self) -> Res<Vec<(u32, Vec<u8>)>> {
        self.get_all(SIGNED_PREKEY)
            .await?
            .into_iter()
            .map(|(field, plain)| {
                let id = field.parse::<u32>().map_err(|e| WaStoreError::Corrupt {
                    what: SIGNED_PREKEY.to_owned(),
                    detail: e.to_string(),
                })?;
                Ok((id, plain))
            })
            .collect()
    }

    async fn remove_signed_prekey(&self, id: u32) -> Res<()> {
        self.del_one(SIGNED_PREKEY, &id.to_string()).await
    }

    async fn put_sender_key(&self, address: &str, record: &[u8]) -> Res<()> {
        self.put_one(SENDER_KEY, address, record).await
    }

    async fn put_sender_keys_batch(&self, sender_keys: &[(Arc<str>, Bytes)]) -> Res<()> {
        self.put_many(
            SENDER_KEY,
            sender_keys
                .iter()
                .map(|(address, record)| (address.to_string(), record.as_ref())),
        )
        .await
    }

    async fn get_sender_key(&self, address: &str) -> Res<Option<Vec<u8>>> {
        Ok(self.get(SENDER_KEY, address).await?)
    }

    async fn delete_sender_key(&self, address: &str) -> Res<()> {
        self.del_one(SENDER_KEY, address).await
    }
}
