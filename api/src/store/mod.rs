//! Redis reads of session state. The edge never writes a session: workers do, and the edge
//! reads the row back after their acknowledgement. The edge's own send bookkeeping (rate
//! limits, idempotency records) lives here too.

pub mod fleet;
pub mod idempotency;
pub mod listing;
pub mod rate_limit;

use wagw_common::shard::ShardRef;
use wagw_common::wire::QrCode;
use wagw_common::{GatewayId, OrganizationId, Session, SessionId};

use crate::error::ApiError;
use crate::state::AppState;

/// A session row and the shard it lives in.
#[derive(Debug, Clone)]
pub struct Located {
    pub row: Session,
    pub shard: ShardRef,
}

/// The gateway's shard count, read once and then cached; `None` while no worker recorded it.
///
/// # Errors
/// Redis failures.
pub async fn shard_count(state: &AppState, gw: &GatewayId) -> Result<Option<u32>, ApiError> {
    if let Some(count) = state.cached_shard_count(gw) {
        return Ok(Some(count));
    }
    let text: Option<String> = redis::cmd("GET")
        .arg(state.keys().shard_count(gw))
        .query_async(&mut state.redis())
        .await?;
    let count = text
        .and_then(|t| t.trim().parse::<u32>().ok())
        .filter(|n| *n > 0);
    if let Some(count) = count {
        state.remember_shard_count(gw, count);
    }
    Ok(count)
}

/// Reads and parses one row.
///
/// # Errors
/// Redis failures; an unreadable row is an internal error.
pub async fn read_row(
    state: &AppState,
    shard: &ShardRef,
    id: &SessionId,
) -> Result<Option<Session>, ApiError> {
    let json: Option<String> = redis::cmd("GET")
        .arg(state.keys().session(shard, id))
        .query_async(&mut state.redis())
        .await?;
    json.map(|json| parse_row(&json)).transpose()
}

/// # Errors
/// An internal error naming the problem, for the log.
pub fn parse_row(json: &str) -> Result<Session, ApiError> {
    serde_json::from_str(json)
        .map_err(|err| ApiError::Internal(anyhow::anyhow!("unreadable session row: {err}")))
}

/// Finds a session of `org` in any of the edge's gateways.
///
/// # Errors
/// `404` when absent or of another organization; Redis failures.
pub async fn find_session(
    state: &AppState,
    org: &OrganizationId,
    id: &SessionId,
) -> Result<Located, ApiError> {
    let shards = candidate_shards(state, id).await?;
    if shards.is_empty() {
        return Err(ApiError::session_not_found());
    }
    let mut pipe = redis::pipe();
    add_row_reads(&mut pipe, state, &shards, id);
    let rows: Vec<Option<String>> = pipe.query_async(&mut state.redis()).await?;
    pick_located(shards, rows, org, id)
}

/// The shard `id` would live in, in each of the edge's gateways whose shard count is known.
///
/// # Errors
/// Redis failures reading a shard count not cached yet.
pub async fn candidate_shards(state: &AppState, id: &SessionId) -> Result<Vec<ShardRef>, ApiError> {
    let mut shards = Vec::new();
    for gw in &state.config().gateways {
        if let Some(count) = shard_count(state, gw).await? {
            shards.push(ShardRef::of_session(gw, id, count));
        }
    }
    Ok(shards)
}

/// Adds a `GET` of `id`'s row in each of `shards` to `pipe`, in order.
pub fn add_row_reads(
    pipe: &mut redis::Pipeline,
    state: &AppState,
    shards: &[ShardRef],
    id: &SessionId,
) {
    for shard in shards {
        pipe.cmd("GET").arg(state.keys().session(shard, id));
    }
}

/// The row of `org` among `rows` (read from `shards`, in order).
///
/// # Errors
/// `404` when none is `org`'s; an unreadable row is an internal error.
pub fn pick_located(
    shards: Vec<ShardRef>,
    rows: Vec<Option<String>>,
    org: &OrganizationId,
    id: &SessionId,
) -> Result<Located, ApiError> {
    for (shard, json) in shards.into_iter().zip(rows) {
        let Some(json) = json else { continue };
        let row = parse_row(&json)?;
        if &row.organization_id == org && row.id == *id {
            return Ok(Located { row, shard });
        }
    }
    Err(ApiError::session_not_found())
}

/// Re-reads a row after a worker's acknowledgement.
///
/// # Errors
/// `404` when the row is gone (deleted meanwhile); Redis failures.
pub async fn reread(state: &AppState, located: &Located) -> Result<Session, ApiError> {
    read_row(state, &located.shard, &located.row.id)
        .await?
        .filter(|row| row.organization_id == located.row.organization_id)
        .ok_or_else(ApiError::session_not_found)
}

/// The current QR of a pairing under way, when it has not expired yet.
///
/// # Errors
/// Redis failures.
pub async fn current_qr(
    state: &AppState,
    shard: &ShardRef,
    id: &SessionId,
) -> Result<Option<QrCode>, ApiError> {
    let json: Option<String> = redis::cmd("GET")
        .arg(state.keys().pairing_qr(shard, id))
        .query_async(&mut state.redis())
        .await?;
    let now = wagw_common::time::now_ms();
    Ok(json
        .and_then(|json| serde_json::from_str::<QrCode>(&json).ok())
        .filter(|qr| qr.expires_at > now))
}
