//! `wagw-worker` binaries as child processes, for fleet tests and the failover benchmark:
//! started with their own `WAGW_WORKER_ID`, logging to `target/test-logs/`, stopped with a
//! real SIGKILL or SIGTERM. It also builds the `wagw-api` binary for [`crate::edge_procs`].
//!
//! # Finding the binary
//! Cargo builds a dependency's library for the tests of another crate, never its binaries, so
//! the first [`worker_binary`] call in a process runs
//! `cargo build -p wagw-worker --bin wagw-worker` (same profile and target directory as the
//! running executable) once, guarded by a `OnceLock`, and returns
//! `target/<profile>/wagw-worker`. Cargo's own lock on the target directory serialises it with
//! any other build; when the binary is fresh the build is a no-op of well under a second.
//!
//! Cargo unifies features over the packages a build selects, so `-p wagw-worker` alone can pick
//! other features for shared crates than the build of the running program did, and each of the
//! two builds then recompiles what the other one just built. A program outside `cargo test`
//! (the benchmarks) calls [`build_beside`] with its own package first: the binaries are then
//! built with that package, `wagw-api` and `wagw-worker` selected together, which resolves the
//! same features every time and rebuilds nothing.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The profile directory (`target/<profile>`) of the running executable.
fn profile_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the running executable")?;
    let mut dir = exe.parent().context("the executable has a directory")?;
    // Test executables live in `target/<profile>/deps/`, binaries in `target/<profile>/`.
    if dir.file_name().is_some_and(|name| name == "deps") {
        dir = dir.parent().context("deps/ has a parent")?;
    }
    Ok(dir.to_path_buf())
}

/// The package the binaries are built beside, once [`build_beside`] set it.
static BESIDE: OnceLock<&'static str> = OnceLock::new();

/// Builds the binaries with `package` selected too (see the module docs); call it before the
/// first [`worker_binary`] or [`edge_binary`]. A second call changes nothing.
pub fn build_beside(package: &'static str) {
    let _ = BESIDE.set(package);
}

/// Builds (once per process) and returns the path of the `wagw-worker` binary.
///
/// # Errors
/// When the build fails; the message names the build log.
pub fn worker_binary() -> anyhow::Result<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    built_once(&BINARY, "wagw-worker")
}

/// Builds (once per process) and returns the path of the `wagw-api` binary, for tests that
/// need the edge as a process of its own (its log, its exit).
///
/// # Errors
/// When the build fails; the message names the build log.
pub fn edge_binary() -> anyhow::Result<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    built_once(&BINARY, "wagw-api")
}

fn built_once(cell: &OnceLock<Result<PathBuf, String>>, name: &str) -> anyhow::Result<PathBuf> {
    cell.get_or_init(|| build_binary(name).map_err(|error| format!("{error:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

/// `cargo build -p <name> --bin <name>` (each binary is named after its package).
fn build_binary(name: &str) -> anyhow::Result<PathBuf> {
    let profile_dir = profile_dir()?;
    let target_dir = profile_dir.parent().context("target/ holds the profile")?;
    let profile = profile_dir
        .file_name()
        .and_then(|name| name.to_str())
        .context("the profile directory has a UTF-8 name")?;
    // `debug` is the directory of the `dev` profile; every other profile has its own name.
    let profile = if profile == "debug" { "dev" } else { profile };
    let log_path = logs_dir()?.join(format!("build-{name}.log"));
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut command = Command::new(env!("CARGO"));
    command.args(["build", "-p", name, "--bin", name]);
    // The rustc beside this cargo: outside `cargo run`/`cargo test` nothing pins the toolchain,
    // and rustup's proxy would follow a dependency's own `rust-toolchain.toml` (whatsapp-rust
    // names a nightly) when it compiles that crate.
    let rustc = Path::new(env!("CARGO")).with_file_name("rustc");
    if rustc.is_file() && std::env::var_os("RUSTC").is_none() {
        command.env("RUSTC", rustc);
    }
    if let Some(package) = BESIDE.get() {
        command.args(["-p", package, "-p", "wagw-api", "-p", "wagw-worker"]);
    }
    let status = command
        .args(["--profile", profile])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("cloning the log handle")?)
        .stderr(log)
        .status()
        .with_context(|| format!("running cargo build for {name}"))?;
    anyhow::ensure!(
        status.success(),
        "cargo build -p {name} failed ({status}); see {}",
        log_path.display()
    );
    let binary = profile_dir.join(name);
    anyhow::ensure!(
        binary.is_file(),
        "{} missing after the build",
        binary.display()
    );
    Ok(binary)
}

/// `target/test-logs/`, created when missing.
pub fn logs_dir() -> anyhow::Result<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-logs");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// One running (or exited) `wagw-worker` process; SIGKILLed and reaped on drop.
#[derive(Debug)]
pub struct WorkerProcess {
    pub id: String,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
    child: Child,
    /// When it was seen to have exited (ms since the epoch), once it has.
    exited_at: Option<i64>,
    status: Option<ExitStatus>,
}

impl WorkerProcess {
    /// Starts the worker binary with exactly `env` (plus `PATH`), logging to `log`.
    ///
    /// # Errors
    /// When the binary cannot be built or spawned.
    pub fn spawn(id: &str, env: &[(String, String)], log: PathBuf) -> anyhow::Result<Self> {
        let binary = worker_binary()?;
        let file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut command = Command::new(&binary);
        command.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        let child = command
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(file.try_clone().context("cloning the log handle")?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("spawning {}", binary.display()))?;
        Ok(Self {
            id: id.to_owned(),
            log,
            child,
            exited_at: None,
            status: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Still running (reaps it, and notes when, if it has exited).
    pub fn is_running(&mut self) -> bool {
        if self.status.is_some() {
            return false;
        }
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.status = Some(status);
                self.exited_at = Some(wagw_common::time::now_ms());
                false
            }
            Ok(None) => true,
            Err(_) => false,
        }
    }

    /// When it was seen to have exited, if it has.
    pub fn exited_at(&self) -> Option<i64> {
        self.exited_at
    }

    /// SIGKILL, then reap; returns the time of death (ms since the epoch, after reaping).
    pub fn sigkill(&mut self) -> i64 {
        if self.is_running() {
            // Child::kill is SIGKILL on Unix; an already dead child only makes it fail.
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
            self.exited_at = Some(wagw_common::time::now_ms());
        }
        self.exited_at.unwrap_or_else(wagw_common::time::now_ms)
    }

    /// Sends SIGTERM (through `kill -TERM <pid>`) and returns when it was sent.
    ///
    /// # Errors
    /// When `kill` cannot be run or refuses.
    pub fn sigterm(&mut self) -> anyhow::Result<i64> {
        anyhow::ensure!(self.is_running(), "worker {} is not running", self.id);
        let at = wagw_common::time::now_ms();
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .context("running kill -TERM")?;
        anyhow::ensure!(
            status.success(),
            "kill -TERM {} failed: {status}",
            self.pid()
        );
        Ok(at)
    }

    /// Waits until the process has exited; returns its exit status.
    ///
    /// # Errors
    /// When it is still running after `deadline`.
    pub async fn wait_exit(&mut self, deadline: Duration) -> anyhow::Result<ExitStatus> {
        let until = Instant::now() + deadline;
        loop {
            if !self.is_running() {
                return self.status.context("exit status unknown");
            }
            anyhow::ensure!(
                Instant::now() < until,
                "worker {} still running {deadline:?} after being asked to stop",
                self.id
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
