//! The durable event stream: a JetStream stream (`WAGW_EVENTS_STREAM`, default `WAGW_EVENTS`)
//! capturing `<root>.events.>`, kept `WAGW_EVENTS_MAX_AGE_HOURS` (7 days). Workers create it if
//! missing and publish each event with its ULID as `Nats-Msg-Id`, so a retried publish is
//! stored once; the edge replays a session's events from it.

use async_nats::jetstream::{self, stream};
use std::time::Duration;

/// How long the stream remembers message ids to drop a retried publish.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// How long one JetStream call (create, publish and its acknowledgement) may take.
pub const JETSTREAM_TIMEOUT: Duration = Duration::from_secs(2);

/// The stream's configuration for a deployment whose events are under `subjects`.
pub fn stream_config(name: &str, subjects: String, max_age: Duration) -> stream::Config {
    stream::Config {
        name: name.to_owned(),
        description: Some("wagw events: every session's status changes and events".to_owned()),
        subjects: vec![subjects],
        max_age,
        storage: stream::StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    }
}

/// Creates a stream if it does not exist (an existing one is left as it is); used for the event
/// stream and the send stream.
///
/// # Errors
/// JetStream unavailable (not enabled on the server), or a stream of that name capturing
/// other subjects.
pub async fn ensure_stream(js: &jetstream::Context, config: stream::Config) -> Result<(), String> {
    let wanted = config.subjects.clone();
    let name = config.name.clone();
    let created = tokio::time::timeout(JETSTREAM_TIMEOUT, js.get_or_create_stream(config))
        .await
        .map_err(|_| format!("creating the stream {name} timed out"))?;
    let mut stream = created.map_err(|err| format!("creating the stream {name}: {err}"))?;
    let info = tokio::time::timeout(JETSTREAM_TIMEOUT, stream.info())
        .await
        .map_err(|_| format!("reading the stream {name} timed out"))?
        .map_err(|err| format!("reading the stream {name}: {err}"))?;
    if !wanted.iter().all(|s| info.config.subjects.contains(s)) {
        return Err(format!(
            "the stream {} exists but captures {:?}, not {wanted:?}",
            info.config.name, info.config.subjects
        ));
    }
    Ok(())
}
