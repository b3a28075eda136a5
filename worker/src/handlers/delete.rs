//! `delete`: closes the link, forgets a paired device on WhatsApp's side (best effort), and
//! removes the row, its indexes, credentials and QR in one fenced script.

use wagw_common::Session;
use wagw_common::wire::Reply;

use crate::Worker;
use crate::error::HandlerError;

pub async fn delete_session(w: &Worker, row: Session) -> Result<Reply, HandlerError> {
    w.close_link(&row.id).await;
    if row.is_paired() {
        w.forget_device(&row).await;
    }
    let fence = w.fence(w.shard_of(&row.id))?;
    let deleted = w.store.delete_session(&fence, &row).await;
    w.check_fence(deleted).await?;
    w.sessions.forget_status(&row.id);
    Ok(Reply::ok())
}
