//! The error answers of an operation, for the OpenAPI document: each case the handler can give,
//! with the envelope it answers, grouped by status.
//!
//! The status of a case is its code's ([`ErrorCode::http_status`]), so a documented example
//! cannot carry a code that its status never has. Messages are the ones the edge really sends,
//! taken from the same constructors where they exist.

use std::collections::BTreeMap;

use serde_json::json;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, response::Response};
use wagw_common::examples::GATEWAY_ID;
use wagw_common::{ErrorBody, ErrorCode, IdError, SessionId};

/// One way an operation fails.
#[derive(Debug, Clone)]
struct Case {
    /// The example's key, e.g. `sessionNotFound`.
    name: &'static str,
    /// When it happens, phrased for a reader: "the session is not paired".
    when: String,
    body: ErrorBody,
}

/// The error responses of one operation, built case by case.
#[derive(Debug, Default, Clone)]
pub struct ErrorDoc {
    cases: Vec<Case>,
}

impl ErrorDoc {
    /// Adds a case; its status is the one of `body.code`.
    pub fn case(mut self, name: &'static str, when: impl Into<String>, body: ErrorBody) -> Self {
        self.cases.push(Case {
            name,
            when: when.into(),
            body,
        });
        self
    }

    /// `401` and `403` for `capability`, and the server side every authenticated operation
    /// shares: `500` and `503` (Redis, which also holds the API keys, unreachable).
    pub fn authenticated(capability: &str) -> Self {
        Self::default()
            .case(
                "unauthorized",
                "no `Authorization: Bearer` header, or a token that is malformed, expired, revoked or badly signed",
                ErrorBody::new(ErrorCode::Unauthorized, "missing or invalid credential"),
            )
            .case(
                "missingCapability",
                format!("the credential lacks the `{capability}` capability"),
                ErrorBody::new(
                    ErrorCode::Forbidden,
                    format!("this operation needs the `{capability}` capability"),
                ),
            )
            .case(
                "internal",
                "a bug; the log holds the detail under the response's `x-request-id`",
                ErrorBody::new(ErrorCode::Internal, "internal error"),
            )
            .case(
                "storageUnavailable",
                "Redis is unreachable; nothing was changed, retry",
                ErrorBody::new(ErrorCode::Unavailable, "storage unavailable"),
            )
    }

    /// `403` for a session with `isAdminSession: true` and a credential without `admin`.
    pub fn admin_session(self) -> Self {
        self.case(
            "adminSession",
            "the session has `isAdminSession: true` and the credential lacks `admin`",
            ErrorBody::new(
                ErrorCode::Forbidden,
                "this operation needs the `admin` capability",
            ),
        )
    }

    /// `400` naming `field`.
    pub fn invalid(
        self,
        name: &'static str,
        when: impl Into<String>,
        field: &str,
        message: &str,
    ) -> Self {
        self.case(name, when, ErrorBody::invalid_field(field, message))
    }

    /// `400` for a `{param}` path segment that is not an id; `parsed` is the id type's own
    /// refusal of a bad one, so the message is the one the edge sends.
    pub fn bad_id<T>(self, param: &'static str, parsed: Result<T, IdError>) -> Self {
        let message = parsed.err().map(|err| err.to_string()).unwrap_or_default();
        self.invalid(
            "badId",
            format!("`{param}` is not an id (a ULID)"),
            param,
            &message,
        )
    }

    /// `400` for the `{session}` segment.
    pub fn bad_session_id(self) -> Self {
        self.bad_id("session", SessionId::parse("sess_123"))
    }

    /// `404` for a session absent from the caller's organization.
    pub fn session_not_found(self) -> Self {
        self.case(
            "sessionNotFound",
            "no such session in your organization (another organization's is reported the same)",
            ErrorBody::session_not_found(),
        )
    }

    /// `404` with `message`.
    pub fn not_found(self, name: &'static str, when: &str, message: &str) -> Self {
        self.case(name, when, ErrorBody::new(ErrorCode::NotFound, message))
    }

    /// The errors of a JSON body: malformed (`400` naming `body`), over 1 MiB (`413`), not
    /// `application/json` (`415`).
    pub fn json_body(self) -> Self {
        self.invalid(
            "malformedJson",
            "the body is not a JSON object, or has a syntax error",
            "body",
            "malformed JSON: EOF while parsing an object",
        )
        .case(
            "payloadTooLarge",
            "the body is larger than 1 MiB",
            ErrorBody::new(
                ErrorCode::PayloadTooLarge,
                "request body is larger than 1 MiB",
            ),
        )
        .case(
            "unsupportedMediaType",
            "the `Content-Type` is not `application/json`",
            ErrorBody::new(
                ErrorCode::UnsupportedMediaType,
                "request body must be application/json",
            ),
        )
    }

    /// `409 failed_precondition` with the message the edge or the worker gives.
    pub fn precondition(self, name: &'static str, when: &str, message: &str) -> Self {
        self.case(
            name,
            when,
            ErrorBody::new(ErrorCode::FailedPrecondition, message),
        )
    }

    /// The errors of a command to the session's worker: none serving the gateway (`503`,
    /// after retrying for the command timeout), or no acknowledgement in time (`504`).
    pub fn worker_command(self) -> Self {
        self.case(
            "noWorker",
            "no worker holds the session's shard for the whole command timeout (the edge retries during a handoff); nothing was done, retry",
            ErrorBody::new(
                ErrorCode::Unavailable,
                format!("no worker is serving gateway {GATEWAY_ID}"),
            ),
        )
        .case(
            "notAcknowledged",
            "a worker took the command but did not acknowledge it in time; it may still take effect, so read the session before retrying",
            ErrorBody::new(
                ErrorCode::DeadlineExceeded,
                "the worker did not acknowledge the command in time",
            ),
        )
    }

    /// The responses, one per status, each with its examples.
    pub fn build(self) -> BTreeMap<String, RefOr<Response>> {
        let mut by_status: BTreeMap<u16, Vec<Case>> = BTreeMap::new();
        for case in self.cases {
            by_status
                .entry(case.body.code.http_status())
                .or_default()
                .push(case);
        }
        by_status
            .into_iter()
            .map(|(status, cases)| (status.to_string(), RefOr::T(response(&cases))))
            .collect()
    }
}

/// One status: "`code`: when; when", the envelope schema, and an example per case.
fn response(cases: &[Case]) -> Response {
    let code = cases.first().map_or("", |case| case.body.code.as_str());
    let whens: Vec<&str> = cases.iter().map(|case| case.when.as_str()).collect();
    let description = format!("`{code}`: {}.", whens.join("; "));
    let envelope = |case: &Case| json!({ "error": case.body });
    let mut content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorEnvelope")));
    content = match cases {
        [only] => content.example(Some(envelope(only))),
        _ => content.examples_from_iter(cases.iter().map(|case| {
            // A summary is plain text in the renderers' example pickers.
            let example = ExampleBuilder::new()
                .summary(case.when.replace('`', ""))
                .value(Some(envelope(case)));
            (case.name, example.build())
        })),
    };
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/json", content.build());
    if code == ErrorCode::RateLimited.as_str() {
        response = response.header("Retry-After", retry_after_header());
    }
    response.build()
}

fn retry_after_header() -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(Object::with_type(Type::Integer)))
        .description(Some(
            "Seconds to wait before retrying: `details.retryAfterMs` rounded up, at least 1",
        ))
        .build()
}
