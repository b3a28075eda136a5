//! [`WorkerStack`]: sim workers run in-process through `wagw_worker::run` against their own
//! nats-server and redis-server ([`crate::procs`]), with no edge in front; what they wrote is
//! read straight from Redis. The NATS command and sim-control client is in `worker_bus.rs`.

use crate::procs::{NatsServer, RedisServer};
use clap::Parser;
use redis::aio::MultiplexedConnection;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wagw_common::keys::Keys;
use wagw_common::shard::ShardRef;
use wagw_common::subjects::Subjects;
use wagw_common::{GatewayId, Session, SessionId};

/// `--shards` of every worker of the stack.
pub const SHARDS: u32 = 16;
/// The one gateway the stack's workers serve.
pub const GW: &str = "gw-t";
/// The organization every session of the stack belongs to.
pub const ORG: &str = "org_1";
/// How long a stopped worker may take to return from `run`.
const STOP_DEADLINE: Duration = Duration::from_secs(15);
/// How long a wait on the row or the shards may take by default.
const WAIT_DEADLINE: Duration = Duration::from_secs(10);

/// A worker's `run(...)` on the test's runtime and the token that stops it.
#[derive(Debug)]
pub struct RunningWorker {
    pub id: String,
    token: CancellationToken,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl RunningWorker {
    /// Wraps a worker future already spawned with `token` as its shutdown.
    pub fn new(id: &str, token: CancellationToken, handle: JoinHandle<anyhow::Result<()>>) -> Self {
        Self {
            id: id.to_owned(),
            token,
            handle,
        }
    }

    /// Stops the worker and asserts its `run` returned `Ok` in time.
    ///
    /// # Panics
    /// When it does not stop within 15 s, panicked, or returned an error.
    pub async fn stop(self) {
        self.token.cancel();
        let result = tokio::time::timeout(STOP_DEADLINE, self.handle)
            .await
            .expect("worker stops in time")
            .expect("worker task joins");
        if let Err(error) = result {
            panic!("worker {} run returned an error: {error:#}", self.id);
        }
    }
}

/// NATS and Redis of one test, a client of each, and the names the workers use.
#[derive(Debug)]
pub struct WorkerStack {
    pub nats_server: NatsServer,
    pub redis_server: RedisServer,
    pub nats: async_nats::Client,
    /// Opened again after each Redis restart.
    pub redis: MultiplexedConnection,
    pub subjects: Subjects,
    pub keys: Keys,
    pub gw: GatewayId,
    /// Subject root and key prefix, unique to the stack.
    root: String,
}

impl WorkerStack {
    /// Starts nats-server and a Redis without persistence, and connects to both.
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// Like [`WorkerStack::start`] but Redis runs with AOF on (fsync on every write), as
    /// production runs it, so its data survives [`WorkerStack::restart_redis`].
    pub async fn start_with_aof() -> Self {
        Self::start_with(true).await
    }

    async fn start_with(aof: bool) -> Self {
        crate::init_tracing();
        let servers = tokio::task::spawn_blocking(move || {
            let redis = match aof {
                true => RedisServer::start_persistent()?,
                false => RedisServer::start()?,
            };
            anyhow::Ok((NatsServer::start()?, redis))
        })
        .await
        .expect("server start-up joins");
        let (nats_server, redis_server) =
            servers.unwrap_or_else(|error| panic!("servers did not start: {error:#}"));
        let nats = async_nats::connect(nats_server.url())
            .await
            .expect("nats connects");
        let redis = connect_redis(&redis_server).await;
        let root = format!("t{}", ulid::Ulid::generate());
        Self {
            nats_server,
            redis_server,
            nats,
            redis,
            subjects: Subjects::new(&root).expect("a valid subject root"),
            keys: Keys::new(&root).expect("a valid key prefix"),
            gw: GatewayId::parse(GW).expect("a valid gateway id"),
            root,
        }
    }

    /// Kills Redis and starts it again on the same port after `down`: a fresh empty one, or
    /// with its data reloaded from the AOF for a stack started with AOF.
    pub async fn restart_redis(&mut self, down: Duration) {
        self.redis_server.kill();
        tokio::time::sleep(down).await;
        let restarted = tokio::task::block_in_place(|| self.redis_server.restart());
        restarted.unwrap_or_else(|error| panic!("redis-server did not come back: {error:#}"));
        self.redis = connect_redis(&self.redis_server).await;
    }

    /// Kills nats-server and starts it again on the same port after `down`; every client
    /// (the workers' and the test's) reconnects by itself.
    pub async fn restart_nats(&mut self, down: Duration) {
        self.nats_server.kill();
        tokio::time::sleep(down).await;
        let restarted = tokio::task::block_in_place(|| self.nats_server.restart());
        restarted.unwrap_or_else(|error| panic!("nats-server did not come back: {error:#}"));
    }

