//! The error of a command or control handler, and its mapping to the API's error body.
//!
//! Use [`HandlerError::Refused`] for answers about the request or the session's state (they
//! reach the client as they are); store and driver failures keep their cause for the log and
//! reach the client as an opaque `unavailable` / `internal`.

use crate::driver::DriverError;
use crate::store::StoreError;
use wagw_common::{ErrorBody, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// A refusal for the client: not found, bad argument, wrong state.
    #[error("{0}")]
    Refused(ErrorBody),
    #[error("session store: {0}")]
    Store(#[from] StoreError),
    #[error("driver: {0}")]
    Driver(#[from] DriverError),
    /// A driver call took too long.
    #[error("{0} timed out")]
    Timeout(&'static str),
}

impl From<ErrorBody> for HandlerError {
    fn from(body: ErrorBody) -> Self {
        Self::Refused(body)
    }
}

impl From<wagw_common::error::FieldError> for HandlerError {
    fn from(err: wagw_common::error::FieldError) -> Self {
        Self::Refused(err.into())
    }
}

impl HandlerError {
    /// A `failed_precondition` refusal.
    pub fn precondition(message: &str) -> Self {
        Self::Refused(ErrorBody::new(ErrorCode::FailedPrecondition, message))
    }

    /// True for failures of ours or of our dependencies, worth a warning in the log.
    pub fn is_server_side(&self) -> bool {
        !matches!(self, Self::Refused(_))
            && !matches!(
                self,
                Self::Driver(DriverError::Invalid(_) | DriverError::Closed)
            )
    }

    /// The body the client sees; internal details stay in the log.
    pub fn to_body(&self) -> ErrorBody {
        match self {
            Self::Refused(body) => body.clone(),
            Self::Store(StoreError::Fenced(_)) => {
                ErrorBody::shard_moving("the session's shard is moving to another worker; retry")
            }
            Self::Store(StoreError::Redis(_)) => {
                ErrorBody::new(ErrorCode::Unavailable, "session store unavailable")
            }
            Self::Store(StoreError::Corrupt { .. }) => {
                ErrorBody::new(ErrorCode::Internal, "internal error")
            }
            Self::Driver(err) => driver_error_body(err),
            Self::Timeout(_) => {
                ErrorBody::new(ErrorCode::Unavailable, "WhatsApp did not answer in time")
            }
        }
    }
}

/// How a driver failure reads to a client.
pub fn driver_error_body(err: &DriverError) -> ErrorBody {
    match err {
        DriverError::Transient(_) => {
            ErrorBody::new(ErrorCode::Unavailable, "WhatsApp is unavailable; retry")
        }
        DriverError::Fatal(message) => {
            ErrorBody::new(ErrorCode::FailedPrecondition, message.clone())
        }
        DriverError::Closed => ErrorBody::new(
            ErrorCode::FailedPrecondition,
            "session has no live connection",
        ),
        DriverError::Invalid(message) => {
            ErrorBody::new(ErrorCode::InvalidArgument, message.clone())
        }
        DriverError::Unsupported(what) => ErrorBody::new(
            ErrorCode::FailedPrecondition,
            format!("not supported by this driver: {what}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_causes_do_not_reach_the_client() {
        let err = HandlerError::Store(StoreError::Fenced(3));
        assert_eq!(err.to_body().code, ErrorCode::Unavailable);
        assert!(err.is_server_side());
        let closed = HandlerError::Driver(DriverError::Closed).to_body();
        assert_eq!(
            (closed.code, closed.message.as_str()),
            (
                ErrorCode::FailedPrecondition,
                "session has no live connection"
            )
        );
        let transient =
            HandlerError::Driver(DriverError::Transient("tcp reset by 10.0.0.7".into()));
        assert!(!transient.to_body().message.contains("10.0.0.7"));
    }
}
