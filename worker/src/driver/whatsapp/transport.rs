//! [`ObservedTransport`]: wraps the library's transport factory to learn why a connection
//! failed. `whatsapp-rust` raises no event when a connect fails (it only logs and retries), so
//! the driver watches the transport itself: a refused or failed open, and a peer that closes
//! the socket before the link is up, are reported to whoever waits for the first connect.

use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use whatsapp_rust::async_trait;
use whatsapp_rust::transport::{Transport, TransportEvent, TransportFactory};

/// How many transport events the relay buffers; as the library's own transport does.
const RELAY_CAPACITY: usize = 256;

/// What the transport saw last, for the first-connect wait.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TransportState {
    /// Nothing yet.
    #[default]
    Idle,
    /// A socket is open.
    Open,
    /// Opening failed, or the peer closed the socket; the text says why.
    Failed(String),
}

/// A [`TransportFactory`] that reports the fate of every transport it opens.
pub struct ObservedTransport {
    inner: Arc<dyn TransportFactory>,
    state: watch::Sender<TransportState>,
    /// The last failure, kept apart from `state` so a later success does not hide it.
    last_failure: Arc<Mutex<Option<String>>>,
}

impl ObservedTransport {
    pub fn new(inner: Arc<dyn TransportFactory>) -> Self {
        Self {
            inner,
            state: watch::Sender::new(TransportState::Idle),
            last_failure: Arc::new(Mutex::new(None)),
        }
    }

    /// Follows the transport's state.
    pub fn watch(&self) -> watch::Receiver<TransportState> {
        self.state.subscribe()
    }

    /// A handle on the last failure, valid after the factory moved into the client.
    pub fn failures(&self) -> Arc<Mutex<Option<String>>> {
        self.last_failure.clone()
    }

    fn fail(&self, reason: String) {
        record(&self.last_failure, &reason);
        self.state.send_replace(TransportState::Failed(reason));
    }
}

fn record(slot: &Mutex<Option<String>>, reason: &str) {
    if let Ok(mut last) = slot.lock() {
        *last = Some(reason.to_owned());
    }
}

#[async_trait]
impl TransportFactory for ObservedTransport {
    async fn create_transport(
        &self,
    ) -> Result<
        (
            Arc<dyn Transport>,
            whatsapp_rust::async_channel::Receiver<TransportEvent>,
        ),
        whatsapp_rust::anyhow::Error,
    > {
        let (transport, events) = match self.inner.create_transport().await {
            Ok(opened) => opened,
            Err(err) => {
                self.fail(format!("cannot open a connection to WhatsApp: {err:#}"));
                return Err(err);
            }
        };
        self.state.send_replace(TransportState::Open);
        // Relay the events, noting a close: the handshake's own error says less.
        let (relay, relayed) = whatsapp_rust::async_channel::bounded(RELAY_CAPACITY);
        let state = self.state.clone();
        let last_failure = self.last_failure.clone();
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                if let TransportEvent::Disconnected(reason) = &event {
                    let reason = format!("the connection to WhatsApp closed: {reason}");
                    record(&last_failure, &reason);
                    state.send_replace(TransportState::Failed(reason));
                }
                if relay.send(event).await.is_err() {
                    break;
                }
            }
        });
        Ok((transport, relayed))
    }
}
