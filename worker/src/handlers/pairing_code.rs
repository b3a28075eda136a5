//! `pairing_code`: begins pairing by code for a phone number (cancelling any other pairing)
//! and returns the `XXXX-XXXX` code to type on the phone.

use wagw_common::session::validate_phone_number;
use wagw_common::wire::{PairingCode, Reply};
use wagw_common::{DesiredState, Session, SessionStatus};

use crate::Worker;
use crate::error::HandlerError;
use crate::sessions::{DRIVER_CALL_TIMEOUT, LinkKind};

pub async fn request_pairing_code(
    w: &Worker,
    mut row: Session,
    phone_number: &str,
) -> Result<Reply, HandlerError> {
    validate_phone_number("phoneNumber", phone_number)?;
    if row.is_paired() {
        return Err(HandlerError::precondition("session is already paired"));
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
    let written = async {
        w.clear_qr(&row.id).await?;
        w.commit(Some(before), &mut row).await
    };
    if let Err(err) = written.await {
        w.close_link(&row.id).await;
        return Err(err);
    }
    let pairing_code = PairingCode {
        code: code.code,
        expires_at: code.expires_at,
        status: SessionStatus::ScanQrCode,
    };
    Ok(Reply {
        pairing_code: Some(pairing_code),
        ..Reply::ok()
    })
}
