//! `pairing_code`: begins pairing by code for a phone number (cancelling any other pairing)
//! and returns the `XXXX-XXXX` code to type on the phone. Asked again for the same number while
//! that code is still good, it answers the same code: WhatsApp throttles code requests, and a
//! client retrying after a timeout must not burn them.

use wagw_common::session::validate_phone_number;
use wagw_common::time::now_ms;
use wagw_common::wire::{PairingCode, Reply};
use wagw_common::{DesiredState, Session, SessionStatus};

use crate::Worker;
use crate::error::HandlerError;
use crate::sessions::{DRIVER_CALL_TIMEOUT, LinkKind};
use crate::store::pairing::StoredPairingCode;

/// A code this close to expiry is not handed out again: the user could not type it in time.
const REUSE_MARGIN_MS: i64 = 15_000;

pub async fn request_pairing_code(
    w: &Worker,
    mut row: Session,
    phone_number: &str,
) -> Result<Reply, HandlerError> {
    validate_phone_number("phoneNumber", phone_number)?;
    if row.is_paired() {
        return Err(HandlerError::precondition("session is already paired"));
    }
    if let Some(code) = code_under_way(w, &row, phone_number).await {
        return Ok(reply(code.code, code.expires_at));
    }
    w.close_link(&row.id).await;
    let session = w.driver_session(&row.id);
    let (link, code) = tokio::time::timeout(
        DRIVER_CALL_TIMEOUT,
        w.driver.start_code_pairing(&session, phone_number),
    )
    .await
    .map_err(|_| HandlerError::Timeout("requesting a pairing code"))??;
    w.install_link(row.id, link, LinkKind::CodePairing, None)
        .await;
    row.desired_state = DesiredState::Running;
    let before = row.transition(SessionStatus::ScanQrCode, None);
    let stored = StoredPairingCode {
        code: code.code,
        expires_at: code.expires_at,
        phone_number: phone_number.to_owned(),
    };
    let written = async {
        w.clear_qr(&row.id).await?;
        w.commit(Some(before), &mut row).await?;
        let fence = w.fence(w.shard_of(&row.id))?;
        let saved = w.store.set_pairing_code(&fence, &row.id, &stored, now_ms());
        Ok::<_, HandlerError>(w.check_fence(saved.await).await?)
    };
    if let Err(err) = written.await {
        w.close_link(&row.id).await;
        return Err(err);
    }
    w.metrics.pairing_codes_issued.increment(1);
    Ok(reply(stored.code, stored.expires_at))
}

/// The code of this worker's live pairing by code for `phone_number`, while still good.
async fn code_under_way(
    w: &Worker,
    row: &Session,
    phone_number: &str,
) -> Option<StoredPairingCode> {
    let (_, kind, _) = w.sessions.live(&row.id)?;
    if kind != LinkKind::CodePairing {
        return None;
    }
    let stored = w
        .store
        .load_pairing_code(w.shard_of(&row.id), &row.id)
        .await;
    let stored = stored
        .inspect_err(|err| tracing::warn!(session.id = %row.id, error = %err, "could not read the pairing code under way"))
        .ok()??;
    (stored.phone_number == phone_number && stored.expires_at > now_ms() + REUSE_MARGIN_MS)
        .then_some(stored)
}

fn reply(code: String, expires_at: i64) -> Reply {
    let pairing_code = PairingCode {
        code,
        expires_at,
        status: SessionStatus::ScanQrCode,
    };
    Reply {
        pairing_code: Some(pairing_code),
        ..Reply::ok()
    }
}