    /// A fast sim worker's config (lease 1.5 s, heartbeat 300 ms, no auto pairing, metrics on
    /// a free port), plus `extra` flags.
    pub fn worker_config(&self, id: &str, extra: &[&str]) -> wagw_worker::Config {
        let (nats, redis) = (self.nats_server.url(), self.redis_server.url());
        let shards = SHARDS.to_string();
        let mut args = vec![
            "wagw-worker",
            "--nats-url",
            &nats,
            "--redis-url",
            &redis,
            "--gateway-id",
            GW,
            "--worker-id",
            id,
            "--driver",
            "sim",
            "--shards",
            &shards,
            "--lease-ms",
            "1500",
            "--heartbeat-ms",
            "300",
            "--sim-auto-pair-ms",
            "0",
            "--sim-connect-ms",
            "20",
            "--reconnect-min-ms",
            "20",
            "--reconnect-max-ms",
            "100",
            "--subject-root",
            &self.root,
            "--key-prefix",
            &self.root,
        ];
        // A free port each (many workers run in one test process), unless `extra` picks one.
        if !extra.contains(&"--metrics-addr") {
            args.extend_from_slice(&["--metrics-addr", "127.0.0.1:0"]);
        }
        args.extend_from_slice(extra);
        wagw_worker::Config::try_parse_from(args)
            .unwrap_or_else(|error| panic!("worker config refused: {error}"))
    }

    /// Spawns `wagw_worker::run` for worker `id`; it does not wait for shards.
    pub fn start_worker(&self, id: &str, extra: &[&str]) -> RunningWorker {
        let token = CancellationToken::new();
        let handle = tokio::spawn(wagw_worker::run(
            self.worker_config(id, extra),
            token.clone(),
        ));
        RunningWorker::new(id, token, handle)
    }

    /// Who holds each shard's lease: `(worker, epoch)`, `None` when free.
    pub async fn lease_holders(&mut self) -> Vec<Option<(String, i64)>> {
        let mut holders = Vec::new();
        for shard in 0..SHARDS {
            let key = self.keys.lease(&ShardRef::new(self.gw.clone(), shard));
            let value: Option<String> = redis::AsyncCommands::get(&mut self.redis, key)
                .await
                .ok()
                .flatten();
            holders.push(value.and_then(|value| {
                let (worker, epoch) = value.split_once(' ')?;
                Some((worker.to_owned(), epoch.parse().ok()?))
            }));
        }
        holders
    }

    /// Waits until `worker` holds every shard (its member info says so).
    pub async fn wait_for_all_shards(&mut self, worker: &str) {
        let key = self.keys.member_info(&self.gw, worker);
        let all: Vec<u32> = (0..SHARDS).collect();
        self.eventually(WAIT_DEADLINE, "worker holds every shard", async |stack| {
            let info: Option<String> = redis::AsyncCommands::get(&mut stack.redis, &key)
                .await
                .ok()?;
            let info: serde_json::Value = serde_json::from_str(&info?).ok()?;
            let shards: Vec<u32> = serde_json::from_value(info["shards"].clone()).ok()?;
            (shards == all).then_some(())
        })
        .await;
    }

    /// The session row of `id` in Redis, `None` when there is none.
    pub async fn row(&mut self, id: &SessionId) -> Option<Session> {
        let key = self
            .keys
            .session(&ShardRef::of_session(&self.gw, id, SHARDS), id);
        let json: Option<String> = redis::AsyncCommands::get(&mut self.redis, key)
            .await
            .expect("redis get");
        json.map(|json| serde_json::from_str(&json).expect("a row"))
    }

    /// Polls the row until `check` holds, with a deadline.
    pub async fn wait_row(
        &mut self,
        id: &SessionId,
        what: &str,
        check: impl Fn(&Session) -> bool,
    ) -> Session {
        let deadline = Instant::now() + WAIT_DEADLINE;
        loop {
            let row = self.row(id).await;
            if let Some(row) = row.filter(|row| check(row)) {
                return row;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {:?}",
                self.row(id).await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls `check` until it returns `Some`, for at most `within`.
    pub async fn eventually<T>(
        &mut self,
        within: Duration,
        what: &str,
        check: impl AsyncFn(&mut Self) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + within;
        loop {
            if let Some(value) = check(self).await {
                return value;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn connect_redis(server: &RedisServer) -> MultiplexedConnection {
    redis::Client::open(server.url())
        .expect("a valid redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis connects")
}
