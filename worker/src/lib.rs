//! `wagw-worker`: a shard-owning worker of the WhatsApp gateway.
//!
//! A worker belongs to one gateway (a fleet). It leases shards of the gateway in Redis, listens
//! to the commands of the shards it holds on NATS, holds the WhatsApp links of their sessions
//! through a [`driver`], and is the only writer of their rows: every write is a Lua script
//! fenced by the shard's lease epoch. It answers a command after the write, and publishes every
//! status change and event on NATS.
//!
//! # Layout
//! - [`config`]: the `WAGW_*` settings; [`telemetry`]: logging set-up.
//! - [`runner`]: start-up ([`run`]) and graceful shutdown.
//! - [`worker`]: [`Worker`], the core every part hangs off.
//! - [`fleet`]: shard leases, per-shard command listeners, membership heartbeat.
//! - [`handlers`]: dispatch and one file per command.
//! - [`send`]: the send pipeline, each held shard's consumer of the gateway's send stream.
//! - [`sessions`]: per-session locks, links and their event pumps, reconnects, reconciliation.
//! - [`store`]: Redis reads and the fenced scripts; [`status`]: publishing.
//! - [`webhooks`]: webhook fan-out and delivery (two durable JetStream consumers).
//! - [`metrics`]: the worker's Prometheus recorder and its `GET /metrics` endpoint.
//! - [`sim_control`]: controls of the simulated phone; [`driver`]: the driver interface.
//!
//! Tests drive a worker in-process with [`run`], or a [`Worker`] directly with
//! [`Worker::handle_command`].

pub mod config;
pub mod driver;
pub mod error;
pub mod event_stream;
pub mod fleet;
pub mod handlers;
pub mod metrics;
pub mod runner;
pub mod send;
pub mod sessions;
pub mod sim_control;
pub mod status;
pub mod store;
pub mod webhooks;
pub use wagw_common::telemetry;
pub mod worker;

pub use config::{Config, DriverKind, LogFormat};
pub use error::HandlerError;
pub use worker::Worker;

use tokio_util::sync::CancellationToken;

/// Runs a worker until `shutdown` is cancelled, then releases its shards (closing links
/// without logging out), drains NATS, waits for in-flight handlers and returns.
///
/// # Errors
/// Start-up failures: the real driver asked for, NATS or Redis unreachable.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    runner::build(config).await?.serve(shutdown).await
}
