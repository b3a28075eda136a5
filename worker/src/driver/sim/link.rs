//! A sim link's shared state and its [`Connection`] handle.
//!
//! The link's task (`actor.rs`) owns the timers and emits events; the handle only reads the
//! snapshot the task keeps here, journals what the worker did and queues receipts, so no
//! handle call ever waits on a task that may itself be waiting for the worker.

use crate::driver::sim::control::Control;
use crate::driver::sim::device::Device;
use crate::driver::sim::inner::Inner;
use crate::driver::sim::journal::SimRecordKind;
use crate::driver::{Connection, DriverError, DriverSession, Presence};
use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Where a link stands, as its handle and the registry see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting `connect_latency` before `Connected`, with a device (stored or just paired).
    Connecting,
    /// Showing QR codes.
    QrPairing,
    /// Waiting for the pairing code to be typed.
    CodePairing,
    Connected,
    /// The task has ended; nothing follows.
    Ended,
}

/// What the task's state says, mirrored for the handle.
#[derive(Debug)]
pub(super) struct Snapshot {
    pub phase: Phase,
    pub device: Option<Device>,
}

/// A request to the link's task.
#[derive(Debug)]
pub(super) enum Op {
    /// Emit a delivery receipt for a message just sent, a little later.
    Receipt { message_id: String },
    /// Apply a control; the answer says whether it applied.
    Control {
        control: Control,
        reply: oneshot::Sender<Result<(), DriverError>>,
    },
}

/// Everything about one link that its task, its handle and the registry share.
#[derive(Debug)]
pub(super) struct LinkShared {
    pub session: DriverSession,
    /// Unique per link; what the link publishes on `simnet` to replace older links.
    pub token: String,
    /// Cancelled by `close`/`logout`: the task ends without another event.
    pub stop: CancellationToken,
    /// Cancelled by the task as it ends.
    pub done: CancellationToken,
    /// `close` or `logout` was called.
    closed: AtomicBool,
    snapshot: Mutex<Snapshot>,
    pub ops: mpsc::UnboundedSender<Op>,
}

impl LinkShared {
    /// `stop` is a child of the driver's own token, so a driver shutdown stops every link.
    pub fn new(
        session: DriverSession,
        phase: Phase,
        device: Option<Device>,
        ops: mpsc::UnboundedSender<Op>,
        stop: CancellationToken,
    ) -> Self {
        Self {
            session,
            token: ulid::Ulid::generate().to_string(),
            stop,
            done: CancellationToken::new(),
            closed: AtomicBool::new(false),
            snapshot: Mutex::new(Snapshot { phase, device }),
            ops,
        }
    }

    pub fn set(&self, phase: Phase, device: Option<Device>) {
        let mut snapshot = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        *snapshot = Snapshot { phase, device };
    }

    pub fn set_phase(&self, phase: Phase) {
        let mut snapshot = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        snapshot.phase = phase;
    }

    fn phase(&self) -> Phase {
        let snapshot = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        snapshot.phase
    }

    fn device(&self) -> Option<Device> {
        let snapshot = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        snapshot.device.clone()
    }

    /// Marks the link closed by the worker; false when it already was.
    fn claim_close(&self) -> bool {
        !self.closed.swap(true, Ordering::SeqCst)
    }

    /// Stops the task silently and waits until it has ended, so no event can follow.
    async fn stop_and_wait(&self) {
        self.stop.cancel();
        self.done.cancelled().await;
    }
}

/// The worker's handle on a sim link.
#[derive(Debug)]
pub(super) struct SimConnection {
    pub shared: Arc<LinkShared>,
    pub inner: Arc<Inner>,
}

impl SimConnection {
    fn ensure_connected(&self) -> Result<(), DriverError> {
        if self.shared.closed.load(Ordering::SeqCst) {
            return Err(DriverError::Closed);
        }
        match self.shared.phase() {
            Phase::Connected => Ok(()),
            Phase::Ended => Err(DriverError::Closed),
            Phase::Connecting | Phase::QrPairing | Phase::CodePairing => Err(
                DriverError::Transient("the link is not connected yet".to_owned()),
            ),
        }
    }

    async fn record(&self, kind: SimRecordKind) {
        self.inner.record(&self.shared.session, kind).await;
    }
}

#[async_trait]
impl Connection for SimConnection {
    async fn close(&self) {
        if !self.shared.claim_close() {
            return;
        }
        // The task records `closed` (if it was connected) before it is done.
        self.shared.stop_and_wait().await;
    }

    async fn logout(&self) -> Result<(), DriverError> {
        if !self.shared.claim_close() || self.shared.done.is_cancelled() {
            return Err(DriverError::Closed);
        }
        self.shared.stop_and_wait().await;
        if let Some(device) = self.shared.device() {
            self.inner.void(&device);
        }
        self.record(SimRecordKind::LoggedOut).await;
        Ok(())
    }

    async fn send_text(
        &self,
        to_jid: &str,
        text: &str,
        wa_message_id: &str,
    ) -> Result<String, DriverError> {
        self.ensure_connected()?;
        if to_jid.is_empty() {
            return Err(DriverError::Invalid("the recipient is empty".to_owned()));
        }
        if wa_message_id.is_empty() {
            return Err(DriverError::Invalid("the message id is empty".to_owned()));
        }
        let id = wa_message_id.to_owned();
        // A link that ended meanwhile just drops the receipt.
        let _ = self.shared.ops.send(Op::Receipt {
            message_id: id.clone(),
        });
        self.record(SimRecordKind::SentText {
            to: to_jid.to_owned(),
            text: text.to_owned(),
            message_id: id.clone(),
        })
        .await;
        Ok(id)
    }

    async fn send_presence(&self, to_jid: &str, presence: Presence) -> Result<(), DriverError> {
        self.ensure_connected()?;
        self.record(SimRecordKind::Presence {
            to: to_jid.to_owned(),
            presence,
        })
        .await;
        Ok(())
    }

    async fn mark_read(&self, chat_jid: &str, message_ids: &[String]) -> Result<(), DriverError> {
        self.ensure_connected()?;
        self.record(SimRecordKind::MarkedRead {
            chat: chat_jid.to_owned(),
            ids: message_ids.to_vec(),
        })
        .await;
        Ok(())
    }
}
