//! [`Worker`], the core of a worker process: configuration, clients, the shard table and the
//! session runtime, plus the fenced write helpers every handler and event goes through.
//!
//! The behaviour is spread over `impl Worker` blocks by domain: `handlers/` (commands),
//! `sessions/` (links and reconnects), `fleet/` (leases, membership), `send/` (the send pipeline),
//! `status.rs`, `sim_control.rs`.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use wagw_common::shard::shard_of;
use wagw_common::subjects::Subjects;
use wagw_common::time::now_ms;
use wagw_common::{GatewayId, Session, SessionId, SessionStatus, WorkerId};

use crate::config::Config;
use crate::driver::sim::SimDriver;
use crate::driver::{Driver, DriverSession};
use crate::error::HandlerError;
use crate::event_stream;
use crate::fleet::Fleet;
use crate::metrics::Metrics;
use crate::sessions::Sessions;
use crate::store::{Fence, Store, StoreError};

/// Command and control messages handled at once; more wait for a slot.
const MAX_IN_FLIGHT: usize = 512;

/// The worker core; cheap to clone (an `Arc`).
#[derive(Clone, Debug)]
pub struct Worker {
    inner: Arc<Inner>,
}

/// The shared state behind [`Worker`].
#[derive(Debug)]
pub struct Inner {
    pub config: Config,
    pub id: WorkerId,
    pub gateway: GatewayId,
    pub subjects: Subjects,
    pub nats: async_nats::Client,
    /// JetStream on `nats`, for the durable event stream.
    pub jetstream: async_nats::jetstream::Context,
    /// Whether the event stream exists (checked at start); events go to core NATS only if not.
    pub events_durable: std::sync::atomic::AtomicBool,
    /// Whether the send stream exists (checked at start); without it no shard consumes sends.
    pub sends_enabled: std::sync::atomic::AtomicBool,
    pub store: Store,
    pub driver: Arc<dyn Driver>,
    /// The same driver when it is the sim, for its shutdown.
    pub sim: Option<Arc<SimDriver>>,
    pub fleet: Fleet,
    pub sessions: Sessions,
    /// Background tasks: lease and heartbeat loops, listeners, link pumps, connectors.
    pub tasks: TaskTracker,
    /// In-flight command and control handlers, awaited (with a deadline) at shutdown.
    pub handlers: TaskTracker,
    pub in_flight: Arc<Semaphore>,
    pub reconcile_permits: Arc<Semaphore>,
    /// Cancelled when the worker begins to shut down.
    pub stopping: CancellationToken,
    pub started_at: i64,
    /// This worker's Prometheus series, served by [`crate::metrics::endpoint`].
    pub metrics: Metrics,
}

