//! [`ScopedSession`]: the caller and the session its request names, for every route under
//! `/sessions/{session}`. With an API key, the key's hash entry and the session's row are read
//! in one Redis pipeline, so authenticating and finding the session cost one round trip.
//!
//! Refusals keep the order of the contract: `401` (no or bad credential), then the path's own
//! `400` / `404` / `405`, then `404` for a session that is not the caller's organization's.
//! Capability checks (`403`) are the handler's, after it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use wagw_common::SessionId;

use super::{Principal, authenticate, authenticate_jwt, bearer_token};
use crate::api_keys::{self, lookup};
use crate::error::ApiError;
use crate::extract::{SessionActionPath, SessionPath};
use crate::state::AppState;
use crate::store::{self, Located};

/// A path extractor that names one session.
pub trait SessionIdPath: FromRequestParts<AppState, Rejection = ApiError> + Send {
    fn session_id(&self) -> SessionId;
}

impl SessionIdPath for SessionPath {
    fn session_id(&self) -> SessionId {
        self.0
    }
}

impl SessionIdPath for SessionActionPath {
    fn session_id(&self) -> SessionId {
        self.0
    }
}

/// The authenticated caller, the session of its organization that the path names, and the
/// path itself (`P`: `SessionPath` or `SessionActionPath`).
#[derive(Debug)]
pub struct ScopedSession<P> {
    pub principal: Principal,
    pub located: Located,
    pub path: P,
}

impl<P: SessionIdPath> FromRequestParts<AppState> for ScopedSession<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts)?.to_owned();
        let path = match P::from_request_parts(parts, state).await {
            Ok(path) => path,
            Err(path_error) => {
                // A bad credential is refused before a bad path.
                authenticate(state, &token).await?;
                return Err(path_error);
            }
        };
        let id = path.session_id();
        let (principal, located) = if token.starts_with(api_keys::KEY_PREFIX) {
            api_key_and_session(state, &token, &id).await?
        } else {
            let principal = authenticate_jwt(state, &token).await?;
            let located = store::find_session(state, &principal.organization_id, &id).await?;
            (principal, located)
        };
        Ok(Self {
            principal,
            located,
            path,
        })
    }
}

/// The API key's principal and the session, read in one pipeline. The rows are looked at only
/// once the key is known good, and only a row of the key's organization is ever returned.
async fn api_key_and_session(
    state: &AppState,
    token: &str,
    id: &SessionId,
) -> Result<(Principal, Located), ApiError> {
    let shards = store::candidate_shards(state, id).await?;
    let hash = api_keys::hash_secret(token);
    let mut pipe = redis::pipe();
    pipe.cmd("GET").arg(state.keys().api_key_by_hash(&hash));
    store::add_row_reads(&mut pipe, state, &shards, id);
    let mut redis = state.redis();
    let mut values: Vec<Option<String>> = pipe.query_async(&mut redis).await?;
    let rows = values.split_off(1.min(values.len()));
    let entry = lookup::HashEntry::parse(values.first().and_then(Option::as_deref));
    let record = lookup::resolve(&mut redis, state.keys(), &hash, entry).await?;
    let principal = Principal::of_api_key(record)?;
    let located = store::pick_located(shards, rows, &principal.organization_id, id)?;
    Ok((principal, located))
}
