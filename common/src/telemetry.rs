//! Logging set-up shared by both binaries: `RUST_LOG` filters (default `info`) and
//! `WAGW_LOG_FORMAT` picks pretty lines for a terminal or one JSON object per line.
//!
//! Lines are written to stderr by a thread of their own (`tracing-appender`'s non-blocking
//! writer), through a buffer flushed whenever no more lines are waiting: a request's thread only
//! formats its line and queues it, and under load many lines leave in one `write`. Nothing is
//! dropped: when the queue is full, the logging thread waits.
//!
//! Only compiled with the `telemetry` feature, so the wire types stay free of it.

use std::io::{BufWriter, IsTerminal};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Lines buffered before one `write`; a line longer than this is written on its own.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

impl LogFormat {
    /// `pretty` when stderr is a terminal, else `json`.
    pub fn detect() -> Self {
        if std::io::stderr().is_terminal() {
            Self::Pretty
        } else {
            Self::Json
        }
    }
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            other => Err(format!("{other:?} is not a log format; use pretty or json")),
        }
    }
}

impl std::fmt::Display for LogFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pretty => "pretty",
            Self::Json => "json",
        })
    }
}

/// Installs the global subscriber; a second call (or one after a test's) is a no-op. Keep the
/// guard until the process ends: dropping it writes out the lines still queued.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(format: LogFormat) -> WorkerGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = BufWriter::with_capacity(WRITE_BUFFER_BYTES, std::io::stderr());
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("wagw-log-writer")
        .finish(stderr);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // `try_init` only fails when a subscriber is already installed, which is fine.
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    guard
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_print_their_names() {
        for format in [LogFormat::Pretty, LogFormat::Json] {
            assert_eq!(format.to_string().parse::<LogFormat>(), Ok(format));
        }
        assert!("yaml".parse::<LogFormat>().is_err());
    }
}
