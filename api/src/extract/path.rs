//! Path extractors: `{session}` (a bare id or `<id>:<action>`) and `{key}`, with envelope errors.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use wagw_common::{ApiKeyId, ErrorBody, ErrorCode, SessionId, WebhookId};

use crate::error::ApiError;

/// The lifecycle operations that follow a session id after a colon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAction {
    Start,
    Stop,
    Restart,
    Logout,
}

impl SessionAction {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "start" => Some(Self::Start),
            "stop" => Some(Self::Stop),
            "restart" => Some(Self::Restart),
            "logout" => Some(Self::Logout),
            _ => None,
        }
    }
}

/// What the `{session}` path segment says: a bare id, or `<id>:<action>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionSegment {
    Bare(SessionId),
    Action(SessionId, SessionAction),
}

/// Splits and validates the segment.
///
/// # Errors
/// `404` for an unknown action (no such route), `400` naming `session` for a bad id.
pub fn parse_segment(segment: &str) -> Result<SessionSegment, ApiError> {
    let (id, action) = match segment.split_once(':') {
        Some((id, action)) => {
            let action =
                SessionAction::parse(action).ok_or_else(|| ApiError::not_found("no such route"))?;
            (id, Some(action))
        }
        None => (segment, None),
    };
    let id = SessionId::parse(id).map_err(|err| ApiError::invalid("session", err.to_string()))?;
    Ok(match action {
        Some(action) => SessionSegment::Action(id, action),
        None => SessionSegment::Bare(id),
    })
}

async fn one_segment(parts: &mut Parts) -> Result<String, ApiError> {
    let Path(segment) = Path::<String>::from_request_parts(parts, &())
        .await
        .map_err(|rejection| ApiError::invalid("path", rejection.body_text()))?;
    Ok(segment)
}

/// `{session}` as a bare id, for GET/PATCH/DELETE and the sub-resources.
#[derive(Debug, Clone, Copy)]
pub struct SessionPath(pub SessionId);

impl<S: Send + Sync> FromRequestParts<S> for SessionPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parse_segment(&one_segment(parts).await?)? {
            SessionSegment::Bare(id) => Ok(Self(id)),
            // `GET /sessions/{id}:start`: the path exists for POST only.
            SessionSegment::Action(..) => Err(method_not_allowed("POST")),
        }
    }
}

/// `{session}:{action}`, for `POST /sessions/{session}:start` and its siblings.
#[derive(Debug, Clone, Copy)]
pub struct SessionActionPath(pub SessionId, pub SessionAction);

impl<S: Send + Sync> FromRequestParts<S> for SessionActionPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parse_segment(&one_segment(parts).await?)? {
            SessionSegment::Action(id, action) => Ok(Self(id, action)),
            // `POST /sessions/{id}`: the bare path exists for GET, PATCH and DELETE.
            SessionSegment::Bare(_) => Err(method_not_allowed("GET,HEAD,PATCH,DELETE")),
        }
    }
}

/// A 405 for a path whose methods differ from the router's view of it.
fn method_not_allowed(allow: &'static str) -> ApiError {
    ApiError::Body(
        ErrorBody::new(
            ErrorCode::MethodNotAllowed,
            "method not allowed on this path",
        )
        .with_detail("allow", allow),
    )
}

/// `{key}`: an API key id.
#[derive(Debug, Clone, Copy)]
pub struct ApiKeyPath(pub ApiKeyId);

impl<S: Send + Sync> FromRequestParts<S> for ApiKeyPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let segment = one_segment(parts).await?;
        ApiKeyId::parse(&segment)
            .map(Self)
            .map_err(|err| ApiError::invalid("key", err.to_string()))
    }
}

/// `{webhook}`: a webhook id.
#[derive(Debug, Clone, Copy)]
pub struct WebhookPath(pub WebhookId);

impl<S: Send + Sync> FromRequestParts<S> for WebhookPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let segment = one_segment(parts).await?;
        parse_webhook(&segment).map(Self)
    }
}

fn parse_webhook(text: &str) -> Result<WebhookId, ApiError> {
    WebhookId::parse(text).map_err(|err| ApiError::invalid("webhook", err.to_string()))
}

/// `{webhook}` and `{event}:redeliver`, for `POST /webhooks/{webhook}/dead-letters/{event}:redeliver`.
#[derive(Debug, Clone)]
pub struct RedeliverPath(pub WebhookId, pub String);

impl<S: Send + Sync> FromRequestParts<S> for RedeliverPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Path((webhook, segment)) = Path::<(String, String)>::from_request_parts(parts, &())
            .await
            .map_err(|rejection| ApiError::invalid("path", rejection.body_text()))?;
        let webhook = parse_webhook(&webhook)?;
        let event = parse_redeliver_segment(&segment)?;
        Ok(Self(webhook, event))
    }
}

/// `<eventId>:redeliver` → the event id; any other action (or none) is no route.
///
/// # Errors
/// `404` without the `:redeliver` action, `400` naming `event` for an id that is not a ULID.
pub fn parse_redeliver_segment(segment: &str) -> Result<String, ApiError> {
    let Some(("redeliver", id)) = segment.rsplit_once(':').map(|(id, action)| (action, id)) else {
        return Err(ApiError::not_found("no such route"));
    };
    let canonical = ulid::Ulid::from_string(id)
        .ok()
        .map(|ulid| ulid.to_string())
        .filter(|canonical| canonical == id);
    canonical.ok_or_else(|| ApiError::invalid("event", "event must be an event id (a ULID)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_split_on_the_colon() {
        let id = SessionId::generate();
        assert_eq!(
            parse_segment(&id.to_string()).ok(),
            Some(SessionSegment::Bare(id))
        );
        assert_eq!(
            parse_segment(&format!("{id}:restart")).ok(),
            Some(SessionSegment::Action(id, SessionAction::Restart))
        );
        let status = |text: &str| match parse_segment(text) {
            Err(ApiError::Body(body)) => body.code,
            other => panic!("expected an error, got {other:?}"),
        };
        assert_eq!(status(&format!("{id}:explode")), ErrorCode::NotFound);
        assert_eq!(status("not-a-ulid"), ErrorCode::InvalidArgument);
        assert_eq!(status("not-a-ulid:start"), ErrorCode::InvalidArgument);
    }

    #[test]
    fn redeliver_segments_need_the_action_and_a_ulid() {
        let id = ulid::Ulid::generate().to_string();
        assert_eq!(
            parse_redeliver_segment(&format!("{id}:redeliver")).ok(),
            Some(id.clone())
        );
        let code = |text: &str| match parse_redeliver_segment(text) {
            Err(ApiError::Body(body)) => body.code,
            other => panic!("expected an error, got {other:?}"),
        };
        assert_eq!(code(&id), ErrorCode::NotFound);
        assert_eq!(code(&format!("{id}:retry")), ErrorCode::NotFound);
        assert_eq!(code("nope:redeliver"), ErrorCode::InvalidArgument);
        assert_eq!(
            code(&format!("{}:redeliver", id.to_lowercase())),
            ErrorCode::InvalidArgument
        );
    }
}
