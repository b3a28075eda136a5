//! The task behind one sim link: its timers (connect latency, QR rotation, code expiry,
//! auto-pairing, receipts), its controls and its `simnet` watch for "stream replaced".
//!
//! The task is the only sender of the link's events; when it returns the event stream ends.

use crate::driver::sim::device::{Device, made_up_phone_number, qr_code};
use crate::driver::sim::inner::Inner;
use crate::driver::sim::journal::SimRecordKind;
use crate::driver::sim::link::{LinkShared, Op, Phase};
use crate::driver::{DriverEvent, ReceiptKind};
use async_nats::Subscriber;
use futures::StreamExt;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use wagw_common::time::now_ms;

mod phone;

/// How long after `send_text` the recipient's phone acknowledges delivery.
const DELIVERY_DELAY: Duration = Duration::from_millis(50);

/// How a link begins.
#[derive(Debug)]
pub(super) enum Start {
    /// Resuming a stored device; `simnet` is already subscribed and the token published.
    Connect {
        device: Device,
        simnet: Subscriber,
    },
    Qr,
    Code {
        phone_number: String,
        expires: Instant,
    },
}

/// What the link is doing, with its deadlines.
#[derive(Debug)]
enum Stage {
    Connecting {
        device: Device,
        at: Instant,
    },
    Qr {
        shown: u32,
        expires: Instant,
        auto_pair: Option<Instant>,
    },
    Code {
        phone_number: String,
        expires: Instant,
        auto_pair: Option<Instant>,
    },
    Connected {
        device: Device,
    },
}

/// Which deadline came due.
#[derive(Debug, Clone, Copy)]
enum Due {
    Receipt,
    Connect,
    QrExpired,
    CodeExpired,
    AutoPair,
}

/// What woke the task.
#[derive(Debug)]
enum Wake {
    Stop,
    Op(Op),
    Simnet(Option<async_nats::Message>),
    Due(Due),
}

/// Whether the link goes on after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    /// An event that ends the link was emitted.
    Ended,
    /// `close`/`logout`, or the worker dropped the event stream: end silently.
    Stopped,
}

#[derive(Debug)]
pub(super) struct Actor {
    inner: Arc<Inner>,
    shared: Arc<LinkShared>,
    events: mpsc::Sender<DriverEvent>,
    ops: mpsc::UnboundedReceiver<Op>,
    simnet: Option<Subscriber>,
    stage: Stage,
    receipts: VecDeque<(Instant, String)>,
    /// `connected` was recorded; `closed` follows when the link ends.
    connected: bool,
}

impl Actor {
    pub fn new(
        inner: Arc<Inner>,
        shared: Arc<LinkShared>,
        events: mpsc::Sender<DriverEvent>,
        ops: mpsc::UnboundedReceiver<Op>,
        start: Start,
    ) -> Self {
        let now = Instant::now();
        let config = &inner.config;
        let auto_pair = config.auto_pair_after.map(|after| now + after);
        let (stage, simnet) = match start {
            Start::Connect { device, simnet } => {
                let at = now + config.connect_latency;
                (Stage::Connecting { device, at }, Some(simnet))
            }
            // `shown: 0`, due now: `run` shows the first QR before anything else.
            Start::Qr => (
                Stage::Qr {
                    shown: 0,
                    expires: now,
                    auto_pair,
                },
                None,
            ),
            Start::Code {
                phone_number,
                expires,
            } => (
                Stage::Code {
                    phone_number,
                    expires,
                    auto_pair,
                },
                None,
            ),
        };
        Self {
            inner,
            shared,
            events,
            ops,
            simnet,
            stage,
            receipts: VecDeque::new(),
            connected: false,
        }
    }

    /// Runs the link until it ends, then leaves the registry, records `closed` if it had
    /// recorded `connected`, and signals `done`.
    pub async fn run(mut self) {
        let _done = self.shared.done.clone().drop_guard();
        // The first QR is shown at once, before any control queued meanwhile is applied.
        let mut flow = match self.stage {
            Stage::Qr { .. } => self.on_due(Due::QrExpired).await,
            _ => Flow::Continue,
        };
        while flow == Flow::Continue {
            flow = match self.wait().await {
                Wake::Stop => Flow::Stopped,
                Wake::Op(Op::Receipt { message_id }) => {
                    self.receipts
                        .push_back((Instant::now() + DELIVERY_DELAY, message_id));
                    Flow::Continue
                }
                Wake::Op(Op::Control { control, reply }) => self.on_control(control, reply).await,
                Wake::Simnet(message) => self.on_simnet(message).await,
                Wake::Due(due) => self.on_due(due).await,
            };
        }
        self.shared.set_phase(Phase::Ended);
        self.inner.unregister(&self.shared);
        if self.connected {
            self.inner
                .record(&self.shared.session, SimRecordKind::Closed)
                .await;
        }
        tracing::debug!(
            session.id = %self.shared.session.session_id,
            link.silent = flow == Flow::Stopped,
            "sim link ended"
        );
    }

