//! One send job, exactly once. The job's record in Redis (fenced with the shard's epoch, like
//! row writes) says how far it got:
//! - none: a first attempt; `sending` is written before the driver is asked to send;
//! - `sending`: an attempt crashed mid-send; send again under the same WhatsApp id, which
//!   WhatsApp keeps as one message;
//! - `sent` / `failed`: done; its event is published again under its recorded id (so a
//!   publish lost in a crash is made good, and consumers dedupe by id), nothing is sent.
//!
//! The job is acknowledged only after the final record and its event are written.

use async_nats::jetstream::AckKind;
use serde_json::json;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;
use wagw_common::events::{Event, types};
use wagw_common::messages::SendMessageV1;
use wagw_common::time::now_ms;
use wagw_common::wire::Command;
use wagw_common::{Session, SessionId};

use super::deliver::Delivery;
use super::queue::Job;
use super::wa_message_id;
use crate::Worker;
use crate::handlers::decode;
use crate::store::StoreError;
use crate::store::messages::{MessageRecord, SendState};

/// How long a job waits before coming back after a Redis or event-stream failure.
const RETRY_LATER: Duration = Duration::from_secs(1);

/// A job being worked on: where it goes and what it says.
#[derive(Debug)]
pub struct Send {
    pub shard: u32,
    pub session: SessionId,
    pub job: SendMessageV1,
    /// The WhatsApp id every attempt uses.
    pub wa_message_id: String,
}

impl Worker {
    /// Works on one job and says how to settle it: `Ack` when done (sent, failed, or nothing
    /// left to do), `Nak` to have it come back (shard given up, Redis or JetStream trouble),
    /// `Term` for a job that can never be processed.
    pub async fn process_send(&self, job: &Job, stop: &CancellationToken) -> AckKind {
        let span = tracing::info_span!(
            "send",
            subject = job.subject(),
            session.id = tracing::field::Empty,
            message.id = tracing::field::Empty,
            request_id = job.request_id().unwrap_or_default(),
        );
        async {
            let send = match self.decode_send(job) {
                Ok(send) => send,
                Err(error) => {
                    tracing::warn!(error, "dropped a malformed send job");
                    return AckKind::Term;
                }
            };
            let span = tracing::Span::current();
            span.record("session.id", tracing::field::display(send.session));
            span.record("message.id", send.job.message_id.as_str());
            match self.run_send(&send, stop).await {
                Ok(outcome) => outcome,
                Err(StoreError::Fenced(shard)) => {
                    tracing::info!(
                        shard,
                        "the shard moved mid-send; its next owner takes the job"
                    );
                    AckKind::Nak(None)
                }
                Err(err) => {
                    tracing::warn!(error = %err, "a send job will be retried: the store failed");
                    AckKind::Nak(Some(RETRY_LATER))
                }
            }
        }
        .instrument(span)
        .await
    }

    fn decode_send(&self, job: &Job) -> Result<Send, String> {
        let shard_count = self.fleet.shard_count();
        let (subject, command) = decode(
            &self.subjects,
            &self.gateway,
            shard_count,
            job.subject(),
            &job.message.payload,
        )
        .map_err(|body| body.message)?;
        let Command::SendMessageV1(job) = command else {
            return Err("not a send command".to_owned());
        };
        Ok(Send {
            shard: subject.shard,
            session: subject.session,
            wa_message_id: wa_message_id(&job.message_id),
            job,
        })
    }

