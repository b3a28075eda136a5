//! The bodies of `POST /webhooks` and `PATCH /webhooks/{webhook}` and their validation: `url`
//! absolute `http`/`https` of at most 2048 characters (private addresses allowed), `events` a
//! non-empty list of known types without duplicates, `sessionId` a session of the caller's
//! organization.

use serde::{Deserialize, Deserializer};
use wagw_common::webhooks::{URL_MAX_CHARS, event_filter_ok};
use wagw_common::{ErrorCode, SessionId};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store;

/// `POST /webhooks` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"url": "https://example.com/hooks/wagw", "events": ["session.status", "message.received"]}))]
pub struct CreateWebhookBody {
    /// Absolute `http` or `https` URL, at most 2048 characters.
    pub url: String,
    /// Event types to deliver; absent or `null` = every type, including types added later.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Only this session's events; absent or `null` = every session of the organization.
    #[serde(default)]
    pub session_id: Option<String>,
}

/// `PATCH /webhooks/{webhook}` body: any of the fields; `null` resets `events` to every type
/// and clears `sessionId`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"sessionId": null, "events": ["message.received"]}))]
pub struct UpdateWebhookBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub url: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub events: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub session_id: Option<Option<String>>,
}

/// A field that is present (`Some`), possibly `null` (`Some(None)`); absent stays `None`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A usable `url`, as given.
///
/// # Errors
/// `400 invalid_argument` naming `url`.
pub fn validate_url(text: &str) -> Result<String, ApiError> {
    let bad = |why: &str| ApiError::invalid("url", format!("url {why}"));
    if text.chars().count() > URL_MAX_CHARS {
        return Err(bad("must be at most 2048 characters"));
    }
    let parsed = reqwest::Url::parse(text).map_err(|_| bad("must be an absolute URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("must use http or https"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("must name a host"));
    }
    Ok(text.to_owned())
}

/// A valid `events` filter (`None` = every type).
///
/// # Errors
/// `400 invalid_argument` naming `events`.
pub fn validate_events(events: Option<Vec<String>>) -> Result<Option<Vec<String>>, ApiError> {
    if let Some(list) = &events {
        event_filter_ok(list).map_err(|err| ApiError::invalid("events", err.to_string()))?;
    }
    Ok(events)
}

/// A `sessionId` that names a session of the caller's organization.
///
/// # Errors
/// `400 invalid_argument` naming `sessionId`; Redis failures.
pub async fn validate_session(
    state: &AppState,
    principal: &Principal,
    session: Option<String>,
) -> Result<Option<SessionId>, ApiError> {
    let Some(text) = session else {
        return Ok(None);
    };
    let not_ours = || {
        ApiError::invalid(
            "sessionId",
            "sessionId is not a session of your organization",
        )
    };
    let id = SessionId::parse(&text).map_err(|_| not_ours())?;
    match store::find_session(state, &principal.organization_id, &id).await {
        Ok(_) => Ok(Some(id)),
        Err(ApiError::Body(body)) if body.code == ErrorCode::NotFound => Err(not_ours()),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_absolute_http_within_the_limit() {
        for good in [
            "https://example.com/hook",
            "http://10.0.0.7:8080/x?y=1",
            "http://localhost/",
        ] {
            assert!(validate_url(good).is_ok(), "{good}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2048));
        for bad in [
            "/relative",
            "ftp://example.com/",
            "example.com",
            "",
            &long,
            "http://",
        ] {
            assert!(validate_url(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn patch_bodies_tell_null_from_absent() {
        let body: UpdateWebhookBody =
            serde_json::from_str(r#"{"sessionId": null}"#).expect("parses");
        assert_eq!(body.session_id, Some(None));
        assert_eq!(body.events, None);
    }
}
