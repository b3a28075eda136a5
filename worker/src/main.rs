//! The `wagw-worker` binary: parse the configuration, set up logging, run until SIGINT or
//! SIGTERM. Every failure ends with one line on stderr and a non-zero exit.

use clap::Parser;
use clap::error::ErrorKind;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;
use wagw_worker::{Config, run, telemetry};

/// mimalloc: glibc's malloc serialises the runtime's threads on its arena locks under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::try_parse() {
        Ok(config) => config,
        Err(err)
            if matches!(
                err.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
            ) =>
        {
            err.exit()
        }
        Err(err) => {
            let text = err.to_string();
            let line = text.lines().next().unwrap_or("invalid configuration");
            eprintln!("wagw-worker: {}", line.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    let log_writer = telemetry::init(config.log_format);
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let result = run(config, shutdown).await;
    // Every queued log line is out before the last word below.
    drop(log_writer);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("wagw-worker: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Cancels `shutdown` on the first SIGINT or SIGTERM.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received");
    shutdown.cancel();
}