    async fn run_send(&self, send: &Send, stop: &CancellationToken) -> Result<AckKind, StoreError> {
        if !self.fleet.is_held(send.shard) {
            return Ok(AckKind::Nak(None));
        }
        let Some(row) = self.store.load_row(send.shard, &send.session).await? else {
            tracing::info!("dropped a send of a deleted session");
            return Ok(AckKind::Ack);
        };
        if row.organization_id != send.job.organization_id {
            tracing::warn!(
                job.organization_id = %send.job.organization_id,
                "dropped a send naming another organization than the session's"
            );
            return Ok(AckKind::Ack);
        }
        let record = (self.store)
            .load_message(send.shard, &send.session, &send.job.message_id)
            .await?;
        match record {
            Some(done) if done.state != SendState::Sending => {
                tracing::info!(state = ?done.state, "a redelivered send is already done; not sending again");
                return Ok(self.republish(&row, send, &done).await);
            }
            Some(_) => {
                tracing::info!("resending a send interrupted mid-way, under the same WhatsApp id")
            }
            None => {}
        }
        match self.deliver(&row, send, stop).await? {
            Delivery::Sent(wa_message_id) => self.finish_sent(&row, send, wa_message_id).await,
            Delivery::Failed(reason) => self.finish_failed(&row, send, reason).await,
            Delivery::Interrupted => Ok(AckKind::Nak(None)),
        }
    }

    /// Writes the `sending` record (with the WhatsApp id → our id map, for receipts that may
    /// come before the send returns).
    pub(super) async fn record_sending(&self, send: &Send) -> Result<(), StoreError> {
        let record = MessageRecord {
            state: SendState::Sending,
            wa_message_id: send.wa_message_id.clone(),
            event_id: None,
            reason: None,
            at: now_ms(),
        };
        self.write_record(send, &record, true).await
    }

    async fn finish_sent(
        &self,
        row: &Session,
        send: &Send,
        wa_message_id: String,
    ) -> Result<AckKind, StoreError> {
        // WhatsApp keeps the id we chose; should a driver report another, map that one too.
        let remap = wa_message_id != send.wa_message_id;
        let record = MessageRecord {
            state: SendState::Sent,
            wa_message_id,
            event_id: Some(ulid::Ulid::generate().to_string()),
            reason: None,
            at: now_ms(),
        };
        self.write_record(send, &record, remap).await?;
        self.metrics.sends_sent.increment(1);
        tracing::info!(wa.message_id = record.wa_message_id, "message sent");
        Ok(self.republish(row, send, &record).await)
    }

    async fn finish_failed(
        &self,
        row: &Session,
        send: &Send,
        reason: String,
    ) -> Result<AckKind, StoreError> {
        let record = MessageRecord {
            state: SendState::Failed,
            wa_message_id: send.wa_message_id.clone(),
            event_id: Some(ulid::Ulid::generate().to_string()),
            reason: Some(reason),
            at: now_ms(),
        };
        self.write_record(send, &record, false).await?;
        self.metrics.sends_failed.increment(1);
        tracing::info!(reason = record.reason, "message failed");
        Ok(self.republish(row, send, &record).await)
    }

    /// Publishes the event of a finished record under its recorded id; ack once it is stored,
    /// else the job comes back and tries again.
    async fn republish(&self, row: &Session, send: &Send, record: &MessageRecord) -> AckKind {
        let Some(event_id) = record.event_id.clone() else {
            return AckKind::Ack;
        };
        let (event_type, data) = match record.state {
            SendState::Sent => (
                types::MESSAGE_SENT,
                json!({"messageId": send.job.message_id, "waMessageId": record.wa_message_id, "to": send.job.to}),
            ),
            SendState::Failed => (
                types::MESSAGE_FAILED,
                json!({"messageId": send.job.message_id, "to": send.job.to, "reason": record.reason}),
            ),
            SendState::Sending => return AckKind::Ack,
        };
        let event = Event {
            id: event_id,
            ..Event::new(event_type, row, data)
        };
        if self.publish_prepared_event(&event).await {
            AckKind::Ack
        } else {
            AckKind::Nak(Some(RETRY_LATER))
        }
    }

    async fn write_record(
        &self,
        send: &Send,
        record: &MessageRecord,
        map_wa_id: bool,
    ) -> Result<(), StoreError> {
        let fence = self.fence(send.shard)?;
        let written = (self.store)
            .write_message(
                &fence,
                &send.session,
                &send.job.message_id,
                record,
                map_wa_id,
            )
            .await;
        self.check_fence(written).await
    }
}
