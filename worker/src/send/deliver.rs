//! Getting one message out: wait until the session is `working` (a reconnecting session up to
//! `WAGW_SEND_WAIT_SECS`), show "typing…" for a length-dependent moment when the session has
//! `presenceTyping`, record `sending`, then ask the driver, retrying transient failures with
//! capped backoff. Every driver call is bounded by [`DRIVER_CALL_TIMEOUT`].

use backon::{ExponentialBuilder, Retryable};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use wagw_common::{Session, SessionStatus};

use super::job::Send;
use crate::Worker;
use crate::driver::{DriverError, Presence};
use crate::sessions::{DRIVER_CALL_TIMEOUT, LinkKind};
use crate::store::StoreError;

/// How often a send waiting for its session looks at it again.
const READY_POLL: Duration = Duration::from_millis(200);
/// "Typing…" lasts this long per character of the text…
const TYPING_PER_CHAR: Duration = Duration::from_millis(40);
/// …and at least this long (capped by `WAGW_TYPING_MAX_MS`).
const TYPING_MIN: Duration = Duration::from_millis(500);

/// How a delivery ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// WhatsApp took it, under this id.
    Sent(String),
    /// It will not be sent, for this reason.
    Failed(String),
    /// The shard is being given up before the driver was asked; the job goes back.
    Interrupted,
}

/// How long "typing…" shows before a text of `chars` characters.
pub fn typing_delay(chars: usize, max: Duration) -> Duration {
    let per_char = TYPING_PER_CHAR.saturating_mul(u32::try_from(chars).unwrap_or(u32::MAX));
    per_char.max(TYPING_MIN).min(max)
}

/// Where the session stands for a send.
enum Readiness {
    Ready,
    Wait(SessionStatus),
    Refuse(SessionStatus),
}

fn readiness(row: &Session, live: Option<LinkKind>) -> Readiness {
    match (row.status, live) {
        (SessionStatus::Working, Some(LinkKind::Connect)) => Readiness::Ready,
        // Working on record but no link here yet (a takeover reconciling): as reconnecting.
        (SessionStatus::Working | SessionStatus::Starting, _) => Readiness::Wait(row.status),
        (status, _) => Readiness::Refuse(status),
    }
}

impl Worker {
    /// Delivers one message; store errors (a lost fence among them) end it early.
    pub(super) async fn deliver(
        &self,
        row: &Session,
        send: &Send,
        stop: &CancellationToken,
    ) -> Result<Delivery, StoreError> {
        let row = match self.await_working(row, send, stop).await? {
            Ok(row) => row,
            Err(delivery) => return Ok(delivery),
        };
        let to = send.job.to.as_str();
        if row.presence_typing {
            self.show_presence(&row, to, Presence::Composing).await;
            let max = Duration::from_millis(self.config.typing_max_ms);
            let delay = typing_delay(send.job.text.chars().count(), max);
            tokio::select! {
                () = stop.cancelled() => {
                    self.show_presence(&row, to, Presence::Paused).await;
                    return Ok(Delivery::Interrupted);
                }
                () = tokio::time::sleep(delay) => {}
            }
        }
        self.record_sending(send).await?;
        let sent = self.send_with_retries(&row, send).await;
        if row.presence_typing {
            self.show_presence(&row, to, Presence::Paused).await;
        }
        Ok(match sent {
            Ok(wa_message_id) => Delivery::Sent(wa_message_id),
            Err(err) => Delivery::Failed(format!("WhatsApp did not take the message: {err}")),
        })
    }

    /// The session's row once it is `working` with a live link, or how the send ends instead.
    async fn await_working(
        &self,
        row: &Session,
        send: &Send,
        stop: &CancellationToken,
    ) -> Result<Result<Session, Delivery>, StoreError> {
        let patience = Duration::from_secs(self.config.send_wait_secs);
        let deadline = Instant::now() + patience;
        let mut row = row.clone();
        loop {
            let live = self.sessions.live(&row.id).map(|(_, kind, _)| kind);
            match readiness(&row, live) {
                Readiness::Ready => return Ok(Ok(row)),
                Readiness::Refuse(status) => {
                    let reason = format!("the session is {}, not working", status.as_str());
                    return Ok(Err(Delivery::Failed(reason)));
                }
                Readiness::Wait(status) if Instant::now() >= deadline => {
                    let reason = format!(
                        "the session stayed {} for {} s without becoming working",
                        status.as_str(),
                        patience.as_secs()
                    );
                    return Ok(Err(Delivery::Failed(reason)));
                }
                Readiness::Wait(_) => {}
            }
            tokio::select! {
                () = stop.cancelled() => return Ok(Err(Delivery::Interrupted)),
                () = tokio::time::sleep(READY_POLL) => {}
            }
            match self.store.load_row(send.shard, &send.session).await? {
                Some(fresh) => row = fresh,
                None => return Ok(Err(Delivery::Failed("the session was deleted".to_owned()))),
            }
        }
    }

    /// Sends the text, retrying transient failures (each attempt on the session's current
    /// link) a few times with capped exponential backoff and jitter.
    async fn send_with_retries(&self, row: &Session, send: &Send) -> Result<String, DriverError> {
        let attempt = || async {
            let Some((connection, ..)) = self.sessions.live(&row.id) else {
                return Err(DriverError::Transient(
                    "the session has no live link".to_owned(),
                ));
            };
            let call = connection.send_text(&send.job.to, &send.job.text, &send.wa_message_id);
            match tokio::time::timeout(DRIVER_CALL_TIMEOUT, call).await {
                Ok(result) => result,
                Err(_) => Err(DriverError::Transient("sending timed out".to_owned())),
            }
        };
        let retries = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(500))
            .with_max_delay(Duration::from_secs(4))
            .with_jitter()
            .with_max_times(4);
        attempt
            .retry(retries)
            .sleep(tokio::time::sleep)
            .when(|err| matches!(err, DriverError::Transient(_) | DriverError::Closed))
            .notify(|err, delay| {
                tracing::info!(error = %err, delay_ms = delay.as_millis(), "sending failed; retrying");
            })
            .await
    }

    /// Shows or clears "typing…"; cosmetic, so a failure is only logged.
    async fn show_presence(&self, row: &Session, to: &str, presence: Presence) {
        let Some((connection, ..)) = self.sessions.live(&row.id) else {
            return;
        };
        let call = connection.send_presence(to, presence);
        match tokio::time::timeout(DRIVER_CALL_TIMEOUT, call).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::debug!(error = %err, ?presence, "could not show presence"),
            Err(_) => tracing::debug!(?presence, "showing presence timed out"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_lasts_by_length_between_half_a_second_and_the_cap() {
        let max = Duration::from_secs(5);
        assert_eq!(typing_delay(1, max), Duration::from_millis(500));
        assert_eq!(typing_delay(50, max), Duration::from_millis(2000));
        assert_eq!(typing_delay(10_000, max), max);
        assert_eq!(typing_delay(usize::MAX, max), max);
        assert_eq!(typing_delay(50, Duration::ZERO), Duration::ZERO);
    }
}
