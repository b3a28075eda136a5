//! `logout`: unlinks the device (through the live link, or by forgetting it when there is
//! none), destroys the credentials and detaches the number; the row stays, `stopped`. A pairing
//! under way is cancelled; an unpaired session with nothing under way is a no-op.

use wagw_common::wire::Reply;
use wagw_common::{Session, SessionStatus};

use crate::Worker;
use crate::error::HandlerError;
use crate::sessions::DRIVER_CALL_TIMEOUT;

pub async fn logout_session(w: &Worker, mut row: Session) -> Result<Reply, HandlerError> {
    let closer = w.sessions.remove(&row.id);
    if !row.is_paired() && closer.is_none() && row.status != SessionStatus::ScanQrCode {
        return Ok(Reply::ok());
    }
    let live = closer
        .as_ref()
        .and_then(|closer| closer.connection().cloned());
    match live {
        Some(connection) if row.is_paired() => {
            match tokio::time::timeout(DRIVER_CALL_TIMEOUT, connection.logout()).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    tracing::warn!(session.id = %row.id, error = %err, "logout through the link failed")
                }
                Err(_) => tracing::warn!(session.id = %row.id, "logout through the link timed out"),
            }
        }
        None if row.is_paired() => w.forget_device(&row).await,
        _ => {}
    }
    if let Some(closer) = closer {
        closer.close().await;
    }
    w.delete_credentials(&row.id).await?;
    row.detach_number();
    w.stop_session(&mut row, None).await?;
    Ok(Reply::ok())
}
