//! Sending through the edge, and reading what it queued: the jobs in a gateway's send stream,
//! straight from JetStream, and the `Idempotency-Key` records in Redis.

use crate::app::TestApp;
use crate::http::{HttpResponse, read_response};
use async_nats::jetstream;
use serde_json::Value;
use std::time::Duration;
use wagw_common::messages::{DEFAULT_SEND_STREAM_PREFIX, send_stream_name};
use wagw_common::shard::ShardRef;
use wagw_common::wire::REQUEST_ID_HEADER;
use wagw_common::{GatewayId, SessionId};

/// How long reading the send stream may take.
const STREAM_TIMEOUT: Duration = Duration::from_secs(5);

/// One job as the send stream holds it.
#[derive(Debug, Clone)]
pub struct SendJob {
    pub subject: String,
    /// The `Nats-Msg-Id` header: the message id.
    pub msg_id: Option<String>,
    /// The `x-request-id` header.
    pub request_id: Option<String>,
    /// The job, `Command::SendMessageV1` as JSON.
    pub payload: Value,
}

impl TestApp {
    /// `POST /sessions/{id}/messages` on the edge at `base_url` (this stack's or an extra
    /// one), with an `Idempotency-Key` when `key` is given.
    ///
    /// # Panics
    /// When the request cannot be sent.
    pub async fn send_message_via(
        &self,
        base_url: &str,
        token: &str,
        id: &str,
        body: &Value,
        key: Option<&str>,
    ) -> HttpResponse {
        let url = format!("{base_url}/api/v1/sessions/{id}/messages");
        let mut request = self.http.post(url).bearer_auth(token).json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        match request.send().await {
            Ok(response) => read_response(response).await,
            Err(error) => panic!("POST messages of {id} failed to send: {error}"),
        }
    }

    /// [`TestApp::send_message_via`] this stack's edge.
    pub async fn send_message(
        &self,
        token: &str,
        id: &str,
        body: &Value,
        key: Option<&str>,
    ) -> HttpResponse {
        self.send_message_via(&self.base_url, token, id, body, key)
            .await
    }

    /// The name of `gateway`'s send stream under the default prefix.
    pub fn send_stream(&self, gateway: &str) -> String {
        let gw = GatewayId::parse(gateway).expect("test gateway ids are valid");
        send_stream_name(DEFAULT_SEND_STREAM_PREFIX, &gw)
    }

    /// Every job `gateway`'s send stream holds, oldest first; none when it has no stream.
    ///
    /// # Panics
    /// When JetStream fails or does not answer in time.
    pub async fn send_jobs(&self, gateway: &str) -> Vec<SendJob> {
        let read = self.try_send_jobs(gateway);
        match tokio::time::timeout(STREAM_TIMEOUT, read).await {
            Ok(Ok(jobs)) => jobs,
            Ok(Err(error)) => panic!("reading the send stream of {gateway}: {error:#}"),
            Err(_) => panic!("reading the send stream of {gateway} timed out"),
        }
    }

    async fn try_send_jobs(&self, gateway: &str) -> anyhow::Result<Vec<SendJob>> {
        let js = jetstream::new(self.nats.clone());
        let mut stream = match js.get_stream(self.send_stream(gateway)).await {
            Ok(stream) => stream,
            Err(error) if is_not_found(&error) => return Ok(Vec::new()),
            Err(error) => return Err(error.into()),
        };
        let state = stream.info().await?.state.clone();
        let mut jobs = Vec::new();
        if state.messages == 0 {
            return Ok(jobs);
        }
        for sequence in state.first_sequence..=state.last_sequence {
            // A gap is a job a consumer already took (the stream is a work queue).
            let Ok(message) = stream.get_raw_message(sequence).await else {
                continue;
            };
            let header = |name: &str| {
                let value = message.headers.get(name);
                value.map(|value| value.as_str().to_owned())
            };
            jobs.push(SendJob {
                subject: message.subject.to_string(),
                msg_id: header("Nats-Msg-Id"),
                request_id: header(REQUEST_ID_HEADER),
                payload: serde_json::from_slice(&message.payload)?,
            });
        }
        Ok(jobs)
    }

    /// Deletes `gateway`'s send stream, as an operator might.
    ///
    /// # Panics
    /// When JetStream refuses.
    pub async fn delete_send_stream(&self, gateway: &str) {
        let js = jetstream::new(self.nats.clone());
        let deleted =
            tokio::time::timeout(STREAM_TIMEOUT, js.delete_stream(self.send_stream(gateway)));
        match deleted.await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => panic!("deleting the send stream of {gateway}: {error}"),
            Err(_) => panic!("deleting the send stream of {gateway} timed out"),
        }
    }

    /// The jobs of `gateway`'s send stream whose `Nats-Msg-Id` is `message_id`.
    pub async fn send_jobs_of(&self, gateway: &str, message_id: &str) -> Vec<SendJob> {
        let jobs = self.send_jobs(gateway).await;
        let mine = |job: &SendJob| job.msg_id.as_deref() == Some(message_id);
        jobs.into_iter().filter(mine).collect()
    }

    /// The Redis key of the `Idempotency-Key` record `key` of session `id` on `gateway`.
    pub fn idempotency_key(&self, gateway: &str, id: &str, key_sha256_hex: &str) -> String {
        let gw = GatewayId::parse(gateway).expect("test gateway ids are valid");
        let session = SessionId::parse(id).unwrap_or_else(|_| panic!("{id:?} is no session id"));
        let shard = ShardRef::of_session(&gw, &session, self.options.shards);
        self.keys.idempotency(&shard, &session, key_sha256_hex)
    }
}

fn is_not_found(error: &jetstream::context::GetStreamError) -> bool {
    matches!(
        error.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(inner)
            if inner.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}
