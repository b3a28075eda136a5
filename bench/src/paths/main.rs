//! `paths`: the edge's command path (`:stop` on stopped sessions) and read path
//! (`GET /sessions/{id}` with an API key) under a fixed concurrency, each against the floor, a
//! minimal program of the same path with none of our logic, measured in the same run.
//!
//! It starts its own nats-server and redis-server, one `wagw-worker` process (sim driver, the
//! production timings: 64 shards, 10 s lease) and the `wagw-api` binary as a process (JSON logs
//! at `info`, as in production), creates `--sessions` sessions spread over every shard, and
//! starts the floor (this binary again, as two processes: see `floor.rs`). Then, for each of
//! `--rounds`, it loads floor and edge in turn for `--seconds` each at `--concurrency` and
//! prints throughput, p50 / p99 / p99.9 and the ratios to the floor. Not a test: run it by
//! hand, e.g.
//!
//! ```text
//! cargo run --release -p wagw-bench --bin paths -- --concurrency 32 --seconds 10
//! ```

mod cpu;
mod floor;
mod load;
mod report;

use anyhow::Context;
use clap::{Parser, Subcommand};
use hyper::header::HeaderValue;
use load::{Shape, Target};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use wagw_tests::{FleetApp, FleetOptions};

#[derive(Parser, Debug)]
#[command(
    name = "paths",
    about = "Command and read path of the edge against the floor"
)]
struct Cli {
    #[command(subcommand)]
    role: Option<Role>,
    #[command(flatten)]
    args: Args,
}

/// The floor's two processes (this binary, started by itself).
#[derive(Subcommand, Debug)]
enum Role {
    #[command(hide = true)]
    FloorEdge {
        nats: String,
        redis: String,
        root: String,
        listen: String,
    },
    #[command(hide = true)]
    FloorResponder {
        nats: String,
        redis: String,
        root: String,
        row_file: std::path::PathBuf,
    },
}

#[derive(clap::Args, Debug, Clone)]
struct Args {
    /// Sessions created (left stopped) and cycled through, round-robin.
    #[arg(long, default_value_t = 512)]
    sessions: usize,
    /// Requests in flight at once (one keep-alive connection each).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Measured seconds of each run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Unmeasured seconds before each run.
    #[arg(long, default_value_t = 2)]
    warmup_seconds: u64,
    /// Floor and edge runs of each path, alternating.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    #[arg(long, default_value_t = 64)]
    shards: u32,
    /// `RUST_LOG` of the worker.
    #[arg(long, default_value = "info")]
    worker_log: String,
    /// `RUST_LOG` of the edge.
    #[arg(long, default_value = "info")]
    edge_log: String,
    /// Only these runs, as `<path>/<server>` (e.g. `read/edge`), to hold one load steady
    /// while a profiler watches; repeatable. Ratios need both servers of a path.
    #[arg(long)]
    only: Vec<String>,
}

/// The edge and the worker run on mimalloc; the floor (and the load generator) too, so that the
/// ratios measure our logic, not the allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.role {
        Some(Role::FloorEdge {
            nats,
            redis,
            root,
            listen,
        }) => runtime.block_on(floor::serve_edge(&nats, &redis, &root, &listen)),
        Some(Role::FloorResponder {
            nats,
            redis,
            root,
            row_file,
        }) => {
            let row = std::fs::read(&row_file)
                .with_context(|| format!("reading {}", row_file.display()))?;
            runtime.block_on(floor::serve_responder(&nats, &redis, &root, row))
        }
        None => runtime.block_on(bench(cli.args)),
    }
}

