//! NATS helpers of [`TestApp`]: sim controls, status and event subscriptions.

use crate::app::TestApp;
use async_nats::Subscriber;
use futures::StreamExt;
use serde_json::Value;
use std::time::Duration;
use wagw_common::events::{Event, StatusChange};
use wagw_common::sim::SimAction;
use wagw_common::wire::Reply;
use wagw_common::{GatewayId, SessionId};

/// How long a sim control may take to be answered.
const SIM_TIMEOUT: Duration = Duration::from_secs(2);

fn gateway(gw: &str) -> GatewayId {
    GatewayId::parse(gw).expect("test gateway ids are valid")
}

fn session(id: &str) -> SessionId {
    SessionId::parse(id).unwrap_or_else(|_| panic!("{id:?} is not a session id"))
}

impl TestApp {
    /// Sends a sim control to the worker owning `session_id` and returns its reply.
    ///
    /// # Panics
    /// When no answer comes within 2 s or it is not a `Reply`.
    pub async fn sim(&self, gw: &str, session_id: &str, action: SimAction, body: Value) -> Reply {
        let subject = self
            .subjects
            .sim(&gateway(gw), &session(session_id), action);
        let payload = serde_json::to_vec(&body).expect("JSON serializes");
        let answer = tokio::time::timeout(
            SIM_TIMEOUT,
            self.nats.request(subject.clone(), payload.into()),
        )
        .await
        .unwrap_or_else(|_| panic!("sim control {subject} not answered within {SIM_TIMEOUT:?}"))
        .unwrap_or_else(|error| panic!("sim control {subject} failed: {error}"));
        serde_json::from_slice(&answer.payload).unwrap_or_else(|error| {
            panic!(
                "sim reply is not a Reply ({error}): {}",
                String::from_utf8_lossy(&answer.payload)
            )
        })
    }

    /// The simulated phone scans the current QR of `session_id` (or confirms its code) as
    /// `phone`.
    ///
    /// # Panics
    /// When the owning worker refuses or does not answer.
    pub async fn sim_pair(&self, gw: &str, session_id: &str, phone: &str) {
        let body = serde_json::json!({"phoneNumber": phone});
        let reply = self.sim(gw, session_id, SimAction::Pair, body).await;
        assert!(reply.ok, "sim pair of {session_id} refused: {reply:?}");
    }

    /// Subscribes to `<root>.status.<gw>.>`; the subscription is live when this returns.
    pub async fn subscribe_status(&self, gw: &str) -> Subscriber {
        self.subscribe(self.subjects.status_all(&gateway(gw))).await
    }

    /// Subscribes to `<root>.events.<gw>.<session>.<type>`; live when this returns.
    pub async fn subscribe_events(
        &self,
        gw: &str,
        session_id: &str,
        event_type: &str,
    ) -> Subscriber {
        let subject = self
            .subjects
            .event(&gateway(gw), &session(session_id), event_type);
        self.subscribe(subject).await
    }

    /// Subscribes to any subject; live (flushed to the server) when this returns.
    pub async fn subscribe(&self, subject: String) -> Subscriber {
        let subscriber = self
            .nats
            .subscribe(subject.clone())
            .await
            .unwrap_or_else(|error| panic!("subscribing to {subject}: {error}"));
        self.nats.flush().await.expect("NATS flush");
        subscriber
    }
}

/// The next status change on `subscriber` for `session_id` that satisfies `wanted`, skipping
/// others (other sessions, earlier transitions).
///
/// # Panics
/// When none arrives before `deadline`.
pub async fn wait_for_change(
    subscriber: &mut Subscriber,
    session_id: &str,
    deadline: Duration,
    wanted: impl Fn(&StatusChange) -> bool,
) -> StatusChange {
    let until = tokio::time::Instant::now() + deadline;
    let mut seen = Vec::new();
    loop {
        let next = tokio::time::timeout_at(until, subscriber.next()).await;
        let Ok(Some(message)) = next else {
            panic!("no wanted status change of {session_id} within {deadline:?}; seen: {seen:?}");
        };
        let change: StatusChange = serde_json::from_slice(&message.payload).unwrap_or_else(|e| {
            panic!(
                "status payload is not a StatusChange ({e}): {}",
                String::from_utf8_lossy(&message.payload)
            )
        });
        if change.session_id.to_string() == session_id && wanted(&change) {
            return change;
        }
        seen.push((change.session_id.to_string(), change.status));
    }
}

/// Every status change of `session_id` received within `window`, in order.
pub async fn collect_changes(
    subscriber: &mut Subscriber,
    session_id: &str,
    window: Duration,
) -> Vec<StatusChange> {
    let until = tokio::time::Instant::now() + window;
    let mut changes = Vec::new();
    while let Ok(Some(message)) = tokio::time::timeout_at(until, subscriber.next()).await {
        if let Ok(change) = serde_json::from_slice::<StatusChange>(&message.payload)
            && change.session_id.to_string() == session_id
        {
            changes.push(change);
        }
    }
    changes
}

/// The next event on `subscriber` (subject and parsed body).
///
/// # Panics
/// When none arrives before `deadline` or it is not an `Event`.
pub async fn next_event(subscriber: &mut Subscriber, deadline: Duration) -> (String, Event) {
    let message = tokio::time::timeout(deadline, subscriber.next())
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no event within {deadline:?}"));
    let event = serde_json::from_slice(&message.payload).unwrap_or_else(|error| {
        panic!(
            "event payload is not an Event ({error}): {}",
            String::from_utf8_lossy(&message.payload)
        )
    });
    (message.subject.to_string(), event)
}
