//! Test support: throwaway `nats-server` / `redis-server` processes on free ports, workers run
//! in-process, and a NATS client that speaks the command and sim-control protocol.

#![allow(dead_code)]

use clap::Parser;
use futures::StreamExt;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wagw_common::keys::Keys;
use wagw_common::shard::{ShardRef, shard_of};
use wagw_common::sim::SimAction;
use wagw_common::subjects::{CommandOp, Subjects};
use wagw_common::wire::{Command as Cmd, CreateSessionV1, Reply, SessionCommandV1};
use wagw_common::{DesiredState, GatewayId, OrganizationId, Session, SessionId, SessionStatus};

pub const SHARDS: u32 = 16;
pub const GW: &str = "gw-t";
pub const ORG: &str = "org_1";

/// A child process killed on drop.
pub struct Server {
    pub port: u16,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").port()
}

fn spawn(program: &str, args: &[String], port: u16) -> Server {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {program}: {e}"));
    let server = Server { port, child };
    let deadline = Instant::now() + Duration::from_secs(10);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        assert!(Instant::now() < deadline, "{program} did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

fn spawn_redis(port: u16) -> Server {
    let args = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    .map(str::to_owned);
    spawn("redis-server", &args, port)
}

/// Redis with AOF on (fsync on every write), as production runs it, keeping its data in `dir`.
fn spawn_redis_aof(port: u16, dir: &std::path::Path) -> Server {
    let args = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
        &dir.display().to_string(),
    ]
    .map(str::to_owned);
    spawn("redis-server", &args, port)
}

fn spawn_nats(port: u16) -> Server {
    let args = ["-a", "127.0.0.1", "-p", &port.to_string()].map(str::to_owned);
    spawn("nats-server", &args, port)
}

/// NATS and Redis for one test, plus a client of each.
pub struct Stack {
    pub nats_server: Server,
    pub redis_server: Server,
    pub nats: async_nats::Client,
    pub redis: redis::aio::MultiplexedConnection,
    pub subjects: Subjects,
    pub keys: Keys,
    pub gw: GatewayId,
    /// Redis's AOF directory when it runs with AOF on.
    pub aof_dir: Option<std::path::PathBuf>,
}

pub struct RunningWorker {
    pub id: String,
    token: CancellationToken,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl RunningWorker {
    /// Stops the worker and asserts its `run` returned `Ok` in time.
    pub async fn stop(self) {
        self.token.cancel();
        let result = tokio::time::timeout(Duration::from_secs(15), self.handle)
            .await
            .expect("worker stops in time")
            .expect("worker task joins");
        result.expect("worker run returns Ok");
    }
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// A stack whose Redis runs with AOF on, in a fresh directory.
    pub async fn start_with_aof() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "wagw-worker-aof-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("an AOF directory");
        Self::start_with(Some(dir)).await
    }

    async fn start_with(aof_dir: Option<std::path::PathBuf>) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_test_writer()
            .try_init();
        let nats_port = free_port();
        let nats_server = spawn_nats(nats_port);
        let redis_port = free_port();
        let redis_server = match &aof_dir {
            Some(dir) => spawn_redis_aof(redis_port, dir),
            None => spawn_redis(redis_port),
        };
        let nats = async_nats::connect(format!("nats://127.0.0.1:{nats_port}"))
            .await
            .expect("nats");
        let redis = redis::Client::open(format!("redis://127.0.0.1:{redis_port}"))
            .expect("redis url")
            .get_multiplexed_async_connection()
            .await
            .expect("redis");
        Self {
            nats_server,
            redis_server,
            nats,
            redis,
            subjects: Subjects::new("t").expect("root"),
            keys: Keys::new("t").expect("prefix"),
            gw: GatewayId::parse(GW).expect("gw"),
            aof_dir,
        }
    }

    /// Kills Redis and starts it again on the same port after `down`, with the same AOF
    /// directory (so its data survives).
    pub async fn restart_redis_aof(&mut self, down: Duration) {
        let port = self.redis_server.port;
        let dir = self.aof_dir.clone().expect("a stack started with AOF");
        self.redis_server.child.kill().expect("kill redis");
        self.redis_server.child.wait().expect("reap redis");
        tokio::time::sleep(down).await;
        self.redis_server = spawn_redis_aof(port, &dir);
        self.redis = redis::Client::open(format!("redis://127.0.0.1:{port}"))
            .expect("redis url")
            .get_multiplexed_async_connection()
            .await
            .expect("redis");
    }

    /// Kills nats-server and starts it again on the same port after `down`; every client
    /// (the workers' and the test's) reconnects by itself.
    pub async fn restart_nats(&mut self, down: Duration) {
        let port = self.nats_server.port;
        self.nats_server.child.kill().expect("kill nats");
        self.nats_server.child.wait().expect("reap nats");
        tokio::time::sleep(down).await;
        self.nats_server = spawn_nats(port);
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

    /// Kills Redis (losing its data) and starts a fresh one on the same port after `down`.
    pub async fn restart_redis(&mut self, down: Duration) {
        let port = self.redis_server.port;
        self.redis_server.child.kill().expect("kill redis");
        self.redis_server.child.wait().expect("reap redis");
        tokio::time::sleep(down).await;
        self.redis_server = spawn_redis(port);
        self.redis = redis::Client::open(format!("redis://127.0.0.1:{port}"))
            .expect("redis url")
            .get_multiplexed_async_connection()
            .await
            .expect("redis");
    }

    pub fn worker_config(&self, id: &str, extra: &[&str]) -> wagw_worker::Config {
        let nats = format!("nats://127.0.0.1:{}", self.nats_server.port);
        let redis = format!("redis://127.0.0.1:{}", self.redis_server.port);
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
            "t",
            "--key-prefix",
            "t",
        ];
        args.extend_from_slice(extra);
        wagw_worker::Config::try_parse_from(args).expect("config parses")
    }

    pub fn start_worker(&self, id: &str, extra: &[&str]) -> RunningWorker {
        let token = CancellationToken::new();
        let handle = tokio::spawn(wagw_worker::run(
            self.worker_config(id, extra),
            token.clone(),
        ));
        RunningWorker {
            id: id.to_owned(),
            token,
            handle,
        }
    }

    /// Waits until `worker` holds every shard (its member info says so).
    pub async fn wait_for_all_shards(&mut self, worker: &str) {
        let key = self.keys.member_info(&self.gw, worker);
        let all: Vec<u32> = (0..SHARDS).collect();
        self.eventually(
            Duration::from_secs(10),
            "worker holds every shard",
            async |stack| {
                let info: Option<String> = redis::AsyncCommands::get(&mut stack.redis, &key)
                    .await
                    .ok()?;
                let info: serde_json::Value = serde_json::from_str(&info?).ok()?;
                let shards: Vec<u32> = serde_json::from_value(info["shards"].clone()).ok()?;
                (shards == all).then_some(())
            },
        )
        .await;
    }

    /// Sends a command, retrying "no responders" (a shard between owners) for a few seconds.
    pub async fn command(&self, id: &SessionId, op: CommandOp, command: &Cmd) -> Reply {
        let subject = self
            .subjects
            .command(&self.gw, shard_of(id, SHARDS), id, op);
        let payload = serde_json::to_vec(command).expect("serializes");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let request = self.nats.request(subject.clone(), payload.clone().into());
            let result = tokio::time::timeout(Duration::from_secs(10), request)
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

    pub async fn simple(&self, id: &SessionId, op: CommandOp) -> Reply {
        let body = SessionCommandV1 {
            organization_id: OrganizationId::parse(ORG).expect("org"),
        };
        let command = match op {
            CommandOp::Delete => Cmd::DeleteSessionV1(body),
            CommandOp::Start => Cmd::StartSessionV1(body),
            CommandOp::Stop => Cmd::StopSessionV1(body),
            CommandOp::Restart => Cmd::RestartSessionV1(body),
            CommandOp::Logout => Cmd::LogoutSessionV1(body),
            CommandOp::Qr => Cmd::QrV1(body),
            other => panic!("not a simple command: {other:?}"),
        };
        self.command(id, op, &command).await
    }

    pub async fn create(&self) -> SessionId {
        let id = SessionId::generate();
        let now = wagw_common::time::now_ms();
        let session = Session {
            id,
            organization_id: OrganizationId::parse(ORG).expect("org"),
            gateway_id: self.gw.clone(),
            label: "test".into(),
            status: SessionStatus::Stopped,
            status_reason: None,
            desired_state: DesiredState::Stopped,
            phone_number: None,
            wa_jid: None,
            wa_lid: None,
            auto_read: false,
            presence_typing: true,
            rate_per_min: 20,
            rate_per_hour: 600,
            is_admin_session: false,
            created_by_user_id: "user_1".into(),
            created_at: now,
            updated_at: now,
            last_connected_at: None,
        };
        let reply = self
            .command(
                &id,
                CommandOp::Create,
                &Cmd::CreateSessionV1(CreateSessionV1 { session }),
            )
            .await;
        assert!(reply.ok, "create: {reply:?}");
        id
    }

    pub async fn sim(&self, id: &SessionId, action: SimAction, body: serde_json::Value) -> Reply {
        let subject = self.subjects.sim(&self.gw, id, action);
        let message = tokio::time::timeout(
            Duration::from_secs(10),
            self.nats
                .request(subject, serde_json::to_vec(&body).expect("json").into()),
        )
        .await
        .expect("reply in time")
        .expect("request");
        serde_json::from_slice(&message.payload).expect("a reply")
    }

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
        let deadline = Instant::now() + Duration::from_secs(10);
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

    /// Subscribes to every status change of the gateway.
    pub async fn status_feed(&self) -> async_nats::Subscriber {
        self.nats
            .subscribe(self.subjects.status_all(&self.gw))
            .await
            .expect("subscribe")
    }
}

/// The next status change on `feed`, within a deadline.
pub async fn next_status(feed: &mut async_nats::Subscriber) -> wagw_common::events::StatusChange {
    let message = tokio::time::timeout(Duration::from_secs(10), feed.next())
        .await
        .expect("a status change in time")
        .expect("feed open");
    serde_json::from_slice(&message.payload).expect("a status change")
}