impl Deref for Worker {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl Worker {
    /// Assembles a worker from connected clients; nothing runs until [`crate::run`] starts it.
    pub fn new(
        config: Config,
        nats: async_nats::Client,
        store: Store,
        driver: Arc<dyn Driver>,
        sim: Option<Arc<SimDriver>>,
        shard_count: u32,
    ) -> Self {
        let sessions = Sessions::new(
            std::time::Duration::from_millis(config.reconnect_min_ms),
            std::time::Duration::from_millis(config.reconnect_max_ms),
        );
        let reconcile_permits = Arc::new(Semaphore::new(config.reconnect_concurrency));
        let inner = Inner {
            metrics: Metrics::new(&config.gateway_id, &config.worker_id),
            id: config.worker_id.clone(),
            gateway: config.gateway_id.clone(),
            subjects: config.subjects(),
            config,
            jetstream: jetstream_context(&nats),
            events_durable: std::sync::atomic::AtomicBool::new(false),
            sends_enabled: std::sync::atomic::AtomicBool::new(false),
            nats,
            store,
            driver,
            sim,
            fleet: Fleet::new(shard_count),
            sessions,
            tasks: TaskTracker::new(),
            handlers: TaskTracker::new(),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            reconcile_permits,
            stopping: CancellationToken::new(),
            started_at: now_ms(),
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Creates the event stream if needed and records whether events are durable.
    pub async fn prepare_event_stream(&self) {
        let subjects = self.subjects.events_everywhere();
        let max_age = Duration::from_secs(self.config.events_max_age_hours * 3600);
        let config = event_stream::stream_config(&self.config.events_stream, subjects, max_age);
        match event_stream::ensure_stream(&self.jetstream, config).await {
            Ok(()) => self.events_durable.store(true, Ordering::Release),
            Err(error) => tracing::warn!(
                error,
                stream = self.config.events_stream,
                "events are published on NATS but not kept: the event stream is unavailable"
            ),
        }
    }

    /// The shard a session lives in, under the gateway's recorded shard count.
    pub fn shard_of(&self, id: &SessionId) -> u32 {
        shard_of(id, self.fleet.shard_count())
    }

    pub fn driver_session(&self, id: &SessionId) -> DriverSession {
        let shard = self.shard_of(id);
        DriverSession {
            session_id: *id,
            gateway_id: self.gateway.clone(),
            shard,
            lease_token: self.fleet.fence(shard).map(|fence| fence.token),
        }
    }

    /// Our lease on `shard`, or [`StoreError::Fenced`] when we do not hold it.
    pub fn fence(&self, shard: u32) -> Result<Fence, StoreError> {
        self.fleet.fence(shard).ok_or(StoreError::Fenced(shard))
    }

    /// Passes a store result through, dropping the shard at once when the fence refused it.
    pub async fn check_fence<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(StoreError::Fenced(shard)) = &result {
            crate::fleet::counters::bump(&self.fleet.counters.stale_writes_refused);
            let token = self.fleet.fence(*shard).map(|fence| fence.token);
            let epoch = token.as_deref().and_then(|t| t.rsplit(' ').next());
            tracing::warn!(shard, epoch, "refused a stale write");
            self.drop_shard(*shard, "a fenced write was refused").await;
        }
        result
    }

    /// Writes a row (stamping `updatedAt`) and publishes a status change when its status
    /// differs from `before` (always for a new row, `before = None`).
    ///
    /// # Errors
    /// Fencing refusals and Redis errors; nothing is published then.
    pub async fn commit(
        &self,
        before: Option<SessionStatus>,
        row: &mut Session,
    ) -> Result<(), HandlerError> {
        row.updated_at = now_ms().max(row.updated_at);
        let shard = self.shard_of(&row.id);
        let fence = self.fence(shard)?;
        let written = self.store.write_row(&fence, row).await;
        self.check_fence(written).await?;
        self.sessions.note_status(row.id, shard, row.status);
        if before != Some(row.status) {
            self.publish_status(row, before).await;
        }
        Ok(())
    }

    /// Removes the QR of a session's pairing.
    ///
    /// # Errors
    /// Fencing refusals and Redis errors.
    pub async fn clear_qr(&self, id: &SessionId) -> Result<(), HandlerError> {
        let fence = self.fence(self.shard_of(id))?;
        let cleared = self.store.clear_qr(&fence, id).await;
        Ok(self.check_fence(cleared).await?)
    }

    /// Destroys a session's stored credentials.
    ///
    /// # Errors
    /// Fencing refusals and Redis errors.
    pub async fn delete_credentials(&self, id: &SessionId) -> Result<(), HandlerError> {
        let fence = self.fence(self.shard_of(id))?;
        let deleted = self.store.delete_credentials(&fence, id).await;
        Ok(self.check_fence(deleted).await?)
    }
}

/// JetStream on `nats`, with the event stream's call timeout.
fn jetstream_context(nats: &async_nats::Client) -> async_nats::jetstream::Context {
    let mut context = async_nats::jetstream::new(nats.clone());
    context.set_timeout(event_stream::JETSTREAM_TIMEOUT);
    context
}
