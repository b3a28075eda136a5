//! Throwaway `nats-server` and `redis-server` processes on free local ports, killed on drop.
//!
//! Every [`crate::TestApp`] starts its own pair, so tests never touch the machine's 4222 / 6379
//! and never see each other's state. Their output goes to files under `target/test-servers/`.

use crate::probe::Probe;
use anyhow::Context;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to accept TCP connections after it is spawned.
const STARTUP_DEADLINE: Duration = Duration::from_secs(10);

/// A port that was free a moment ago: bind `127.0.0.1:0`, read the port, release it.
///
/// # Errors
/// When no local port can be bound.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener
        .local_addr()
        .context("reading the bound address")?
        .port())
}

/// A child process that serves TCP on `port`; killed and reaped on drop.
#[derive(Debug)]
struct ServerProcess {
    name: &'static str,
    port: u16,
    child: Option<Child>,
    /// Its stdout and stderr; kept only when the test that owned it failed.
    log: PathBuf,
}

impl ServerProcess {
    /// Spawns `program args…` and waits until `127.0.0.1:port` answers as this very process.
    fn spawn(
        name: &'static str,
        program: &str,
        args: &[String],
        port: u16,
        probe: Probe,
    ) -> anyhow::Result<Self> {
        let (log, log_path) = log_file(name, port)?;
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("cloning the log file handle")?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {program} (is it installed?)"))?;
        let mut server = Self {
            name,
            port,
            child: Some(child),
            log: log_path,
        };
        server.wait_until_serving(&probe)?;
        Ok(server)
    }

    fn wait_until_serving(&mut self, probe: &Probe) -> anyhow::Result<()> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + STARTUP_DEADLINE;
        let pid = self.child.as_ref().map(Child::id).unwrap_or_default();
        loop {
            if let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                // Another test (or process) may have taken the port between our probe and the
                // spawn; then our server failed to bind and someone else answers.
                anyhow::ensure!(
                    probe.is_ours(stream, pid),
                    "{} on {addr} is not ours: the port was taken",
                    self.name
                );
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                anyhow::bail!("{} exited during start-up: {status}", self.name);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{} did not accept TCP on {addr} within {STARTUP_DEADLINE:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the process now and reaps it; later calls do nothing.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The process may have died on its own already; either way it must be reaped.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
        if !std::thread::panicking() {
            // A passing test's server output is noise; a failing one's is kept for debugging.
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// `target/test-servers/<name>-<port>.log`, created empty.
fn log_file(name: &str, port: u16) -> anyhow::Result<(std::fs::File, PathBuf)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-servers");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("{name}-{port}.log"));
    let file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    Ok((file, path))
}

/// Spawns with a fresh port, retrying when another process took the port in between.
fn spawn_on_free_port(
    name: &'static str,
    program: &str,
    args: impl Fn(u16) -> Vec<String>,
    probe: impl Fn(u16) -> Probe,
) -> anyhow::Result<ServerProcess> {
    let mut last_error = None;
    for _ in 0..5 {
        let port = free_port()?;
        match ServerProcess::spawn(name, program, &args(port), port, probe(port)) {
            Ok(server) => return Ok(server),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("{name} never started")))
}

/// A server name unique to this test process and port.
fn nats_server_name(port: u16) -> String {
    format!("wagw-test-{}-{port}", std::process::id())
}

/// A `nats-server` of this test alone.
#[derive(Debug)]
pub struct NatsServer {
    process: ServerProcess,
}

impl NatsServer {
    /// Starts `nats-server -a 127.0.0.1 -p <free port>` and waits until it accepts TCP.
    ///
    /// # Errors
    /// When the binary is missing or the server does not come up in time.
    pub fn start() -> anyhow::Result<Self> {
        let process = spawn_on_free_port(
            "nats-server",
            "nats-server",
            |port| {
                let name = nats_server_name(port);
                ["-a", "127.0.0.1", "-p", &port.to_string(), "--name", &name]
                    .map(String::from)
                    .to_vec()
            },
            |port| Probe::NatsServerName(nats_server_name(port)),
        )?;
        Ok(Self { process })
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.process.port)
    }

    /// Kills the server, e.g. to test an outage.
    pub fn kill(&mut self) {
        self.process.kill();
    }
}

/// A `redis-server` of this test alone, without persistence.
#[derive(Debug)]
pub struct RedisServer {
    process: ServerProcess,
}

impl RedisServer {
    /// Starts `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no`.
    ///
    /// # Errors
    /// When the binary is missing or the server does not come up in time.
    pub fn start() -> anyhow::Result<Self> {
        let process = spawn_on_free_port(
            "redis-server",
            "redis-server",
            |port| {
                [
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ]
                .map(String::from)
                .to_vec()
            },
            |_| Probe::RedisPid,
        )?;
        Ok(Self { process })
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.process.port)
    }

    /// Kills the server, e.g. to test that readiness notices.
    pub fn kill(&mut self) {
        self.process.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_start_on_distinct_ports_and_stop_on_drop() {
        let nats = NatsServer::start().expect("nats-server starts");
        let redis = RedisServer::start().expect("redis-server starts");
        assert_ne!(nats.url(), redis.url());
        let port = redis.process.port;
        drop(redis);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        assert!(TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err());
    }

    #[test]
    fn a_server_of_someone_else_on_the_port_is_not_taken_for_ours() {
        let nats = NatsServer::start().expect("nats-server starts");
        let redis = RedisServer::start().expect("redis-server starts");
        let connect = |port| {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            TcpStream::connect_timeout(&addr, Duration::from_secs(1)).expect("connects")
        };
        let (nats_port, redis_port) = (nats.process.port, redis.process.port);
        let redis_pid = redis
            .process
            .child
            .as_ref()
            .map(Child::id)
            .expect("running");
        let ours = Probe::NatsServerName(nats_server_name(nats_port));
        assert!(ours.is_ours(connect(nats_port), 0));
        assert!(!Probe::NatsServerName("someone-else".into()).is_ours(connect(nats_port), 0));
        assert!(!ours.is_ours(connect(redis_port), 0));
        assert!(Probe::RedisPid.is_ours(connect(redis_port), redis_pid));
        assert!(!Probe::RedisPid.is_ours(connect(redis_port), redis_pid + 1));
    }
}
