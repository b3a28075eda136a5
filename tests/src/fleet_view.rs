//! What the fleet looks like and how it is shaken: the shard map of `GET /gateways`, waiting for
//! it to settle (every shard held once, or exactly the rendezvous assignment), and restarting
//! nats-server or redis-server on their own ports under a running [`FleetApp`].

use crate::fleet::{gateway_entry, worker_id, worker_shards};
use crate::fleet_app::{FleetApp, ShardMap};
use std::collections::BTreeSet;
use std::time::Duration;

impl FleetApp {
    /// Kills and restarts nats-server on its port (the outage lasts `down`).
    ///
    /// # Panics
    /// When it does not come back.
    pub async fn restart_nats(&mut self, down: Duration) {
        self.app.nats_server.kill();
        tokio::time::sleep(down).await;
        let restarted = tokio::task::block_in_place(|| self.app.nats_server.restart());
        restarted.unwrap_or_else(|error| panic!("nats-server did not come back: {error:#}"));
    }

    /// Kills and restarts redis-server on its port (the outage lasts `down`).
    ///
    /// # Panics
    /// When it does not come back.
    pub async fn restart_redis(&mut self, down: Duration) {
        self.app.redis_server.kill();
        tokio::time::sleep(down).await;
        let restarted = tokio::task::block_in_place(|| self.app.redis_server.restart());
        restarted.unwrap_or_else(|error| panic!("redis-server did not come back: {error:#}"));
    }

    /// Which shards each worker holds, per `GET /gateways` (empty when it fails).
    pub async fn shard_map(&self) -> ShardMap {
        let (status, body, _) = self.app.get("/api/v1/gateways", &self.token).await;
        let workers = (status == 200)
            .then(|| gateway_entry(&body, &self.gateway))
            .flatten()
            .and_then(|gw| gw["workers"].as_array().cloned())
            .unwrap_or_default();
        (workers.iter())
            .filter_map(|w| Some((worker_id(w)?.to_owned(), worker_shards(w))))
            .collect()
    }

    /// Polls `GET /gateways` until exactly the running workers are listed and together hold
    /// every shard, each shard once; returns that map.
    ///
    /// # Errors
    /// When that does not happen before `deadline`.
    pub async fn wait_for_fleet(&mut self, deadline: Duration) -> anyhow::Result<ShardMap> {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let live: BTreeSet<String> = self.live_ids().into_iter().collect();
            let map = self.shard_map().await;
            let held: Vec<u64> = map.values().flatten().copied().collect();
            let all: BTreeSet<u64> = (0..u64::from(self.options.shards)).collect();
            let listed: BTreeSet<String> = map.keys().cloned().collect();
            if listed == live && held.len() == all.len() && all.iter().all(|s| held.contains(s)) {
                return Ok(map);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < until,
                "fleet not settled within {deadline:?}: running {live:?}, /gateways {map:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls `GET /gateways` until the running workers hold exactly the shards rendezvous
    /// hashing gives them ([`rendezvous_assignment`]); returns that map.
    ///
    /// # Errors
    /// When that does not happen before `deadline`.
    pub async fn wait_for_rendezvous(&mut self, deadline: Duration) -> anyhow::Result<ShardMap> {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let want = rendezvous_assignment(&self.live_ids(), self.options.shards);
            let map = self.shard_map().await;
            if map == want {
                return Ok(map);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < until,
                "shards not assigned by rendezvous within {deadline:?}: want {want:?}, /gateways {map:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The owner of each shard by rendezvous hashing over `members`
/// (`wagw_common::shard::rendezvous_weight`, highest wins), as a [`ShardMap`] in which every
/// member appears, even with no shard.
pub fn rendezvous_assignment(members: &[String], shards: u32) -> ShardMap {
    let mut map: ShardMap = members
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    for shard in 0..shards {
        let owner = (members.iter()).max_by_key(|m| {
            (
                wagw_common::shard::rendezvous_weight(m, shard),
                (*m).clone(),
            )
        });
        if let Some(owner) = owner {
            map.entry(owner.clone())
                .or_default()
                .insert(u64::from(shard));
        }
    }
    map
}
