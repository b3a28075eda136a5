//! What each driver event does to a session: fenced writes first, then status changes and
//! events on NATS. Runs under the session's lock, for the current link generation only.

use serde_json::json;
use std::time::Instant;
use wagw_common::events::types;
use wagw_common::time::now_ms;
use wagw_common::wire::QrCode;
use wagw_common::{DesiredState, Session, SessionId, SessionStatus};

use super::{DRIVER_CALL_TIMEOUT, LinkState};
use crate::Worker;
use crate::driver::{DriverEvent, Identity, ReceiptKind};
use crate::error::HandlerError;

impl Worker {
    /// Applies one event of the session's current link.
    ///
    /// # Errors
    /// Fencing refusals and Redis errors.
    pub async fn apply_event(
        &self,
        id: SessionId,
        generation: u64,
        event: DriverEvent,
    ) -> Result<(), HandlerError> {
        let Some(mut row) = self.store.load_row(self.shard_of(&id), &id).await? else {
            // Deleted meanwhile: nothing left to drive.
            self.close_link(&id).await;
            return Ok(());
        };
        let row = &mut row;
        match event {
            DriverEvent::Qr { code, expires_at } => {
                self.on_qr(row, generation, code, expires_at).await
            }
            DriverEvent::QrExhausted => {
                self.metrics.qr_pairings_expired.increment(1);
                self.stop_session(row, Some("qr_expired")).await
            }
            DriverEvent::PairingCodeExpired => {
                self.metrics.pairing_codes_expired.increment(1);
                self.stop_session(row, Some("pairing_code_expired")).await
            }
            DriverEvent::Paired {
                identity,
                credentials,
            } => {
                let fence = self.fence(self.shard_of(&id))?;
                let saved = self.store.save_credentials(&fence, &id, &credentials).await;
                self.check_fence(saved).await?;
                set_identity(row, &identity);
                self.clear_qr(&id).await?;
                self.sessions.set_qr(&id, generation, None);
                self.commit(Some(row.status), row).await?;
                let data = json!({"phoneNumber": identity.phone_number, "waJid": identity.jid, "waLid": identity.lid});
                self.publish_event(row, types::SESSION_PAIRED, data).await;
                Ok(())
            }
            DriverEvent::Connected { identity } => {
                set_identity(row, &identity);
                let before = row.transition(SessionStatus::Working, None);
                row.last_connected_at = Some(now_ms());
                self.commit(Some(before), row).await?;
                self.sessions.mark_connected(&id, generation);
                Ok(())
            }
            DriverEvent::Disconnected { reason } => self.on_disconnected(row, &reason).await,
            DriverEvent::LoggedOut { reason } => {
                self.close_link(&id).await;
                self.delete_credentials(&id).await?;
                row.detach_number();
                self.stop_session(row, Some("logged out from the phone"))
                    .await?;
                self.publish_event(row, types::SESSION_LOGGED_OUT, json!({ "reason": reason }))
                    .await;
                Ok(())
            }
            DriverEvent::StreamReplaced if self.fleet.is_held(self.shard_of(&id)) => {
                self.fail_session(row, "stream replaced: the device connected elsewhere")
                    .await
            }
            DriverEvent::StreamReplaced => {
                self.close_link(&id).await;
                Ok(())
            }
            DriverEvent::Failed { reason } => self.fail_session(row, &reason).await,
            DriverEvent::IncomingMessage {
                id: message_id,
                from,
                text,
                at,
            } => {
                self.on_incoming(row, message_id, from, text, at).await;
                Ok(())
            }
            DriverEvent::Receipt { message_id, kind } => {
                self.on_receipt(row, message_id, kind).await;
                Ok(())
            }
        }
    }

    /// Stores and announces a new QR of the current pairing.
    ///
    /// # Errors
    /// Fencing refusals and Redis errors.
    pub async fn on_qr(
        &self,
        row: &Session,
        generation: u64,
        code: String,
        expires_at: i64,
    ) -> Result<(), HandlerError> {
        let qr = QrCode {
            qr: code,
            expires_at,
            status: SessionStatus::ScanQrCode,
        };
        let fence = self.fence(self.shard_of(&row.id))?;
        let stored = self.store.set_qr(&fence, &row.id, &qr, now_ms()).await;
        self.check_fence(stored).await?;
        self.metrics.qr_codes_issued.increment(1);
        self.sessions.set_qr(&row.id, generation, Some(qr.clone()));
        let data = json!({ "qr": qr.qr, "expiresAt": qr.expires_at });
        self.publish_event(row, types::SESSION_QR, data).await;
        Ok(())
    }

