//! `create`: writes the row the edge built, with its indexes. A retry of the same create is
//! answered ok; an id taken by another organization is refused.

use wagw_common::wire::{CreateSessionV1, Reply};
use wagw_common::{DesiredState, ErrorBody, ErrorCode, SessionId, SessionStatus};

use crate::Worker;
use crate::error::HandlerError;

pub async fn create_session(
    w: &Worker,
    id: SessionId,
    cmd: CreateSessionV1,
) -> Result<Reply, HandlerError> {
    let mut row = cmd.session;
    if row.id != id {
        return Err(
            ErrorBody::invalid_field("id", "id: must be the session of the subject").into(),
        );
    }
    if row.gateway_id != w.gateway {
        return Err(ErrorBody::invalid_field(
            "gatewayId",
            "gatewayId: not the gateway of this worker",
        )
        .into());
    }
    row.validate_settings()?;
    if let Some(existing) = w.store.load_row(w.shard_of(&id), &id).await? {
        if existing.organization_id == row.organization_id {
            return Ok(Reply::ok());
        }
        return Err(ErrorBody::new(ErrorCode::InvalidArgument, "session id already in use").into());
    }
    // A new session is stopped and unpaired, whatever the command says.
    row.status = SessionStatus::Stopped;
    row.desired_state = DesiredState::Stopped;
    row.status_reason = None;
    row.detach_number();
    row.last_connected_at = None;
    w.commit(None, &mut row).await?;
    Ok(Reply::ok())
}
