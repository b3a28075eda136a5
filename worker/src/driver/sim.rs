//! The simulated phone (`WAGW_DRIVER=sim`): WhatsApp's servers and the user's phone behind the
//! [`Driver`] interface, for tests, demos and benchmarks.
//!
//! It behaves like WhatsApp (fleet.md, "The simulated phone"): connecting takes
//! `connect_latency`, QR codes rotate and run out, pairing codes are `XXXX-XXXX` and expire, a
//! second connection of a device anywhere in the fleet replaces the first ("stream replaced",
//! over NATS on `<root>.simnet.<gw>.<sessionId>`), and the sim controls act on live links.
//! Every link is one task (`actor`) tracked by the driver; it ends with its link.

mod actor;
mod control;
mod device;
mod inner;
mod journal;
mod link;
#[cfg(test)]
mod tests;

pub use journal::{JOURNAL_CAPACITY, SimRecord, SimRecordKind};

use crate::driver::{
    Credentials, Driver, DriverError, DriverSession, EVENT_BUFFER, IssuedPairingCode, Link,
};
use actor::{Actor, Start};
use async_trait::async_trait;
use control::Control;
use device::{Device, pairing_code};
use inner::Inner;
use link::{LinkShared, Op, Phase, SimConnection};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use wagw_common::session::validate_phone_number;
use wagw_common::sim::SimAction;
use wagw_common::subjects::Subjects;
use wagw_common::time::now_ms;
use wagw_common::{SessionId, WorkerId};

/// How the simulated phone and network behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// From `connect` (or pairing) to `Connected`.
    pub connect_latency: Duration,
    /// The phone completes a pending pairing by itself after this; `None`: only on `pair`.
    pub auto_pair_after: Option<Duration>,
    /// Validity of the first QR code of a pairing.
    pub qr_first_validity: Duration,
    /// Validity of each following QR code.
    pub qr_next_validity: Duration,
    /// QR codes shown in all before pairing ends with `QrExhausted`.
    pub qr_count: u32,
    pub pairing_code_validity: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            connect_latency: Duration::from_millis(300),
            auto_pair_after: Some(Duration::from_secs(3)),
            qr_first_validity: Duration::from_secs(60),
            qr_next_validity: Duration::from_secs(20),
            qr_count: 6,
            pairing_code_validity: Duration::from_secs(180),
        }
    }
}

/// The sim [`Driver`]. One instance serves every session of a worker.
#[derive(Debug)]
pub struct SimDriver {
    inner: Arc<Inner>,
}

impl SimDriver {
    /// A driver for the worker `worker_id`, whose id every journal record carries.
    pub fn new(
        config: SimConfig,
        nats: async_nats::Client,
        subjects: Subjects,
        worker_id: WorkerId,
    ) -> Self {
        Self {
            inner: Arc::new(Inner::new(config, nats, subjects, worker_id)),
        }
    }

    /// What happened on this instance's links, oldest first (the last [`JOURNAL_CAPACITY`]).
    pub fn journal(&self) -> Vec<SimRecord> {
        self.inner.journal.snapshot()
    }

    /// Ends every link silently (as `close`) and waits for their tasks. Final: links opened
    /// afterwards end at once, without an event.
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }

    /// A link's shared state, its `stop` a child of the driver's shutdown token.
    fn new_link(
        &self,
        session: &DriverSession,
        phase: Phase,
        device: Option<Device>,
    ) -> (LinkShared, mpsc::UnboundedReceiver<Op>) {
        let (ops_tx, ops) = mpsc::unbounded_channel();
        let stop = self.inner.shutdown.child_token();
        let shared = LinkShared::new(session.clone(), phase, device, ops_tx, stop);
        (shared, ops)
    }

    /// Registers a link and spawns its task.
    fn spawn_link(
        &self,
        session: &DriverSession,
        shared: LinkShared,
        ops: mpsc::UnboundedReceiver<Op>,
        start: Start,
    ) -> Link {
        let shared = Arc::new(shared);
        let (events_tx, events) = mpsc::channel(EVENT_BUFFER);
        self.inner
            .lock_links()
            .insert(session.session_id, Arc::clone(&shared));
        let actor = Actor::new(
            Arc::clone(&self.inner),
            Arc::clone(&shared),
            events_tx,
            ops,
            start,
        );
        self.inner.tasks.spawn(actor.run());
        let connection = SimConnection {
            shared,
            inner: Arc::clone(&self.inner),
        };
        Link {
            connection: Arc::new(connection),
            events,
        }
    }
}

#[async_trait]
impl Driver for SimDriver {
    fn name(&self) -> &'static str {
        "sim"
    }

    async fn connect(
        &self,
        session: &DriverSession,
        credentials: &Credentials,
    ) -> Result<Link, DriverError> {
        let device = Device::from_credentials(credentials)?;
        if self.inner.is_void(&device) {
            return Err(DriverError::Fatal("device was logged out".to_owned()));
        }
        let (shared, ops) = self.new_link(session, Phase::Connecting, Some(device.clone()));
        let simnet = self.inner.claim_device(session, &shared.token).await?;
        Ok(self.spawn_link(session, shared, ops, Start::Connect { device, simnet }))
    }

    async fn start_qr_pairing(&self, session: &DriverSession) -> Result<Link, DriverError> {
        let (shared, ops) = self.new_link(session, Phase::QrPairing, None);
        Ok(self.spawn_link(session, shared, ops, Start::Qr))
    }

    async fn start_code_pairing(
        &self,
        session: &DriverSession,
        phone_number: &str,
    ) -> Result<(Link, IssuedPairingCode), DriverError> {
        validate_phone_number("phoneNumber", phone_number)
            .map_err(|err| DriverError::Invalid(err.to_string()))?;
        let validity = self.inner.config.pairing_code_validity;
        let issued = IssuedPairingCode {
            code: pairing_code(),
            expires_at: now_ms() + i64::try_from(validity.as_millis()).unwrap_or(i64::MAX),
        };
        let (shared, ops) = self.new_link(session, Phase::CodePairing, None);
        let start = Start::Code {
            phone_number: phone_number.to_owned(),
            expires: Instant::now() + validity,
        };
        Ok((self.spawn_link(session, shared, ops, start), issued))
    }

    async fn forget(
        &self,
        session: &DriverSession,
        credentials: &Credentials,
    ) -> Result<(), DriverError> {
        let device = Device::from_credentials(credentials)?;
        self.inner.void(&device);
        self.inner.record(session, SimRecordKind::LoggedOut).await;
        Ok(())
    }

    async fn simulate(
        &self,
        session: &SessionId,
        action: SimAction,
        body: &[u8],
    ) -> Result<(), DriverError> {
        let control = Control::parse(action, body)?;
        let link = self
            .inner
            .lock_links()
            .get(session)
            .cloned()
            .ok_or(DriverError::Closed)?;
        let (reply, answer) = oneshot::channel();
        link.ops
            .send(Op::Control { control, reply })
            .map_err(|_| DriverError::Closed)?;
        // The task drops `reply` unanswered only when it ends first.
        answer.await.unwrap_or(Err(DriverError::Closed))
    }
}
