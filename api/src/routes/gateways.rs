//! `GET /gateways`: a live view of the fleets this edge serves.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::auth::{Capability, Principal};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::fleet::{GatewayView, gateway_view};

/// `GET /gateways` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = crate::routes::openapi::examples::gateway_list)]
pub struct GatewayList {
    pub gateways: Vec<GatewayView>,
}

#[utoipa::path(get, path = "/api/v1/gateways", tag = "gateways",
    summary = "List gateways",
    description = "The live view of every gateway (worker fleet) this edge serves: its shard count (`null` until a worker registered it), its live workers (those whose heartbeat is fresh) with their driver, the shards they hold and their sessions per status, and the sessions per status summed over the workers. Requires the `read` capability. Counts cover the whole fleet, not only your organization. **Errors.** `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) — Redis is unreachable. Returns **200** with the gateways.",
    responses((status = 200, description = "The gateways this edge serves", body = GatewayList,
        example = json!(super::openapi::examples::gateway_list())), super::openapi::GatewaysErrors))]
pub async fn list_gateways(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<GatewayList>, ApiError> {
    principal.require(Capability::Read)?;
    let mut gateways = Vec::with_capacity(state.config().gateways.len());
    for gw in &state.config().gateways {
        gateways.push(gateway_view(&state, gw).await?);
    }
    Ok(Json(GatewayList { gateways }))
}
