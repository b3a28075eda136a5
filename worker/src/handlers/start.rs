//! `start`: connects a paired session in the background; already starting or working is a
//! no-op. The reply does not wait for the connection.

use std::time::Duration;
use wagw_common::wire::Reply;
use wagw_common::{DesiredState, Session, SessionStatus};

use super::NOT_PAIRED;
use crate::Worker;
use crate::error::HandlerError;

pub async fn start_session(w: &Worker, row: Session) -> Result<Reply, HandlerError> {
    if !row.is_paired() {
        return Err(HandlerError::precondition(NOT_PAIRED));
    }
    if matches!(row.status, SessionStatus::Starting | SessionStatus::Working) {
        return Ok(Reply::ok());
    }
    connect_again(w, row).await
}

/// Closes any link (dropping its runtime slot, and with it the reconnect budget), marks the
/// session `starting` and connects it in the background.
pub async fn connect_again(w: &Worker, mut row: Session) -> Result<Reply, HandlerError> {
    w.close_link(&row.id).await;
    row.desired_state = DesiredState::Running;
    let before = row.transition(SessionStatus::Starting, None);
    w.commit(Some(before), &mut row).await?;
    w.schedule_connect(row.id, Duration::ZERO, false).await;
    Ok(Reply::ok())
}
