//! `TestApp`: one whole stack per test (nats-server, redis-server, a JWKS, the edge and sim
//! workers in-process), isolated by its own servers and a unique subject root / key prefix.

use crate::jwks::JwksServer;
use crate::options::TestOptions;
use crate::procs::{NatsServer, RedisServer};
use crate::tokens::TestKey;
use anyhow::Context;
use clap::Parser;
use redis::aio::ConnectionManager;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wagw_common::keys::Keys;
use wagw_common::subjects::Subjects;

/// How long a stack may take to come up (edge ready, every shard held).
const READY_DEADLINE: Duration = Duration::from_secs(20);
/// How long a stopped worker or edge may take to return from `run`.
const STOP_DEADLINE: Duration = Duration::from_secs(10);

/// An in-process `run(...)` and the token that stops it.
#[derive(Debug)]
pub(crate) struct Running {
    pub(crate) token: CancellationToken,
    pub(crate) handle: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Cancels and waits for `run` to return.
    pub(crate) async fn stop(self, what: &str) -> anyhow::Result<()> {
        self.token.cancel();
        let joined = tokio::time::timeout(STOP_DEADLINE, self.handle)
            .await
            .with_context(|| format!("{what} did not stop within {STOP_DEADLINE:?}"))?;
        joined
            .with_context(|| format!("{what} panicked"))?
            .with_context(|| format!("{what} returned an error"))
    }
}

/// One sim worker of the test's fleet.
#[derive(Debug)]
pub struct TestWorker {
    pub id: String,
    pub gateway: String,
    pub(crate) running: Running,
}