    /// A dropped link: reconnect under our policy, or give up when the budget is spent. A
    /// pairing that drops cannot resume, so it ends.
    async fn on_disconnected(&self, row: &mut Session, reason: &str) -> Result<(), HandlerError> {
        if !row.is_paired() {
            return self
                .stop_session(row, Some(&format!("pairing interrupted: {reason}")))
                .await;
        }
        if row.desired_state != DesiredState::Running {
            return self.stop_session(row, None).await;
        }
        let id = row.id;
        let shard = self.shard_of(&id);
        let (generation, cancel, replaced) = self.sessions.start(id, shard, LinkState::Connecting);
        if let Some(replaced) = replaced {
            replaced.close().await;
        }
        let Some((exhausted, delay)) = self.sessions.record_failure(&id, Instant::now()) else {
            return Ok(());
        };
        if exhausted {
            return self
                .fail_session(row, &format!("too many reconnect failures: {reason}"))
                .await;
        }
        let before = row.transition(
            SessionStatus::Starting,
            Some(format!("reconnecting: {reason}")),
        );
        self.commit(Some(before), row).await?;
        tracing::info!(session.id = %id, reason, delay_ms = delay.as_millis(), "link dropped; reconnecting");
        self.tasks.spawn(
            self.clone()
                .run_connector(id, generation, cancel, delay, false),
        );
        Ok(())
    }

    async fn on_incoming(
        &self,
        row: &Session,
        message_id: String,
        from: String,
        text: String,
        at: i64,
    ) {
        let chat = if from.contains('@') {
            from.clone()
        } else {
            format!("{from}@s.whatsapp.net")
        };
        self.metrics.messages_received.increment(1);
        let data = json!({ "waMessageId": message_id, "from": from, "text": text, "at": at });
        self.publish_event(row, types::MESSAGE_RECEIVED, data).await;
        if !row.auto_read {
            return;
        }
        let Some((connection, ..)) = self.sessions.live(&row.id) else {
            return;
        };
        let ids = [message_id.clone()];
        match tokio::time::timeout(DRIVER_CALL_TIMEOUT, connection.mark_read(&chat, &ids)).await {
            Ok(Ok(())) => {
                let data = json!({ "waMessageId": message_id, "chat": chat, "direction": "in" });
                self.publish_event(row, types::MESSAGE_READ, data).await;
            }
            Ok(Err(err)) => {
                tracing::warn!(session.id = %row.id, error = %err, "could not mark a message read")
            }
            Err(_) => tracing::warn!(session.id = %row.id, "marking a message read timed out"),
        }
    }
}

impl Worker {
    /// A receipt for a message this session sent: `message.delivered` / `message.read` naming
    /// our message id (null for a message not sent through us, e.g. from the phone).
    async fn on_receipt(&self, row: &Session, wa_message_id: String, kind: ReceiptKind) {
        let event_type = match kind {
            ReceiptKind::Delivered => types::MESSAGE_DELIVERED,
            ReceiptKind::Read => types::MESSAGE_READ,
        };
        let shard = self.shard_of(&row.id);
        let ours = match self
            .store
            .message_id_of(shard, &row.id, &wa_message_id)
            .await
        {
            Ok(ours) => ours,
            Err(err) => {
                tracing::warn!(session.id = %row.id, error = %err, "could not look up the message of a receipt");
                None
            }
        };
        let data = json!({"messageId": ours, "waMessageId": wa_message_id, "direction": "out"});
        self.publish_event(row, event_type, data).await;
    }
}

fn set_identity(row: &mut Session, identity: &Identity) {
    row.phone_number = Some(identity.phone_number.clone());
    row.wa_jid = Some(identity.jid.clone());
    // A device may not know its LID yet; an empty one is not an identity.
    row.wa_lid = (!identity.lid.is_empty()).then(|| identity.lid.clone());
}
