//! Shared vocabulary of the WhatsApp gateway: ids, the session model, error codes, NATS wire
//! types, subject and Redis key builders, and the shard function.
//!
//! Both the edge (`wagw-api`) and the workers (`wagw-worker`) speak through these types, so a
//! change here is a change of the contract between them. The crate is a leaf: it knows nothing
//! of axum, Redis or NATS clients, only of strings and serde.
//!
//! # Layout
//! - [`ids`]: validated newtypes for every identifier.
//! - [`session`]: the session row, its status and desired state, and the bounds of its fields.
//! - [`error`]: the API's error codes and the JSON error body.
//! - [`wire`]: versioned commands the edge sends and the replies workers give.
//! - [`events`]: what workers publish on status and event subjects.
//! - [`messages`]: outgoing messages: body rules, the send job, message status.
//! - [`webhooks`]: webhook records, delivery jobs, dead letters and the signature header.
//! - [`sim`]: control messages of the simulated phone.
//! - [`subjects`]: the only place NATS subject strings are built.
//! - [`keys`]: the only place Redis key strings are built.
//! - [`shard`]: the fixed hash that maps a session to a shard, and rendezvous weights.
//! - `examples` (feature `openapi`): example values of the wire types for the OpenAPI document.
//! - `telemetry` (feature `telemetry`): logging set-up shared by both binaries.
//! - `metrics` (feature `metrics`): the Prometheus recorder set-up shared by both binaries.
//! - [`time`]: milliseconds since the Unix epoch, the only timestamp unit on the wire.

pub mod error;
pub mod events;
#[cfg(feature = "openapi")]
pub mod examples;
pub mod ids;
pub mod keys;
pub mod messages;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod session;
pub mod shard;
pub mod sim;
pub mod subjects;
#[cfg(feature = "telemetry")]
pub mod telemetry;
pub mod time;
pub mod webhooks;
pub mod wire;

pub use error::{ErrorBody, ErrorCode};
pub use ids::{ApiKeyId, GatewayId, IdError, OrganizationId, SessionId, WebhookId, WorkerId};
pub use session::{DesiredState, Session, SessionStatus};
