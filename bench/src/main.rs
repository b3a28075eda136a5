//! `failover`: how long a fleet of sim workers takes to get a worker's sessions working again
//! after a SIGKILL (leases expire) and after a SIGTERM (graceful handoff), and how that splits
//! between waiting for the leases and reconnecting.
//!
//! It starts its own nats-server, redis-server, the edge (in-process) and `--workers` worker
//! binaries (the `wagw-tests` fleet harness), creates and pairs `--sessions` sim sessions, then
//! SIGKILLs the busiest worker, measures, starts a replacement, SIGTERMs the busiest worker and
//! measures again. Not a test: run it by hand, e.g.
//!
//! ```text
//! cargo run --release -p wagw-bench --bin failover -- --sessions 30
//! cargo run --release -p wagw-bench --bin failover -- --sessions 3000
//! ```

use anyhow::Context;
use clap::Parser;
use std::time::Duration;
use wagw_bench::measure::{Baseline, baseline, leases_taken, p50_p99};
use wagw_tests::fleet_app::ShardMap;
use wagw_tests::{FleetApp, FleetOptions};

/// Failover benchmark of the worker fleet (defaults: the production timings of the spec).
#[derive(Parser, Debug)]
#[command(name = "failover")]
struct Args {
    /// Sim sessions created, paired and kept working.
    #[arg(long, default_value_t = 30)]
    sessions: usize,
    /// Worker processes.
    #[arg(long, default_value_t = 3)]
    workers: usize,
    #[arg(long, default_value_t = 64)]
    shards: u32,
    #[arg(long, default_value_t = 10_000)]
    lease_ms: u64,
    #[arg(long, default_value_t = 2000)]
    heartbeat_ms: u64,
    /// How long a simulated connection takes to come up.
    #[arg(long, default_value_t = 300)]
    sim_connect_ms: u64,
    /// `WAGW_RECONNECT_CONCURRENCY` of the workers (their default when unset).
    #[arg(long)]
    reconnect_concurrency: Option<u32>,
    /// `WAGW_RECONNECT_JITTER_MS` of the workers (their default when unset).
    #[arg(long)]
    reconnect_jitter_ms: Option<u64>,
    /// Round trips measured for the NATS and Redis baseline.
    #[arg(long, default_value_t = 1000)]
    baseline_rounds: usize,
}

/// What one failover looked like (ms are from the signal).
#[derive(Debug)]
struct Round {
    signal: &'static str,
    victim: String,
    sessions: usize,
    shards: usize,
    exit_ms: Option<i64>,
    last_lease_ms: i64,
    all_working_ms: i64,
    /// Per session: signal → its shard's lease held by a survivor.
    lease_wait: (f64, f64),
    /// Per session: lease taken → connected again.
    reconnect: (f64, f64),
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.workers >= 2, "--workers must be at least 2");
    wagw_tests::worker_procs::build_beside(env!("CARGO_PKG_NAME"));
    let deadline = Duration::from_millis(args.lease_ms * 3) + Duration::from_secs(60);
    let mut fleet = FleetApp::try_spawn(FleetOptions {
        workers: args.workers,
        shards: args.shards,
        lease_ms: args.lease_ms,
        heartbeat_ms: args.heartbeat_ms,
        sim_connect_ms: args.sim_connect_ms,
        command_timeout_ms: 10_000,
        reconnect_concurrency: args.reconnect_concurrency,
        reconnect_jitter_ms: args.reconnect_jitter_ms,
        worker_log: "warn".into(),
        ..FleetOptions::default()
    })
    .await?;
    eprintln!("fleet up; creating and pairing {} sessions…", args.sessions);
    let sessions = fleet.try_working_sessions(args.sessions, deadline).await?;
    let base = baseline(&fleet, args.baseline_rounds).await?;
    settle(&mut fleet, &sessions, deadline).await?;
    let kill = round(&mut fleet, &sessions, false, deadline).await?;
    eprintln!("SIGKILL measured; starting a replacement worker…");
    fleet.start_worker();
    settle(&mut fleet, &sessions, deadline).await?;
    let term = round(&mut fleet, &sessions, true, deadline).await?;
    print_report(&args, &base, &[kill, term]);
    fleet.finish().await;
    Ok(())
}

/// Waits until the shards are assigned, every session works and the sim journal is quiet.
async fn settle(
    fleet: &mut FleetApp,
    sessions: &[String],
    deadline: Duration,
) -> anyhow::Result<()> {
    fleet.wait_for_rendezvous(deadline).await?;
    fleet.wait_all_status(sessions, "working", deadline).await?;
    let until = tokio::time::Instant::now() + deadline;
    let mut seen = fleet.simlog.records().len();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = fleet.simlog.records().len();
        if now == seen {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < until,
            "the fleet never went quiet"
        );
        seen = now;
    }
}

