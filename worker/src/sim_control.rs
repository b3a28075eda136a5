//! Controls of the simulated phone on `<root>.sim.<gw>.<session>.<action>`. Every worker of the
//! gateway hears every control; only the owner of the session's shard answers.

use futures::StreamExt;
use tracing::Instrument;
use wagw_common::wire::Reply;
use wagw_common::{ErrorBody, ErrorCode};

use crate::Worker;
use crate::driver::DriverError;
use crate::error::HandlerError;
use crate::sessions::DRIVER_CALL_TIMEOUT;

impl Worker {
    /// Serves sim controls until the worker stops.
    pub async fn sim_listener(self, mut subscriber: async_nats::Subscriber) {
        loop {
            let message = tokio::select! {
                () = self.stopping.cancelled() => break,
                message = subscriber.next() => message,
            };
            let Some(message) = message else { break };
            let Ok(permit) = self.in_flight.clone().acquire_owned().await else {
                break;
            };
            let worker = self.clone();
            self.handlers.spawn(async move {
                if let Some(reply) = worker
                    .handle_sim_control(message.subject.as_str(), &message.payload)
                    .await
                {
                    worker.respond(message.reply, &reply).await;
                }
                drop(permit);
            });
        }
        if let Err(err) = subscriber.unsubscribe().await {
            tracing::debug!(error = %err, "unsubscribing sim controls failed");
        }
        tracing::debug!("sim control listener stopped");
    }

    /// Applies a sim control; `None` when another worker owns the session and answers.
    pub async fn handle_sim_control(&self, subject: &str, body: &[u8]) -> Option<Reply> {
        let control = self
            .subjects
            .parse_sim(subject)
            .filter(|c| c.gateway == self.gateway)?;
        let shard = self.shard_of(&control.session);
        if !self.fleet.is_held(shard) {
            return None;
        }
        let span = tracing::info_span!("sim_control", subject, session.id = %control.session, sim.action = control.action.token());
        let result: Result<Reply, HandlerError> = async {
            if self
                .store
                .load_row(shard, &control.session)
                .await?
                .is_none()
            {
                return Err(ErrorBody::session_not_found().into());
            }
            tokio::time::timeout(
                DRIVER_CALL_TIMEOUT,
                self.driver.simulate(&control.session, control.action, body),
            )
            .await
            .map_err(|_| HandlerError::Timeout("a sim control"))??;
            Ok(Reply::ok())
        }
        .instrument(span.clone())
        .await;
        let _entered = span.enter();
        Some(match result {
            Ok(reply) => {
                tracing::info!("sim control applied");
                reply
            }
            Err(err) => {
                let body = sim_error_body(&err);
                tracing::info!(code = %body.code, error = %err, "sim control refused");
                Reply::refused(body)
            }
        })
    }
}

/// Sim controls map driver errors a little differently: a fatal one is our bug.
fn sim_error_body(err: &HandlerError) -> ErrorBody {
    match err {
        HandlerError::Driver(DriverError::Fatal(_) | DriverError::Unsupported(_)) => {
            ErrorBody::new(
                ErrorCode::Internal,
                "the simulated phone could not apply the control",
            )
        }
        other => other.to_body(),
    }
}