async fn bench(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.sessions > 0 && args.concurrency > 0,
        "nothing to measure"
    );
    wagw_tests::worker_procs::build_beside(env!("CARGO_PKG_NAME"));
    let fleet = FleetApp::try_spawn(FleetOptions {
        workers: 1,
        shards: args.shards,
        lease_ms: 10_000,
        heartbeat_ms: 2_000,
        sim_connect_ms: 300,
        worker_log: args.worker_log.clone(),
        ..FleetOptions::default()
    })
    .await?;
    eprintln!("fleet up; creating {} sessions…", args.sessions);
    let ids = fleet.try_create_sessions(args.sessions, "bench").await?;
    let shards: BTreeSet<u64> = ids.iter().map(|id| fleet.shard_of(id)).collect();
    let edge = (fleet.app)
        .start_edge_process_logging(&fleet.app.options, &args.edge_log)
        .await?;
    eprintln!(
        "edge process {}, worker process {}",
        edge.pid(),
        fleet.workers[0].pid()
    );
    let (floor_addr, floor_processes) = floor::start(&fleet, &ids).await?;
    let edge_addr: SocketAddr = edge.base_url.trim_start_matches("http://").parse()?;
    let bearer = HeaderValue::from_str(&format!("Bearer {}", fleet.token))?;
    let paths = |format: &dyn Fn(&String) -> String| Arc::new(ids.iter().map(format).collect());
    let shared = [
        ("redis", fleet.app.redis_server.pid().unwrap_or(0)),
        ("nats", fleet.app.nats_server.pid().unwrap_or(0)),
        ("load", std::process::id()),
    ];
    let watch = |edge: u32, worker: u32| {
        let mut roles = vec![("edge", edge), ("worker", worker)];
        roles.extend(shared);
        cpu::Watched(roles)
    };
    // start_floor returns the responder first, then the edge.
    let floor_cpu = watch(floor_processes[1].pid(), floor_processes[0].pid());
    let edge_cpu = watch(edge.pid(), fleet.workers[0].pid());
    let targets = [
        (
            "command",
            "floor",
            Target {
                addr: floor_addr,
                method: hyper::Method::POST,
                paths: paths(&|id| format!("/floor/{id}")),
                authorization: None,
            },
        ),
        (
            "command",
            "edge",
            Target {
                addr: edge_addr,
                method: hyper::Method::POST,
                paths: paths(&|id| format!("/api/v1/sessions/{id}:stop")),
                authorization: Some(bearer.clone()),
            },
        ),
        (
            "read",
            "floor",
            Target {
                addr: floor_addr,
                method: hyper::Method::GET,
                paths: paths(&|id| format!("/floor/{id}")),
                authorization: None,
            },
        ),
        (
            "read",
            "edge",
            Target {
                addr: edge_addr,
                method: hyper::Method::GET,
                paths: paths(&|id| format!("/api/v1/sessions/{id}")),
                authorization: Some(bearer),
            },
        ),
    ];
    let shape = Shape {
        concurrency: args.concurrency,
        warmup: Duration::from_secs(args.warmup_seconds),
        duration: Duration::from_secs(args.seconds),
    };
    let mut runs = Vec::new();
    for round in 1..=args.rounds {
        for (path, server, target) in &targets {
            let name = format!("{path}/{server}");
            if !args.only.is_empty() && !args.only.contains(&name) {
                continue;
            }
            eprintln!("round {round}: {path} path, {server}…");
            let watched = if *server == "floor" {
                &floor_cpu
            } else {
                &edge_cpu
            };
            // Warm up apart, so the CPU counted is the measured requests' alone.
            load::run(
                target,
                Shape {
                    duration: shape.warmup,
                    ..shape
                },
            )
            .await;
            let before = watched.sample();
            let measured = load::run(
                target,
                Shape {
                    warmup: Duration::ZERO,
                    ..shape
                },
            )
            .await;
            let cpu_us = before.per_request_us(&watched.sample(), measured.ok);
            runs.push(report::Run {
                round,
                path,
                server,
                report: measured,
                cpu_us,
            });
        }
    }
    report::print(
        &report::Setup {
            sessions: ids.len(),
            shards_covered: shards.len(),
            shards: args.shards,
            concurrency: args.concurrency,
            seconds: args.seconds,
            warmup_seconds: args.warmup_seconds,
            worker_log: &args.worker_log,
            edge_log: &args.edge_log,
        },
        &runs,
    );
    drop(edge);
    fleet.stop().await;
    Ok(())
}
