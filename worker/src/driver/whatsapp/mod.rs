//! The real WhatsApp driver (cargo feature `whatsapp`): WhatsApp Web multi-device through the
//! `whatsapp-rust` crate, behind the worker's [`Driver`] interface.
//!
//! Each link is one library client on the session's own [`RedisBackend`] (sealed, fenced by
//! the shard lease), so any worker holding the lease can resume the session without pairing
//! again. The worker keeps every decision: the library's own reconnect loop is switched off
//! at the first terminal event (`link.rs`), and failures to connect come back as typed errors
//! (`transport.rs`) instead of the library's silent retries. See docs/whatsapp-driver.md.

mod config;
mod link;
pub mod mapping;
pub mod store;
mod supervisor;
mod transport;

#[cfg(test)]
mod tests_loopback;

use async_trait::async_trait;
use redis::aio::ConnectionManager;
use std::sync::Arc;
use tokio::sync::watch;
use wagw_common::keys::Keys;
use wagw_common::shard::ShardRef;
use wagw_common::time::now_ms;
use whatsapp_rust::bot::Bot;
use whatsapp_rust::pair_code::PairCodeOptions;
use whatsapp_rust::transport::{TokioWebSocketTransportFactory, TransportFactory};

pub use self::config::WhatsappConfig;
use self::link::{ForwardHandler, Forwarder, Started, Watch};
use self::mapping::{CREDENTIALS_MARKER, LinkMode};
use self::store::{RedisBackend, Scope, WaKeys};
use self::transport::{ObservedTransport, TransportState};
use crate::driver::version::WaVersion;
use crate::driver::{
    Credentials, Driver, DriverError, DriverEvent, DriverSession, IssuedPairingCode, Link,
};

/// The `whatsapp` driver; one serves every session of a worker.
pub struct WhatsappDriver {
    config: WhatsappConfig,
    keys: Keys,
    redis: ConnectionManager,
    transport: Arc<dyn TransportFactory>,
}

impl std::fmt::Debug for WhatsappDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatsappDriver")
            .field("version", &self.config.version)
            .finish_non_exhaustive()
    }
}

impl WhatsappDriver {
    /// A driver dialling `url` (WhatsApp's own endpoint when `None`).
    pub fn new(
        config: WhatsappConfig,
        keys: Keys,
        redis: ConnectionManager,
        url: Option<&str>,
    ) -> Self {
        let factory = match url {
            Some(url) => TokioWebSocketTransportFactory::new().with_url(url),
            None => TokioWebSocketTransportFactory::new(),
        };
        Self::with_transport(config, keys, redis, Arc::new(factory))
    }

    /// A driver on any transport (tests use loopback ones).
    pub fn with_transport(
        config: WhatsappConfig,
        keys: Keys,
        redis: ConnectionManager,
        transport: Arc<dyn TransportFactory>,
    ) -> Self {
        Self {
            config,
            keys,
            redis,
            transport,
        }
    }

    /// The session's state store, writing under our lease.
    fn backend(&self, session: &DriverSession) -> Result<Arc<RedisBackend>, DriverError> {
        let token = session.lease_token.clone().ok_or_else(|| {
            DriverError::Transient("this worker does not hold the session's shard".to_owned())
        })?;
        let shard = ShardRef::new(session.gateway_id.clone(), session.shard);
        let scope = Scope {
            keys: WaKeys::new(&self.keys, &shard, &session.session_id),
            lease_key: self.keys.lease(&shard),
            token,
        };
        let key = self.config.state_key.clone();
        Ok(Arc::new(RedisBackend::new(self.redis.clone(), scope, key)))
    }

    /// Builds and starts a client on `backend`, and waits until its socket is up.
    async fn start(
        &self,
        backend: Arc<RedisBackend>,
        mode: LinkMode,
    ) -> Result<Started, DriverError> {
        let observed = ObservedTransport::new(self.transport.clone());
        let mut transport_state = observed.watch();
        let failures = observed.failures();
        let (forwarder, events) = Forwarder::new(mode);
        let mut builder = Bot::builder()
            .with_backend_arc(backend)
            .with_transport_factory(observed)
            .with_event_handler(ForwardHandler(forwarder.clone()))
            .skip_history_sync();
        if let Some(WaVersion(primary, secondary, tertiary)) = self.config.version {
            builder = builder.with_version((primary, secondary, tertiary));
        }
        let bot = builder.build().await.map_err(|err| {
            DriverError::Transient(format!("cannot load the session's WhatsApp state: {err}"))
        })?;
        let mut handle = bot.spawn();
        let client = handle.client();
        forwarder.attach(&client);
        let up = tokio::select! {
            ready = client.wait_for_socket(self.config.connect_timeout) => ready.map_err(|_| {
                DriverError::Transient("connecting to WhatsApp timed out".to_owned())
            }),
            failed = first_failure(&mut transport_state) => Err(DriverError::Transient(failed)),
            () = &mut handle => Err(DriverError::Transient(
                "the WhatsApp client stopped before it was connected".to_owned(),
            )),
        };
        if let Err(err) = up {
            // Logged once, by whoever handles the error (the command handler or connector).
            link::shut_down(handle).await;
            return Err(err);
        }
        Ok(Started {
            handle,
            events,
            failures,
        })
    }

