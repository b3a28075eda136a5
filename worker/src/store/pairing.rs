//! The pairing code of a pairing by code under way, kept in Redis until it expires, so a
//! client that asks again for the same phone number (a retry after a timeout, another edge)
//! gets the same code instead of a new WhatsApp request, which WhatsApp throttles.

use serde::{Deserialize, Serialize};
use wagw_common::SessionId;

use super::{Fence, Store, StoreError};

/// A pairing code as stored, with the phone number it was issued for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredPairingCode {
    pub code: String,
    pub expires_at: i64,
    pub phone_number: String,
}

impl Store {
    /// Stores the current pairing code until it expires (cleared with the QR by `clear_qr`).
    ///
    /// # Errors
    /// [`StoreError::Fenced`] when the lease moved; Redis errors.
    pub async fn set_pairing_code(
        &self,
        fence: &Fence,
        id: &SessionId,
        code: &StoredPairingCode,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let ttl_ms = code.expires_at.saturating_sub(now_ms);
        if ttl_ms <= 0 {
            return Ok(());
        }
        let key = self.keys.pairing_code(&self.shard_ref(fence.shard), id);
        self.set_expiring(fence, key, "pairing code", code, ttl_ms)
            .await
    }

    /// The pairing code under way, if any and not expired.
    ///
    /// # Errors
    /// Redis errors, or a stored value that is not a pairing code.
    pub async fn load_pairing_code(
        &self,
        shard: u32,
        id: &SessionId,
    ) -> Result<Option<StoredPairingCode>, StoreError> {
        let key = self.keys.pairing_code(&self.shard_ref(shard), id);
        self.get_json(key, "pairing code").await
    }
}
