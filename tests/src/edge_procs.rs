//! The edge as a child process (`wagw-api` with JSON logs to a file), for tests that read what
//! the real binary logs, next to worker processes that log the same way.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use serde_json::Value;

use crate::app::TestApp;
use crate::options::TestOptions;
use crate::worker_procs::{edge_binary, logs_dir};

/// How long the edge process may take to answer `/readyz`.
const READY_DEADLINE: Duration = Duration::from_secs(20);

/// A running `wagw-api` process; SIGKILLed and reaped on drop.
#[derive(Debug)]
pub struct EdgeProcess {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// Its stdout and stderr: one JSON object per line.
    pub log: PathBuf,
    child: Child,
}

impl EdgeProcess {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every JSON line of its log so far (lines that are not JSON are skipped).
    ///
    /// # Errors
    /// When the log cannot be read.
    pub fn log_lines(&self) -> anyhow::Result<Vec<Value>> {
        json_lines(&self.log)
    }
}

impl Drop for EdgeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON objects of a log file written with `WAGW_LOG_FORMAT=json`.
///
/// # Errors
/// When the file cannot be read.
pub fn json_lines(path: &std::path::Path) -> anyhow::Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

impl TestApp {
    /// Starts the `wagw-api` binary on this stack's NATS, Redis, JWKS, subject root and key
    /// prefix with the edge settings of `options`, JSON logs at `info` to
    /// `target/test-logs/edge-<port>.log`, and waits until it is ready.
    ///
    /// # Errors
    /// When it cannot be built or started, or is not ready in time.
    pub async fn start_edge_process(&self, options: &TestOptions) -> anyhow::Result<EdgeProcess> {
        self.start_edge_process_logging(options, "info").await
    }

    /// Like [`TestApp::start_edge_process`], with `RUST_LOG` = `rust_log`.
    ///
    /// # Errors
    /// When it cannot be built or started, or is not ready in time.
    pub async fn start_edge_process_logging(
        &self,
        options: &TestOptions,
        rust_log: &str,
    ) -> anyhow::Result<EdgeProcess> {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").context("finding a port")?;
            probe.local_addr().context("reading the port")?.port()
        };
        let mut args = options.edge_args(
            &self.nats_server.url(),
            &self.redis_server.url(),
            self.jwks.as_ref().map(crate::jwks::JwksServer::url),
            &self.root,
        );
        args.remove(0); // the program name
        let log = logs_dir()?.join(format!("edge-{port}.log"));
        let file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = Command::new(edge_binary()?)
            .args(&args)
            .args(["--http-addr", &format!("127.0.0.1:{port}")])
            .args(["--log-format", "json"])
            .env("RUST_LOG", rust_log)
            .stdin(Stdio::null())
            .stdout(file.try_clone().context("cloning the log handle")?)
            .stderr(file)
            .spawn()
            .context("spawning wagw-api")?;
        let edge = EdgeProcess {
            base_url: format!("http://127.0.0.1:{port}"),
            log,
            child,
        };
        let until = tokio::time::Instant::now() + READY_DEADLINE;
        loop {
            let ready = self.http.get(edge.url("/readyz")).send().await;
            if ready.is_ok_and(|response| response.status().is_success()) {
                return Ok(edge);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < until,
                "wagw-api not ready within {READY_DEADLINE:?}; see {}",
                edge.log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
