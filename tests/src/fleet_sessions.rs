//! Session helpers of [`FleetApp`] that scale to thousands: create and pair with bounded
//! concurrency, wait for a status across many sessions, find who owns a session, and wait for
//! the sim journal to show sessions connected again.

use crate::fleet_app::{FleetApp, ShardMap};
use crate::http::HttpResponse;
use crate::session_path;
use crate::simlog::LinkRecord;
use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use wagw_common::sim::SimAction;
use wagw_common::wire::Reply;
use wagw_common::{GatewayId, SessionId};

/// Requests in flight at once while creating or polling many sessions.
const CONCURRENCY: usize = 16;
/// How long a sim control may take to be answered.
const SIM_TIMEOUT: Duration = Duration::from_secs(5);

impl FleetApp {
    /// The shard of `session` in this fleet.
    pub fn shard_of(&self, session: &str) -> u64 {
        let id = SessionId::parse(session).unwrap_or_else(|_| panic!("{session:?} is no id"));
        u64::from(wagw_common::shard::shard_of(&id, self.options.shards))
    }

    /// The worker `map` says holds `session`'s shard.
    pub fn owner_in(&self, map: &ShardMap, session: &str) -> Option<String> {
        let shard = self.shard_of(session);
        (map.iter())
            .find(|(_, shards)| shards.contains(&shard))
            .map(|(worker, _)| worker.clone())
    }

    /// Creates `count` sessions (left `stopped`); returns their ids.
    ///
    /// # Errors
    /// When a creation is refused.
    pub async fn try_create_sessions(
        &self,
        count: usize,
        label: &str,
    ) -> anyhow::Result<Vec<String>> {
        futures::stream::iter(0..count)
            .map(|i| async move {
                let body = json!({"label": format!("{label}-{i}")});
                let (status, row, _) = self.app.post("/api/v1/sessions", &self.token, &body).await;
                anyhow::ensure!(status == 201, "create {i}: {status} {row}");
                row["id"]
                    .as_str()
                    .map(str::to_owned)
                    .context("row without id")
            })
            .buffered(CONCURRENCY)
            .try_collect()
            .await
    }

    /// Starts a QR pairing of `id` and has the simulated phone scan it with `phone`.
    ///
    /// # Errors
    /// When the QR or the sim control is refused or times out.
    pub async fn try_pair(&self, id: &str, phone: &str) -> anyhow::Result<()> {
        let (status, qr, _) = self.app.get(&session_path(id, "/qr"), &self.token).await;
        anyhow::ensure!(status == 200, "GET qr of {id}: {status} {qr}");
        let reply = self
            .sim(id, SimAction::Pair, json!({"phoneNumber": phone}))
            .await?;
        anyhow::ensure!(reply.ok, "sim pair of {id} refused: {reply:?}");
        Ok(())
    }

    /// Sends a sim control to the owner of `id`.
    ///
    /// # Errors
    /// When it is not answered in time or the answer is not a `Reply`.
    pub async fn sim(&self, id: &str, action: SimAction, body: Value) -> anyhow::Result<Reply> {
        let gw = GatewayId::parse(&self.gateway).context("gateway id")?;
        let session = SessionId::parse(id).context("session id")?;
        let subject = self.app.subjects.sim(&gw, &session, action);
        let payload = serde_json::to_vec(&body)?;
        let answer =
            tokio::time::timeout(SIM_TIMEOUT, self.app.nats.request(subject, payload.into()))
                .await
                .context("sim control not answered in time")??;
        Ok(serde_json::from_slice(&answer.payload)?)
    }

