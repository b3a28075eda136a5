//! Fenced writes of session state: row with its indexes, deletion (with the session's WhatsApp
//! state), credentials and the QR key.
//! A refusal of the fence comes back as [`StoreError::Fenced`].

use super::scripts::{
    CLEAR_QR, DELETE_CREDENTIALS, DELETE_SESSION, SAVE_CREDENTIALS, SET_WITH_TTL, WRITE_ROW,
};
use super::{Fence, Store, StoreError};
use crate::driver::Credentials;
use redis::ScriptInvocation;
use wagw_common::wire::QrCode;
use wagw_common::{Session, SessionId};

impl Store {
    pub(super) async fn run_fenced(
        &self,
        fence: &Fence,
        invocation: &mut ScriptInvocation<'_>,
    ) -> Result<(), StoreError> {
        let written: i64 = invocation.invoke_async(&mut self.conn()).await?;
        if written == 1 {
            Ok(())
        } else {
            Err(StoreError::Fenced(fence.shard))
        }
    }

    /// Writes the row and adds it to the shard and organization indexes.
    ///
    /// # Errors
    /// [`StoreError::Fenced`] when the lease moved; Redis errors.
    pub async fn write_row(&self, fence: &Fence, row: &Session) -> Result<(), StoreError> {
        let shard = self.shard_ref(fence.shard);
        let json = serde_json::to_string(row).map_err(|source| StoreError::Corrupt {
            what: "session row",
            key: self.keys.session(&shard, &row.id),
            source,
        })?;
        let mut invocation = WRITE_ROW.key(self.keys.lease(&shard));
        invocation
            .key(self.keys.session(&shard, &row.id))
            .key(self.keys.shard_sessions(&shard))
            .key(self.keys.org_sessions(&shard, &row.organization_id))
            .arg(&fence.token)
            .arg(json)
            .arg(row.id.to_string());
        self.run_fenced(fence, &mut invocation).await
    }

    /// Deletes the row, its credentials, its QR and pairing code, its index entries and its
    /// WhatsApp state.
    ///
    /// # Errors
    /// [`StoreError::Fenced`] when the lease moved (nothing deleted); Redis errors.
    pub async fn delete_session(&self, fence: &Fence, row: &Session) -> Result<(), StoreError> {
        let shard = self.shard_ref(fence.shard);
        let wa_state = self.wa_state_keys(fence.shard, &row.id).await?;
        let mut invocation = DELETE_SESSION.key(self.keys.lease(&shard));
        invocation
            .key(self.keys.session(&shard, &row.id))
            .key(self.keys.credentials(&shard, &row.id))
            .key(self.keys.pairing_qr(&shard, &row.id))
            .key(self.keys.shard_sessions(&shard))
            .key(self.keys.org_sessions(&shard, &row.organization_id))
            .key(self.keys.pairing_code(&shard, &row.id))
            .key(wa_state)
            .arg(&fence.token)
            .arg(row.id.to_string());
        self.run_fenced(fence, &mut invocation).await
    }

    /// Stores a paired device's credentials.
    ///
    /// # Errors
    /// [`StoreError::Fenced`] when the lease moved; Redis errors.
    pub async fn save_credentials(
        &self,
        fence: &Fence,
        id: &SessionId,
        creds: &Credentials,
    ) -> Result<(), StoreError> {
        let shard = self.shard_ref(fence.shard);
        let mut invocation = SAVE_CREDENTIALS.key(self.keys.lease(&shard));
        invocation
            .key(self.keys.credentials(&shard, id))
            .arg(&fence.token)
            .arg(&creds.0[..]);
        self.run_fenced(fence, &mut invocation).await
    }

    /// Destroys a session's credentials and, with them, its WhatsApp state (logout), whatever
    /// the driver.
    ///
    /// # Errors
    /// [`StoreError::Fenced`] when the lease moved (nothing deleted); Redis errors.
    pub async fn delete_credentials(
        &self,
        fence: &Fence,
        id: &SessionId,
    ) -> Result<(), StoreError> {
        let shard = self.shard_ref(fence.shard);
        let wa_state = self.wa_state_keys(fence.shard, id).await?;
        let mut invocation = DELETE_CREDENTIALS.key(self.keys.lease(&shard));
        invocation
            .key(self.keys.credentials(&shard, id))
            .key(wa_state)
            .arg(&fence.token);
        self.run_fenced(fence, &mut invocation).await
    }

    /// Stores the current QR until it expires; an already expired one is not stored.
    ///
    /// # Errors
    /// [`StoreError::Fenced`] when the lease moved; Redis errors.
    pub async fn set_qr(
        &self,
        fence: &Fence,
        id: &SessionId,
        qr: &QrCode,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if qr.expires_at <= now_ms {
            return self.clear_qr(fence, id).await;
        }
        let key = self.keys.pairing_qr(&self.shard_ref(fence.shard), id);
        self.set_expiring(fence, key, "QR code", qr, qr.expires_at - now_ms)
            .await
    }

    /// Writes `value` as JSON at `key` (`what` names it in errors) for `ttl_ms`, fenced.
    pub(super) async fn set_expiring(
        &self,
        fence: &Fence,
        key: String,
        what: &'static str,
        value: &impl serde::Serialize,
        ttl_ms: i64,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(value).map_err(|source| StoreError::Corrupt {
            what,
            key: key.clone(),
            source,
        })?;
        let lease = self.keys.lease(&self.shard_ref(fence.shard));
        let mut invocation = SET_WITH_TTL.key(lease);
        invocation.key(key).arg(&fence.token).arg(json).arg(ttl_ms);
        self.run_fenced(fence, &mut invocation).await
    }

    /// Removes the QR and the pairing code of a pairing that ended.
    ///
    /// # Errors
    /// [`StoreError::Fenced`] when the lease moved; Redis errors.
    pub async fn clear_qr(&self, fence: &Fence, id: &SessionId) -> Result<(), StoreError> {
        let shard = self.shard_ref(fence.shard);
        let mut invocation = CLEAR_QR.key(self.keys.lease(&shard));
        invocation
            .key(self.keys.pairing_qr(&shard, id))
            .key(self.keys.pairing_code(&shard, id))
            .arg(&fence.token);
        self.run_fenced(fence, &mut invocation).await
    }
}
