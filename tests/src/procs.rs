//! Throwaway `nats-server` and `redis-server` processes on free local ports, killed on drop.
//!
//! Every [`crate::TestApp`] starts its own pair, so tests never touch the machine's 4222 / 6379
//! and never see each other's state. Their output goes to files under `target/test-servers/`.
//! Fleet tests restart a server on its own port ([`NatsServer::restart`], [`RedisServer::restart`]);
//! a persistent Redis ([`RedisServer::start_persistent`]) keeps its data across that in an AOF.

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
    /// What it was started with, to start it again on the same port.
    program: String,
    args: Vec<String>,
    probe: Probe,
}

impl ServerProcess {
    /// Its process id while it runs.
    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Spawns `program args…` and waits until `127.0.0.1:port` answers as this very process.
    fn spawn(
        name: &'static str,
        program: &str,
        args: &[String],
        port: u16,
        probe: Probe,
    ) -> anyhow::Result<Self> {
        let (_, log) = log_file(name, port)?;
        let mut server = Self {
            name,
            port,
            child: None,
            log,
            program: program.to_owned(),
            args: args.to_vec(),
            probe,
        };
        server.start()?;
        Ok(server)
    }

    /// Starts the process (again), appending to its log, and waits until it serves.
    fn start(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("cloning the log file handle")?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {} (is it installed?)", self.program))?;
        self.child = Some(child);
        self.wait_until_serving()
    }

    /// Kills the process and starts it again on the same port with the same arguments.
    fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        // Both servers bind with SO_REUSEADDR, so the port is free again at once; a retry
        // covers the odd slow release.
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            match self.start() {
                Ok(()) => return Ok(()),
                Err(error) if Instant::now() >= deadline => return Err(error),
                Err(_) => {
                    self.kill();
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    fn wait_until_serving(&mut self) -> anyhow::Result<()> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + STARTUP_DEADLINE;
        let pid = self.child.as_ref().map(Child::id).unwrap_or_default();
        loop {
            if let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                // Another test (or process) may have taken the port between our probe and the
                // spawn; then our server failed to bind and someone else answers.
                anyhow::ensure!(
                    self.probe.is_ours(stream, pid),
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

/// `target/test-servers/`, created when missing.
fn servers_dir() -> anyhow::Result<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-servers");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// `target/test-servers/<name>-<port>.log`, created empty.
fn log_file(name: &str, port: u16) -> anyhow::Result<(std::fs::File, PathBuf)> {
    let path = servers_dir()?.join(format!("{name}-{port}.log"));
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

/// A `nats-server` of this test alone, with JetStream (the event stream) in its own directory.
#[derive(Debug)]
pub struct NatsServer {
    process: ServerProcess,
    /// JetStream's store, kept across [`NatsServer::restart`] and removed on drop.
    store_dir: PathBuf,
}

impl NatsServer {
    /// Starts `nats-server -a 127.0.0.1 -p <free port> -js -sd <dir>` and waits until it
    /// accepts TCP.
    ///
    /// # Errors
    /// When the binary is missing or the server does not come up in time.
    pub fn start() -> anyhow::Result<Self> {
        let store_dir = servers_dir()?.join(format!("nats-data-{}", ulid::Ulid::generate()));
        let store = store_dir.to_string_lossy().into_owned();
        let process = spawn_on_free_port(
            "nats-server",
            "nats-server",
            |port| {
                let name = nats_server_name(port);
                let port = port.to_string();
                let args = ["-a", "127.0.0.1", "-p", &port, "--name", &name];
                let jetstream = ["-js", "-sd", &store];
                args.iter()
                    .chain(&jetstream)
                    .map(|a| a.to_string())
                    .collect()
            },
            |port| Probe::NatsServerName(nats_server_name(port)),
        )?;
        Ok(Self { process, store_dir })
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.process.port)
    }

    /// Its process id while it runs (for the benchmarks' CPU accounting).
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// Kills the server, e.g. to test an outage.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Kills the server (if running) and starts it again on the same port.
    ///
    /// # Errors
    /// When it does not come back in time.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.process.restart()
    }
}

/// A `redis-server` of this test alone; without persistence unless started persistent.
#[derive(Debug)]
pub struct RedisServer {
    process: ServerProcess,
    /// The AOF directory of a persistent server, removed on drop.
    data_dir: Option<PathBuf>,
}

impl RedisServer {
    /// Starts `redis-server --port P --bind 127.0.0.1 --save '' --appendonly no`.
    ///
    /// # Errors
    /// When the binary is missing or the server does not come up in time.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(&["--appendonly", "no"], None)
    }

    /// Starts a server that keeps its data in an append-only file (fsync always) in a fresh
    /// directory under `target/test-servers/`, as production runs it: it survives
    /// [`RedisServer::restart`].
    ///
    /// # Errors
    /// When the directory cannot be made or the server does not come up in time.
    pub fn start_persistent() -> anyhow::Result<Self> {
        let dir = servers_dir()?.join(format!("redis-data-{}", ulid::Ulid::generate()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir_arg = dir.to_string_lossy().into_owned();
        let extra = [
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            &dir_arg,
        ];
        Self::start_with(&extra, Some(dir))
    }

    fn start_with(extra: &[&str], data_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let process = spawn_on_free_port(
            "redis-server",
            "redis-server",
            |port| {
                let port = port.to_string();
                let base = ["--port", &port, "--bind", "127.0.0.1", "--save", ""];
                base.iter().chain(extra).map(|a| (*a).to_owned()).collect()
            },
            |_| Probe::RedisPid,
        )?;
        Ok(Self { process, data_dir })
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.process.port)
    }

    /// Its process id while it runs (for the benchmarks' CPU accounting).
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    pub fn port(&self) -> u16 {
        self.process.port
    }

    /// Kills the server, e.g. to test that readiness notices.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Kills the server (if running) and starts it again on the same port; a persistent one
    /// reloads its AOF.
    ///
    /// # Errors
    /// When it does not come back in time.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.process.restart()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.process.kill();
        let _ = std::fs::remove_dir_all(&self.store_dir);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.process.kill();
        if let Some(dir) = &self.data_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[cfg(test)]
#[path = "procs_tests.rs"]
mod tests;
