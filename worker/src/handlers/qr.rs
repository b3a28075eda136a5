//! `qr`: replays the current QR of a QR pairing under way, or begins one (cancelling a code
//! pairing) and waits a few seconds for its first QR.

use std::time::Duration;
use wagw_common::wire::{QrCode, Reply};
use wagw_common::{DesiredState, Session, SessionStatus};

use crate::Worker;
use crate::driver::{DriverEvent, Link};
use crate::error::HandlerError;
use crate::sessions::{DRIVER_CALL_TIMEOUT, LinkKind};

/// How long to wait for a new pairing's first QR: under the edge's default command timeout
/// (5 s), so the caller gets this worker's clear answer rather than a bare 504.
const FIRST_QR_TIMEOUT: Duration = Duration::from_secs(4);

pub async fn get_qr(w: &Worker, mut row: Session) -> Result<Reply, HandlerError> {
    if row.is_paired() {
        return Err(HandlerError::precondition("session is already paired"));
    }
    if let Some((_, LinkKind::QrPairing, Some(qr))) = w.sessions.live(&row.id) {
        return Ok(Reply {
            qr: Some(qr),
            ..Reply::ok()
        });
    }
    w.close_link(&row.id).await;
    let session = w.driver_session(&row.id);
    let mut link = tokio::time::timeout(DRIVER_CALL_TIMEOUT, w.driver.start_qr_pairing(&session))
        .await
        .map_err(|_| HandlerError::Timeout("starting a QR pairing"))??;
    let Some((code, expires_at)) = first_qr(&mut link).await else {
        link.connection.close().await;
        return Err(HandlerError::Timeout("waiting for the first QR code"));
    };
    let generation = w
        .install_link(row.id, link, LinkKind::QrPairing, None)
        .await;
    row.desired_state = DesiredState::Running;
    let before = row.transition(SessionStatus::ScanQrCode, None);
    let written = async {
        w.commit(Some(before), &mut row).await?;
        w.on_qr(&row, generation, code.clone(), expires_at).await
    };
    if let Err(err) = written.await {
        w.close_link(&row.id).await;
        return Err(err);
    }
    let qr = QrCode {
        qr: code,
        expires_at,
        status: SessionStatus::ScanQrCode,
    };
    Ok(Reply {
        qr: Some(qr),
        ..Reply::ok()
    })
}

/// The first QR of a new pairing link; `None` when the link ends or is silent too long.
async fn first_qr(link: &mut Link) -> Option<(String, i64)> {
    let wait = async {
        while let Some(event) = link.events.recv().await {
            match event {
                DriverEvent::Qr { code, expires_at } => return Some((code, expires_at)),
                event if event.ends_link() => return None,
                _ => {}
            }
        }
        None
    };
    tokio::time::timeout(FIRST_QR_TIMEOUT, wait)
        .await
        .ok()
        .flatten()
}
