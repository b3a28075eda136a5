//! The edge's only error type, its only `IntoResponse`, and the middleware that logs server
//! errors once and wraps any stray error response in the JSON envelope.
//!
//! Which variant to use:
//! - a client mistake or a worker's refusal: [`ApiError::Body`], built with the constructors
//!   (`invalid`, `not_found`, `forbidden`, ...) or `?` on a `FieldError` / `ErrorBody`;
//! - Redis, NATS or "no worker" failures: the infrastructure variants, converted with `?`
//!   (their HTTP meaning is decided here and nowhere else);
//! - anything else that should not happen: [`ApiError::Internal`] via `anyhow` with context.
//!
//! 5xx bodies are opaque; the detail goes to the log under the request's span.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use wagw_common::error::FieldError;
use wagw_common::{ErrorBody, ErrorCode, GatewayId};

/// Every way a request can fail at the edge.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A body safe to show as is: a client mistake, a capability check, a worker's refusal.
    #[error("{0}")]
    Body(ErrorBody),
    /// Nobody answered on the gateway's command subjects for the whole command timeout.
    #[error("no worker is serving gateway {0}")]
    NoWorker(GatewayId),
    /// The gateway has never recorded its shard count: no worker ever started for it.
    #[error("no worker has registered gateway {0} yet")]
    GatewayUnregistered(GatewayId),
    /// A worker took the command but did not acknowledge it in time.
    #[error("the worker did not acknowledge {subject} within the command timeout")]
    CommandTimeout { subject: String },
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("nats request: {0}")]
    Nats(#[from] async_nats::RequestError),
    /// The send stream did not acknowledge a job within the command timeout.
    #[error("send stream: {0}")]
    SendStream(#[from] async_nats::jetstream::context::PublishError),
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl ApiError {
    /// `400 invalid_argument` naming `field` in `details.field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Body(ErrorBody::invalid_field(field, message))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::Body(ErrorBody::new(ErrorCode::NotFound, message))
    }

    /// The same answer whether the session is absent or belongs to another organization.
    pub fn session_not_found() -> Self {
        Self::Body(ErrorBody::session_not_found())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Body(ErrorBody::new(ErrorCode::Forbidden, message))
    }

    /// Never says which check failed.
    pub fn unauthorized() -> Self {
        Self::Body(ErrorBody::new(
            ErrorCode::Unauthorized,
            "missing or invalid credential",
        ))
    }

    pub fn failed_precondition(message: impl Into<String>) -> Self {
        Self::Body(ErrorBody::new(ErrorCode::FailedPrecondition, message))
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::Body(ErrorBody::new(ErrorCode::Unavailable, message))
    }

    /// `429 rate_limited`: `details.retryAfterMs` and `details.window`, and a `Retry-After`
    /// header in whole seconds (rounded up, at least 1) added by [`envelope`].
    pub fn rate_limited(retry_after_ms: u64, window: &str) -> Self {
        let per = if window == "hour" {
            "ratePerHour"
        } else {
            "ratePerMin"
        };
        Self::Body(
            ErrorBody::new(
                ErrorCode::RateLimited,
                format!("the session's {per} limit is reached; retry after {retry_after_ms} ms"),
            )
            .with_detail("retryAfterMs", retry_after_ms)
            .with_detail("window", window),
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::Body(ErrorBody::new(
            ErrorCode::MethodNotAllowed,
            "method not allowed on this path",
        ))
    }

    /// The public code and body; server-side detail stays out of it.
    fn public_body(&self) -> ErrorBody {
        match self {
            Self::Body(body) if body.code == ErrorCode::Internal => {
                ErrorBody::new(ErrorCode::Internal, "internal error")
            }
            Self::Body(body) => body.clone(),
            Self::NoWorker(_) | Self::GatewayUnregistered(_) => {
                ErrorBody::new(ErrorCode::Unavailable, self.to_string())
            }
            Self::CommandTimeout { .. } => ErrorBody::new(
                ErrorCode::DeadlineExceeded,
                "the worker did not acknowledge the command in time",
            ),
            Self::Redis(err) if is_redis_outage(err) => {
                ErrorBody::new(ErrorCode::Unavailable, "storage unavailable")
            }
            Self::Nats(err) => match err.kind() {
                async_nats::RequestErrorKind::NoResponders => {
                    ErrorBody::new(ErrorCode::Unavailable, "no worker answered")
                }
                async_nats::RequestErrorKind::TimedOut => ErrorBody::new(
                    ErrorCode::DeadlineExceeded,
                    "the worker did not acknowledge the command in time",
                ),
                async_nats::RequestErrorKind::Other => {
                    ErrorBody::new(ErrorCode::Unavailable, "message bus unavailable")
                }
                _ => ErrorBody::new(ErrorCode::Internal, "internal error"),
            },
            Self::SendStream(_) => ErrorBody::new(
                ErrorCode::Unavailable,
                "the message could not be queued; retry",
            ),
            Self::Redis(_) | Self::Internal(_) => {
                ErrorBody::new(ErrorCode::Internal, "internal error")
            }
        }
    }
}

/// Connection-level Redis failures mean "unavailable"; anything else is a bug.
fn is_redis_outage(err: &redis::RedisError) -> bool {
    err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_unrecoverable_error()
}

/// Startup-style helpers return `anyhow`; a Redis failure inside keeps its 503 meaning.
impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        if err.downcast_ref::<redis::RedisError>().is_some() {
            match err.downcast::<redis::RedisError>() {
                Ok(redis) => Self::Redis(redis),
                Err(err) => Self::Internal(err),
            }
        } else {
            Self::Internal(err)
        }
    }
}

