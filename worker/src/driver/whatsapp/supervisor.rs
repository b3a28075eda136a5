//! The supervisor of one real-driver link: forwards mapped events to the worker, ends the link
//! on the first terminal one, and notices what the library would otherwise retry silently
//! forever: a run loop that stopped, a reconnect that never comes back, a pairing code that
//! expired. Written against [`RunningClient`] so it is tested without WhatsApp.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::driver::DriverEvent;

/// How often the supervisor checks the client's connection.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// What the supervisor needs of a running client: the library's, or a fake in tests.
#[async_trait::async_trait]
pub trait RunningClient: Send + 'static {
    /// Whether the socket is up now.
    fn is_connected(&self) -> bool;
    /// Turns the library's own reconnecting off: the worker decides.
    fn stop_retrying(&self);
    /// Resolves when the client's run loop has ended by itself. Cancel-safe.
    async fn ended(&mut self);
    /// Stops the client (gracefully, bounded in time).
    async fn shut_down(self);
}

/// The link's switches, shared by its [`crate::driver::Connection`] and its supervisor.
#[derive(Debug, Clone, Default)]
pub struct LinkControl {
    /// Ends the supervisor, which shuts the client down; no event is forwarded after it.
    pub closing: CancellationToken,
    /// Stops forwarding without shutting down yet (our own logout dispatches `LoggedOut`).
    pub silenced: CancellationToken,
    /// Cancelled by the supervisor once the client is shut down.
    pub closed: CancellationToken,
}

/// Supervision settings of one link.
#[derive(Debug, Clone, Copy)]
pub struct Watch {
    /// How long the client may stay disconnected after being up before the link ends.
    pub reconnect_grace: Duration,
    /// When a pairing by code ends unconfirmed.
    pub pairing_deadline: Option<Instant>,
}

/// Where the supervisor learns what happened.
pub struct Sources {
    /// Mapped events, queued by the client's event handler.
    pub incoming: mpsc::UnboundedReceiver<DriverEvent>,
    /// The last transport failure, to say why a run loop ended.
    pub failures: Arc<Mutex<Option<String>>>,
}

/// Runs until the link ends; then the client is shut down and `control.closed` cancelled.
pub async fn run<C: RunningClient>(
    mut client: C,
    sources: Sources,
    watch: Watch,
    control: LinkControl,
    events: mpsc::Sender<DriverEvent>,
) {
    let Sources {
        mut incoming,
        failures,
    } = sources;
    let mut ticker = tokio::time::interval(WATCH_INTERVAL);
    let mut down_since: Option<Instant> = None;
    let last_words = loop {
        tokio::select! {
            // A close wins over anything else ready at the same time: no event follows it.
            biased;
            () = control.closing.cancelled() => break None,
            // Nobody listens any more (a caller gave up on the link): shut the client down.
            () = events.closed() => break None,
            next = incoming.recv() => match next {
                Some(event) if control.silenced.is_cancelled() => drop(event),
                Some(event) => {
                    let ends = event.ends_link();
                    // A worker busy with earlier events must not keep a close waiting.
                    let sent = tokio::select! {
                        biased;
                        () = control.closing.cancelled() => false,
                        sent = events.send(event) => sent.is_ok(),
                    };
                    if !sent || ends {
                        break None;
                    }
                }
                None => break None,
            },
            () = client.ended() => {
                let reason = failures.lock().ok().and_then(|last| last.clone());
                let reason = reason.unwrap_or_else(|| "the connection to WhatsApp ended".to_owned());
                break Some(DriverEvent::Disconnected { reason });
            }
            () = sleep_until(watch.pairing_deadline) => break Some(DriverEvent::PairingCodeExpired),
            _ = ticker.tick() => {
                if client.is_connected() {
                    down_since = None;
                } else if down_since.get_or_insert_with(Instant::now).elapsed() > watch.reconnect_grace {
                    let reason = "WhatsApp did not take the connection back in time".to_owned();
                    break Some(DriverEvent::Disconnected { reason });
                }
            }
        }
    };
    client.stop_retrying();
    if let Some(event) = last_words
        && !control.closing.is_cancelled()
        && !control.silenced.is_cancelled()
    {
        tokio::select! {
            _ = events.send(event) => {}
            () = control.closing.cancelled() => {}
        }
    }
    client.shut_down().await;
    control.closed.cancel();
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
#[path = "supervisor_tests.rs"]
mod tests;
