//! Reading `GET /api/v1/sessions:watch` as a client would: the Server-Sent Events of a
//! response body, parsed into `status` changes.

use crate::app::TestApp;
use reqwest::StatusCode;
use std::time::Duration;
use wagw_common::SessionStatus;
use wagw_common::events::StatusChange;

/// One server-sent event: its `event:` type and its `data:` lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: String,
    pub data: String,
}

/// An open watch stream and what it has received but not handed out yet.
#[derive(Debug)]
pub struct WatchStream {
    response: reqwest::Response,
    buffer: String,
    /// Every `status` change read so far, in order.
    pub seen: Vec<StatusChange>,
}

impl TestApp {
    /// Opens the watch stream with `token` and asserts `200 text/event-stream`. Once this
    /// returns, the stream is live: later status changes arrive on it.
    ///
    /// # Panics
    /// When the request fails or the answer is not a stream.
    pub async fn watch(&self, token: &str) -> WatchStream {
        // No total timeout: the stream lives longer than one ordinary request.
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .no_proxy()
            .build()
            .expect("an HTTP client");
        let response = tokio::time::timeout(
            Duration::from_secs(10),
            client
                .get(self.url("/api/v1/sessions:watch"))
                .bearer_auth(token)
                .send(),
        )
        .await
        .expect("the watch stream opens within 10 s")
        .expect("the watch request is sent");
        assert_eq!(response.status(), StatusCode::OK, "GET sessions:watch");
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            content_type.starts_with("text/event-stream"),
            "content type {content_type:?}"
        );
        WatchStream {
            response,
            buffer: String::new(),
            seen: Vec::new(),
        }
    }
}

impl WatchStream {
    /// The next event, `None` when the stream ended; comments (keep-alives) are skipped.
    ///
    /// # Panics
    /// When nothing arrives before `deadline`, or the body cannot be read.
    pub async fn next_event(&mut self, deadline: Duration) -> Option<SseEvent> {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse_block(&block) {
                    return Some(event);
                }
            }
            let chunk = tokio::time::timeout_at(until, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no event on the watch stream within {deadline:?}"))
                .expect("the watch stream's body is readable")?;
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }

    /// Reads until a comment line (`: …`, a keep-alive) has arrived; returns it.
    ///
    /// # Panics
    /// When none arrives before `deadline` or the stream ends first.
    pub async fn wait_for_comment(&mut self, deadline: Duration) -> String {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            if let Some(comment) = self.buffer.lines().find(|line| line.starts_with(':')) {
                return comment.to_owned();
            }
            let chunk = tokio::time::timeout_at(until, self.response.chunk())
                .await
                .unwrap_or_else(|_| panic!("no comment on the watch stream within {deadline:?}"))
                .expect("the watch stream's body is readable")
                .unwrap_or_else(|| panic!("the watch stream ended before a comment"));
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
    }

    /// Reads `status` events until one of `session_id` has `status`; returns it.
    ///
    /// # Panics
    /// When none arrives before `deadline` or the stream ends first.
    pub async fn wait_for_status(
        &mut self,
        session_id: &str,
        status: SessionStatus,
        deadline: Duration,
    ) -> StatusChange {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            let Some(event) = self.next_event(left).await else {
                panic!("the watch stream ended before {session_id} was {status:?}");
            };
            if event.event != "status" {
                continue;
            }
            let change: StatusChange = serde_json::from_str(&event.data).unwrap_or_else(|e| {
                panic!("status data is not a StatusChange ({e}): {}", event.data)
            });
            self.seen.push(change.clone());
            if change.session_id.to_string() == session_id && change.status == status {
                return change;
            }
        }
    }
}

/// An event from one block of lines, or `None` for a block of comments only.
fn parse_block(block: &str) -> Option<SseEvent> {
    let mut event = String::from("message");
    let mut data = Vec::new();
    let mut any = false;
    for line in block
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(':'))
    {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = value.to_owned(),
            "data" => data.push(value.to_owned()),
            _ => {}
        }
        any = true;
    }
    any.then(|| SseEvent {
        event,
        data: data.join("\n"),
    })
}
