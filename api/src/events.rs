//! Reading a session's events back from the event stream (JetStream): an ordered consumer
//! filtered on the session's event subjects, oldest first.
//!
//! `after=<eventId>` seeks by time: event ids are ULIDs, so the stream is read from the id's
//! timestamp minus [`CLOCK_SKEW`] (workers' clocks and the NATS server's may differ), skipping
//! up to and including that event. An `after` the stream no longer holds gives an empty page.

use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use std::time::Duration;
use wagw_common::events::Event;

/// How far workers' clocks may be ahead of the NATS server's.
const CLOCK_SKEW: Duration = Duration::from_secs(60);
/// How long one page may take to read.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// One page of events and whether more follow.
#[derive(Debug)]
pub struct EventPage {
    pub events: Vec<Event>,
    pub more: bool,
}

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("the event stream did not answer in time")]
    Timeout,
    #[error("the event stream: {0}")]
    Stream(String),
}

/// Up to `page_size` events on `subject` (a session's), after the event `after` if given.
///
/// # Errors
/// The stream unreachable or not answering in time. A missing stream is an empty page.
pub async fn read_page(
    js: &jetstream::Context,
    stream_name: &str,
    subject: String,
    after: Option<ulid::Ulid>,
    page_size: usize,
) -> Result<EventPage, ReplayError> {
    let read = async {
        let stream = match js.get_stream(stream_name).await {
            Ok(stream) => stream,
            // No stream yet (no worker has run): no events.
            Err(err) if is_not_found(&err) => {
                return Ok(EventPage {
                    events: Vec::new(),
                    more: false,
                });
            }
            Err(err) => return Err(ReplayError::Stream(err.to_string())),
        };
        let deliver_policy = match after {
            Some(after) => consumer::DeliverPolicy::ByStartTime {
                start_time: start_time(after),
            },
            None => consumer::DeliverPolicy::All,
        };
        let config = consumer::pull::OrderedConfig {
            filter_subject: subject,
            deliver_policy,
            ..Default::default()
        };
        let consumer = stream
            .create_consumer(config)
            .await
            .map_err(|err| ReplayError::Stream(err.to_string()))?;
        if consumer.cached_info().num_pending == 0 {
            return Ok(EventPage {
                events: Vec::new(),
                more: false,
            });
        }
        let mut messages = consumer
            .messages()
            .await
            .map_err(|err| ReplayError::Stream(err.to_string()))?;
        let mut page = EventPage {
            events: Vec::new(),
            more: false,
        };
        let mut skipping = after.is_some();
        while let Some(message) = messages.next().await {
            let message = message.map_err(|err| ReplayError::Stream(err.to_string()))?;
            let pending = message.info().map(|info| info.pending).unwrap_or(0);
            match serde_json::from_slice::<Event>(&message.payload) {
                Ok(event) if skipping => {
                    skipping = after.is_some_and(|a| a.to_string() != event.id)
                }
                Ok(event) => page.events.push(event),
                Err(err) => {
                    tracing::warn!(error = %err, "an unreadable record in the event stream; skipped")
                }
            }
            if page.events.len() == page_size || pending == 0 {
                page.more = pending > 0;
                break;
            }
        }
        Ok(page)
    };
    tokio::time::timeout(READ_TIMEOUT, read)
        .await
        .map_err(|_| ReplayError::Timeout)?
}

fn is_not_found(err: &jetstream::context::GetStreamError) -> bool {
    matches!(
        err.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(inner)
            if inner.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

/// Where to start reading for the events after `after`.
fn start_time(after: ulid::Ulid) -> time::OffsetDateTime {
    let millis = i128::from(after.timestamp_ms()) - CLOCK_SKEW.as_millis() as i128;
    time::OffsetDateTime::from_unix_timestamp_nanos(millis.max(0) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}
