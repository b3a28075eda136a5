//! The printed result of `paths`: one line per run, then each path's edge figures as ratios of
//! the floor's from the same round, and the median over the rounds.

use crate::load::Report;

/// One measured run.
#[derive(Debug)]
pub struct Run {
    pub round: usize,
    /// `command` or `read`.
    pub path: &'static str,
    /// `floor` or `edge`.
    pub server: &'static str,
    pub report: Report,
    /// CPU-µs per measured request, by process role.
    pub cpu_us: Vec<(&'static str, f64)>,
}

/// What the runs shared.
#[derive(Debug)]
pub struct Setup<'a> {
    pub sessions: usize,
    pub shards_covered: usize,
    pub shards: u32,
    pub concurrency: usize,
    pub seconds: u64,
    pub warmup_seconds: u64,
    pub worker_log: &'a str,
    pub edge_log: &'a str,
}

pub fn print(setup: &Setup<'_>, runs: &[Run]) {
    println!(
        "\npaths: {} sessions over {} of {} shards, concurrency {}, {} s per run after {} s warm-up; one edge process (RUST_LOG={}, JSON logs), one sim worker process (RUST_LOG={}), nats-server and redis-server, all on this machine",
        setup.sessions,
        setup.shards_covered,
        setup.shards,
        setup.concurrency,
        setup.seconds,
        setup.warmup_seconds,
        setup.edge_log,
        setup.worker_log,
    );
    println!("| path | server | round | req/s | p50 (ms) | p99 (ms) | p99.9 (ms) | ok | failed |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for run in runs {
        let r = &run.report;
        println!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} |",
            run.path,
            run.server,
            run.round,
            r.per_second(),
            r.quantile_ms(0.5),
            r.quantile_ms(0.99),
            r.quantile_ms(0.999),
            r.ok,
            r.failed
        );
    }
    println!("\nCPU time per request (µs), by process:");
    let roles: Vec<&str> = runs
        .first()
        .map(|run| run.cpu_us.iter().map(|(role, _)| *role).collect())
        .unwrap_or_default();
    println!("| path | server | round | {} | total |", roles.join(" | "));
    println!("|---|---|---|{}---|", "---|".repeat(roles.len()));
    for run in runs {
        let cells: Vec<String> = run
            .cpu_us
            .iter()
            .map(|(_, us)| format!("{us:.1}"))
            .collect();
        let total: f64 = run.cpu_us.iter().map(|(_, us)| us).sum();
        println!(
            "| {} | {} | {} | {} | {total:.1} |",
            run.path,
            run.server,
            run.round,
            cells.join(" | ")
        );
    }
    println!();
    for (path, aim) in [("command", 0.80), ("read", 0.90)] {
        let ratios = ratios(runs, path);
        let mut throughput: Vec<f64> = ratios.iter().map(|r| r.0).collect();
        let mut latency: Vec<f64> = ratios.iter().map(|r| r.1).collect();
        let shown: Vec<String> = throughput.iter().map(|r| format!("{r:.2}")).collect();
        println!(
            "{path} path: edge / floor throughput per round = [{}], median {:.2} (aim ≥ {aim:.2}); p50 latency edge / floor median {:.2}x",
            shown.join(", "),
            median(&mut throughput),
            median(&mut latency),
        );
    }
}

/// Per round of `path`: (edge / floor throughput, edge / floor p50 latency).
fn ratios(runs: &[Run], path: &str) -> Vec<(f64, f64)> {
    let find = |round: usize, server: &str| {
        runs.iter()
            .find(|r| r.round == round && r.path == path && r.server == server)
            .map(|r| &r.report)
    };
    let rounds = runs.iter().map(|r| r.round).max().unwrap_or(0);
    (1..=rounds)
        .filter_map(|round| {
            let (floor, edge) = (find(round, "floor")?, find(round, "edge")?);
            Some((
                edge.per_second() / floor.per_second().max(f64::EPSILON),
                edge.quantile_ms(0.5) / floor.quantile_ms(0.5).max(f64::EPSILON),
            ))
        })
        .collect()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}
