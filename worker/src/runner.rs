//! Start-up and shutdown of a worker: connect (with timeouts), start the metrics endpoint, join
//! the fleet, start the lease, watchdog, heartbeat, notice and sim control loops, and on shutdown stop taking messages,
//! leave the members set, let in-flight handlers finish (with a deadline), close links, release
//! leases, announce the leave and drain NATS.

use anyhow::Context;
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::Worker;
use crate::config::{Config, DriverKind};
use crate::driver::Driver;
use crate::driver::sim::{SimConfig, SimDriver};
use crate::store::Store;

/// How long connecting to NATS or Redis may take at start-up.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight handlers get to finish at shutdown.
const HANDLER_DEADLINE: Duration = Duration::from_secs(5);
/// How long background tasks get to end after the links closed.
const TASK_DEADLINE: Duration = Duration::from_secs(5);

/// The one line printed when the real driver is asked of a build without it.
pub const WHATSAPP_NOT_BUILT: &str = "WAGW_DRIVER=whatsapp: this wagw-worker was built without \
     the `whatsapp` cargo feature; rebuild with default features or set WAGW_DRIVER=sim";

/// Connects to NATS and Redis and assembles the worker.
///
/// # Errors
/// The real driver asked for, NATS or Redis unreachable, a bad recorded shard count.
pub async fn build(config: Config) -> anyhow::Result<Worker> {
    // Refuse a driver we cannot run before touching NATS or Redis.
    let real_config = real_driver_config(&config)?;
    let nats = async_nats::ConnectOptions::new()
        .name(format!("wagw-worker {}", config.worker_id))
        .connection_timeout(Duration::from_secs(5))
        .request_timeout(Some(Duration::from_secs(5)))
        .connect(config.nats_servers());
    let nats = tokio::time::timeout(STARTUP_TIMEOUT, nats)
        .await
        .context("connecting to NATS timed out (WAGW_NATS_URL)")?
        .context("connecting to NATS (WAGW_NATS_URL)")?;
    let store = Store::connect(
        config.redis_url.expose_secret(),
        config.keys(),
        config.gateway_id.clone(),
    );
    let store = tokio::time::timeout(STARTUP_TIMEOUT, store)
        .await
        .context("connecting to Redis timed out (WAGW_REDIS_URL)")?
        .context("connecting to Redis (WAGW_REDIS_URL)")?;
    let shard_count = tokio::time::timeout(STARTUP_TIMEOUT, store.init_shard_count(config.shards))
        .await
        .context("reading the gateway's shard count timed out")??;
    if shard_count != config.shards {
        tracing::warn!(
            shards.configured = config.shards,
            shards.recorded = shard_count,
            "WAGW_SHARDS differs from the gateway's recorded shard count; using the recorded one"
        );
    }
    let (driver, sim): (Arc<dyn Driver>, _) = match real_config {
        Some(real) => (real_driver(&config, real).await?, None),
        None => {
            let sim = Arc::new(SimDriver::new(
                sim_config(&config),
                nats.clone(),
                config.subjects(),
                config.worker_id.clone(),
            ));
            (sim.clone(), Some(sim))
        }
    };
    Ok(Worker::new(config, nats, store, driver, sim, shard_count))
}

/// The real driver's settings when it is asked for; `None` for the sim.
#[cfg(feature = "whatsapp")]
fn real_driver_config(
    config: &Config,
) -> anyhow::Result<Option<crate::driver::whatsapp::WhatsappConfig>> {
    use crate::driver::whatsapp::{WhatsappConfig, store::StateKey};
    if config.driver != DriverKind::Whatsapp {
        return Ok(None);
    }
    let Some(value) = &config.state_key else {
        anyhow::bail!(
            "WAGW_STATE_KEY is required by WAGW_DRIVER=whatsapp: it seals every session's \
             WhatsApp keys in Redis (generate one with `openssl rand -hex 32`; every worker of \
             the gateway needs the same one)"
        );
    };
    let state_key = StateKey::from_env_value(value.expose_secret())?;
    Ok(Some(WhatsappConfig::new(state_key, config.wa_version)))
}

#[cfg(not(feature = "whatsapp"))]
fn real_driver_config(config: &Config) -> anyhow::Result<Option<std::convert::Infallible>> {
    if config.driver == DriverKind::Whatsapp {
        anyhow::bail!(WHATSAPP_NOT_BUILT);
    }
    Ok(None)
}

/// The real driver, on its own Redis connection: bulk session-state writes must not queue
/// behind (or hold up) the lease renewals on the store's connection.
#[cfg(feature = "whatsapp")]
async fn real_driver(
    config: &Config,
    real: crate::driver::whatsapp::WhatsappConfig,
) -> anyhow::Result<Arc<dyn Driver>> {
    use crate::driver::whatsapp::WhatsappDriver;
    let redis = crate::store::connection_manager(config.redis_url.expose_secret());
    let redis = tokio::time::timeout(STARTUP_TIMEOUT, redis)
        .await
        .context("connecting to Redis timed out (WAGW_REDIS_URL)")?
        .context("connecting to Redis (WAGW_REDIS_URL)")?;
    let url = config.wa_url.as_deref();
    Ok(Arc::new(WhatsappDriver::new(
        real,
        config.keys(),
        redis,
        url,
    )))
}