impl From<ErrorBody> for ApiError {
    fn from(body: ErrorBody) -> Self {
        Self::Body(body)
    }
}

impl From<FieldError> for ApiError {
    fn from(err: FieldError) -> Self {
        Self::Body(err.into())
    }
}

/// Marks a response whose body already is the envelope.
#[derive(Debug, Clone, Copy)]
struct Enveloped;

/// A server-side failure's detail, carried to the logging middleware in the extensions.
#[derive(Debug, Clone)]
struct ErrorDetail(String);

/// The envelope `{"error": {...}}` with the status of its code.
pub fn envelope(body: &ErrorBody) -> Response {
    let status =
        StatusCode::from_u16(body.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut body = body.clone();
    let allow = match body.details.remove("allow") {
        Some(serde_json::Value::String(allow)) => HeaderValue::from_str(&allow).ok(),
        _ => None,
    };
    let mut response = (status, axum::Json(json!({ "error": body }))).into_response();
    response.extensions_mut().insert(Enveloped);
    if let Some(allow) = allow {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    if let Some(retry_after) = retry_after_header(&body) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after);
    }
    if body.code == ErrorCode::Unauthorized {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// `Retry-After` of a `rate_limited` body: `details.retryAfterMs` in whole seconds, rounded up,
/// at least 1, so a client that waits that long is not refused again for waiting too little.
fn retry_after_header(body: &ErrorBody) -> Option<HeaderValue> {
    if body.code != ErrorCode::RateLimited {
        return None;
    }
    let ms = body.details.get("retryAfterMs")?.as_u64()?;
    Some(HeaderValue::from(ms.div_ceil(1000).max(1)))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.public_body();
        let mut response = envelope(&body);
        if response.status().is_server_error() {
            response
                .extensions_mut()
                .insert(ErrorDetail(format!("{:#}", anyhow_chain(&self))));
        }
        response
    }
}

/// The error and its sources on one line, for the log.
fn anyhow_chain(err: &ApiError) -> String {
    match err {
        ApiError::Internal(inner) => format!("{inner:#}"),
        ApiError::Body(body) => format!("{body} {:?}", body.details),
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
    }
}

/// The code an error status stands for, for responses that did not come from [`ApiError`].
pub fn code_for_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        409 => ErrorCode::FailedPrecondition,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        429 => ErrorCode::RateLimited,
        408 | 504 => ErrorCode::DeadlineExceeded,
        503 => ErrorCode::Unavailable,
        400..=499 => ErrorCode::InvalidArgument,
        _ => ErrorCode::Internal,
    }
}

