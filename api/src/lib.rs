//! The stateless HTTP edge of the WhatsApp gateway (`wagw-api`).
//!
//! It authenticates callers (login JWTs verified against a JWKS, or `wagw_…` API keys),
//! authorizes them by capability within their organization, validates requests, and turns
//! session operations into NATS request-replies to the worker that owns the session's shard.
//! It reads session rows from Redis (workers write them) and writes only its own data, API keys.
//!
//! # Layout
//! - [`config`]: the one [`Config`], parsed from flags and `WAGW_*` variables.
//! - [`state`]: NATS and Redis clients and everything shared by requests.
//! - [`routes`]: the router, one module per resource, and the middleware stack.
//! - [`auth`]: bearer tokens to a [`auth::Principal`] with [`Capability`]s.
//! - [`api_keys`]: API keys in Redis (also used by `wagw-api create-api-key`).
//! - [`error`]: the only error type and the JSON error envelope.
//! - `extract`, `request_id`, `pagination`: extractors and codecs whose failures are envelopes.
//! - `store`: Redis reads of sessions and of the fleet, send rate limits and idempotency
//!   records; `commands`: NATS commands with retries.
//! - `sending`, `send_stream`: accepting a send into its gateway's JetStream send stream.
//! - `webhooks`: webhooks and their dead letters in Redis; redelivery.
//! - `metrics`: this edge's Prometheus recorder; `access_log`: the line each answer gets.

mod access_log;
pub mod api_keys;
pub mod auth;
mod commands;
pub mod config;
pub mod error;
mod events;
mod extract;
mod metrics;
mod pagination;
mod request_id;
pub mod routes;
pub mod send_stream;
mod sending;
pub mod state;
mod store;
mod webhooks;
pub use wagw_common::telemetry;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use auth::Capability;
pub use config::{Config, LogFormat};

/// Serves the API on `listener` until `shutdown` is cancelled, then finishes in-flight requests.
///
/// Connects to NATS and Redis first (each with a timeout); `config.http_addr` is ignored, the
/// caller binds the listener (tests bind port 0).
///
/// # Errors
/// When NATS or Redis cannot be reached at start, or serving fails.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let gateways: Vec<String> = config.gateways.iter().map(ToString::to_string).collect();
    let state = state::AppState::connect(config).await?;
    send_stream::ensure_all(&state).await;
    let app = routes::build_router(state.clone());
    let addr = listener
        .local_addr()
        .context("reading the listener's address")?;
    tracing::info!(http.addr = %addr, edge.gateways = ?gateways, "edge listening");
    let upkeep_stop = shutdown.child_token();
    let upkeep = tokio::spawn({
        let (state, stop) = (state.clone(), upkeep_stop.clone());
        let interval = wagw_common::metrics::UPKEEP_INTERVAL;
        async move { state.metrics().upkeep(interval, stop).await }
    });
    let streams_end = state.streams_end().clone();
    let stopping = async move {
        shutdown.cancelled().await;
        // Streams never finish by themselves; ending them lets in-flight requests drain.
        streams_end.cancel();
    };
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(stopping)
        .await
        .context("serving HTTP");
    upkeep_stop.cancel();
    if let Err(err) = upkeep.await {
        tracing::warn!(error = %err, "the metrics upkeep task failed");
    }
    served?;
    if let Err(err) = state.nats().flush().await {
        tracing::warn!(error = %err, "flushing NATS at shutdown failed");
    }
    tracing::info!("edge stopped");
    Ok(())
}
