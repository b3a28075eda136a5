//! `WebhookReceiver`: a test HTTP endpoint (axum on a free port) that records every delivery
//! it gets, checks signatures independently of the worker's code, and can be told to answer
//! with a status (a number of times or always), to answer too slowly, or to go away and come
//! back on the same port.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How the receiver answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// `200`.
    Accept,
    /// This status to every request.
    Status(u16),
    /// `status` to the next `times` requests, then `200`.
    FailTimes { status: u16, times: u32 },
    /// `200`, after this long (past the worker's timeout, the attempt fails).
    Slow(Duration),
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The status it was answered with; `599` for a slow answer (the sender gave up).
    pub answered: u16,
}

impl Received {
    /// The body as JSON.
    ///
    /// # Panics
    /// When it is not JSON.
    pub fn event(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a delivery's body is JSON")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether `x-wagw-signature` is `t=<ms>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
    pub fn signature_verifies(&self, secret: &str) -> bool {
        let Some(header) = self.header("x-wagw-signature") else {
            return false;
        };
        let mut parts = header.split(',');
        let (Some(t), Some(v1), None) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        let (Some(t), Some(v1)) = (t.strip_prefix("t="), v1.strip_prefix("v1=")) else {
            return false;
        };
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            return false;
        };
        mac.update(t.as_bytes());
        mac.update(b".");
        mac.update(&self.body);
        hex::encode(mac.finalize().into_bytes()) == v1
    }
}

#[derive(Debug)]
struct Shared {
    behaviour: Mutex<Behaviour>,
    received: Mutex<Vec<Received>>,
}

/// The running server of a receiver.
#[derive(Debug)]
struct Serving {
    token: CancellationToken,
    handle: JoinHandle<()>,
}

/// A recording webhook endpoint; stops with the test.
#[derive(Debug)]
pub struct WebhookReceiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    serving: Option<Serving>,
}

impl WebhookReceiver {
    /// Starts on a free port, accepting everything.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr = listener.local_addr().expect("bound address");
        let shared = Arc::new(Shared {
            behaviour: Mutex::new(Behaviour::Accept),
            received: Mutex::new(Vec::new()),
        });
        let serving = Some(serve(listener, shared.clone()));
        Self {
            addr,
            shared,
            serving,
        }
    }

    /// `http://127.0.0.1:<port>/hook`.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.shared.behaviour.lock().expect("not poisoned") = behaviour;
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().expect("not poisoned").clone()
    }

    /// Closes the port: connections are refused until [`Self::restart`].
    pub async fn stop(&mut self) {
        if let Some(serving) = self.serving.take() {
            serving.token.cancel();
            let mut handle = serving.handle;
            if tokio::time::timeout(Duration::from_secs(2), &mut handle)
                .await
                .is_err()
            {
                handle.abort();
            }
        }
    }

    /// Serves again on the same port.
    ///
    /// # Panics
    /// When the port cannot be bound again within a few seconds.
    pub async fn restart(&mut self) {
        self.stop().await;
        let until = tokio::time::Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(err) if tokio::time::Instant::now() < until => {
                    tracing::debug!(error = %err, "rebinding the receiver's port");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(err) => panic!("cannot rebind {}: {err}", self.addr),
            }
        };
        self.serving = Some(serve(listener, self.shared.clone()));
    }

    /// Polls until `done` holds for the requests received, and returns them.
    ///
    /// # Panics
    /// When it does not hold within `deadline`.
    pub async fn wait_for(
        &self,
        deadline: Duration,
        what: &str,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                tokio::time::Instant::now() < until,
                "{what}: not within {deadline:?}; received {:?}",
                summary(&received)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until a request with a body of each of `types` (in any order) arrived, answered
    /// 2xx, and returns all requests.
    pub async fn wait_for_delivered(&self, deadline: Duration, types: &[&str]) -> Vec<Received> {
        self.wait_for(deadline, &format!("delivered {types:?}"), |received| {
            types.iter().all(|wanted| {
                received
                    .iter()
                    .any(|r| r.answered < 300 && r.event()["type"] == *wanted)
            })
        })
        .await
    }
}

/// `(type, event id, answered)` of each request, for failure messages.
pub fn summary(received: &[Received]) -> Vec<(String, String, u16)> {
    received
        .iter()
        .map(|r| {
            let event = serde_json::from_slice::<Value>(&r.body).unwrap_or_default();
            let text = |v: &Value| v.as_str().unwrap_or("?").to_owned();
            (text(&event["type"]), text(&event["id"]), r.answered)
        })
        .collect()
}

fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) -> Serving {
    let token = CancellationToken::new();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(shared);
    let shutdown = token.clone().cancelled_owned();
    let handle = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(error = %err, "the webhook receiver stopped");
        }
    });
    Serving { token, handle }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let answer = {
        let mut behaviour = shared.behaviour.lock().expect("not poisoned");
        match &mut *behaviour {
            Behaviour::Accept => Ok(200),
            Behaviour::Status(status) => Ok(*status),
            Behaviour::FailTimes { status, times } => {
                let status = *status;
                *times = times.saturating_sub(1);
                if *times == 0 {
                    *behaviour = Behaviour::Accept;
                }
                Ok(status)
            }
            Behaviour::Slow(delay) => Err(*delay),
        }
    };
    let status = answer.unwrap_or(200);
    shared
        .received
        .lock()
        .expect("not poisoned")
        .push(Received {
            headers,
            body,
            answered: if answer.is_err() { 599 } else { status },
        });
    if let Err(delay) = answer {
        tokio::time::sleep(delay).await;
    }
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
