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
#[schema(example = json!({"name": "order-notifier", "capabilities": ["read", "send"]}))]
pub struct CreateApiKeyBody {
    /// What the key is for, 1-100 characters, not blank.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// A non-empty subset of `read`, `manage`, `send`, `admin`.
    #[schema(value_type = Vec<Capability>)]
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
#[schema(example = crate::routes::openapi::examples::created_api_key)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub view: ApiKeyView,
    /// The secret `wagw_…` key; store it now, it is never shown again.
    pub key: String,
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys",
    summary = "Create an API key",
    description = "Creates an API key for a script or service of your organization, holding a fixed set of capabilities (any of `read`, `manage`, `send`, `admin`; never `keys`). Requires the `keys` capability, which only a login JWT of an `owner` or `admin` has: an API key cannot create keys. The secret `key` (`wagw_…`) is shown **only in this response**; only its SHA-256 is stored, so a lost key cannot be recovered — revoke it and create another. Without `expiresAt` the key never expires. Not idempotent: each call creates another key. **Errors.** `invalid_argument` (400) — `name`, `capabilities` or `expiresAt` is bad, named in `details.field`, or the body is malformed. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — Redis is unreachable. Returns **201** with the key and its secret.",
    request_body = CreateApiKeyBody,
    responses((status = 201, description = "The key and its secret, shown only here", body = CreatedApiKey,
        example = json!(super::openapi::examples::created_api_key())), super::openapi::CreateApiKeyErrors))]
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
#[schema(example = crate::routes::openapi::examples::api_key_list)]
pub struct ApiKeyList {
    pub api_keys: Vec<ApiKeyView>,
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys",
    summary = "List API keys",
    description = "Lists your organization's API keys, newest first, with their names, capabilities and expiry — never their secrets. Revoked keys are not listed. Requires the `keys` capability (login JWTs of an `owner` or `admin`). **Errors.** `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — Redis is unreachable. Returns **200** with the keys.",
    responses((status = 200, description = "The keys, newest first", body = ApiKeyList,
        example = json!(super::openapi::examples::api_key_list())), super::openapi::ListApiKeysErrors))]
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
    description = "Revokes the key: it stops working on the very next request, on every edge (a request using it is `401`). Requires the `keys` capability. **Destructive, not idempotent:** a revoked key is gone, so revoking it again is `404`. **Errors.** `invalid_argument` (400) — the id is not a ULID (pass the key's `id`, not its secret). `not_found` (404) — no such key in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — Redis is unreachable. Returns **204** with no body.",
    params(super::openapi::ApiKeyParam),
    responses((status = 204, description = "Revoked; no body"), super::openapi::RevokeApiKeyErrors))]
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
