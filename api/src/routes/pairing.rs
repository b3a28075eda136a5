//! Pairing a session with a phone: the current QR (JSON or PNG) and pairing codes.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use wagw_common::session::validate_phone_number;
use wagw_common::wire::{Command, PairingCode, PairingCodeV1, QrCode, SessionCommandV1};
use wagw_common::{Session, SessionStatus};

use crate::auth::ScopedSession;
use crate::error::ApiError;
use crate::extract::{AppJson, SessionPath};
use crate::request_id::ReqId;
use crate::state::AppState;
use crate::{commands, store};

fn refuse_if_paired(row: &Session) -> Result<(), ApiError> {
    if row.is_paired() {
        return Err(ApiError::failed_precondition(
            "the session is already paired; log it out to pair another number",
        ));
    }
    Ok(())
}

/// The QR drawn as a PNG image of at least 256×256 pixels.
#[derive(Debug, utoipa::ToSchema)]
#[schema(format = Binary, content_media_type = "image/png")]
pub struct QrPng(pub String);

#[utoipa::path(get, path = "/api/v1/sessions/{session}/qr", tag = "pairing",
    summary = "Get the pairing QR",
    description = "Returns the QR to scan with WhatsApp on the phone (*Linked devices → Link a device*) to attach its number to this session. Requires the `manage` capability (and `admin` for an admin session). **Async.** On an unpaired session that is not pairing yet, this begins QR pairing (the session turns `scan_qr_code`) and waits a few seconds at most for the first QR; while pairing is under way it returns the current QR at once. QR strings rotate and each carries its `expiresAt`: poll again when it passes (the `session.qr` event also announces each new one). When the phone scans it the session becomes `working` with `phoneNumber`, `waJid` and `waLid` set. Send `Accept: image/png` to get the QR drawn as a PNG instead, with its expiry in the `x-qr-expires-at` header. **Errors.** `failed_precondition` (409) — the session already has a number attached (log it out first to pair another). `not_found` (404) — no such session in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) / `deadline_exceeded` (504) — no worker answered, or no QR came in time. Returns **200** with the current QR.",
    params(crate::routes::openapi::SessionParam),
    responses(
        (status = 200, description = "The current QR: JSON by default, a PNG with `Accept: image/png`",
            headers(("x-qr-expires-at" = i64, description = "With `image/png`: when this QR expires (ms since the epoch)")),
            content(
                (QrCode = "application/json", example = json!(wagw_common::examples::qr_code())),
                (QrPng = "image/png"))),
        crate::routes::openapi::QrErrors))]
pub async fn get_qr(
    State(state): State<AppState>,
    ScopedSession {
        principal,
        located,
        path: SessionPath(id),
    }: ScopedSession<SessionPath>,
    ReqId(request_id): ReqId,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    principal.require_manage(&located.row)?;
    refuse_if_paired(&located.row)?;
    let current = if located.row.status == SessionStatus::ScanQrCode {
        store::current_qr(&state, &located.shard, &id).await?
    } else {
        None
    };
    let qr = match current {
        Some(qr) => qr,
        None => {
            let body = SessionCommandV1 {
                organization_id: principal.organization_id.clone(),
            };
            let reply = commands::send(
                &state,
                &located.shard,
                &id,
                &Command::QrV1(body),
                &request_id,
            )
            .await?;
            reply
                .qr
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("qr reply without a QR")))?
        }
    };
    if wants_png(&headers) {
        qr_png(&qr)
    } else {
        Ok(Json(qr).into_response())
    }
}

/// `Accept` names `image/png`.
fn wants_png(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|media| {
            media
                .split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("image/png"))
        })
}

/// The QR string drawn as a PNG, with its expiry in `x-qr-expires-at`.
fn qr_png(qr: &QrCode) -> Result<Response, ApiError> {
    let internal = |what: &str, err: &dyn std::fmt::Display| {
        ApiError::Internal(anyhow::anyhow!("{what}: {err}"))
    };
    let code =
        qrcode::QrCode::new(qr.qr.as_bytes()).map_err(|err| internal("encoding the QR", &err))?;
    let image = code
        .render::<image::Luma<u8>>()
        .min_dimensions(256, 256)
        .build();
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(image)
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|err| internal("drawing the QR", &err))?;
    let mut response = png.into_inner().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&qr.expires_at.to_string()) {
        headers.insert("x-qr-expires-at", value);
    }
    Ok(response)
}

/// `POST /sessions/{session}/pairing-code` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"phoneNumber": "6281234567890"}))]
pub struct PairingCodeBody {
    /// The number to attach: digits only, 8-15 of them, country code first, no `+`.
    #[schema(pattern = "^[1-9][0-9]{7,14}$")]
    pub phone_number: String,
}

#[utoipa::path(post, path = "/api/v1/sessions/{session}/pairing-code", tag = "pairing",
    summary = "Request a pairing code",
    description = "Asks WhatsApp for an 8-character pairing code (`XXXX-XXXX`) to type on the phone of `phoneNumber` (*Linked devices → Link with phone number*), as an alternative to scanning the QR. Requires the `manage` capability (and `admin` for an admin session). **Async.** The session turns `scan_qr_code` while the code is valid (until `expiresAt`); when the code is entered on the phone the session becomes `working` with the number attached — follow it on `GET /sessions/{session}` or the `session.paired` event. **Errors.** `invalid_argument` (400) — `phoneNumber` is not 8-15 digits, or the body is malformed. `failed_precondition` (409) — the session already has a number attached. `not_found` (404) — no such session in your organization. `unauthorized` (401) / `forbidden` (403) — credential / capability failures. `unavailable` (503) / `deadline_exceeded` (504) — no worker or WhatsApp answered in time. Returns **200** with the code.",
    params(crate::routes::openapi::SessionParam),
    request_body = PairingCodeBody,
    responses((status = 200, description = "The code to type on the phone", body = PairingCode,
        example = json!(wagw_common::examples::pairing_code())), crate::routes::openapi::PairingCodeErrors))]
pub async fn request_pairing_code(
    State(state): State<AppState>,
    ScopedSession {
        principal,
        located,
        path: SessionPath(id),
    }: ScopedSession<SessionPath>,
    ReqId(request_id): ReqId,
    body: Result<AppJson<PairingCodeBody>, ApiError>,
) -> Result<Json<PairingCode>, ApiError> {
    principal.require_manage(&located.row)?;
    let AppJson(body) = body?;
    validate_phone_number("phoneNumber", &body.phone_number)?;
    refuse_if_paired(&located.row)?;
    let organization_id = principal.organization_id.clone();
    let command = Command::PairingCodeV1(PairingCodeV1 {
        organization_id,
        phone_number: body.phone_number,
    });
    let reply = commands::send(&state, &located.shard, &id, &command, &request_id).await?;
    let code = reply
        .pairing_code
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("pairing_code reply without a code")))?;
    Ok(Json(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_is_chosen_only_when_asked_for() {
        let accept = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, HeaderValue::from_static(value));
            headers
        };
        assert!(wants_png(&accept("image/png")));
        assert!(wants_png(&accept("application/json, IMAGE/PNG;q=0.9")));
        assert!(!wants_png(&accept("application/json")));
        assert!(!wants_png(&HeaderMap::new()));
    }

    #[test]
    fn qr_strings_render_as_png() {
        let qr = QrCode {
            qr: "2@abc,def,ghi".into(),
            expires_at: 1,
            status: SessionStatus::ScanQrCode,
        };
        let response = qr_png(&qr).expect("renders");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "image/png");
        assert_eq!(response.headers()["x-qr-expires-at"], "1");
    }
}
