//! `restart`: closes any link and connects again in the background, keeping the number; this
//! is how a `failed` or stuck session recovers.

use std::time::Duration;
use wagw_common::wire::Reply;
use wagw_common::{DesiredState, Session, SessionStatus};

use super::NOT_PAIRED;
use crate::Worker;
use crate::error::HandlerError;

pub async fn restart_session(w: &Worker, mut row: Session) -> Result<Reply, HandlerError> {
    if !row.is_paired() {
        return Err(HandlerError::precondition(NOT_PAIRED));
    }
    // Closing drops the runtime slot, and with it the reconnect budget.
    w.close_link(&row.id).await;
    row.desired_state = DesiredState::Running;
    let before = row.transition(SessionStatus::Starting, None);
    w.commit(Some(before), &mut row).await?;
    w.schedule_connect(row.id, Duration::ZERO, false).await;
    Ok(Reply::ok())
}
