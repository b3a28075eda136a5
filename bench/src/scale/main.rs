//! `scale`: how many sim sessions a worker holds, how fast a cold fleet brings them all to
//! `working`, and what each costs in memory.
//!
//! It starts its own nats-server and redis-server, the edge (in-process) and a set-up worker,
//! creates `--sessions` sessions and pairs each through its QR and the simulated phone, then
//! stops that worker (SIGTERM). Two cold starts follow, each timed from the moment the worker
//! processes are spawned until every session has connected again (the sim journal's
//! `connected` records): (1) one worker alone, (2) three workers at once. It prints the times,
//! each worker's resident memory (`VmRSS`) and the RSS per session, next to the same run's
//! baselines: the reconnect throttle's own bound (sessions × simulated connect time / allowed
//! concurrent connects), a raw Redis read of every row, and a raw NATS round trip. Not a test:
//! run it by hand, e.g.
//!
//! ```text
//! cargo run --release -p wagw-bench --bin scale -- --sessions 10000
//! ```

mod setup;

use clap::Parser;
use std::time::{Duration, Instant};
use wagw_bench::measure;
use wagw_tests::{FleetApp, FleetOptions};

#[derive(Parser, Debug)]
#[command(name = "scale")]
struct Args {
    /// Sim sessions created, paired and brought back by each cold start.
    #[arg(long, default_value_t = 10_000)]
    sessions: usize,
    /// Workers of the second cold start.
    #[arg(long, default_value_t = 3)]
    workers: usize,
    #[arg(long, default_value_t = 64)]
    shards: u32,
    /// How long a simulated connection takes to come up in the cold starts.
    #[arg(long, default_value_t = 300)]
    sim_connect_ms: u64,
    /// `WAGW_RECONNECT_CONCURRENCY` of the workers (their default, 64, when unset).
    #[arg(long)]
    reconnect_concurrency: Option<u32>,
    /// Requests in flight while creating and pairing.
    #[arg(long, default_value_t = 128)]
    setup_concurrency: usize,
    /// How long each cold start may take.
    #[arg(long, default_value_t = 900)]
    deadline_secs: u64,
}

/// One cold start's figures.
#[derive(Debug)]
struct ColdStart {
    workers: usize,
    /// Spawn → every session connected again.
    all_working: Duration,
    /// Spawn → the first session connected.
    first_working: Duration,
    /// Each worker's RSS once all are working and the fleet is quiet, bytes.
    rss: Vec<u64>,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.sessions > 0 && args.workers > 0, "nothing to measure");
    wagw_tests::worker_procs::build_beside(env!("CARGO_PKG_NAME"));
    let deadline = Duration::from_secs(args.deadline_secs);
    let mut fleet = FleetApp::try_spawn(FleetOptions {
        workers: 1,
        shards: args.shards,
        lease_ms: 10_000,
        heartbeat_ms: 2_000,
        // Set-up pairs quickly; the cold starts below use --sim-connect-ms.
        sim_connect_ms: 20,
        command_timeout_ms: 30_000,
        reconnect_concurrency: args.reconnect_concurrency,
        worker_log: "warn".into(),
        ..FleetOptions::default()
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = setup::rss_bytes(fleet.workers[0].pid())?;
    eprintln!(
        "fleet up (idle worker RSS {} MiB); creating and pairing {} sessions…",
        idle_rss >> 20,
        args.sessions
    );
    let started = Instant::now();
    let ids =
        setup::working_sessions(&fleet, args.sessions, args.setup_concurrency, deadline).await?;
    eprintln!(
        "{} sessions working after {:.1} s",
        ids.len(),
        started.elapsed().as_secs_f64()
    );
    let base = measure::baseline(&fleet, 1000).await?;
    let rows_read = setup::read_all_rows(&fleet, &ids).await?;
    fleet.options.sim_connect_ms = args.sim_connect_ms;
    let one = cold_start(&mut fleet, &ids, 1, deadline).await?;
    let many = cold_start(&mut fleet, &ids, args.workers, deadline).await?;
    print_report(&args, idle_rss, &base, rows_read, &[one, many]);
    fleet.finish().await;
    Ok(())
}

/// Stops every running worker (SIGTERM, waiting for each to exit), then spawns `workers` new
/// ones at once and times them until every one of `ids` has connected again.
async fn cold_start(
    fleet: &mut FleetApp,
    ids: &[String],
    workers: usize,
    deadline: Duration,
) -> anyhow::Result<ColdStart> {
    for id in fleet.live_ids() {
        fleet.sigterm(&id);
        fleet.wait_exit(&id, deadline).await?;
    }
    eprintln!("cold start of {workers} worker(s)…");
    let spawned = wagw_common::time::now_ms();
    let started: Vec<String> = (0..workers).map(|_| fleet.start_worker()).collect();
    let (first, last) = setup::wait_connected_since(fleet, ids, spawned, deadline).await?;
    eprintln!(
        "all working after {:.1} s; letting the fleet settle…",
        (last - spawned) as f64 / 1e3
    );
    setup::wait_quiet(fleet, deadline).await?;
    let mut rss = Vec::new();
    for id in &started {
        let worker = (fleet.workers.iter()).find(|w| &w.id == id);
        let pid = worker
            .map(|w| w.pid())
            .ok_or_else(|| anyhow::anyhow!("no worker {id}"))?;
        rss.push(setup::rss_bytes(pid)?);
    }
    Ok(ColdStart {
        workers,
        all_working: Duration::from_millis(u64::try_from(last - spawned).unwrap_or(0)),
        first_working: Duration::from_millis(u64::try_from(first - spawned).unwrap_or(0)),
        rss,
    })
}

fn print_report(
    args: &Args,
    idle_rss: u64,
    base: &measure::Baseline,
    rows_read: Duration,
    starts: &[ColdStart],
) {
    let concurrency = args.reconnect_concurrency.unwrap_or(64);
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    println!(
        "\nscale: {} sim sessions, {} shards, lease 10 s, sim connect {} ms, reconnect concurrency {concurrency} per worker",
        args.sessions, args.shards, args.sim_connect_ms
    );
    println!(
        "| workers | first working (s) | all working (s) | throttle bound (s) | ratio | RSS per worker (MiB) | RSS per session (KiB, above an idle worker) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for start in starts {
        // Each worker connects at most `concurrency` sessions at once, each taking the
        // simulated connect time: no cold start can be faster than this.
        let bound = args.sessions as f64 * args.sim_connect_ms as f64
            / (concurrency as f64 * start.workers as f64)
            / 1000.0;
        let total: u64 = start.rss.iter().sum();
        let above_idle = total.saturating_sub(idle_rss * start.workers as u64);
        let rss: Vec<String> = start
            .rss
            .iter()
            .map(|b| format!("{:.0}", mib(*b)))
            .collect();
        println!(
            "| {} | {:.2} | {:.1} | {:.1} | {:.2} | {} | {:.1} |",
            start.workers,
            start.first_working.as_secs_f64(),
            start.all_working.as_secs_f64(),
            bound,
            start.all_working.as_secs_f64() / bound.max(f64::EPSILON),
            rss.join(" / "),
            above_idle as f64 / 1024.0 / args.sessions as f64,
        );
    }
    println!(
        "\nidle worker (no sessions) RSS {:.1} MiB. Baseline in the same run: reading all {} rows from Redis (MGET, 1,000 a round trip) {:.0} ms; NATS request-reply p50 {:.3} ms; Redis GET p50 {:.3} ms",
        mib(idle_rss),
        args.sessions,
        rows_read.as_secs_f64() * 1000.0,
        base.nats_p50,
        base.redis_p50
    );
}
