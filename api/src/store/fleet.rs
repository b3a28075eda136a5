//! The live view of a gateway's fleet: its shard count and the workers that heartbeat in Redis.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wagw_common::GatewayId;

use super::shard_count;
use crate::error::ApiError;
use crate::state::AppState;

/// Sessions per status; every status is present, zero when none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusCounts {
    pub stopped: u64,
    pub starting: u64,
    pub scan_qr_code: u64,
    pub working: u64,
    pub failed: u64,
}

impl StatusCounts {
    fn add(&mut self, other: &BTreeMap<String, u64>) {
        for (status, count) in other {
            let slot = match status.as_str() {
                "stopped" => &mut self.stopped,
                "starting" => &mut self.starting,
                "scan_qr_code" => &mut self.scan_qr_code,
                "working" => &mut self.working,
                "failed" => &mut self.failed,
                _ => continue,
            };
            *slot = slot.saturating_add(*count);
        }
    }
}

/// What a worker says about itself in `keys.member_info`, read leniently.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MemberInfo {
    #[serde(default)]
    worker_id: Option<String>,
    #[serde(default)]
    driver: Option<String>,
    #[serde(default)]
    shards: Vec<u32>,
    #[serde(default)]
    sessions: BTreeMap<String, u64>,
    #[serde(default)]
    at: Option<i64>,
}

/// One live worker.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkerView {
    pub id: String,
    pub driver: Option<String>,
    /// Shards whose lease the worker holds.
    pub shards: Vec<u32>,
    pub sessions: StatusCounts,
    pub last_heartbeat_at: i64,
}

/// One gateway as `GET /gateways` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayView {
    #[schema(value_type = String, example = "gw-sg-1")]
    pub id: GatewayId,
    /// `null` until the gateway's first worker records it.
    pub shards: Option<u32>,
    pub workers: Vec<WorkerView>,
    /// Summed over the live workers.
    pub sessions: StatusCounts,
}

/// # Errors
/// Redis failures.
pub async fn gateway_view(state: &AppState, gw: &GatewayId) -> Result<GatewayView, ApiError> {
    let shards = shard_count(state, gw).await?;
    let mut redis = state.redis();
    let members: Vec<(String, f64)> = redis::cmd("ZRANGE")
        .arg(state.keys().members(gw))
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query_async(&mut redis)
        .await?;
    let mut view = GatewayView {
        id: gw.clone(),
        shards,
        workers: Vec::new(),
        sessions: StatusCounts::default(),
    };
    if members.is_empty() {
        return Ok(view);
    }
    let info_keys: Vec<String> = members
        .iter()
        .map(|(worker, _)| state.keys().member_info(gw, worker))
        .collect();
    let infos: Vec<Option<String>> = redis::cmd("MGET")
        .arg(info_keys)
        .query_async(&mut redis)
        .await?;
    for ((worker, score), info) in members.into_iter().zip(infos) {
        // Only members whose info key is still alive (it expires after ~3 heartbeats) count.
        let Some(info) = info.and_then(|json| serde_json::from_str::<MemberInfo>(&json).ok())
        else {
            continue;
        };
        let mut sessions = StatusCounts::default();
        sessions.add(&info.sessions);
        view.sessions.add(&info.sessions);
        view.workers.push(WorkerView {
            id: info.worker_id.unwrap_or(worker),
            driver: info.driver,
            shards: info.shards,
            sessions,
            // Scores are milliseconds, well inside f64's exact integer range.
            last_heartbeat_at: info.at.unwrap_or(score as i64),
        });
    }
    Ok(view)
}
