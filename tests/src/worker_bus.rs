//! The NATS client of a [`WorkerStack`]: commands and sim controls as the edge would send them,
//! and the gateway's status feed.

use crate::worker_stack::{ORG, SHARDS, WorkerStack};
use futures::StreamExt;
use std::time::{Duration, Instant};
use wagw_common::events::StatusChange;
use wagw_common::shard::shard_of;
use wagw_common::sim::SimAction;
use wagw_common::subjects::CommandOp;
use wagw_common::wire::{Command, CreateSessionV1, Reply, SessionCommandV1};
use wagw_common::{OrganizationId, Session, SessionId};

/// How long one request may wait for its reply.
const REPLY_DEADLINE: Duration = Duration::from_secs(10);
/// How long "no responders" (a shard between owners) is retried.
const NO_RESPONDERS_RETRY: Duration = Duration::from_secs(5);

fn org() -> OrganizationId {
    OrganizationId::parse(ORG).expect("a valid organization id")
}

impl WorkerStack {
    /// Sends a command, retrying "no responders" (a shard between owners) for a few seconds.
    ///
    /// # Panics
    /// When no reply comes in time, the request fails otherwise, or the reply is not a `Reply`.
    pub async fn command(&self, id: &SessionId, op: CommandOp, command: &Command) -> Reply {
        let subject = self
            .subjects
            .command(&self.gw, shard_of(id, SHARDS), id, op);
        let payload = serde_json::to_vec(command).expect("a command serializes");
        let deadline = Instant::now() + NO_RESPONDERS_RETRY;
        loop {
            let request = self.nats.request(subject.clone(), payload.clone().into());
            let result = tokio::time::timeout(REPLY_DEADLINE, request)
                .await
                .expect("reply in time");
            match result {
                Ok(message) => return serde_json::from_slice(&message.payload).expect("a reply"),
                Err(err)
                    if err.kind() == async_nats::RequestErrorKind::NoResponders
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(err) => panic!("request {subject}: {err}"),
            }
        }
    }

    /// Sends one of the commands whose body is just the organization.
    ///
    /// # Panics
    /// When `op` is not such a command, or as [`WorkerStack::command`].
    pub async fn simple(&self, id: &SessionId, op: CommandOp) -> Reply {
        let body = SessionCommandV1 {
            organization_id: org(),
        };
        let command = match op {
            CommandOp::Delete => Command::DeleteSessionV1(body),
            CommandOp::Start => Command::StartSessionV1(body),
            CommandOp::Stop => Command::StopSessionV1(body),
            CommandOp::Restart => Command::RestartSessionV1(body),
            CommandOp::Logout => Command::LogoutSessionV1(body),
            CommandOp::Qr => Command::QrV1(body),
            other => panic!("not a simple command: {other:?}"),
        };
        self.command(id, op, &command).await
    }

    /// Creates a stopped session of [`ORG`] and asserts the worker accepted it.
    pub async fn create(&self) -> SessionId {
        let id = SessionId::generate();
        let now = wagw_common::time::now_ms();
        let session = Session::new(
            id,
            org(),
            self.gw.clone(),
            "test".into(),
            "user_1".into(),
            now,
        );
        let create = Command::CreateSessionV1(CreateSessionV1 { session });
        let reply = self.command(&id, CommandOp::Create, &create).await;
        assert!(reply.ok, "create: {reply:?}");
        id
    }

    /// Sends a sim control for session `id` and returns the reply.
    ///
    /// # Panics
    /// When no reply comes in time or it is not a `Reply`.
    pub async fn sim(&self, id: &SessionId, action: SimAction, body: serde_json::Value) -> Reply {
        let subject = self.subjects.sim(&self.gw, id, action);
        let payload = serde_json::to_vec(&body).expect("json");
        let message =
            tokio::time::timeout(REPLY_DEADLINE, self.nats.request(subject, payload.into()))
                .await
                .expect("reply in time")
                .expect("request");
        serde_json::from_slice(&message.payload).expect("a reply")
    }

    /// Subscribes to every status change of the gateway.
    pub async fn status_feed(&self) -> async_nats::Subscriber {
        self.nats
            .subscribe(self.subjects.status_all(&self.gw))
            .await
            .expect("subscribe")
    }
}

/// The next status change on `feed`, within a deadline.
///
/// # Panics
/// When none comes within 10 s or it is not a `StatusChange`.
pub async fn next_status(feed: &mut async_nats::Subscriber) -> StatusChange {
    let message = tokio::time::timeout(REPLY_DEADLINE, feed.next())
        .await
        .expect("a status change in time")
        .expect("feed open");
    serde_json::from_slice(&message.payload).expect("a status change")
}