/// The running stack and its helpers (HTTP in `http.rs`, NATS in `bus.rs`).
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>` of the edge.
    pub base_url: String,
    /// A client with a 10 s timeout and no proxy.
    pub http: reqwest::Client,
    /// A NATS client of the test itself (sim controls, status subscriptions, fake workers).
    pub nats: async_nats::Client,
    /// A Redis connection of the test itself (API keys, inspecting keys).
    pub redis: ConnectionManager,
    pub keys: Keys,
    pub subjects: Subjects,
    pub options: TestOptions,
    /// A key with every capability of organization `org_fleet`, for fleet views.
    pub admin_key: String,
    pub jwks: Option<JwksServer>,
    pub workers: Vec<TestWorker>,
    edge: Option<Running>,
    /// The subject root and key prefix of this stack.
    pub(crate) root: String,
    pub redis_server: RedisServer,
    pub nats_server: NatsServer,
}

impl TestApp {
    /// Starts a stack with `options` and waits until it serves.
    ///
    /// # Panics
    /// When any part fails to come up in time; the message says which.
    pub async fn spawn(options: TestOptions) -> TestApp {
        crate::init_tracing();
        match Self::try_spawn(options).await {
            Ok(app) => app,
            Err(error) => panic!("test stack did not come up: {error:#}"),
        }
    }

    async fn try_spawn(options: TestOptions) -> anyhow::Result<TestApp> {
        let aof = options.redis_aof;
        let (nats_server, redis_server) = tokio::task::spawn_blocking(move || {
            let redis = match aof {
                true => RedisServer::start_persistent()?,
                false => RedisServer::start()?,
            };
            anyhow::Ok((NatsServer::start()?, redis))
        })
        .await??;
        let jwks = match options.jwks {
            true => Some(JwksServer::start(&TestKey::SERVED).await?),
            false => None,
        };
        let root = format!("t{}", ulid::Ulid::generate());
        let keys = Keys::new(&root)?;
        let subjects = Subjects::new(&root)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let args = options.edge_args(
            &nats_server.url(),
            &redis_server.url(),
            jwks.as_ref().map(JwksServer::url),
            &root,
        );
        let config = wagw_api::Config::try_parse_from(args).context("edge config")?;
        let token = CancellationToken::new();
        let handle = tokio::spawn(wagw_api::run(config, listener, token.clone()));
        let edge = Some(Running { token, handle });
        let nats = async_nats::connect(nats_server.url()).await?;
        let redis = redis::Client::open(redis_server.url())?
            .get_connection_manager()
            .await?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()?;
        let mut app = TestApp {
            base_url,
            http,
            nats,
            redis,
            keys,
            subjects,
            options,
            admin_key: String::new(),
            jwks,
            workers: Vec::new(),
            edge,
            root,
            redis_server,
            nats_server,
        };
        app.admin_key = app
            .api_key("org_fleet", &crate::http::EVERY_KEY_CAPABILITY)
            .await;
        for gateway in app.options.gateways.clone() {
            for _ in 0..app.options.workers {
                app.start_worker(&gateway).await;
            }
        }
        app.wait_until_ready().await?;
        Ok(app)
    }

    /// Starts one more sim worker for `gateway` and returns its id. It does not wait for the
    /// worker to take shards; see [`TestApp::wait_for_fleet`].
    pub async fn start_worker(&mut self, gateway: &str) -> String {
        let id = format!("w{}-{gateway}", self.workers.len() + 1);
        let args = self.options.worker_args(
            &self.nats_server.url(),
            &self.redis_server.url(),
            gateway,
            &id,
            &self.root,
        );
        let config = match wagw_worker::Config::try_parse_from(args) {
            Ok(config) => config,
            Err(error) => panic!("worker config refused: {error}"),
        };
        let token = CancellationToken::new();
        let handle = tokio::spawn(wagw_worker::run(config, token.clone()));
        self.workers.push(TestWorker {
            id: id.clone(),
            gateway: gateway.into(),
            running: Running { token, handle },
        });
        id
    }

    /// Stops a worker cleanly (cancels its token) and waits for its `run` to return `Ok`.
    ///
    /// # Panics
    /// When no such worker runs, or it fails to stop cleanly in time.
    pub async fn stop_worker(&mut self, worker_id: &str) {
        let index = self
            .workers
            .iter()
            .position(|worker| worker.id == worker_id)
            .unwrap_or_else(|| panic!("no running worker {worker_id}"));
        let worker = self.workers.remove(index);
        if let Err(error) = worker.running.stop(&format!("worker {worker_id}")).await {
            panic!("{error:#}");
        }
    }

    /// Kills the Redis server, e.g. to see readiness fail.
    pub fn kill_redis(&mut self) {
        self.redis_server.kill();
    }

    /// Stops the edge and every worker and asserts each `run` returned `Ok` in time.
    ///
    /// # Panics
    /// When one of them fails to stop cleanly.
    pub async fn shutdown(mut self) {
        let mut failures = Vec::new();
        for worker in std::mem::take(&mut self.workers) {
            if let Err(error) = worker.running.stop(&format!("worker {}", worker.id)).await {
                failures.push(format!("{error:#}"));
            }
        }
        if let Some(edge) = self.edge.take()
            && let Err(error) = edge.stop("edge").await
        {
            failures.push(format!("{error:#}"));
        }
        assert!(failures.is_empty(), "unclean shutdown: {failures:?}");
    }

    async fn wait_until_ready(&self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + READY_DEADLINE;
        loop {
            let ready = self.http.get(self.url("/readyz")).send().await;
            if matches!(&ready, Ok(response) if response.status() == 200) {
                break;
            }
            if let Some(edge) = &self.edge
                && edge.handle.is_finished()
            {
                anyhow::bail!("the edge's run() returned during start-up");
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "/readyz not 200 within {READY_DEADLINE:?}: {ready:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let gateways: Vec<String> = self.workers.iter().map(|w| w.gateway.clone()).collect();
        for gateway in gateways {
            self.wait_for_fleet(&gateway, READY_DEADLINE).await?;
        }
        Ok(())
    }

    /// Polls `GET /api/v1/gateways` until `gateway` shows its running workers holding every shard.
    ///
    /// # Errors
    /// When that does not happen before `deadline`, or a worker's `run` returned.
    pub async fn wait_for_fleet(&self, gateway: &str, deadline: Duration) -> anyhow::Result<()> {
        let expected: Vec<&str> = (self.workers.iter())
            .filter(|worker| worker.gateway == gateway)
            .map(|worker| worker.id.as_str())
            .collect();
        let until = tokio::time::Instant::now() + deadline;
        loop {
            if let Some(dead) = self.workers.iter().find(|w| w.running.handle.is_finished()) {
                anyhow::bail!("worker {}'s run() returned during start-up", dead.id);
            }
            let (status, body, _) = self.get("/api/v1/gateways", &self.admin_key).await;
            if status == 200 && crate::fleet::serves(&body, gateway, &expected, self.options.shards)
            {
                return Ok(());
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < until,
                "gateway {gateway} not served by {expected:?} within {deadline:?}: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The absolute URL of `path` on the edge.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Tasks die with the test's runtime; cancelling first lets them see a clean stop.
        for worker in &self.workers {
            worker.running.token.cancel();
        }
        if let Some(edge) = &self.edge {
            edge.token.cancel();
        }
    }
}