    async fn wait(&mut self) -> Wake {
        let due = self.next_due();
        let simnet = next_message(self.simnet.as_mut());
        let timer = async {
            match due {
                Some((at, due)) => {
                    sleep_until(at).await;
                    due
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = self.shared.stop.cancelled() => Wake::Stop,
            () = self.events.closed() => Wake::Stop,
            Some(op) = self.ops.recv() => Wake::Op(op),
            message = simnet => Wake::Simnet(message),
            due = timer => Wake::Due(due),
        }
    }

    fn next_due(&self) -> Option<(Instant, Due)> {
        let receipt = self.receipts.front().map(|(at, _)| (*at, Due::Receipt));
        let stage = match &self.stage {
            Stage::Connecting { at, .. } => vec![(*at, Due::Connect)],
            Stage::Qr {
                expires, auto_pair, ..
            } => {
                let mut due = vec![(*expires, Due::QrExpired)];
                due.extend(auto_pair.map(|at| (at, Due::AutoPair)));
                due
            }
            Stage::Code {
                expires, auto_pair, ..
            } => {
                let mut due = vec![(*expires, Due::CodeExpired)];
                due.extend(auto_pair.map(|at| (at, Due::AutoPair)));
                due
            }
            Stage::Connected { .. } => Vec::new(),
        };
        receipt.into_iter().chain(stage).min_by_key(|(at, _)| *at)
    }

    async fn on_due(&mut self, due: Due) -> Flow {
        let config = &self.inner.config;
        match (due, &mut self.stage) {
            (Due::Receipt, _) => match self.receipts.pop_front() {
                Some((_, message_id)) => {
                    self.emit(DriverEvent::Receipt {
                        message_id,
                        kind: ReceiptKind::Delivered,
                    })
                    .await
                }
                None => Flow::Continue,
            },
            (Due::Connect, Stage::Connecting { device, .. }) => {
                let device = device.clone();
                let identity = device.identity();
                self.stage = Stage::Connected {
                    device: device.clone(),
                };
                self.shared.set(Phase::Connected, Some(device));
                let flow = self.emit(DriverEvent::Connected { identity }).await;
                if flow == Flow::Continue {
                    self.connected = true;
                    self.inner
                        .record(&self.shared.session, SimRecordKind::Connected)
                        .await;
                }
                flow
            }
            (Due::QrExpired, Stage::Qr { shown, expires, .. }) if *shown < config.qr_count => {
                let validity = if *shown == 0 {
                    config.qr_first_validity
                } else {
                    config.qr_next_validity
                };
                *shown += 1;
                *expires = Instant::now() + validity;
                let expires_at = now_ms() + millis(validity);
                self.emit(DriverEvent::Qr {
                    code: qr_code(),
                    expires_at,
                })
                .await
            }
            (Due::QrExpired, _) => self.emit(DriverEvent::QrExhausted).await,
            (Due::CodeExpired, _) => self.emit(DriverEvent::PairingCodeExpired).await,
            (Due::AutoPair, Stage::Code { phone_number, .. }) => {
                let phone_number = phone_number.clone();
                self.pair(&phone_number).await
            }
            (Due::AutoPair, _) => self.pair(&made_up_phone_number()).await,
            // A deadline of a stage already left; `next_due` never yields one.
            (Due::Connect, _) => Flow::Continue,
        }
    }

    /// Hands an event to the worker, unless the link is stopped meanwhile.
    async fn emit(&mut self, event: DriverEvent) -> Flow {
        let ends = event.ends_link();
        tokio::select! {
            biased;
            () = self.shared.stop.cancelled() => Flow::Stopped,
            sent = self.events.send(event) => match sent {
                Err(_) => Flow::Stopped,
                Ok(()) if ends => Flow::Ended,
                Ok(()) => Flow::Continue,
            },
        }
    }
}

/// The next message of the `simnet` watch; never, without one.
async fn next_message(simnet: Option<&mut Subscriber>) -> Option<async_nats::Message> {
    match simnet {
        Some(subscriber) => subscriber.next().await,
        None => std::future::pending().await,
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