    fn watch(&self, pairing_deadline: Option<tokio::time::Instant>) -> Watch {
        Watch {
            reconnect_grace: self.config.reconnect_grace,
            pairing_deadline,
        }
    }

    /// A fresh device for a new pairing: whatever an earlier one left is purged first.
    async fn fresh_backend(
        &self,
        session: &DriverSession,
    ) -> Result<Arc<RedisBackend>, DriverError> {
        let backend = self.backend(session)?;
        backend
            .purge()
            .await
            .map_err(|err| DriverError::Transient(format!("clearing old WhatsApp state: {err}")))?;
        Ok(backend)
    }
}

/// Resolves with the reason of the first transport failure.
async fn first_failure(state: &mut watch::Receiver<TransportState>) -> String {
    loop {
        if let TransportState::Failed(reason) = &*state.borrow_and_update() {
            return reason.clone();
        }
        if state.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

#[async_trait]
impl Driver for WhatsappDriver {
    fn name(&self) -> &'static str {
        "whatsapp"
    }

    async fn connect(
        &self,
        session: &DriverSession,
        credentials: &Credentials,
    ) -> Result<Link, DriverError> {
        if credentials.0 != CREDENTIALS_MARKER {
            return Err(DriverError::Fatal(
                "the stored credentials were not made by the whatsapp driver; pair again"
                    .to_owned(),
            ));
        }
        let backend = self.backend(session)?;
        let paired = whatsapp_rust::store::traits::DeviceStore::exists(&*backend).await;
        match paired {
            Ok(true) => {}
            Ok(false) => {
                return Err(DriverError::Fatal(
                    "the session's WhatsApp state is gone; pair again".to_owned(),
                ));
            }
            Err(err) => return Err(DriverError::Transient(format!("reading state: {err}"))),
        }
        let started = self.start(backend, LinkMode::Resume).await?;
        Ok(link::supervise(started, self.watch(None)))
    }

    async fn start_qr_pairing(&self, session: &DriverSession) -> Result<Link, DriverError> {
        let backend = self.fresh_backend(session).await?;
        let started = self.start(backend, LinkMode::QrPairing).await?;
        Ok(link::supervise(started, self.watch(None)))
    }

    async fn start_code_pairing(
        &self,
        session: &DriverSession,
        phone_number: &str,
    ) -> Result<(Link, IssuedPairingCode), DriverError> {
        let backend = self.fresh_backend(session).await?;
        let started = self.start(backend, LinkMode::CodePairing).await?;
        let client = started.handle.client();
        let options = PairCodeOptions {
            phone_number: phone_number.to_owned(),
            ..PairCodeOptions::default()
        };
        let requested =
            tokio::time::timeout(self.config.connect_timeout, client.pair_with_code(options)).await;
        let code = match requested {
            Ok(Ok(code)) => code,
            failed => {
                link::shut_down(started.handle).await;
                return Err(DriverError::Transient(match failed {
                    Ok(Err(err)) => format!("WhatsApp refused a pairing code: {err}"),
                    _ => "requesting a pairing code timed out".to_owned(),
                }));
            }
        };
        let validity = self.config.pairing_code_validity;
        let issued = IssuedPairingCode {
            code: mapping::dashed_pairing_code(&code),
            expires_at: now_ms() + i64::try_from(validity.as_millis()).unwrap_or(i64::MAX),
        };
        let link = link::supervise(
            started,
            self.watch(Some(tokio::time::Instant::now() + validity)),
        );
        Ok((link, issued))
    }

    /// Logs a stopped session in just long enough to unlink it (the worker then purges its
    /// state with its credentials).
    async fn forget(
        &self,
        session: &DriverSession,
        credentials: &Credentials,
    ) -> Result<(), DriverError> {
        let mut link = self.connect(session, credentials).await?;
        // The unlink request needs a logged-in client, not just an open socket.
        let logged_in = async {
            while let Some(event) = link.events.recv().await {
                match event {
                    DriverEvent::Connected { .. } => return true,
                    event if event.ends_link() => return false,
                    _ => {}
                }
            }
            false
        };
        let logged_in = tokio::time::timeout(self.config.connect_timeout, logged_in).await;
        if !matches!(logged_in, Ok(true)) {
            tracing::info!(session.id = %session.session_id, "the device did not log in; its keys are purged without unlinking it on the phone");
        }
        link.connection.logout().await
    }
}
