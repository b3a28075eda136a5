//! A JWKS endpoint the test controls: its key set can be swapped at runtime (kid rotation) and it
//! counts how often the edge fetches it (the rate-limited refetch on an unknown `kid`).

use crate::tokens::TestKey;
use anyhow::Context;
use axum::Json;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Default)]
struct Shared {
    keys: Mutex<Vec<Value>>,
    fetches: AtomicUsize,
}

/// `GET /jwks.json` on `127.0.0.1:<port>`; stops when dropped.
#[derive(Debug)]
pub struct JwksServer {
    url: String,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl JwksServer {
    /// Serves the public JWKs of `keys`.
    ///
    /// # Errors
    /// When no local port can be bound.
    pub async fn start(keys: &[TestKey]) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the JWKS listener")?;
        let addr = listener.local_addr().context("reading the JWKS address")?;
        let router = axum::Router::new()
            .route("/jwks.json", get(serve_jwks))
            .with_state(shared.clone());
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone().cancelled_owned();
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router)
                .with_graceful_shutdown(stop)
                .await
            {
                tracing::warn!(error = %error, "JWKS test server stopped with an error");
            }
        });
        let server = Self {
            url: format!("http://{addr}/jwks.json"),
            shared,
            shutdown,
            task,
        };
        server.set_keys(keys);
        Ok(server)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Replaces the served key set, e.g. to rotate a new `kid` in.
    pub fn set_keys(&self, keys: &[TestKey]) {
        let jwks = keys.iter().map(|key| key.public_jwk()).collect();
        *self.lock_keys() = jwks;
    }

    /// How many times `/jwks.json` has been fetched so far.
    pub fn fetches(&self) -> usize {
        self.shared.fetches.load(Ordering::SeqCst)
    }

    fn lock_keys(&self) -> std::sync::MutexGuard<'_, Vec<Value>> {
        // A poisoned lock only means a test panicked mid-swap; the data is still a valid Vec.
        self.shared
            .keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.task.abort();
    }
}

async fn serve_jwks(State(shared): State<Arc<Shared>>) -> Json<Value> {
    shared.fetches.fetch_add(1, Ordering::SeqCst);
    let keys = shared
        .keys
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    Json(json!({ "keys": keys }))
}
