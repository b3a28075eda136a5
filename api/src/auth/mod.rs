//! Authentication and authorization: the `Authorization: Bearer` token becomes a [`Principal`]
//! (an organization, a subject, a set of capabilities), and handlers ask it for capabilities.

mod capability;
pub mod jwt;
mod scoped;

use std::collections::BTreeSet;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use wagw_common::{OrganizationId, Session};

pub use capability::{Capability, for_role};
pub use scoped::{ScopedSession, SessionIdPath};

use crate::api_keys;
use crate::error::ApiError;
use crate::state::AppState;

/// Which kind of credential authenticated the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    Jwt,
    ApiKey,
}

/// Who is calling, for which organization, with which capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub organization_id: OrganizationId,
    /// The JWT `sub`, or `apikey:<keyId>`; recorded as `createdByUserId`.
    pub subject: String,
    pub capabilities: BTreeSet<Capability>,
    pub kind: PrincipalKind,
}

impl Principal {
    pub fn has(&self, capability: Capability) -> bool {
        self.capabilities.contains(&capability)
    }

    /// # Errors
    /// `403 forbidden` naming the missing capability.
    pub fn require(&self, capability: Capability) -> Result<(), ApiError> {
        if self.has(capability) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this operation needs the `{capability}` capability"
            )))
        }
    }

    /// `manage`, plus `admin` when the session is an admin session.
    ///
    /// # Errors
    /// `403 forbidden`.
    pub fn require_manage(&self, session: &Session) -> Result<(), ApiError> {
        self.require(Capability::Manage)?;
        if session.is_admin_session {
            self.require(Capability::Admin)?;
        }
        Ok(())
    }

    /// `send`, plus `admin` when the session is an admin session.
    ///
    /// # Errors
    /// `403 forbidden`.
    pub fn require_send(&self, session: &Session) -> Result<(), ApiError> {
        self.require(Capability::Send)?;
        if session.is_admin_session {
            self.require(Capability::Admin)?;
        }
        Ok(())
    }
}

/// The token of `Bearer <token>`; the scheme is case-insensitive, the token one word.
pub fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    let ok = scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && token.len() <= 8192
        && token.bytes().all(|b| b.is_ascii_graphic());
    ok.then_some(token)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(state, bearer_token(parts)?).await
    }
}

/// The bearer token of a request.
///
/// # Errors
/// `401` when there is none, or it is malformed.
pub fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_bearer)
        .ok_or_else(ApiError::unauthorized)
}

/// The principal of a token: an API key (by its prefix) or a login JWT.
///
/// # Errors
/// `401` for a bad token; `503` when Redis (or the JWKS) cannot be reached.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    if token.starts_with(api_keys::KEY_PREFIX) {
        authenticate_api_key(state, token).await
    } else {
        authenticate_jwt(state, token).await
    }
}

async fn authenticate_api_key(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let mut redis = state.redis();
    let record = api_keys::find_by_secret(&mut redis, state.keys(), token).await?;
    Principal::of_api_key(record)
}

impl Principal {
    /// The principal of a live API key record (from [`api_keys::lookup`]).
    ///
    /// # Errors
    /// `401` when there is no live record.
    pub fn of_api_key(record: Option<api_keys::ApiKeyRecord>) -> Result<Self, ApiError> {
        let record = record.ok_or_else(|| {
            tracing::debug!(auth.kind = "api_key", "unknown, revoked or expired API key");
            ApiError::unauthorized()
        })?;
        Ok(Self {
            organization_id: record.organization_id,
            subject: format!("apikey:{}", record.id),
            capabilities: record
                .capabilities
                .into_iter()
                .filter(|c| c.grantable_to_api_key())
                .collect(),
            kind: PrincipalKind::ApiKey,
        })
    }
}

pub(crate) async fn authenticate_jwt(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    let refuse = |reason: &dyn std::fmt::Display| {
        tracing::debug!(auth.kind = "jwt", auth.reason = %reason, "JWT refused");
        ApiError::unauthorized()
    };
    let claims = state
        .jwt()
        .verify(token)
        .await
        .map_err(|err| refuse(&err))?;
    let organization_id = OrganizationId::parse(&claims.org_id).map_err(|err| refuse(&err))?;
    if claims.sub.is_empty() {
        return Err(refuse(&"empty sub"));
    }
    Ok(Principal {
        organization_id,
        subject: claims.sub,
        capabilities: claims.role.as_deref().map(for_role).unwrap_or_default(),
        kind: PrincipalKind::Jwt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_parsed_strictly() {
        assert_eq!(parse_bearer("Bearer abc.def.ghi"), Some("abc.def.ghi"));
        assert_eq!(parse_bearer("bearer wagw_x"), Some("wagw_x"));
        assert_eq!(parse_bearer("BEARER  tok "), Some("tok"));
        assert_eq!(parse_bearer("Basic dXNlcjpwYXNz"), None);
        assert_eq!(parse_bearer("Bearer"), None);
        assert_eq!(parse_bearer("Bearer "), None);
        assert_eq!(parse_bearer("Bearer two words"), None);
        assert_eq!(parse_bearer("tok"), None);
    }

    #[test]
    fn admin_sessions_need_admin_to_manage() {
        let principal = |caps: &[Capability]| Principal {
            organization_id: OrganizationId::parse("org_1").expect("valid"),
            subject: "user_1".into(),
            capabilities: caps.iter().copied().collect(),
            kind: PrincipalKind::Jwt,
        };
        let mut session: Session = serde_json::from_value(serde_json::json!({
            "id": "01J9ZX8K2QHV0M3T6R7P4N5W8C", "organizationId": "org_1", "gatewayId": "gw-a",
            "label": "x", "status": "stopped", "statusReason": null, "desiredState": "stopped",
            "phoneNumber": null, "waJid": null, "waLid": null, "autoRead": false,
            "presenceTyping": true, "ratePerMin": 20, "ratePerHour": 600,
            "isAdminSession": true, "createdByUserId": "u", "createdAt": 1, "updatedAt": 1,
            "lastConnectedAt": null
        }))
        .expect("a valid row");
        assert!(
            principal(&[Capability::Manage])
                .require_manage(&session)
                .is_err()
        );
        assert!(
            principal(&[Capability::Manage, Capability::Admin])
                .require_manage(&session)
                .is_ok()
        );
        session.is_admin_session = false;
        assert!(
            principal(&[Capability::Manage])
                .require_manage(&session)
                .is_ok()
        );
        assert!(
            principal(&[Capability::Read])
                .require_manage(&session)
                .is_err()
        );
    }
}
