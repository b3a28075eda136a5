//! `update`: applies a patch to the row and validates the merged result.

use wagw_common::Session;
use wagw_common::session::SessionPatch;
use wagw_common::wire::Reply;

use crate::Worker;
use crate::error::HandlerError;

pub async fn update_session(
    w: &Worker,
    row: Session,
    patch: &SessionPatch,
) -> Result<Reply, HandlerError> {
    let mut next = patch.apply_to(&row)?;
    w.commit(Some(row.status), &mut next).await?;
    Ok(Reply::ok())
}