/// Logs a server error once, under the request span, and wraps any error response that is not
/// the envelope yet (a tower layer's timeout, a framework rejection) into it.
pub async fn finish_errors(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let status = response.status();
    if let Some(ErrorDetail(detail)) = response.extensions_mut().remove::<ErrorDetail>() {
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(http.status = status.as_u16(), error.detail = %detail, "request failed");
        } else {
            tracing::warn!(http.status = status.as_u16(), error.detail = %detail, "request failed");
        }
    }
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<Enveloped>().is_some()
    {
        return response;
    }
    let code = code_for_status(status);
    if status.is_server_error() {
        tracing::warn!(
            http.status = status.as_u16(),
            "request failed outside a handler"
        );
    }
    let message = match code {
        ErrorCode::NotFound => "no such route",
        ErrorCode::MethodNotAllowed => "method not allowed on this path",
        ErrorCode::PayloadTooLarge => "request body is larger than 1 MiB",
        ErrorCode::UnsupportedMediaType => "request body must be application/json",
        ErrorCode::DeadlineExceeded => "the request took too long",
        ErrorCode::Internal => "internal error",
        _ => status.canonical_reason().unwrap_or("request failed"),
    };
    let replacement = envelope(&ErrorBody::new(code, message));
    let (mut parts, _) = response.into_parts();
    let (new_parts, new_body) = replacement.into_parts();
    parts.status = new_parts.status;
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &new_parts.headers {
        parts.headers.insert(name.clone(), value.clone());
    }
    parts.extensions.insert(Enveloped);
    Response::from_parts(parts, Body::new(new_body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_are_opaque() {
        let err = ApiError::Internal(anyhow::anyhow!("secret detail"));
        let body = err.public_body();
        assert_eq!(body.code, ErrorCode::Internal);
        assert_eq!(body.message, "internal error");
        let refused = ApiError::Body(ErrorBody::new(ErrorCode::Internal, "stack trace"));
        assert_eq!(refused.public_body().message, "internal error");
    }

    #[test]
    fn statuses_map_to_contract_codes() {
        assert_eq!(code_for_status(StatusCode::NOT_FOUND), ErrorCode::NotFound);
        assert_eq!(
            code_for_status(StatusCode::UNPROCESSABLE_ENTITY),
            ErrorCode::InvalidArgument
        );
        assert_eq!(
            code_for_status(StatusCode::REQUEST_TIMEOUT),
            ErrorCode::DeadlineExceeded
        );
        assert_eq!(
            code_for_status(StatusCode::BAD_GATEWAY),
            ErrorCode::Internal
        );
    }

    #[test]
    fn rate_limited_carries_retry_after_in_whole_seconds() {
        let response = ApiError::rate_limited(20_001, "minute").into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "21");
        for (ms, secs) in [(1, "1"), (1_000, "1"), (1_001, "2")] {
            let response = ApiError::rate_limited(ms, "hour").into_response();
            assert_eq!(response.headers()[header::RETRY_AFTER], secs, "{ms} ms");
        }
        let body = ApiError::rate_limited(1, "hour").public_body();
        assert_eq!(body.details["retryAfterMs"], 1);
        assert_eq!(body.details["window"], "hour");
        assert!(body.message.contains("ratePerHour"), "{}", body.message);
    }

    #[test]
    fn no_worker_is_503_with_the_gateway_named() {
        let gw = GatewayId::parse("gw-a").expect("valid");
        let body = ApiError::NoWorker(gw).public_body();
        assert_eq!(body.code, ErrorCode::Unavailable);
        assert_eq!(body.message, "no worker is serving gateway gw-a");
    }
}
