//! [`FleetApp`]: the edge in-process (a [`TestApp`] with no in-process workers) in front of
//! real `wagw-worker` processes of one gateway, plus the faults fleet tests inject: SIGKILL,
//! SIGTERM, more workers, NATS and Redis restarts on their own ports, and a cuttable TCP proxy
//! between a chosen worker and Redis. Every sim journal record of the run is recorded for the
//! "never two owners" check ([`FleetApp::finish`]). Session helpers are in `fleet_sessions.rs`,
//! the shard map and server restarts in `fleet_view.rs`.

use crate::proxy::TcpProxy;
use crate::simlog::SimlogRecorder;
use crate::worker_procs::{WorkerProcess, logs_dir};
use crate::{ORG_A, TestApp, TestOptions};
use anyhow::Context;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;
use wagw_common::GatewayId;

/// Which shards each live worker holds, as `GET /gateways` shows it.
pub type ShardMap = BTreeMap<String, BTreeSet<u64>>;

/// What a fleet test chooses; the default is the brief's fast fleet of three.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Worker processes started up front.
    pub workers: usize,
    pub shards: u32,
    pub lease_ms: u64,
    pub heartbeat_ms: u64,
    pub sim_connect_ms: u64,
    /// The edge's command deadline (it retries "no responders" inside it).
    pub command_timeout_ms: u64,
    /// Redis with an AOF, so a restart keeps the data.
    pub redis_aof: bool,
    /// `WAGW_RECONNECT_CONCURRENCY` / `WAGW_RECONNECT_JITTER_MS`, passed when set (workers
    /// that do not know them ignore them).
    pub reconnect_concurrency: Option<u32>,
    pub reconnect_jitter_ms: Option<u64>,
    /// `RUST_LOG` of the workers.
    pub worker_log: String,
    /// More worker environment, applied last (so it overrides the above), e.g. the real
    /// driver's `WAGW_DRIVER=whatsapp` and `WAGW_STATE_KEY`.
    pub extra_env: Vec<(String, String)>,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self {
            workers: 3,
            shards: 16,
            lease_ms: 2000,
            heartbeat_ms: 300,
            sim_connect_ms: 50,
            command_timeout_ms: 5000,
            redis_aof: false,
            reconnect_concurrency: None,
            reconnect_jitter_ms: None,
            worker_log: "info".into(),
            extra_env: Vec::new(),
        }
    }
}

/// The edge, the worker processes and the recorder of one fleet test.
#[derive(Debug)]
pub struct FleetApp {
    pub app: TestApp,
    pub gateway: String,
    /// An API key of [`ORG_A`] with every capability.
    pub token: String,
    pub simlog: SimlogRecorder,
    /// Every worker started, running or not, in start order.
    pub workers: Vec<WorkerProcess>,
    pub options: FleetOptions,
    proxies: BTreeMap<String, TcpProxy>,
}

/// How long a fleet may take to settle after a start or a change.
pub const FLEET_DEADLINE: Duration = Duration::from_secs(20);

impl FleetApp {
    /// Starts NATS, Redis, the edge and `options.workers` worker processes, and waits until
    /// they hold every shard between them.
    ///
    /// # Panics
    /// When any part fails to come up in time.
    pub async fn spawn(options: FleetOptions) -> FleetApp {
        match Self::try_spawn(options).await {
            Ok(fleet) => fleet,
            Err(error) => panic!("fleet did not come up: {error:#}"),
        }
    }

    /// Like [`FleetApp::spawn`], returning the error (for the benchmark).
    ///
    /// # Errors
    /// When any part fails to come up in time.
    pub async fn try_spawn(options: FleetOptions) -> anyhow::Result<FleetApp> {
        let gateway = "gw-a".to_owned();
        let app = TestApp::spawn(TestOptions {
            gateways: vec![gateway.clone()],
            workers: 0,
            shards: options.shards,
            jwks: false,
            issuer: None,
            audience: None,
            command_timeout_ms: options.command_timeout_ms,
            lease_ms: options.lease_ms,
            heartbeat_ms: options.heartbeat_ms,
            redis_aof: options.redis_aof,
            ..TestOptions::default()
        })
        .await;
        let token = app.api_key(ORG_A, &crate::http::EVERY_KEY_CAPABILITY).await;
        let gw = GatewayId::parse(&gateway).context("the test gateway id")?;
        let simlog = SimlogRecorder::start(&app.nats, app.subjects.sim_journal_all(&gw)).await?;
        let mut fleet = FleetApp {
            app,
            gateway,
            token,
            simlog,
            workers: Vec::new(),
            options,
            proxies: BTreeMap::new(),
        };
        for _ in 0..fleet.options.workers {
            fleet.try_start_worker(None)?;
        }
        if fleet.options.workers > 0 {
            fleet.wait_for_fleet(FLEET_DEADLINE).await?;
        }
        Ok(fleet)
    }

    /// Starts one more worker process (Redis direct) and returns its id; does not wait.
    ///
    /// # Panics
    /// When it cannot be spawned.
    pub fn start_worker(&mut self) -> String {
        self.try_start_worker(None)
            .unwrap_or_else(|error| panic!("worker did not start: {error:#}"))
    }

