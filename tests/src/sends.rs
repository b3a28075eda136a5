//! Send jobs as the edge publishes them (into the gateway's send stream through JetStream, with
//! the message id as `Nats-Msg-Id`), and [`SendTaps`]: everything the simulated phones and the
//! workers of a gateway reported while a send test ran (sim journal records and events).

use futures::StreamExt;
use serde_json::Value;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio_util::sync::{CancellationToken, DropGuard};
use wagw_common::events::Event;
use wagw_common::messages::{DEFAULT_SEND_STREAM_PREFIX, SendMessageV1, send_stream_name};
use wagw_common::shard::shard_of;
use wagw_common::subjects::{CommandOp, Subjects};
use wagw_common::wire::Command;
use wagw_common::{GatewayId, OrganizationId, SessionId};

/// How long JetStream may take to acknowledge a published job.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);

/// A job for `to` (a JID) saying `text`, with a fresh message id.
pub fn send_job(org: &str, to: &str, text: &str) -> SendMessageV1 {
    SendMessageV1 {
        organization_id: OrganizationId::parse(org).expect("a valid organization id"),
        message_id: ulid::Ulid::generate().to_string(),
        to: to.to_owned(),
        text: text.to_owned(),
        accepted_at: wagw_common::time::now_ms(),
    }
}

/// Where a gateway's jobs go: its subjects, shard count and the send stream's name.
#[derive(Debug, Clone)]
pub struct SendTarget {
    pub jetstream: async_nats::jetstream::Context,
    pub subjects: Subjects,
    pub gw: GatewayId,
    pub shards: u32,
}

impl SendTarget {
    pub fn new(nats: &async_nats::Client, subjects: &Subjects, gw: &str, shards: u32) -> Self {
        Self {
            jetstream: async_nats::jetstream::new(nats.clone()),
            subjects: subjects.clone(),
            gw: GatewayId::parse(gw).expect("a valid gateway id"),
            shards,
        }
    }

    /// Publishes `job` for `session` as the edge does, with `msg_id` as `Nats-Msg-Id` (the
    /// message id, unless a test republishes), and waits for the stream's acknowledgement.
    ///
    /// # Panics
    /// When the stream does not acknowledge it in time.
    pub async fn publish_with_id(&self, session: &str, job: &SendMessageV1, msg_id: &str) {
        let id = SessionId::parse(session).expect("a session id");
        let shard = shard_of(&id, self.shards);
        let subject = self.subjects.command(&self.gw, shard, &id, CommandOp::Send);
        let command = Command::SendMessageV1(job.clone());
        let payload = serde_json::to_vec(&command).expect("a job serializes");
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, msg_id);
        let ack = async {
            let publish = self
                .jetstream
                .publish_with_headers(subject, headers, payload.into());
            publish.await?.await.map_err(async_nats::Error::from)
        };
        match tokio::time::timeout(PUBLISH_TIMEOUT, ack).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => panic!("publishing a send job: {error}"),
            Err(_) => panic!("the send stream did not acknowledge a job in time"),
        }
    }

    /// Publishes `job` with its message id as `Nats-Msg-Id`.
    pub async fn publish(&self, session: &str, job: &SendMessageV1) {
        self.publish_with_id(session, job, &job.message_id).await;
    }

    /// Waits until every job has left the send stream (a work queue: acknowledged by a worker).
    ///
    /// # Panics
    /// When jobs are left after `within`.
    pub async fn wait_all_acknowledged(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let left = self.jobs_left().await;
            if left == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{left} send jobs still unacknowledged"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Jobs still in the send stream (not yet acknowledged by a worker).
    pub async fn jobs_left(&self) -> u64 {
        let name = send_stream_name(DEFAULT_SEND_STREAM_PREFIX, &self.gw);
        let mut stream = self
            .jetstream
            .get_stream(name)
            .await
            .expect("the send stream");
        stream.info().await.expect("stream info").state.messages
    }
}

/// Records every sim journal record and every event of a gateway from its start.
#[derive(Debug, Clone)]
pub struct SendTaps {
    journal: Arc<Mutex<Vec<Value>>>,
    events: Arc<Mutex<Vec<Event>>>,
    _stop: Arc<DropGuard>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SendTaps {
    /// Subscribes (flushed, so live when this returns) and records in the background.
    pub async fn start(nats: &async_nats::Client, subjects: &Subjects, gw: &str) -> Self {
        let gw = GatewayId::parse(gw).expect("a valid gateway id");
        let mut journal_sub = (nats.subscribe(subjects.sim_journal_all(&gw)).await).expect("sub");
        let mut events_sub = (nats.subscribe(subjects.events_all(&gw)).await).expect("sub");
        nats.flush().await.expect("flush");
        let stop = CancellationToken::new();
        let taps = Self {
            journal: Arc::default(),
            events: Arc::default(),
            _stop: Arc::new(stop.clone().drop_guard()),
        };
        let (journal, events) = (taps.journal.clone(), taps.events.clone());
        // Ends with the taps (their drop guard); nothing to join.
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    Some(message) = journal_sub.next() => {
                        if let Ok(record) = serde_json::from_slice(&message.payload) {
                            lock(&journal).push(record);
                        }
                    }
                    Some(message) = events_sub.next() => {
                        if let Ok(event) = serde_json::from_slice(&message.payload) {
                            lock(&events).push(event);
                        }
                    }
                }
            }
        });
        taps
    }

    /// The journal records of `session`, in arrival order.
    pub fn journal(&self, session: &str) -> Vec<Value> {
        let records = lock(&self.journal);
        records
            .iter()
            .filter(|r| r["sessionId"] == session)
            .cloned()
            .collect()
    }

    /// The journal records of `session` of `kind` (`sent_text`, `presence`, `marked_read`…).
    pub fn journal_of(&self, session: &str, kind: &str) -> Vec<Value> {
        let records = self.journal(session);
        records.into_iter().filter(|r| r["kind"] == kind).collect()
    }

    /// `sent_text` records of one message (by its WhatsApp id), across every worker.
    pub fn sent_texts(&self, session: &str, wa_message_id: &str) -> Vec<Value> {
        let sent = self.journal_of(session, "sent_text");
        sent.into_iter()
            .filter(|r| r["messageId"] == wa_message_id)
            .collect()
    }

    /// Events of `session` of `event_type`, in arrival order.
    pub fn events(&self, session: &str, event_type: &str) -> Vec<Event> {
        let events = lock(&self.events);
        let of = |e: &&Event| e.session_id.to_string() == session && e.event_type == event_type;
        events.iter().filter(of).cloned().collect()
    }

    /// Events of `session` of `event_type` about message `message_id`.
    pub fn message_events(&self, session: &str, event_type: &str, message_id: &str) -> Vec<Event> {
        let events = self.events(session, event_type);
        events
            .into_iter()
            .filter(|e| e.data["messageId"] == message_id)
            .collect()
    }

    /// Polls `check` until it returns `Some`, for at most `within`.
    ///
    /// # Panics
    /// When it does not within `within`; the message shows what was recorded.
    pub async fn until<T>(
        &self,
        within: Duration,
        what: &str,
        check: impl Fn(&Self) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + within;
        loop {
            if let Some(value) = check(self) {
                return value;
            }
            if Instant::now() >= deadline {
                let journal = lock(&self.journal).clone();
                let events: Vec<String> = lock(&self.events)
                    .iter()
                    .map(|e| format!("{} {}", e.event_type, e.data))
                    .collect();
                panic!("timed out waiting for {what}; journal {journal:?}; events {events:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
