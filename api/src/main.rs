//! The `wagw-api` binary: serves the HTTP edge (the default), or creates an API key straight in
//! Redis (`create-api-key`) for a first credential without a JWKS.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use wagw_api::{Capability, Config};
use wagw_common::OrganizationId;

#[derive(Parser, Debug)]
#[command(
    name = "wagw-api",
    version,
    about = "The HTTP edge of the WhatsApp gateway"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<CliCommand>,
}

#[derive(Subcommand, Debug)]
enum CliCommand {
    /// Serve the HTTP API (the default).
    Serve,
    /// Create an API key in Redis and print its secret once, on stdout.
    CreateApiKey {
        /// The organization the key acts for.
        #[arg(long)]
        org: OrganizationId,
        /// A name to recognise the key by.
        #[arg(long)]
        name: String,
        /// Comma separated subset of read, manage, send, admin.
        #[arg(long, value_delimiter = ',', required = true, num_args = 1..)]
        capabilities: Vec<Capability>,
        /// Expiry, milliseconds since the Unix epoch.
        #[arg(long)]
        expires_at: Option<i64>,
    },
}

/// mimalloc: glibc's malloc serialises the runtime's threads on its arena locks under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let log_writer = wagw_api::telemetry::init(cli.config.log_format);
    let result = match cli.command {
        None | Some(CliCommand::Serve) => serve(cli.config).await,
        Some(CliCommand::CreateApiKey {
            org,
            name,
            capabilities,
            expires_at,
        }) => create_api_key(&cli.config, &org, &name, &capabilities, expires_at).await,
    };
    // Every queued log line is out before the last word below.
    drop(log_writer);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("wagw-api: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("binding {} (WAGW_HTTP_ADDR)", config.http_addr))?;
    let shutdown = CancellationToken::new();
    let server = wagw_api::run(config, listener, shutdown.clone());
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => result,
        () = shutdown_signal() => {
            tracing::info!("shutdown signal received; finishing in-flight requests");
            shutdown.cancel();
            server.await
        }
    }
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

async fn create_api_key(
    config: &Config,
    org: &OrganizationId,
    name: &str,
    capabilities: &[Capability],
    expires_at: Option<i64>,
) -> anyhow::Result<()> {
    let keys = config.keys().context("WAGW_KEY_PREFIX")?;
    let mut redis = wagw_api::state::connect_redis(config.redis_url.expose_secret()).await?;
    let (view, secret) = wagw_api::api_keys::create_api_key(
        &mut redis,
        &keys,
        org,
        name,
        capabilities,
        expires_at,
        "cli",
    )
    .await?;
    println!("{secret}");
    let capabilities: Vec<&str> = view.capabilities.iter().map(|c| c.as_str()).collect();
    eprintln!(
        "API key {} for organization {org} with {}: keep it now, it is not shown again.",
        view.id,
        capabilities.join(",")
    );
    Ok(())
}
