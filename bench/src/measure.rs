//! The measurements: when the leases of a dead or leaving worker's shards are held by someone
//! else (polling Redis lease keys), when its sessions connect again (the sim journal), and the
//! same-run baseline (raw NATS request-reply and raw Redis GET latency).

use anyhow::Context;
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use wagw_common::GatewayId;
use wagw_common::shard::ShardRef;
use wagw_tests::FleetApp;

/// How often the lease keys are read.
const LEASE_POLL: Duration = Duration::from_millis(5);

/// For each of `shards`, when (ms) its lease was first seen held by a worker other than
/// `leaver`.
///
/// # Errors
/// When Redis fails or some shard is not taken over before `deadline`.
pub async fn leases_taken(
    fleet: &FleetApp,
    leaver: &str,
    shards: &BTreeSet<u64>,
    deadline: Duration,
) -> anyhow::Result<BTreeMap<u64, i64>> {
    let gw = GatewayId::parse(&fleet.gateway)?;
    let keys: Vec<(u64, String)> = (shards.iter())
        .map(|shard| {
            let shard32 = u32::try_from(*shard).unwrap_or(u32::MAX);
            (
                *shard,
                fleet.app.keys.lease(&ShardRef::new(gw.clone(), shard32)),
            )
        })
        .collect();
    let mut redis = fleet.app.redis.clone();
    let until = Instant::now() + deadline;
    let mut taken = BTreeMap::new();
    while taken.len() < keys.len() {
        anyhow::ensure!(
            Instant::now() < until,
            "{} of {} leases not taken over within {deadline:?}",
            keys.len() - taken.len(),
            keys.len()
        );
        let names: Vec<&String> = keys.iter().map(|(_, key)| key).collect();
        let values: Vec<Option<String>> = tokio::time::timeout(
            Duration::from_secs(2),
            redis::cmd("MGET").arg(&names).query_async(&mut redis),
        )
        .await
        .context("MGET timed out")??;
        let now = wagw_common::time::now_ms();
        for ((shard, _), value) in keys.iter().zip(values) {
            let holder = value.as_deref().and_then(|v| v.split(' ').next());
            if holder.is_some_and(|holder| holder != leaver) {
                taken.entry(*shard).or_insert(now);
            }
        }
        tokio::time::sleep(LEASE_POLL).await;
    }
    Ok(taken)
}

/// Median and 99th percentile of `samples`, in ms.
pub fn p50_p99(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples.get(index).copied().unwrap_or(f64::NAN)
    };
    (at(0.5), at(0.99))
}

/// Same-run baseline latencies (ms): NATS request-reply round trip and Redis GET.
#[derive(Debug, Clone, Copy)]
pub struct Baseline {
    pub nats_p50: f64,
    pub nats_p99: f64,
    pub redis_p50: f64,
    pub redis_p99: f64,
}

/// Measures `rounds` sequential NATS request-replies against an echo responder and
/// `rounds` sequential Redis GETs.
///
/// # Errors
/// When NATS or Redis fail.
pub async fn baseline(fleet: &FleetApp, rounds: usize) -> anyhow::Result<Baseline> {
    let nats = &fleet.app.nats;
    let subject = format!("{}.bench.echo", fleet.app.subjects.root());
    let mut echo = nats.subscribe(subject.clone()).await?;
    let responder_client = nats.clone();
    let responder = tokio::spawn(async move {
        while let Some(message) = echo.next().await {
            if let Some(reply) = message.reply {
                let _ = responder_client.publish(reply, message.payload).await;
            }
        }
    });
    nats.flush().await?;
    let mut nats_samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let request = nats.request(subject.clone(), "ping".into());
        tokio::time::timeout(Duration::from_secs(2), request)
            .await
            .context("echo timed out")??;
        nats_samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    responder.abort();
    let mut redis = fleet.app.redis.clone();
    let key = format!("{}:bench:probe", fleet.app.keys.prefix());
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("x")
        .query_async(&mut redis)
        .await?;
    let mut redis_samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let mut get = redis::cmd("GET");
        get.arg(&key);
        let get = get.query_async::<Option<String>>(&mut redis);
        tokio::time::timeout(Duration::from_secs(2), get)
            .await
            .context("GET timed out")??;
        redis_samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let (nats_p50, nats_p99) = p50_p99(nats_samples);
    let (redis_p50, redis_p99) = p50_p99(redis_samples);
    Ok(Baseline {
        nats_p50,
        nats_p99,
        redis_p50,
        redis_p99,
    })
}
