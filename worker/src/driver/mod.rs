//! The interface between a worker and WhatsApp's side of a session.
//!
//! A [`Driver`] opens [`Link`]s: one live connection of one session, made of a control handle
//! ([`Connection`]) and a stream of [`DriverEvent`]s. The worker owns every decision about
//! state: it writes rows, publishes status changes and runs the reconnect policy; a driver only
//! reports what happened. Two drivers implement this interface: [`sim`] (the simulated phone,
//! for tests, demos and benchmarks) and `whatsapp` (WhatsApp Web multi-device on the
//! `whatsapp-rust` crate, cargo feature `whatsapp`).

pub mod sim;
pub mod version;
#[cfg(feature = "whatsapp")]
pub mod whatsapp;

use async_trait::async_trait;
use std::fmt;
use std::sync::Arc;
use tokio::sync::mpsc;
use wagw_common::sim::SimAction;
use wagw_common::{GatewayId, SessionId};

/// How many events a link may buffer before the driver waits for the worker.
pub const EVENT_BUFFER: usize = 64;

/// Who a link is for; enough for a driver to name the device and log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverSession {
    pub session_id: SessionId,
    pub gateway_id: GatewayId,
    /// The session's shard.
    pub shard: u32,
    /// Our lease on that shard (`<workerId> <epoch>`) when we hold it: the proof a driver that
    /// keeps state in Redis (the real one) shows on every write, so a worker that lost the
    /// shard can no longer change the session's keys.
    pub lease_token: Option<String>,
}

/// A paired device's secrets, opaque to the worker, which stores them (fenced) in Redis so any
/// worker can resume the session without re-pairing.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials(pub Vec<u8>);

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print secrets, even in debug logs.
        write!(f, "Credentials({} bytes)", self.0.len())
    }
}

/// The identity WhatsApp gives a paired device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Digits only, country code first.
    pub phone_number: String,
    /// `<digits>@s.whatsapp.net`.
    pub jid: String,
    /// `<digits>@lid`.
    pub lid: String,
}

/// A pairing code the user types on the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedPairingCode {
    /// `XXXX-XXXX`.
    pub code: String,
    pub expires_at: i64,
}

/// "typing…" or not, shown to a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Composing,
    Paused,
}

/// What a delivery receipt says about a message we sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptKind {
    Delivered,
    Read,
}

/// Something that happened on WhatsApp's side of a link.
#[derive(Debug, Clone, PartialEq)]
pub enum DriverEvent {
    /// A new QR string to show; replaces the previous one.
    Qr { code: String, expires_at: i64 },
    /// Every QR expired unscanned; pairing is over and the link is closed.
    QrExhausted,
    /// The pairing code expired unconfirmed; pairing is over and the link is closed.
    PairingCodeExpired,
    /// The phone confirmed the pairing; store `credentials` before anything else.
    Paired {
        identity: Identity,
        credentials: Credentials,
    },
    /// The link is up and the session can send and receive.
    Connected { identity: Identity },
    /// The link dropped for a reason worth retrying (network); the link is closed.
    Disconnected { reason: String },
    /// The user removed the linked device on the phone; credentials are void.
    LoggedOut { reason: String },
    /// The same device connected elsewhere and took over; the link is closed.
    StreamReplaced,
    /// A failure not worth retrying (banned, outdated client, refused); the link is closed.
    Failed { reason: String },
    /// A message arrived.
    IncomingMessage {
        id: String,
        from: String,
        text: String,
        at: i64,
    },
    /// A receipt for a message this session sent.
    Receipt {
        message_id: String,
        kind: ReceiptKind,
    },
}

impl DriverEvent {
    /// True when the link is closed after this event and no more events follow.
    pub fn ends_link(&self) -> bool {
        matches!(
            self,
            Self::QrExhausted
                | Self::PairingCodeExpired
                | Self::Disconnected { .. }
                | Self::LoggedOut { .. }
                | Self::StreamReplaced
                | Self::Failed { .. }
        )
    }
}

/// Why a driver call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// Worth retrying with backoff (network, WhatsApp busy).
    #[error("transient: {0}")]
    Transient(String),
    /// Not worth retrying until the user acts (`:restart`, re-pairing).
    #[error("{0}")]
    Fatal(String),
    /// The link is already closed.
    #[error("the connection is closed")]
    Closed,
    /// The request itself is wrong (e.g. a sim control with a bad body).
    #[error("{0}")]
    Invalid(String),
    /// This driver does not support the operation (e.g. sim controls on the real driver).
    #[error("not supported by this driver: {0}")]
    Unsupported(&'static str),
}

/// One live connection's controls. Dropping it does not close the link; call [`Self::close`].
#[async_trait]
pub trait Connection: Send + Sync + fmt::Debug {
    /// Closes the link, keeping the pairing. Idempotent; no events follow.
    async fn close(&self);
    /// Unlinks the device on WhatsApp's side and closes the link; credentials become void.
    async fn logout(&self) -> Result<(), DriverError>;
    /// Sends a text as WhatsApp message `wa_message_id` (chosen by the worker, so a resend after
    /// a crash carries the same id and WhatsApp keeps one); returns the id WhatsApp took.
    async fn send_text(
        &self,
        to_jid: &str,
        text: &str,
        wa_message_id: &str,
    ) -> Result<String, DriverError>;
    /// Shows or clears "typing…" in a chat.
    async fn send_presence(&self, to_jid: &str, presence: Presence) -> Result<(), DriverError>;
    /// Marks messages of a chat as read.
    async fn mark_read(&self, chat_jid: &str, message_ids: &[String]) -> Result<(), DriverError>;
}

/// A live link: its controls and its events. The event stream ends when the link closes.
#[derive(Debug)]
pub struct Link {
    pub connection: Arc<dyn Connection>,
    pub events: mpsc::Receiver<DriverEvent>,
}

/// Opens links to WhatsApp. One driver instance serves every session of a worker.
#[async_trait]
pub trait Driver: Send + Sync + fmt::Debug + 'static {
    /// Short name for logs and `/gateways`: `sim` or `whatsapp`.
    fn name(&self) -> &'static str;

    /// Connects an already-paired session with its stored credentials. The link emits
    /// `Connected` once up.
    async fn connect(
        &self,
        session: &DriverSession,
        credentials: &Credentials,
    ) -> Result<Link, DriverError>;

    /// Begins QR pairing: the link emits rotating `Qr` events, then `Paired` and `Connected`,
    /// or `QrExhausted`.
    async fn start_qr_pairing(&self, session: &DriverSession) -> Result<Link, DriverError>;

    /// Begins pairing by code for `phone_number`: the link emits `Paired` and `Connected` once
    /// the user types the code, or `PairingCodeExpired`.
    async fn start_code_pairing(
        &self,
        session: &DriverSession,
        phone_number: &str,
    ) -> Result<(Link, IssuedPairingCode), DriverError>;

    /// Forgets a session's device on WhatsApp's side when it has no live link (logout of a
    /// stopped session). Drivers without such a notion do nothing.
    async fn forget(
        &self,
        _session: &DriverSession,
        _credentials: &Credentials,
    ) -> Result<(), DriverError> {
        Ok(())
    }

    /// Applies a sim control (`pair`, `disconnect`, `unlink`, `incoming`, `fail`) with its JSON
    /// body. Only the sim driver supports it.
    async fn simulate(
        &self,
        _session: &SessionId,
        _action: SimAction,
        _body: &[u8],
    ) -> Result<(), DriverError> {
        Err(DriverError::Unsupported("simulation controls"))
    }
}
