//! One live `whatsapp-rust` client as a [`Link`]: its event handler (the library's events,
//! mapped and queued), the [`Connection`] controls, and the spawned supervisor
//! (`supervisor.rs`) that decides when the link ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::mpsc;
use whatsapp_rust::bot::BotHandle;
use whatsapp_rust::send::SendOptions;
use whatsapp_rust::types::events::{Event, EventHandler};
use whatsapp_rust::{Client, Jid};

use super::mapping::{LinkMode, identity_of, map_event};
pub use super::supervisor::Watch;
use super::supervisor::{self, LinkControl, RunningClient, Sources, WATCH_INTERVAL};
use crate::driver::{Connection, DriverError, DriverEvent, EVENT_BUFFER, Link, Presence};

/// How long a graceful client shutdown (flushing its state) may take.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Receives the library's events (synchronously, on its dispatch path) and queues ours.
pub struct Forwarder {
    mode: LinkMode,
    queue: mpsc::UnboundedSender<DriverEvent>,
    /// Weak: the client owns its event bus, which owns this handler.
    client: OnceLock<Weak<Client>>,
    /// Set once a terminal event was queued; the library's own retries are turned off then,
    /// because reconnecting is the worker's decision (backoff, budget, lease).
    ended: AtomicBool,
}

impl Forwarder {
    pub fn new(mode: LinkMode) -> (Arc<Self>, mpsc::UnboundedReceiver<DriverEvent>) {
        let (queue, events) = mpsc::unbounded_channel();
        let forwarder = Self {
            mode,
            queue,
            client: OnceLock::new(),
            ended: AtomicBool::new(false),
        };
        (Arc::new(forwarder), events)
    }

    /// Attaches the built client (for identities and its reconnect switch).
    pub fn attach(&self, client: &Arc<Client>) {
        let _ = self.client.set(Arc::downgrade(client));
    }

    fn client(&self) -> Option<Arc<Client>> {
        self.client.get().and_then(Weak::upgrade)
    }
}

/// The handler registered on the client; delegates to the shared [`Forwarder`].
pub struct ForwardHandler(pub Arc<Forwarder>);

impl EventHandler for ForwardHandler {
    fn handle_event(&self, event: Arc<Event>) {
        let forwarder = &self.0;
        if forwarder.ended.load(Ordering::Acquire) {
            return;
        }
        let client = forwarder.client();
        let identity = client
            .as_ref()
            .and_then(|client| Some(identity_of(&client.pn()?, client.lid().as_ref())));
        for mapped in map_event(&event, forwarder.mode, identity) {
            if mapped.ends_link() {
                forwarder.ended.store(true, Ordering::Release);
                // Dispatch is synchronous and precedes the run loop's reconnect check.
                if let Some(client) = &client {
                    client.enable_auto_reconnect.store(false, Ordering::Release);
                }
            }
            if forwarder.queue.send(mapped).is_err() || forwarder.ended.load(Ordering::Acquire) {
                return;
            }
        }
    }
}

/// The controls of a live client.
pub struct WaConnection {
    client: Arc<Client>,
    control: LinkControl,
}

