//! Command dispatch: take the subject apart, decode the versioned [`Command`], check it matches
//! the subject and the caller's organization owns the session, then run the command's handler
//! under the session's lock. One file per command, each decode → act → reply.

pub mod create;
pub mod delete;
pub mod logout;
pub mod pairing_code;
pub mod qr;
pub mod restart;
pub mod start;
pub mod stop;
pub mod update;

use std::time::Instant;
use tracing::Instrument;
use wagw_common::shard::shard_of;
use wagw_common::subjects::{CommandSubject, Subjects};
use wagw_common::wire::{Command, Reply};
use wagw_common::{ErrorBody, ErrorCode, GatewayId, OrganizationId, Session};

use crate::Worker;
use crate::error::HandlerError;
use crate::sessions::DRIVER_CALL_TIMEOUT;

/// The refusal of `:start`, `:restart` on a session without a number.
pub const NOT_PAIRED: &str =
    "session has no number attached; pair it first with GET /qr or POST /pairing-code";

/// Takes a command message apart and checks it is well formed and meant for this gateway.
///
/// # Errors
/// An `invalid_argument` body saying what is wrong.
pub fn decode(
    subjects: &Subjects,
    gateway: &GatewayId,
    shard_count: u32,
    subject: &str,
    payload: &[u8],
) -> Result<(CommandSubject, Command), ErrorBody> {
    let invalid = |message: String| ErrorBody::new(ErrorCode::InvalidArgument, message);
    let parsed = subjects
        .parse_command(subject)
        .ok_or_else(|| invalid("not a command subject".into()))?;
    if &parsed.gateway != gateway {
        return Err(invalid(format!(
            "this worker serves gateway {gateway}, not {}",
            parsed.gateway
        )));
    }
    if parsed.shard != shard_of(&parsed.session, shard_count) {
        return Err(invalid(format!(
            "session {} is not in shard {}",
            parsed.session, parsed.shard
        )));
    }
    let command: Command = serde_json::from_slice(payload)
        .map_err(|err| invalid(format!("malformed command: {err}")))?;
    if command.op() != parsed.op {
        return Err(invalid(format!(
            "a {} command cannot travel on a {} subject",
            command.op().token(),
            parsed.op.token()
        )));
    }
    Ok((parsed, command))
}

impl Worker {
    /// Handles one command message and returns the reply to send; never fails.
    pub async fn handle_command(
        &self,
        subject: &str,
        payload: &[u8],
        request_id: Option<&str>,
    ) -> Reply {
        // Every field is set when the span is made: recording one later makes the JSON log
        // format parse and rewrite the span's fields, a cost on every command.
        let parsed = self.subjects.parse_command(subject);
        let span = tracing::info_span!(
            "command",
            subject,
            command.kind = parsed.as_ref().map(|parsed| parsed.op.token()),
            session.id = parsed
                .as_ref()
                .map(|parsed| tracing::field::display(parsed.session)),
            request_id,
        );
        async {
            let started = Instant::now();
            let result = self.dispatch(subject, payload).await;
            let duration_ms = started.elapsed().as_millis();
            match result {
                Ok(reply) => {
                    // DEBUG: a line per command costs a busy worker dearly, and the edge's
                    // `wagw_nats_commands_total` counts them; refusals and failures below
                    // stay at INFO and WARN.
                    tracing::debug!(duration_ms, "command handled");
                    reply
                }
                Err(err) => {
                    let body = err.to_body();
                    if err.is_server_side() {
                        tracing::warn!(duration_ms, error = %err, code = %body.code, "command failed");
                    } else {
                        tracing::info!(duration_ms, code = %body.code, reason = %body.message, "command refused");
                    }
                    Reply::refused(body)
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn dispatch(&self, subject: &str, payload: &[u8]) -> Result<Reply, HandlerError> {
        let (subject, command) = decode(
            &self.subjects,
            &self.gateway,
            self.fleet.shard_count(),
            subject,
            payload,
        )?;
        if !self.fleet.is_held(subject.shard) {
            let message = format!("this worker does not own shard {}; retry", subject.shard);
            return Err(ErrorBody::shard_moving(message).into());
        }
        let id = subject.session;
        let _guard = self.sessions.locks.lock(id).await;
        match command {
            Command::CreateSessionV1(cmd) => create::create_session(self, id, cmd).await,
            command => {
                let row = self
                    .owned_row(subject.shard, &subject.session, command.organization_id())
                    .await?;
                self.run_on_row(command, row).await
            }
        }
    }

    /// The row, if it exists and belongs to `org`; a session of another org is not found.
    async fn owned_row(
        &self,
        shard: u32,
        id: &wagw_common::SessionId,
        org: &OrganizationId,
    ) -> Result<Session, HandlerError> {
        let row = self.store.load_row(shard, id).await?;
        row.filter(|row| &row.organization_id == org)
            .ok_or_else(|| HandlerError::Refused(ErrorBody::session_not_found()))
    }

    async fn run_on_row(&self, command: Command, row: Session) -> Result<Reply, HandlerError> {
        match command {
            Command::UpdateSessionV1(cmd) => update::update_session(self, row, &cmd.patch).await,
            Command::DeleteSessionV1(_) => delete::delete_session(self, row).await,
            Command::StartSessionV1(_) => start::start_session(self, row).await,
            Command::StopSessionV1(_) => stop::stop_session(self, row).await,
            Command::RestartSessionV1(_) => restart::restart_session(self, row).await,
            Command::LogoutSessionV1(_) => logout::logout_session(self, row).await,
            Command::QrV1(_) => qr::get_qr(self, row).await,
            Command::PairingCodeV1(cmd) => {
                pairing_code::request_pairing_code(self, row, &cmd.phone_number).await
            }
            Command::CreateSessionV1(_) => {
                Err(ErrorBody::new(ErrorCode::Internal, "create dispatched on a row").into())
            }
            // The shard listener never passes a send here (it skips `.send` subjects; the send
            // consumer handles them); a direct caller gets a refusal, not a send.
            Command::SendMessageV1(_) => Err(ErrorBody::new(
                ErrorCode::InvalidArgument,
                "sends travel through the gateway's send stream, not as requests",
            )
            .into()),
        }
    }

    /// Forgets a paired device on WhatsApp's side when it has no live link; best effort.
    pub async fn forget_device(&self, row: &Session) {
        let credentials = match self
            .store
            .load_credentials(self.shard_of(&row.id), &row.id)
            .await
        {
            Ok(Some(credentials)) => credentials,
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(session.id = %row.id, error = %err, "could not load credentials to forget the device");
                return;
            }
        };
        let session = self.driver_session(&row.id);
        match tokio::time::timeout(
            DRIVER_CALL_TIMEOUT,
            self.driver.forget(&session, &credentials),
        )
        .await
        {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                tracing::warn!(session.id = %row.id, error = %err, "could not forget the device")
            }
            Err(_) => tracing::warn!(session.id = %row.id, "forgetting the device timed out"),
        }
    }
}

#[cfg(test)]
mod tests;
