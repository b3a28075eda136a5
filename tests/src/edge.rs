//! More edges on a stack's NATS and Redis: edges are stateless, so a test (or a benchmark) may
//! run several side by side, e.g. to see that send limits hold across them, or one with other
//! settings (`--send-rate-limits off`).

use crate::app::{Running, TestApp};
use crate::options::TestOptions;
use anyhow::Context;
use clap::Parser;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long an extra edge may take to answer `/readyz`.
const READY_DEADLINE: Duration = Duration::from_secs(20);

/// An extra edge, in-process; cancelled on drop.
#[derive(Debug)]
pub struct TestEdge {
    /// `http://127.0.0.1:<port>` of this edge.
    pub base_url: String,
    running: Option<Running>,
}

impl TestEdge {
    /// The absolute URL of `path` on this edge.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Stops the edge and waits for its `run` to return `Ok`.
    ///
    /// # Panics
    /// When it does not stop cleanly in time.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take()
            && let Err(error) = running.stop("extra edge").await
        {
            panic!("{error:#}");
        }
    }
}

impl Drop for TestEdge {
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            running.token.cancel();
        }
    }
}

impl TestApp {
    /// Starts another edge on this stack's NATS, Redis, JWKS, subject root and key prefix, with
    /// the edge settings of `options` (gateways, timeouts, send rate limits), and waits until it
    /// is ready.
    ///
    /// # Panics
    /// When it does not come up in time.
    pub async fn start_edge(&self, options: &TestOptions) -> TestEdge {
        self.start_edge_at(options, "127.0.0.1:0").await
    }

    /// Like [`TestApp::start_edge`], listening on `addr`: e.g. the address of an edge just
    /// stopped, to see clients reconnect to its successor.
    ///
    /// # Panics
    /// When it cannot bind `addr` or does not come up in time.
    pub async fn start_edge_at(&self, options: &TestOptions, addr: &str) -> TestEdge {
        match self.try_start_edge(options, addr).await {
            Ok(edge) => edge,
            Err(error) => panic!("extra edge did not come up on {addr}: {error:#}"),
        }
    }

    async fn try_start_edge(&self, options: &TestOptions, addr: &str) -> anyhow::Result<TestEdge> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let args = options.edge_args(
            &self.nats_server.url(),
            &self.redis_server.url(),
            self.jwks.as_ref().map(crate::jwks::JwksServer::url),
            &self.root,
        );
        let config = wagw_api::Config::try_parse_from(args).context("edge config")?;
        let token = CancellationToken::new();
        let handle = tokio::spawn(wagw_api::run(config, listener, token.clone()));
        let edge = TestEdge {
            base_url,
            running: Some(Running { token, handle }),
        };
        let deadline = tokio::time::Instant::now() + READY_DEADLINE;
        loop {
            let ready = self.http.get(edge.url("/readyz")).send().await;
            if matches!(&ready, Ok(response) if response.status() == 200) {
                return Ok(edge);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "/readyz of the extra edge not 200 within {READY_DEADLINE:?}: {ready:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
