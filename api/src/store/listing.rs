//! Listing an organization's sessions newest first across every shard of the chosen gateways.
//!
//! Each shard keeps a per-organization sorted set of session ids (score 0, so lexicographic
//! order = ULID order = creation order). A page is one `ZREVRANGEBYLEX` per shard, pipelined,
//! merged, cut to the page size; the rows are then read in one more pipeline.

use wagw_common::shard::ShardRef;
use wagw_common::{GatewayId, OrganizationId, Session, SessionId, SessionStatus};

use super::{parse_row, shard_count};
use crate::error::ApiError;
use crate::state::AppState;

/// What to list.
#[derive(Debug, Clone)]
pub struct ListRequest {
    pub org: OrganizationId,
    pub gateways: Vec<GatewayId>,
    /// Exclusive: the page starts after this id.
    pub after: Option<SessionId>,
    pub page_size: usize,
    /// Applied after the page is cut (AIP-158 allows short pages).
    pub status: Option<SessionStatus>,
}

/// One page, and where the next starts when more may exist.
#[derive(Debug, Clone)]
pub struct Page {
    pub sessions: Vec<Session>,
    pub next_after: Option<SessionId>,
}

/// # Errors
/// Redis failures; an unreadable row is an internal error.
pub async fn list_sessions(state: &AppState, request: &ListRequest) -> Result<Page, ApiError> {
    let mut shards = Vec::new();
    for gw in &request.gateways {
        if let Some(count) = shard_count(state, gw).await? {
            shards.extend((0..count).map(|shard| ShardRef::new(gw.clone(), shard)));
        }
    }
    if shards.is_empty() {
        return Ok(Page {
            sessions: Vec::new(),
            next_after: None,
        });
    }
    let max = request
        .after
        .map_or_else(|| "+".to_owned(), |after| format!("({after}"));
    let mut pipe = redis::pipe();
    for shard in &shards {
        pipe.cmd("ZREVRANGEBYLEX")
            .arg(state.keys().org_sessions(shard, &request.org))
            .arg(&max)
            .arg("-")
            .arg("LIMIT")
            .arg(0)
            .arg(request.page_size + 1);
    }
    let per_shard: Vec<Vec<String>> = pipe.query_async(&mut state.redis()).await?;
    let mut candidates: Vec<(SessionId, &ShardRef)> = shards
        .iter()
        .zip(per_shard)
        .flat_map(|(shard, ids)| {
            ids.into_iter()
                .filter_map(|id| SessionId::parse(&id).ok())
                .map(move |id| (id, shard))
        })
        .collect();
    candidates.sort_by_key(|candidate| std::cmp::Reverse(candidate.0));
    candidates.dedup_by(|a, b| a.0 == b.0);
    let more = candidates.len() > request.page_size;
    candidates.truncate(request.page_size);
    let next_after = if more {
        candidates.last().map(|(id, _)| *id)
    } else {
        None
    };
    let sessions = read_rows(state, &candidates).await?;
    let sessions = sessions
        .into_iter()
        .filter(|row| row.organization_id == request.org)
        .filter(|row| request.status.is_none_or(|status| row.status == status))
        .collect();
    Ok(Page {
        sessions,
        next_after,
    })
}

async fn read_rows(
    state: &AppState,
    ids: &[(SessionId, &ShardRef)],
) -> Result<Vec<Session>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for (id, shard) in ids {
        pipe.cmd("GET").arg(state.keys().session(shard, id));
    }
    let rows: Vec<Option<String>> = pipe.query_async(&mut state.redis()).await?;
    // A row deleted between the index read and now is simply skipped.
    rows.into_iter()
        .flatten()
        .map(|json| parse_row(&json))
        .collect()
}
