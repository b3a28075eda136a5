//! The API's error codes and the body of every error, on HTTP and on NATS replies alike.
//!
//! Workers answer a refused command with an [`ErrorBody`]; the edge turns the same body into
//! the HTTP envelope `{"error": {...}}` with the status of its [`ErrorCode`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Machine-readable error code, as listed in the API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidArgument,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    FailedPrecondition,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    Internal,
    Unavailable,
    DeadlineExceeded,
}

impl ErrorCode {
    /// The HTTP status the edge answers with for this code.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidArgument => 400,
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::FailedPrecondition => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::RateLimited => 429,
            Self::Internal => 500,
            Self::Unavailable => 503,
            Self::DeadlineExceeded => 504,
        }
    }

    /// The code as it appears on the wire, e.g. `"not_found"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidArgument => "invalid_argument",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::FailedPrecondition => "failed_precondition",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::DeadlineExceeded => "deadline_exceeded",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `details` flag of a [`ErrorBody::shard_moving`] refusal.
pub const SHARD_MOVING_DETAIL: &str = "shardMoving";

/// `{code, message, details}`: the inside of the HTTP error envelope and of a refused reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = crate::examples::error_body))]
pub struct ErrorBody {
    pub code: ErrorCode,
    /// A short human sentence; never a stack trace or an internal detail.
    pub message: String,
    /// Structured context, e.g. `{"field": "ratePerMin"}` for a bad argument.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: Map<String, Value>,
}

impl ErrorBody {
    /// An error with empty details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Map::new(),
        }
    }

    /// An `invalid_argument` error naming the offending field in `details.field`.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message).with_detail("field", field)
    }

    /// A `not_found` error for a session, the same whether it is absent or in another org.
    pub fn session_not_found() -> Self {
        Self::new(ErrorCode::NotFound, "session not found")
    }

    /// `unavailable` because the session's shard is changing hands. Nothing was written, so
    /// the edge retries it like "no responders" until its deadline.
    pub fn shard_moving(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message).with_detail(SHARD_MOVING_DETAIL, true)
    }

    /// True for a [`Self::shard_moving`] refusal.
    pub fn is_shard_moving(&self) -> bool {
        self.code == ErrorCode::Unavailable
            && self.details.get(SHARD_MOVING_DETAIL) == Some(&Value::Bool(true))
    }

    /// Adds one entry to `details`.
    #[must_use]
    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ErrorBody {}

/// A field that failed validation; converts into an `invalid_argument` [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// The camelCase name of the field, as the client sent it.
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl From<FieldError> for ErrorBody {
    fn from(err: FieldError) -> Self {
        ErrorBody::invalid_field(err.field, format!("{}: {}", err.field, err.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_snake_case_and_match_as_str() {
        for code in [
            ErrorCode::InvalidArgument,
            ErrorCode::FailedPrecondition,
            ErrorCode::DeadlineExceeded,
        ] {
            let json = serde_json::to_string(&code).expect("serializes");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn shard_moving_is_a_flagged_unavailable() {
        let body = ErrorBody::shard_moving("retry");
        assert_eq!(body.code, ErrorCode::Unavailable);
        assert!(body.is_shard_moving());
        assert!(!ErrorBody::new(ErrorCode::Unavailable, "redis down").is_shard_moving());
    }

    #[test]
    fn field_error_names_the_field_in_details() {
        let body: ErrorBody = FieldError::new("ratePerMin", "must be 1-1000").into();
        assert_eq!(body.code, ErrorCode::InvalidArgument);
        assert_eq!(body.details["field"], "ratePerMin");
    }
}