    /// `count` new sessions, each paired with its own number and `working`; returns their ids.
    ///
    /// # Errors
    /// When one cannot be created or paired, or they are not all working within `deadline`.
    pub async fn try_working_sessions(
        &self,
        count: usize,
        deadline: Duration,
    ) -> anyhow::Result<Vec<String>> {
        let ids = self.try_create_sessions(count, "working").await?;
        futures::stream::iter(ids.iter().enumerate())
            .map(|(i, id)| async move { self.try_pair(id, &format!("62811{i:07}")).await })
            .buffer_unordered(CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        self.wait_all_status(&ids, "working", deadline).await?;
        Ok(ids)
    }

    /// [`FleetApp::try_working_sessions`] with a 30 s deadline, panicking on failure.
    pub async fn working_sessions(&self, count: usize) -> Vec<String> {
        let made = self
            .try_working_sessions(count, Duration::from_secs(30))
            .await;
        made.unwrap_or_else(|error| panic!("working sessions: {error:#}"))
    }

    /// `count` new sessions left `stopped`, panicking on failure.
    pub async fn stopped_sessions(&self, count: usize) -> Vec<String> {
        let made = self.try_create_sessions(count, "stopped").await;
        made.unwrap_or_else(|error| panic!("stopped sessions: {error:#}"))
    }

    /// The status of every one of `ids` (`"?"` when the GET fails).
    pub async fn statuses(&self, ids: &[String]) -> BTreeMap<String, String> {
        futures::stream::iter(ids)
            .map(|id| async move {
                let (code, row, _) = self.app.get(&session_path(id, ""), &self.token).await;
                let status = match code == 200 {
                    true => row["status"].as_str().unwrap_or("?").to_owned(),
                    false => format!("? ({code})"),
                };
                (id.clone(), status)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await
    }

    /// Polls until every one of `ids` shows `status`.
    ///
    /// # Errors
    /// When some do not before `deadline`; the message lists them.
    pub async fn wait_all_status(
        &self,
        ids: &[String],
        status: &str,
        deadline: Duration,
    ) -> anyhow::Result<()> {
        let until = tokio::time::Instant::now() + deadline;
        let mut pending: Vec<String> = ids.to_vec();
        loop {
            let seen = self.statuses(&pending).await;
            pending.retain(|id| seen.get(id).is_none_or(|s| s != status));
            if pending.is_empty() {
                return Ok(());
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < until,
                "{} sessions not {status} within {deadline:?}: {:?}",
                pending.len(),
                seen.iter()
                    .filter(|(id, _)| pending.contains(id))
                    .take(10)
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls the sim journal until each of `ids` has a `connected` record at or after `since`
    /// (ms); returns the first such record of each.
    ///
    /// # Errors
    /// When some have none before `deadline`.
    pub async fn wait_connected_since(
        &self,
        ids: &[String],
        since: i64,
        deadline: Duration,
    ) -> anyhow::Result<BTreeMap<String, LinkRecord>> {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let wanted: BTreeSet<&String> = ids.iter().collect();
            let mut found: BTreeMap<String, LinkRecord> = BTreeMap::new();
            let records = self.simlog.records();
            for record in records.iter().filter(|r| r.opens() && r.at >= since) {
                if wanted.contains(&record.session_id)
                    && found
                        .get(&record.session_id)
                        .is_none_or(|f| f.at > record.at)
                {
                    found.insert(record.session_id.clone(), record.clone());
                }
            }
            if found.len() == ids.len() {
                return Ok(found);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < until,
                "{} of {} sessions not connected again within {deadline:?}, e.g. {:?}",
                ids.len() - found.len(),
                ids.len(),
                ids.iter().find(|id| !found.contains_key(*id))
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// `POST /sessions/{id}:<verb>` (`start`, `stop`, `restart`, ...).
    pub async fn command(&self, id: &str, verb: &str) -> HttpResponse {
        let path = session_path(id, &format!(":{verb}"));
        self.app.post_empty(&path, &self.token).await
    }

    /// Retries `:<verb>` on `id` until it answers 200, e.g. while the fleet heals.
    ///
    /// # Errors
    /// When it has not succeeded before `deadline`; the message has the last answer.
    pub async fn command_until_ok(
        &self,
        id: &str,
        verb: &str,
        deadline: Duration,
    ) -> anyhow::Result<Value> {
        let until = tokio::time::Instant::now() + deadline;
        loop {
            let (status, body, _) = self.command(id, verb).await;
            if status == 200 {
                return Ok(body);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < until,
                ":{verb} of {id} not 200 within {deadline:?}; last: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
