//! Black-box test harness of the WhatsApp gateway: real `nats-server` and `redis-server`
//! processes, a JWKS the test controls, and the edge and sim workers run in-process through
//! their public `run(...)` functions.
//!
//! # Layout
//! - [`procs`]: throwaway NATS and Redis servers on free ports, killed on drop.
//! - [`jwks`]: a swappable, fetch-counting JWKS endpoint.
//! - [`tokens`]: fixture keys and JWT minting, honest and hostile.
//! - [`options`]: what a test may choose about its stack.
//! - [`app`]: [`TestApp`], one isolated stack per test, and its workers.
//! - [`http`], [`bus`]: typed helpers over HTTP and NATS.
//! - [`fleet`]: reading `GET /gateways`.
//! - [`fleet_app`]: [`FleetApp`], the edge in front of real `wagw-worker` processes
//!   ([`worker_procs`]) with the faults fleet tests inject ([`proxy`], server restarts) and the
//!   "never two owners" check over the sim journal ([`simlog`]); session helpers for it in
//!   `fleet_sessions.rs`.
//! - [`webhook_receiver`]: an HTTP endpoint that records webhook deliveries, checks their
//!   signatures, and fails, stalls or disappears on demand.
//! - [`store`]: peeking at Redis through the shared key layout.
//! - [`edge`]: extra edges on a stack ([`edge::TestEdge`]); [`send`]: sending through the edge
//!   and reading the jobs in a gateway's send stream.
//! - [`edge_procs`]: the `wagw-api` binary as a process with JSON logs, next to worker
//!   processes.
//! - [`assertions`]: the error envelope, ULIDs, timestamps, key and code formats.
//! - [`metrics`]: a Prometheus text parser, and scraping the edge and each worker.
//! - [`sends`]: send jobs published as the edge does, and taps on what workers did with them.
//! - [`sse`]: reading the live status stream (`GET /sessions:watch`) as its clients do.
//! - [`console`]: the web console's browser test, a Node script driving headless Chromium.
//! - [`worker_stack`]: [`WorkerStack`], in-process workers with no edge, driven over NATS
//!   (commands and sim controls in [`worker_bus`]) and checked in Redis.
//!
//! The tests themselves live in `it/`, one module per feature.

pub mod app;
pub mod assertions;
pub mod bus;
pub mod console;
pub mod edge;
pub mod edge_procs;
pub mod fake_driver;
pub mod fleet;
pub mod fleet_app;
mod fleet_sessions;
mod fleet_view;
pub mod http;
pub mod jwks;
pub mod metrics;
pub mod options;
mod probe;
pub mod procs;
pub mod proxy;
pub mod send;
pub mod sends;
pub mod simlog;
pub mod sse;
pub mod store;
pub mod tokens;
pub mod webhook_receiver;
pub mod worker_bus;
pub mod worker_procs;
pub mod worker_stack;

pub use app::{TestApp, TestWorker};
pub use edge::TestEdge;
pub use fleet_app::{FleetApp, FleetOptions};
pub use fleet_view::rendezvous_assignment;
pub use http::HttpResponse;
pub use options::{TestOptions, WebhookOptions};
pub use webhook_receiver::WebhookReceiver;
pub use worker_stack::{RunningWorker, WorkerStack};

use serde_json::Value;
use std::time::Duration;

/// The organization most tests act in.
pub const ORG_A: &str = "org_a";
/// Another organization, whose principals must never see `ORG_A`'s resources.
pub const ORG_B: &str = "org_b";
/// How long an asynchronous effect (a status change, an event) may take in tests.
pub const SOON: Duration = Duration::from_secs(10);

/// `/api/v1/sessions/{id}{suffix}`, e.g. `session_path(id, ":start")`.
pub fn session_path(id: &str, suffix: &str) -> String {
    format!("/api/v1/sessions/{id}{suffix}")
}

/// The `id` of a row.
///
/// # Panics
/// When the row has no string `id`.
#[track_caller]
pub fn id_of(row: &Value) -> String {
    match row["id"].as_str() {
        Some(id) => id.to_owned(),
        None => panic!("no id in {row}"),
    }
}

/// Routes the stack's tracing to the test output; silent unless `RUST_LOG` is set.
pub(crate) fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    // A second call in the same test binary finds a subscriber installed and changes nothing.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
