//! The web console's browser test from the Rust side: runs `tests/console/e2e.mjs` (Playwright
//! driving Debian's headless Chromium) and talks to it in lines over its stdin and stdout.
//!
//! The script prints one line per step it reached (`qr-shown <sessionId>`, `working`, ...) and
//! `fail <message>` when something in the page was not as expected; the test answers on stdin
//! when it did its part (e.g. `paired` after the sim's `pair` control). The process is killed
//! when the [`ConsoleScript`] is dropped, so a failing test never leaves a browser behind.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Debian's Chromium, as `scripts/install-deps.sh` installs it.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// What to run when a prerequisite is missing.
const INSTALL_HINT: &str = "run scripts/install-deps.sh";
/// Lines of the script's stderr kept for failure messages.
const STDERR_TAIL: usize = 40;

/// `tests/console/`: the script, its `package.json` and lockfile.
pub fn script_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("console")
}

/// `target/test-artifacts/`, created when missing: screenshots a person can look at.
///
/// # Panics
/// When the directory cannot be created.
pub fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// `Err` with one line naming what is missing of `node`, Chromium and the npm packages.
///
/// # Errors
/// When one of them is not installed.
pub fn prerequisites() -> Result<(), String> {
    let node = std::process::Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !node.is_ok_and(|status| status.success()) {
        return Err(format!("`node` is not on PATH: {INSTALL_HINT}"));
    }
    if !Path::new(CHROMIUM).is_file() {
        return Err(format!("{CHROMIUM} is missing: {INSTALL_HINT}"));
    }
    let playwright = script_dir().join("node_modules/playwright-core/package.json");
    if !playwright.is_file() {
        return Err(format!(
            "tests/console/node_modules is missing or incomplete: {INSTALL_HINT}"
        ));
    }
    Ok(())
}

/// Fails the test at once, with one line saying what to install, when a prerequisite is
/// missing; call it before starting a stack.
///
/// # Panics
/// When [`prerequisites`] finds something missing.
pub fn require_prerequisites() {
    if let Err(missing) = prerequisites() {
        panic!("{missing}");
    }
}

/// The running script.
#[derive(Debug)]
pub struct ConsoleScript {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl ConsoleScript {
    /// Starts `node e2e.mjs` against the edge at `base_url`, signing in with `api_key` and
    /// saving its screenshots into `artifacts`.
    ///
    /// # Panics
    /// When a prerequisite is missing (with the one-line hint) or node cannot start.
    pub fn start(base_url: &str, api_key: &str, artifacts: &Path) -> Self {
        Self::start_scenario("pair", base_url, api_key, artifacts)
    }

    /// Like [`ConsoleScript::start`], running `scenario` of the script (`pair`, `rotation`).
    ///
    /// # Panics
    /// When a prerequisite is missing (with the one-line hint) or node cannot start.
    pub fn start_scenario(scenario: &str, base_url: &str, api_key: &str, artifacts: &Path) -> Self {
        require_prerequisites();
        let mut child = Command::new("node")
            .arg("e2e.mjs")
            .current_dir(script_dir())
            .env("WAGW_CONSOLE_URL", base_url)
            .env("WAGW_CONSOLE_KEY", api_key)
            .env("WAGW_CONSOLE_CHROMIUM", CHROMIUM)
            .env("WAGW_CONSOLE_ARTIFACTS", artifacts)
            .env("WAGW_CONSOLE_SCENARIO", scenario)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("starting node e2e.mjs: {e}"));
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            panic!("node's stdio was not piped");
        };
        let tail = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&tail);
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                if kept.len() == STDERR_TAIL {
                    kept.remove(0);
                }
                kept.push(line);
            }
        });
        Self {
            child,
            stdin,
            stdout: BufReader::new(stdout).lines(),
            stderr: tail,
        }
    }

    /// Waits for the script's next line that starts with `step`; returns the rest of it.
    /// Progress lines (`log …`) are echoed to the test output and skipped.
    ///
    /// # Panics
    /// When the script prints `fail …`, exits, prints another step, or `deadline` passes.
    pub async fn expect(&mut self, step: &str, deadline: Duration) -> String {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let line = match tokio::time::timeout_at(until, self.stdout.next_line()).await {
                Err(_) => self.fail(&format!("no `{step}` within {deadline:?}")),
                Ok(Err(e)) => self.fail(&format!("reading the script's output: {e}")),
                Ok(Ok(None)) => self.fail(&format!("the script exited before `{step}`")),
                Ok(Ok(Some(line))) => line,
            };
            let (word, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            match word {
                "log" => eprintln!("console e2e: {rest}"),
                "fail" => self.fail(&format!("the script failed: {rest}")),
                _ if word == step => return rest.to_owned(),
                _ => self.fail(&format!("expected `{step}`, the script said `{line}`")),
            }
        }
    }

    /// Sends one line to the script's stdin.
    ///
    /// # Panics
    /// When the script no longer reads.
    pub async fn say(&mut self, line: &str) {
        let sent = async {
            self.stdin.write_all(format!("{line}\n").as_bytes()).await?;
            self.stdin.flush().await
        };
        if let Err(e) = sent.await {
            self.fail(&format!("telling the script `{line}`: {e}"));
        }
    }

    /// Waits for the script to exit and asserts it exited 0.
    ///
    /// # Panics
    /// When it does not exit within `deadline` or exits non-zero.
    pub async fn finish(mut self, deadline: Duration) {
        match tokio::time::timeout(deadline, self.child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => self.fail(&format!("the script exited with {status}")),
            Ok(Err(e)) => self.fail(&format!("waiting for the script: {e}")),
            Err(_) => self.fail(&format!("the script did not exit within {deadline:?}")),
        }
    }

    fn fail(&self, what: &str) -> ! {
        let tail = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        panic!(
            "console e2e: {what}\n--- the script's stderr (last lines) ---\n{}",
            tail.join("\n")
        );
    }
}
