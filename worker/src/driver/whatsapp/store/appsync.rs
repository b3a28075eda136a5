//! `AppSyncStore` of [`RedisBackend`]: app-state sync keys, collection versions and mutation
//! MACs (one hash per collection, so a snapshot re-sync clears it with one DEL).

use super::keys::kind::{self, DEVICE, SYNC_KEY, SYNC_VERSION};
use super::{Batch, RedisBackend, Res};
use async_trait::async_trait;
use whatsapp_rust::store::{AppStateSyncKey, AppSyncStore};
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;

/// Field of the device hash holding the id of the latest sync key.
const LATEST_SYNC_KEY: &str = "latest-sync-key";

#[async_trait]
impl AppSyncStore for RedisBackend {
    async fn get_sync_key(&self, key_id: &[u8]) -> Res<Option<AppStateSyncKey>> {
        Ok(self.get_json(SYNC_KEY, &hex::encode(key_id)).await?)
    }

    async fn set_sync_key(&self, key_id: &[u8], key: AppStateSyncKey) -> Res<()> {
        let mut batch = Batch::default();
        self.set_json(&mut batch, SYNC_KEY, &hex::encode(key_id), &key)?;
        self.set(&mut batch, DEVICE, LATEST_SYNC_KEY, key_id)?;
        self.apply(batch).await?;
        Ok(())
    }

    async fn get_version(&self, name: &str) -> Res<HashState> {
        Ok(self.get_json(SYNC_VERSION, name).await?.unwrap_or_default())
    }

    async fn set_version(&self, name: &str, state: HashState) -> Res<()> {
        let mut batch = Batch::default();
        self.set_json(&mut batch, SYNC_VERSION, name, &state)?;
        self.apply(batch).await?;
        Ok(())
    }

    async fn put_mutation_macs(
        &self,
        name: &str,
        _version: u64,
        mutations: &[AppStateMutationMAC],
    ) -> Res<()> {
        let hash = kind::mutation_macs(name);
        let mut batch = Batch::default();
        for m in mutations {
            self.set(&mut batch, &hash, &hex::encode(&m.index_mac), &m.value_mac)?;
        }
        self.apply(batch).await?;
        Ok(())
    }

    async fn get_mutation_mac(&self, name: &str, index_mac: &[u8]) -> Res<Option<Vec<u8>>> {
        Ok(self
            .get(&kind::mutation_macs(name), &hex::encode(index_mac))
            .await?)
    }

    async fn delete_mutation_macs(&self, name: &str, index_macs: &[Vec<u8>]) -> Res<()> {
        let hash = kind::mutation_macs(name);
        let mut batch = Batch::default();
        for index_mac in index_macs {
            self.hdel(&mut batch, &hash, &hex::encode(index_mac));
        }
        self.apply(batch).await?;
        Ok(())
    }

    async fn clear_mutation_macs(&self, name: &str) -> Res<()> {
        let mut batch = Batch::default();
        self.del(&mut batch, &kind::mutation_macs(name));
        self.apply(batch).await?;
        Ok(())
    }

    async fn get_latest_sync_key_id(&self) -> Res<Option<Vec<u8>>> {
        Ok(self.get(DEVICE, LATEST_SYNC_KEY).await?)
    }
}