impl std::fmt::Debug for WaConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaConnection")
            .field("closed", &self.control.closed.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl WaConnection {
    fn live(&self) -> Result<&Arc<Client>, DriverError> {
        if self.control.closing.is_cancelled() || self.control.silenced.is_cancelled() {
            return Err(DriverError::Closed);
        }
        Ok(&self.client)
    }
}

fn parse_jid(text: &str) -> Result<Jid, DriverError> {
    let full = if text.contains('@') {
        text.to_owned()
    } else {
        format!("{text}@s.whatsapp.net")
    };
    full.parse()
        .map_err(|_| DriverError::Invalid(format!("'{text}' is not a WhatsApp JID")))
}

#[async_trait::async_trait]
impl Connection for WaConnection {
    async fn close(&self) {
        self.control.closing.cancel();
        // The supervisor shuts the client down within SHUTDOWN_TIMEOUT; never wait longer.
        let closed = self.control.closed.cancelled();
        let shut = tokio::time::timeout(SHUTDOWN_TIMEOUT + WATCH_INTERVAL, closed);
        if shut.await.is_err() {
            tracing::warn!("a WhatsApp link did not confirm its close in time");
        }
    }

    /// Unlinks the device on the phone and closes the link. The stored keys are purged by the
    /// worker, in the same fenced script that deletes the session's credentials.
    async fn logout(&self) -> Result<(), DriverError> {
        self.control.silenced.cancel();
        // Infallible in the library: the unlink IQ is best effort, the teardown always runs.
        self.client.logout().await;
        self.close().await;
        Ok(())
    }

    async fn send_text(
        &self,
        to_jid: &str,
        text: &str,
        wa_message_id: &str,
    ) -> Result<String, DriverError> {
        use whatsapp_rust::wacore::proto_helpers::MessageBuilderExt;
        let to = parse_jid(to_jid)?;
        let message = whatsapp_rust::waproto::whatsapp::Message::text(text);
        // The library documents this option for "resending a failed message with the same ID
        // or idempotency": a resend after a crash is the same message to WhatsApp.
        let options = SendOptions::default().with_message_id(wa_message_id);
        let sent = (self.live()?)
            .send_message_with_options(to, message, options)
            .await;
        sent.map(|result| result.message_id)
            .map_err(|err| DriverError::Transient(err.to_string()))
    }

    async fn send_presence(&self, to_jid: &str, presence: Presence) -> Result<(), DriverError> {
        let to = parse_jid(to_jid)?;
        let chatstate = self.live()?.chatstate();
        let sent = match presence {
            Presence::Composing => chatstate.send_composing(&to).await,
            Presence::Paused => chatstate.send_paused(&to).await,
        };
        sent.map_err(|err| DriverError::Transient(err.to_string()))
    }

    async fn mark_read(&self, chat_jid: &str, message_ids: &[String]) -> Result<(), DriverError> {
        let chat = parse_jid(chat_jid)?;
        let ids: Vec<&str> = message_ids.iter().map(String::as_str).collect();
        let marked = self.live()?.mark_as_read(&chat, None, &ids).await;
        marked.map_err(|err| DriverError::Transient(format!("{err:#}")))
    }
}

/// A started client and what the supervisor needs to drive it.
pub struct Started {
    pub handle: BotHandle,
    pub events: mpsc::UnboundedReceiver<DriverEvent>,
    /// Where the last transport failure is recorded.
    pub failures: Arc<std::sync::Mutex<Option<String>>>,
}

/// Turns a started client into a [`Link`], supervised by a spawned task.
pub fn supervise(started: Started, watch: Watch) -> Link {
    let (events, receiver) = mpsc::channel(EVENT_BUFFER);
    let control = LinkControl::default();
    let connection = Arc::new(WaConnection {
        client: started.handle.client(),
        control: control.clone(),
    });
    let client = LibraryClient {
        client: started.handle.client(),
        handle: started.handle,
    };
    let sources = Sources {
        incoming: started.events,
        failures: started.failures,
    };
    tokio::spawn(supervisor::run(client, sources, watch, control, events));
    Link {
        connection,
        events: receiver,
    }
}

/// The library's client as the supervisor sees it.
struct LibraryClient {
    handle: BotHandle,
    client: Arc<Client>,
}

#[async_trait::async_trait]
impl RunningClient for LibraryClient {
    fn is_connected(&self) -> bool {
        self.client.is_connected()
    }

    fn stop_retrying(&self) {
        self.client
            .enable_auto_reconnect
            .store(false, Ordering::Release);
    }

    async fn ended(&mut self) {
        (&mut self.handle).await;
    }

    async fn shut_down(self) {
        shut_down(self.handle).await;
    }
}

/// Stops a client, flushing its state; aborts it when that takes too long.
pub async fn shut_down(handle: BotHandle) {
    if tokio::time::timeout(SHUTDOWN_TIMEOUT, handle.shutdown())
        .await
        .is_err()
    {
        // Dropping the handle (inside the timed-out future) aborted the client.
        tracing::warn!("a WhatsApp client did not shut down in time; aborted");
    }
}