#[cfg(not(feature = "whatsapp"))]
async fn real_driver(
    _config: &Config,
    never: std::convert::Infallible,
) -> anyhow::Result<Arc<dyn Driver>> {
    match never {}
}

fn sim_config(config: &Config) -> SimConfig {
    SimConfig {
        connect_latency: Duration::from_millis(config.sim_connect_ms),
        auto_pair_after: (config.sim_auto_pair_ms > 0)
            .then(|| Duration::from_millis(config.sim_auto_pair_ms)),
        qr_first_validity: Duration::from_millis(config.sim_qr_first_ms),
        qr_next_validity: Duration::from_millis(config.sim_qr_next_ms),
        qr_count: config.sim_qr_count,
        pairing_code_validity: Duration::from_millis(config.sim_pairing_code_ms),
    }
}

impl Worker {
    /// Runs until `shutdown` is cancelled, then shuts down cleanly.
    ///
    /// # Errors
    /// Binding the metrics endpoint or subscribing to the sim controls failed.
    pub async fn serve(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.start_metrics().await?;
        tracing::info!(
            worker.id = %self.id,
            gateway.id = %self.gateway,
            shards = self.fleet.shard_count(),
            driver = self.driver.name(),
            "worker started"
        );
        if self.config.driver == DriverKind::Sim {
            let subject = self.subjects.sim_all(&self.gateway);
            let subscriber = self
                .nats
                .subscribe(subject)
                .await
                .context("subscribing to sim controls")?;
            self.tasks.spawn(self.clone().sim_listener(subscriber));
        }
        self.prepare_event_stream().await;
        self.prepare_send_stream().await;
        crate::webhooks::Webhooks::new(self.clone())
            .context("setting up webhook delivery")?
            .start();
        let notices = self
            .nats
            .subscribe(self.subjects.fleet_changed(&self.gateway))
            .await
            .context("subscribing to fleet change notices")?;
        self.tasks.spawn(self.clone().notice_listener(notices));
        // Join before the first lease pass, so the others see us and hand our share over.
        if let Err(error) = self.heartbeat_once().await {
            tracing::warn!(error, "the first membership heartbeat failed");
        }
        self.announce("join").await;
        let lease_loop = self.tasks.spawn(self.clone().lease_loop());
        self.tasks.spawn(self.clone().fence_watchdog());
        let heartbeat_loop = self.tasks.spawn(self.clone().heartbeat_loop());
        self.tasks.spawn(self.clone().micro_service());
        shutdown.cancelled().await;
        self.shut_down(lease_loop, heartbeat_loop).await;
        Ok(())
    }

    /// Stops taking work, leaves the fleet, hands every shard over (links closed and their
    /// records flushed before the leases go), tells the fleet, then drains NATS.
    async fn shut_down(
        &self,
        lease_loop: tokio::task::JoinHandle<()>,
        heartbeat_loop: tokio::task::JoinHandle<()>,
    ) {
        tracing::info!(worker.id = %self.id, "worker shutting down");
        self.stopping.cancel();
        // No lease pass may acquire anything after this point, and no heartbeat still in
        // flight may put us back into the members set after we leave it.
        let (lease_stopped, heartbeat_stopped) = tokio::join!(
            tokio::time::timeout(TASK_DEADLINE, lease_loop),
            tokio::time::timeout(TASK_DEADLINE, heartbeat_loop),
        );
        if lease_stopped.is_err() {
            tracing::warn!("the lease loop did not stop in time");
        }
        if heartbeat_stopped.is_err() {
            tracing::warn!("the heartbeat loop did not stop in time");
        }
        // Out of the members first, so that survivors' passes already count us gone.
        self.leave_membership().await;
        self.handlers.close();
        if tokio::time::timeout(HANDLER_DEADLINE, self.handlers.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                in_flight = self.handlers.len(),
                "in-flight handlers did not finish in time"
            );
        }
        self.release_all().await;
        self.announce("leave").await;
        if let Some(sim) = &self.sim
            && tokio::time::timeout(TASK_DEADLINE, sim.shutdown())
                .await
                .is_err()
        {
            tracing::warn!("the simulated phone did not stop in time");
        }
        if let Err(err) = tokio::time::timeout(Duration::from_secs(2), self.nats.flush()).await {
            tracing::warn!(error = %err, "flushing NATS timed out");
        }
        if let Err(err) = self.nats.drain().await {
            tracing::warn!(error = %err, "draining NATS failed");
        }
        self.tasks.close();
        if tokio::time::timeout(TASK_DEADLINE, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                tasks = self.tasks.len(),
                "background tasks did not end in time"
            );
        }
        tracing::info!(worker.id = %self.id, "worker stopped");
    }
}