    /// Starts one more worker whose Redis connections go through a [`TcpProxy`] the test can
    /// cut ([`FleetApp::proxy`]); returns its id.
    ///
    /// # Panics
    /// When the proxy or the worker cannot start.
    pub async fn start_worker_behind_proxy(&mut self) -> String {
        let upstream = SocketAddr::from(([127, 0, 0, 1], self.app.redis_server.port()));
        let proxy = match TcpProxy::start(upstream).await {
            Ok(proxy) => proxy,
            Err(error) => panic!("proxy did not start: {error:#}"),
        };
        let id = self
            .try_start_worker(Some(proxy.redis_url()))
            .unwrap_or_else(|error| panic!("worker did not start: {error:#}"));
        self.proxies.insert(id.clone(), proxy);
        id
    }

    fn try_start_worker(&mut self, redis_url: Option<String>) -> anyhow::Result<String> {
        let id = format!("w{}", self.workers.len() + 1);
        let redis_url = redis_url.unwrap_or_else(|| self.app.redis_server.url());
        let env = self.worker_env(&id, &redis_url);
        let root = self.app.subjects.root().to_owned();
        let log = logs_dir()?.join(format!("{root}-{id}.log"));
        self.workers.push(WorkerProcess::spawn(&id, &env, log)?);
        Ok(id)
    }

    fn worker_env(&self, id: &str, redis_url: &str) -> Vec<(String, String)> {
        let o = &self.options;
        let root = self.app.subjects.root();
        let mut env = vec![
            ("WAGW_NATS_URL", self.app.nats_server.url()),
            ("WAGW_REDIS_URL", redis_url.to_owned()),
            ("WAGW_GATEWAY_ID", self.gateway.clone()),
            ("WAGW_WORKER_ID", id.to_owned()),
            ("WAGW_DRIVER", "sim".into()),
            ("WAGW_SHARDS", o.shards.to_string()),
            ("WAGW_LEASE_MS", o.lease_ms.to_string()),
            ("WAGW_HEARTBEAT_MS", o.heartbeat_ms.to_string()),
            ("WAGW_SIM_CONNECT_MS", o.sim_connect_ms.to_string()),
            ("WAGW_SIM_AUTO_PAIR_MS", "0".into()),
            ("WAGW_RECONNECT_MIN_MS", "50".into()),
            ("WAGW_RECONNECT_MAX_MS", "500".into()),
            ("WAGW_SUBJECT_ROOT", root.to_owned()),
            ("WAGW_KEY_PREFIX", root.to_owned()),
            ("WAGW_LOG_FORMAT", "json".into()),
            // A free port each; the member info says which.
            ("WAGW_METRICS_ADDR", "127.0.0.1:0".into()),
            ("RUST_LOG", o.worker_log.clone()),
        ];
        if let Some(n) = o.reconnect_concurrency {
            env.push(("WAGW_RECONNECT_CONCURRENCY", n.to_string()));
        }
        if let Some(ms) = o.reconnect_jitter_ms {
            env.push(("WAGW_RECONNECT_JITTER_MS", ms.to_string()));
        }
        let env = env.into_iter().map(|(k, v)| (k.to_owned(), v));
        env.chain(o.extra_env.iter().cloned()).collect()
    }

    /// The proxy in front of worker `id`'s Redis.
    ///
    /// # Panics
    /// When `id` was not started behind a proxy.
    pub fn proxy(&self, id: &str) -> &TcpProxy {
        self.proxies
            .get(id)
            .unwrap_or_else(|| panic!("worker {id} has no proxy"))
    }

    fn worker(&mut self, id: &str) -> &mut WorkerProcess {
        self.workers
            .iter_mut()
            .find(|w| w.id == id)
            .unwrap_or_else(|| panic!("no worker {id}"))
    }

    /// Ids of the workers still running, in start order.
    pub fn live_ids(&mut self) -> Vec<String> {
        (self.workers.iter_mut())
            .filter_map(|w| w.is_running().then(|| w.id.clone()))
            .collect()
    }

    /// SIGKILLs worker `id`; returns the time of death (ms), also noted for the checker.
    pub fn sigkill(&mut self, id: &str) -> i64 {
        let at = self.worker(id).sigkill();
        self.simlog.process_died(id, at);
        at
    }

    /// SIGTERMs worker `id`; returns when the signal was sent (ms).
    ///
    /// # Panics
    /// When the signal cannot be sent.
    pub fn sigterm(&mut self, id: &str) -> i64 {
        self.worker(id)
            .sigterm()
            .unwrap_or_else(|error| panic!("{error:#}"))
    }

    /// Waits until worker `id` has exited; returns when it was seen gone (ms).
    ///
    /// # Errors
    /// When it is still running after `deadline`.
    pub async fn wait_exit(&mut self, id: &str, deadline: Duration) -> anyhow::Result<i64> {
        let worker = self.worker(id);
        worker.wait_exit(deadline).await?;
        let at = worker
            .exited_at()
            .context("an exited worker has an exit time")?;
        self.simlog.process_died(id, at);
        Ok(at)
    }

    /// Asserts "never two owners" over everything recorded, then kills every worker and stops
    /// the edge.
    ///
    /// # Panics
    /// When two workers drove one session at once, or the edge does not stop cleanly.
    pub async fn finish(self) {
        self.simlog.assert_never_two_owners();
        self.stop().await;
    }

    /// Kills every worker and stops the edge, checking nothing (fleets of the real driver
    /// keep no sim journal).
    ///
    /// # Panics
    /// When the edge does not stop cleanly.
    pub async fn stop(mut self) {
        for worker in &mut self.workers {
            worker.sigkill();
        }
        self.proxies.clear();
        self.app.shutdown().await;
    }
}
