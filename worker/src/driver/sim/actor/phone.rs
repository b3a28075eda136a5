//! What the phone and the network do to a live link: the sim controls, pairing completion and
//! "stream replaced".

use super::{Actor, Flow, Stage};
use crate::driver::sim::control::Control;
use crate::driver::sim::device::{Device, made_up_phone_number, message_id};
use crate::driver::sim::journal::SimRecordKind;
use crate::driver::sim::link::Phase;
use crate::driver::{DriverError, DriverEvent};
use tokio::sync::oneshot;
use tokio::time::Instant;
use wagw_common::time::now_ms;

impl Actor {
    pub(super) async fn on_control(
        &mut self,
        control: Control,
        reply: oneshot::Sender<Result<(), DriverError>>,
    ) -> Flow {
        let refuse = |reply: oneshot::Sender<_>, message: &str| {
            // The caller may have given up waiting; nothing to do then.
            let _ = reply.send(Err(DriverError::Invalid(message.to_owned())));
            Flow::Continue
        };
        let flow = match (control, &self.stage) {
            (Control::Pair { phone_number }, Stage::Qr { .. }) => {
                let phone_number = phone_number.unwrap_or_else(made_up_phone_number);
                self.pair(&phone_number).await
            }
            (
                Control::Pair { phone_number },
                Stage::Code {
                    phone_number: wanted,
                    ..
                },
            ) => match phone_number {
                Some(given) if given != *wanted => {
                    return refuse(
                        reply,
                        "phoneNumber: differs from the number the pairing code was requested for",
                    );
                }
                _ => {
                    let wanted = wanted.clone();
                    self.pair(&wanted).await
                }
            },
            (Control::Pair { .. }, _) => return refuse(reply, "no pairing under way"),
            (Control::Disconnect, Stage::Connected { .. }) => {
                let reason = "connection lost (simulated)".to_owned();
                self.emit(DriverEvent::Disconnected { reason }).await
            }
            (Control::Unlink, Stage::Connected { device } | Stage::Connecting { device, .. }) => {
                self.inner.void(device);
                self.inner
                    .record(&self.shared.session, SimRecordKind::LoggedOut)
                    .await;
                let reason = "device removed on the phone".to_owned();
                self.emit(DriverEvent::LoggedOut { reason }).await
            }
            (Control::Unlink, _) => return refuse(reply, "no device is paired on this link"),
            (Control::Incoming { from, text }, Stage::Connected { .. }) => {
                let event = DriverEvent::IncomingMessage {
                    id: message_id(),
                    from,
                    text,
                    at: now_ms(),
                };
                self.emit(event).await
            }
            (Control::Disconnect | Control::Incoming { .. }, _) => {
                return refuse(reply, "the link is not connected");
            }
            (Control::Fail { reason }, _) => self.emit(DriverEvent::Failed { reason }).await,
        };
        let answer = if flow == Flow::Stopped {
            Err(DriverError::Closed)
        } else {
            Ok(())
        };
        let _ = reply.send(answer);
        flow
    }

    /// The phone confirmed: `Paired`, then `Connected` after the connect latency.
    pub(super) async fn pair(&mut self, phone_number: &str) -> Flow {
        let device = Device::pair(phone_number);
        // Mirrored before `Paired` goes out, so a `logout` answering it voids this device.
        self.shared.set(Phase::Connecting, Some(device.clone()));
        let event = DriverEvent::Paired {
            identity: device.identity(),
            credentials: device.credentials(),
        };
        let flow = self.emit(event).await;
        if flow != Flow::Continue {
            return flow;
        }
        let session = &self.shared.session;
        match self.inner.claim_device(session, &self.shared.token).await {
            Ok(simnet) => self.simnet = Some(simnet),
            Err(err) => tracing::warn!(
                session.id = %session.session_id,
                error = %err,
                "sim link cannot watch for stream replacement"
            ),
        }
        let at = Instant::now() + self.inner.config.connect_latency;
        self.stage = Stage::Connecting { device, at };
        Flow::Continue
    }

    /// A link that sees another link's token on its `simnet` subject was replaced.
    pub(super) async fn on_simnet(&mut self, message: Option<async_nats::Message>) -> Flow {
        match message {
            Some(message) if message.payload.as_ref() != self.shared.token.as_bytes() => {
                self.emit(DriverEvent::StreamReplaced).await
            }
            Some(_) => Flow::Continue,
            None => {
                // The NATS client is gone; nothing more will arrive.
                self.simnet = None;
                Flow::Continue
            }
        }
    }
}
