//! `restart`: closes any link and connects again in the background, keeping the number; this
//! is how a `failed` or stuck session recovers.

use wagw_common::Session;
use wagw_common::wire::Reply;

use super::NOT_PAIRED;
use super::start::connect_again;
use crate::Worker;
use crate::error::HandlerError;

pub async fn restart_session(w: &Worker, row: Session) -> Result<Reply, HandlerError> {
    if !row.is_paired() {
        return Err(HandlerError::precondition(NOT_PAIRED));
    }
    connect_again(w, row).await
}
