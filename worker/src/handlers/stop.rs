//! `stop`: closes the link (keeping the pairing) and marks the session stopped. Idempotent: a
//! stopped session without a link is left untouched.

use wagw_common::wire::Reply;
use wagw_common::{DesiredState, Session, SessionStatus};

use crate::Worker;
use crate::error::HandlerError;

pub async fn stop_session(w: &Worker, mut row: Session) -> Result<Reply, HandlerError> {
    let had_link = w.close_link(&row.id).await;
    let already_stopped = row.status == SessionStatus::Stopped
        && row.desired_state == DesiredState::Stopped
        && row.status_reason.is_none();
    if had_link || !already_stopped {
        w.stop_session(&mut row, None).await?;
    }
    Ok(Reply::ok())
}
