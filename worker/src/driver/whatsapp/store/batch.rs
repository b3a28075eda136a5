//! [`Batch`]: the writes of one [`RedisBackend`] call, collected and then applied at once by
//! the fenced script [`scripts::APPLY`](super::scripts::APPLY).

use super::{RedisBackend, WaStoreError, scripts};

/// A set of writes applied atomically by one fenced script.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    keys: Vec<String>,
    args: Vec<Vec<u8>>,
}

impl Batch {
    fn index(&mut self, key: String) -> Vec<u8> {
        let position = match self.keys.iter().position(|k| *k == key) {
            Some(position) => position,
            None => {
                self.keys.push(key);
                self.keys.len() - 1
            }
        };
        // KEYS[1] is the lease, so the first hash is KEYS[2].
        (position + 2).to_string().into_bytes()
    }

    fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    /// Adds a DEL of `key`, named in full (a purge deletes keys found by SCAN).
    pub(crate) fn delete_key(&mut self, key: String) {
        let k = self.index(key);
        self.args.extend([b"X".to_vec(), k]);
    }
}

impl RedisBackend {
    /// Adds a sealed HSET of `plain` at `kind`/`field`.
    pub(crate) fn set(
        &self,
        batch: &mut Batch,
        kind: &str,
        field: &str,
        plain: &[u8],
    ) -> Result<(), WaStoreError> {
        let sealed = self.key.seal(&self.scope.keys.aad(kind, field), plain)?;
        let k = batch.index(self.scope.keys.hash(kind));
        batch
            .args
            .extend([b"S".to_vec(), k, field.as_bytes().to_vec(), sealed]);
        Ok(())
    }

    /// Adds an HSET of `value` serialized as JSON.
    pub(crate) fn set_json<T: serde::Serialize>(
        &self,
        batch: &mut Batch,
        kind: &str,
        field: &str,
        value: &T,
    ) -> Result<(), WaStoreError> {
        let plain = serde_json::to_vec(value).map_err(|e| WaStoreError::Corrupt {
            what: kind.to_owned(),
            detail: e.to_string(),
        })?;
        self.set(batch, kind, field, &plain)
    }

    pub(crate) fn hdel(&self, batch: &mut Batch, kind: &str, field: &str) {
        let k = batch.index(self.scope.keys.hash(kind));
        batch
            .args
            .extend([b"D".to_vec(), k, field.as_bytes().to_vec()]);
    }

    pub(crate) fn del(&self, batch: &mut Batch, kind: &str) {
        let k = batch.index(self.scope.keys.hash(kind));
        batch.args.extend([b"X".to_vec(), k]);
    }

    /// Adds an HINCRBY 1 of a plain counter; [`Self::apply`] returns its new value.
    pub(crate) fn incr(&self, batch: &mut Batch, kind: &str, field: &str) {
        let k = batch.index(self.scope.keys.hash(kind));
        batch
            .args
            .extend([b"I".to_vec(), k, field.as_bytes().to_vec()]);
    }

    /// Adds `field` as the newest member of the sorted-set index of `index_kind` and, beyond
    /// `cap` members, evicts the oldest from the index and from the hash of `kind`.
    pub(crate) fn push_capped(
        &self,
        batch: &mut Batch,
        index_kind: &str,
        kind: &str,
        field: &str,
        cap: usize,
    ) {
        let index = batch.index(self.scope.keys.hash(index_kind));
        let hash = batch.index(self.scope.keys.hash(kind));
        batch.args.extend([
            b"A".to_vec(),
            index,
            hash,
            field.as_bytes().to_vec(),
            cap.to_string().into_bytes(),
        ]);
    }

    /// Adds a ZREM of `member` from the sorted set of `kind`.
    pub(crate) fn zrem(&self, batch: &mut Batch, kind: &str, member: &str) {
        let k = batch.index(self.scope.keys.hash(kind));
        batch
            .args
            .extend([b"R".to_vec(), k, member.as_bytes().to_vec()]);
    }

    /// Applies `batch` if the lease is still ours; returns the last counter value.
    ///
    /// # Errors
    /// [`WaStoreError::Fenced`] (nothing written), Redis errors.
    pub(crate) async fn apply(&self, batch: Batch) -> Result<i64, WaStoreError> {
        if batch.is_empty() {
            return Ok(0);
        }
        let mut invocation = scripts::APPLY.prepare_invoke();
        invocation.key(&self.scope.lease_key);
        for key in &batch.keys {
            invocation.key(key);
        }
        invocation.arg(&self.scope.token);
        for arg in &batch.args {
            invocation.arg(arg.as_slice());
        }
        let (ok, last): (i64, i64) = invocation.invoke_async(&mut self.conn.clone()).await?;
        if ok == 1 {
            Ok(last)
        } else {
            Err(WaStoreError::Fenced(self.scope.lease_key.clone()))
        }
    }
}
