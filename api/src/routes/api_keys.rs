//! The organization's API keys: create (the secret is shown once), list, revoke.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::api_keys::{self, ApiKeyView};
use crate::auth::{Capability, Principal};
use crate::error::ApiError;
use crate::extract::{ApiKeyPath, AppJson};
use crate::state::AppState;

const NAME_MAX_CHARS: usize = 100;

/// `POST /api-keys` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateApiKeyBody {
    /// 1-100 characters.
    pub name: String,
    /// A non-empty subset of `read`, `manage`, `send`, `admin`.
    pub capabilities: Vec<String>,
    /// Milliseconds since the epoch, in the future; absent = never expires.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

impl CreateApiKeyBody {
    fn validated_capabilities(&self) -> Result<Vec<Capability>, ApiError> {
        let bad = || {
            ApiError::invalid(
                "capabilities",
                "capabilities must be a non-empty subset of read, manage, send, admin",
            )
        };
        if self.capabilities.is_empty() {
            return Err(bad());
        }
        self.capabilities
            .iter()
            .map(|text| {
                Capability::parse(text)
                    .filter(|c| c.grantable_to_api_key())
                    .ok_or_else(bad)
            })
            .collect()
    }

    fn validate(&self) -> Result<Vec<Capability>, ApiError> {
        let chars = self.name.chars().count();
        if self.name.trim().is_empty() || chars > NAME_MAX_CHARS {
            return Err(ApiError::invalid(
                "name",
                "name must be 1-100 characters and not blank",
            ));
        }
        let capabilities = self.validated_capabilities()?;
        if self
            .expires_at
            .is_some_and(|at| at <= wagw_common::time::now_ms())
        {
            return Err(ApiError::invalid(
                "expiresAt",
                "expiresAt must be in the future",
            ));
        }
        Ok(capabilities)
    }
}

/// A new key: its view plus the secret, shown only in this response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub view: ApiKeyView,
    /// The secret `wagw_…` key; store it now, it is never shown again.
    pub key: String,
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys",
    summary = "Create an API key",
    description = "Creates an API key for scripts and services, holding a fixed set of capabilities (any of `read`, `manage`, `send`, `admin`). Requires `keys` (JWT principals only). The secret `key` is shown only in this response; only its SHA-256 is stored.",
    request_body = CreateApiKeyBody,
    responses((status = 201, description = "The key and its secret", body = CreatedApiKey), super::openapi::Errors))]
pub async fn create_api_key(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<AppJson<CreateApiKeyBody>, ApiError>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    principal.require(Capability::Keys)?;
    let AppJson(body) = body?;
    let capabilities = body.validate()?;
    let (view, key) = api_keys::create_api_key(
        &mut state.redis(),
        state.keys(),
        &principal.organization_id,
        body.name.trim(),
        &capabilities,
        body.expires_at,
        &principal.subject,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(CreatedApiKey { view, key })))
}

/// `GET /api-keys` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyList {
    pub api_keys: Vec<ApiKeyView>,
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys",
    summary = "List API keys",
    description = "Lists the organization's API keys, newest first, without their secrets. Requires `keys`.",
    responses((status = 200, description = "The keys", body = ApiKeyList), super::openapi::Errors))]
pub async fn list_api_keys(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<ApiKeyList>, ApiError> {
    principal.require(Capability::Keys)?;
    let api_keys =
        api_keys::list_api_keys(&mut state.redis(), state.keys(), &principal.organization_id)
            .await?;
    Ok(Json(ApiKeyList { api_keys }))
}

#[utoipa::path(delete, path = "/api/v1/api-keys/{key}", tag = "api-keys",
    summary = "Revoke an API key",
    description = "Revokes the key: it stops working on the very next request. Requires `keys`. A key of another organization is `not_found`.",
    params(("key" = String, Path, description = "The key's id (a ULID), not its secret")),
    responses((status = 204, description = "Revoked"), super::openapi::Errors))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiKeyPath(id): ApiKeyPath,
) -> Result<StatusCode, ApiError> {
    let mut redis = state.redis();
    let org = &principal.organization_id;
    let not_found = || ApiError::not_found("API key not found");
    api_keys::get_api_key(&mut redis, state.keys(), org, &id)
        .await?
        .ok_or_else(not_found)?;
    principal.require(Capability::Keys)?;
    if !api_keys::revoke_api_key(&mut redis, state.keys(), org, &id).await? {
        return Err(not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}
