//! Shared state of one edge: configuration, NATS and Redis clients, the JWT verifier, metrics,
//! and the in-memory cache of gateway shard counts.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use wagw_common::GatewayId;
use wagw_common::keys::Keys;
use wagw_common::subjects::Subjects;

use crate::Config;
use crate::auth::jwt::JwtVerifier;
use crate::metrics::Metrics;
use crate::store::rate_limit::RateLimiter;

/// How long start-up waits for NATS or Redis before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one Redis command may take before it counts as an outage.
const REDIS_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Cheap to clone; every request gets one.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    config: Config,
    keys: Keys,
    subjects: Subjects,
    nats: async_nats::Client,
    /// One context for every publish, so its in-flight acknowledgement bound is shared.
    jetstream: async_nats::jetstream::Context,
    redis: ConnectionManager,
    limiter: RateLimiter,
    jwt: JwtVerifier,
    metrics: Metrics,
    /// A gateway's shard count never changes once recorded, so it is read once.
    shard_counts: RwLock<HashMap<GatewayId, u32>>,
    /// Cancelled when the edge shuts down: open streams (`GET /sessions:watch`) end on it, so
    /// graceful shutdown is not left waiting on responses that never finish by themselves.
    streams_end: CancellationToken,
}

impl AppState {
    /// Connects to NATS and Redis (each within a timeout) and builds the state.
    ///
    /// # Errors
    /// When either is unreachable, or the configuration is unusable.
    pub async fn connect(config: Config) -> anyhow::Result<Self> {
        let nats = connect_nats(config.nats_url.expose_secret()).await?;
        let redis = connect_redis(config.redis_url.expose_secret()).await?;
        Self::new(config, nats, redis)
    }

    /// Builds the state around existing clients.
    ///
    /// # Errors
    /// When the key prefix or subject root is invalid.
    pub fn new(
        config: Config,
        nats: async_nats::Client,
        redis: ConnectionManager,
    ) -> anyhow::Result<Self> {
        let keys = config.keys().context("WAGW_KEY_PREFIX")?;
        let subjects = config.subjects().context("WAGW_SUBJECT_ROOT")?;
        let jwt = JwtVerifier::new(&config)?;
        let metrics = Metrics::new();
        let jetstream = async_nats::jetstream::ContextBuilder::new()
            .timeout(config.command_timeout())
            .build(nats.clone());
        let limiter = RateLimiter::new(redis.clone(), keys.clone());
        Ok(Self(Arc::new(Inner {
            config,
            keys,
            subjects,
            nats,
            jetstream,
            redis,
            limiter,
            jwt,
            metrics,
            shard_counts: RwLock::new(HashMap::new()),
            streams_end: CancellationToken::new(),
        })))
    }

    pub fn config(&self) -> &Config {
        &self.0.config
    }

    pub fn keys(&self) -> &Keys {
        &self.0.keys
    }

    pub fn subjects(&self) -> &Subjects {
        &self.0.subjects
    }

    pub fn nats(&self) -> &async_nats::Client {
        &self.0.nats
    }

    pub fn jetstream(&self) -> &async_nats::jetstream::Context {
        &self.0.jetstream
    }

    /// The send limiter (rate limits and idempotency records), on the shared connection.
    pub(crate) fn limiter(&self) -> &RateLimiter {
        &self.0.limiter
    }

    /// A handle on the shared, multiplexed Redis connection.
    pub fn redis(&self) -> ConnectionManager {
        self.0.redis.clone()
    }

    pub fn jwt(&self) -> &JwtVerifier {
        &self.0.jwt
    }

    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// The token that ends open streams; `run` cancels it when the edge begins to shut down.
    pub fn streams_end(&self) -> &CancellationToken {
        &self.0.streams_end
    }

    pub fn cached_shard_count(&self, gw: &GatewayId) -> Option<u32> {
        let counts = self
            .0
            .shard_counts
            .read()
            .unwrap_or_else(|p| p.into_inner());
        counts.get(gw).copied()
    }

    pub fn remember_shard_count(&self, gw: &GatewayId, shards: u32) {
        let mut counts = self
            .0
            .shard_counts
            .write()
            .unwrap_or_else(|p| p.into_inner());
        counts.insert(gw.clone(), shards);
    }
}

/// # Errors
/// When NATS does not accept a connection within ten seconds.
pub async fn connect_nats(url: &str) -> anyhow::Result<async_nats::Client> {
    let connecting = async_nats::ConnectOptions::new()
        .name("wagw-api")
        .connection_timeout(Duration::from_secs(5))
        .connect(url);
    tokio::time::timeout(CONNECT_TIMEOUT, connecting)
        .await
        .with_context(|| {
            format!(
                "connecting to NATS at {} (WAGW_NATS_URL): timed out",
                redact(url)
            )
        })?
        .with_context(|| format!("connecting to NATS at {} (WAGW_NATS_URL)", redact(url)))
}

/// # Errors
/// When Redis does not accept a connection within ten seconds.
pub async fn connect_redis(url: &str) -> anyhow::Result<ConnectionManager> {
    let client = redis::Client::open(url)
        .with_context(|| format!("parsing the Redis URL {} (WAGW_REDIS_URL)", redact(url)))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(3)))
        .set_response_timeout(Some(REDIS_RESPONSE_TIMEOUT))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(1));
    tokio::time::timeout(
        CONNECT_TIMEOUT,
        ConnectionManager::new_with_config(client, config),
    )
    .await
    .with_context(|| {
        format!(
            "connecting to Redis at {} (WAGW_REDIS_URL): timed out",
            redact(url)
        )
    })?
    .with_context(|| format!("connecting to Redis at {} (WAGW_REDIS_URL)", redact(url)))
}

/// A URL without its credentials, for error messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            super::redact("redis://:secret@host:6379/0"),
            "redis://***@host:6379/0"
        );
        assert_eq!(
            super::redact("nats://127.0.0.1:4222"),
            "nats://127.0.0.1:4222"
        );
    }
}