/// The worker of `map` owning most of `sessions`, and those sessions.
fn busiest(fleet: &FleetApp, map: &ShardMap, sessions: &[String]) -> (String, Vec<String>) {
    let owned = |worker: &str| -> Vec<String> {
        (sessions.iter())
            .filter(|id| fleet.owner_in(map, id).as_deref() == Some(worker))
            .cloned()
            .collect()
    };
    let worker = map
        .keys()
        .max_by_key(|w| owned(w).len())
        .cloned()
        .unwrap_or_default();
    let affected = owned(&worker);
    (worker, affected)
}

/// Signals the busiest worker (SIGTERM when `graceful`, else SIGKILL) and measures.
async fn round(
    fleet: &mut FleetApp,
    sessions: &[String],
    graceful: bool,
    deadline: Duration,
) -> anyhow::Result<Round> {
    let map = fleet.wait_for_fleet(deadline).await?;
    let (victim, affected) = busiest(fleet, &map, sessions);
    let shards = map
        .get(&victim)
        .cloned()
        .context("the victim holds shards")?;
    let index = (fleet.workers.iter())
        .position(|w| w.id == victim)
        .context("the victim is one of ours")?;
    // Taken out so its exit can be watched while the fleet is measured.
    let mut process = fleet.workers.remove(index);
    let at = match graceful {
        true => process.sigterm()?,
        false => process.sigkill(),
    };
    fleet.simlog.process_died(&victim, at);
    let exit = async {
        process.wait_exit(deadline).await?;
        anyhow::Ok(process.exited_at())
    };
    let (exited, leases, connected) = tokio::join!(
        exit,
        leases_taken(fleet, &victim, &shards, deadline),
        fleet.wait_connected_since(&affected, at, deadline),
    );
    let exited_at = exited?;
    let (leases, connected) = (leases?, connected?);
    if let Some(exited_at) = exited_at {
        fleet.simlog.process_died(&victim, exited_at);
    }
    let mut waits = Vec::new();
    let mut reconnects = Vec::new();
    for (id, record) in &connected {
        let lease_at = leases.get(&fleet.shard_of(id)).copied().unwrap_or(at);
        waits.push((lease_at - at) as f64);
        reconnects.push((record.at - lease_at) as f64);
    }
    Ok(Round {
        signal: if graceful { "SIGTERM" } else { "SIGKILL" },
        victim,
        sessions: affected.len(),
        shards: shards.len(),
        exit_ms: exited_at.filter(|_| graceful).map(|t| t - at),
        last_lease_ms: leases.values().max().map_or(0, |t| t - at),
        all_working_ms: connected.values().map(|r| r.at - at).max().unwrap_or(0),
        lease_wait: p50_p99(waits),
        reconnect: p50_p99(reconnects),
    })
}

fn print_report(args: &Args, base: &Baseline, rounds: &[Round]) {
    println!(
        "\nfailover: {} sim sessions, {} workers, {} shards, lease {} ms, heartbeat {} ms, sim connect {} ms, reconnect concurrency {}, jitter {}",
        args.sessions,
        args.workers,
        args.shards,
        args.lease_ms,
        args.heartbeat_ms,
        args.sim_connect_ms,
        args.reconnect_concurrency
            .map_or("default".into(), |n| n.to_string()),
        args.reconnect_jitter_ms
            .map_or("default".into(), |n| format!("{n} ms")),
    );
    println!(
        "| signal  | worker | sessions moved | shards moved | exit (ms) | last lease taken (ms) | all working again (ms) | lease wait p50/p99 (ms) | reconnect after lease p50/p99 (ms) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in rounds {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.0} / {:.0} | {:.0} / {:.0} |",
            r.signal,
            r.victim,
            r.sessions,
            r.shards,
            r.exit_ms.map_or("-".into(), |ms| ms.to_string()),
            r.last_lease_ms,
            r.all_working_ms,
            r.lease_wait.0,
            r.lease_wait.1,
            r.reconnect.0,
            r.reconnect.1,
        );
    }
    println!(
        "\nbaseline (same run, {} rounds): NATS request-reply p50 {:.3} ms p99 {:.3} ms; Redis GET p50 {:.3} ms p99 {:.3} ms",
        args.baseline_rounds, base.nats_p50, base.nats_p99, base.redis_p50, base.redis_p99
    );
    for r in rounds {
        println!(
            "ratio {}: all working again / NATS round trip p50 = {:.0}x; / lease = {:.2}",
            r.signal,
            r.all_working_ms as f64 / base.nats_p50.max(f64::EPSILON),
            r.all_working_ms as f64 / args.lease_ms as f64
        );
    }
}
