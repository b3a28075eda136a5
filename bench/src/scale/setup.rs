//! The `scale` benchmark's helpers: pairing thousands of sessions with bounded concurrency,
//! reading every row straight from Redis, following the sim journal without copying it on each
//! poll, and reading a process's resident memory.

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use wagw_common::shard::ShardRef;
use wagw_common::sim::SimAction;
use wagw_common::{GatewayId, SessionId};
use wagw_tests::{FleetApp, session_path};

/// Rows read from Redis in one `MGET`.
const MGET_CHUNK: usize = 1000;
/// How often the sim journal is looked at; the times reported come from the records
/// themselves, so this only delays noticing the end.
const POLL: Duration = Duration::from_millis(250);

/// Creates `count` sessions and pairs each (its QR, then the simulated phone scans it with a
/// number of its own), `concurrency` at a time; returns their ids once all are `working`.
///
/// # Errors
/// When one is refused, or they are not all working within `deadline`.
pub async fn working_sessions(
    fleet: &FleetApp,
    count: usize,
    concurrency: usize,
    deadline: Duration,
) -> anyhow::Result<Vec<String>> {
    let ids: Vec<String> = futures::stream::iter(0..count)
        .map(|i| async move {
            let body = json!({"label": format!("scale-{i}")});
            let (status, row, _) = fleet
                .app
                .post("/api/v1/sessions", &fleet.token, &body)
                .await;
            anyhow::ensure!(status == 201, "create {i}: {status} {row}");
            row["id"]
                .as_str()
                .map(str::to_owned)
                .context("a row without id")
        })
        .buffered(concurrency)
        .try_collect()
        .await?;
    futures::stream::iter(ids.iter().enumerate())
        .map(|(i, id)| async move {
            let (status, qr, _) = fleet.app.get(&session_path(id, "/qr"), &fleet.token).await;
            anyhow::ensure!(status == 200, "GET qr of {id}: {status} {qr}");
            let phone = json!({"phoneNumber": format!("628{i:09}")});
            let reply = fleet.sim(id, SimAction::Pair, phone).await?;
            anyhow::ensure!(reply.ok, "sim pair of {id} refused: {reply:?}");
            Ok(())
        })
        .buffer_unordered(concurrency)
        .try_collect::<Vec<()>>()
        .await?;
    let until = Instant::now() + deadline;
    loop {
        let statuses = statuses(fleet, &ids).await?;
        let working = statuses.values().filter(|s| *s == "working").count();
        if working == ids.len() {
            return Ok(ids);
        }
        anyhow::ensure!(
            Instant::now() < until,
            "only {working} of {} working",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Every row's `status`, read straight from Redis.
async fn statuses(fleet: &FleetApp, ids: &[String]) -> anyhow::Result<HashMap<String, String>> {
    let gw = GatewayId::parse(&fleet.gateway)?;
    let mut redis = fleet.app.redis.clone();
    let mut statuses = HashMap::new();
    for chunk in ids.chunks(MGET_CHUNK) {
        let keys = chunk
            .iter()
            .map(|id| {
                let id = SessionId::parse(id)?;
                let shard = ShardRef::of_session(&gw, &id, fleet.options.shards);
                anyhow::Ok(fleet.app.keys.session(&shard, &id))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let rows: Vec<Option<String>> =
            redis::cmd("MGET").arg(keys).query_async(&mut redis).await?;
        for (id, row) in chunk.iter().zip(rows) {
            let status = row
                .and_then(|row| serde_json::from_str::<serde_json::Value>(&row).ok())
                .and_then(|row| row["status"].as_str().map(str::to_owned))
                .unwrap_or_default();
            statuses.insert(id.clone(), status);
        }
    }
    Ok(statuses)
}

/// The raw Redis baseline: how long reading every row takes (`MGET`s of 1,000).
///
/// # Errors
/// Redis failures.
pub async fn read_all_rows(fleet: &FleetApp, ids: &[String]) -> anyhow::Result<Duration> {
    let started = Instant::now();
    statuses(fleet, ids).await?;
    Ok(started.elapsed())
}

/// Waits until each of `ids` has a `connected` record at or after `since` (ms); returns when
/// the first and the last of them connected (ms since the epoch).
///
/// # Errors
/// When some have not connected within `deadline`.
pub async fn wait_connected_since(
    fleet: &FleetApp,
    ids: &[String],
    since: i64,
    deadline: Duration,
) -> anyhow::Result<(i64, i64)> {
    let wanted: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut first_seen: HashMap<String, i64> = HashMap::new();
    let mut read = 0;
    let until = Instant::now() + deadline;
    loop {
        let records = fleet.simlog.records_from(read);
        read += records.len();
        for record in records.iter().filter(|r| r.opens() && r.at >= since) {
            if wanted.contains(record.session_id.as_str()) {
                first_seen
                    .entry(record.session_id.clone())
                    .or_insert(record.at);
            }
        }
        if first_seen.len() == ids.len() {
            let first = first_seen.values().min().copied().unwrap_or(since);
            let last = first_seen.values().max().copied().unwrap_or(since);
            return Ok((first, last));
        }
        anyhow::ensure!(
            Instant::now() < until,
            "{} of {} sessions not connected again within {deadline:?}",
            ids.len() - first_seen.len(),
            ids.len()
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until the sim journal has had nothing new for two seconds.
///
/// # Errors
/// When it keeps changing for `deadline`.
pub async fn wait_quiet(fleet: &FleetApp, deadline: Duration) -> anyhow::Result<()> {
    let until = Instant::now() + deadline;
    let mut seen = fleet.simlog.len();
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = fleet.simlog.len();
        if now == seen {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < until, "the fleet never went quiet");
        seen = now;
    }
}

/// A process's resident set size (`VmRSS` in `/proc/<pid>/status`), bytes.
///
/// # Errors
/// When the process is gone or the file has no `VmRSS`.
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .context("no VmRSS")?;
    Ok(kib * 1024)
}
