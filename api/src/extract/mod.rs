//! Extractors whose every rejection is our envelope: JSON bodies, query strings, path ids.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use wagw_common::{ErrorBody, ErrorCode};

/// A JSON body: `415` without a JSON content type, `413` over the body limit, `400` naming the
/// field for malformed JSON, unknown fields and wrong types.
#[derive(Debug, Clone)]
pub struct AppJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(ErrorBody::new(
                ErrorCode::UnsupportedMediaType,
                "request body must be application/json",
            )
            .into());
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ErrorBody::new(
                        ErrorCode::PayloadTooLarge,
                        "request body is larger than 1 MiB",
                    )
                    .into()
                } else {
                    ApiError::invalid("body", "the request body could not be read")
                }
            })?;
        parse_json(&bytes).map(Self)
    }
}

/// `application/json`, any `application/*+json`, parameters allowed.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Deserializes a body, which must be a JSON object, naming the field at fault in the error.
///
/// # Errors
/// `400 invalid_argument`, `details.field` = the JSON path, the unknown field, or `body` for
/// syntax errors and bodies that are not an object.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde's derived structs also accept a JSON array (fields in order); every body of this
    // API is an object, and `["x"]` must not quietly become `{"label": "x"}`.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::invalid(
            "body",
            "the request body must be a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(|err| {
        ApiError::invalid("body", format!("malformed JSON: {}", strip_position(&err)))
    })?;
    Ok(value)
}

fn json_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.inner();
    let message = strip_position(inner);
    if !matches!(inner.classify(), serde_json::error::Category::Data) {
        return ApiError::invalid("body", format!("malformed JSON: {message}"));
    }
    let field = if let Some(name) = backticked(&message, "unknown field `") {
        join_path(&path, &name)
    } else if let Some(name) = backticked(&message, "missing field `") {
        join_path(&path, &name)
    } else if path == "." || path.is_empty() || path.starts_with('[') {
        // The body itself has the wrong shape (e.g. an array where an object belongs).
        "body".to_owned()
    } else {
        path
    };
    let message = match message.split_once(", expected one of") {
        Some((head, _)) => head.to_owned(),
        None => message,
    };
    ApiError::invalid(&field, format!("{field}: {message}"))
}

/// serde_json's message without " at line 1 column 7".
fn strip_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// The name in "unknown field `x`, expected ...".
fn backticked(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next().map(str::to_owned)
}

fn join_path(parent: &str, name: &str) -> String {
    // serde_path_to_error already ends the path with an unknown field's name.
    if parent == name || parent.ends_with(&format!(".{name}")) {
        parent.to_owned()
    } else if parent == "." || parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// A query string; `400` naming `query` when it cannot be decoded at all. Parameters are typed
/// by the handler, which names the one at fault.
#[derive(Debug, Clone)]
pub struct AppQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection| ApiError::invalid("query", rejection.body_text()))
    }
}

mod path;

pub use path::{
    ApiKeyPath, RedeliverPath, SessionAction, SessionActionPath, SessionPath, WebhookPath,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Body {
        #[expect(dead_code, reason = "only parsed")]
        label: String,
        #[serde(default)]
        #[expect(dead_code, reason = "only parsed")]
        rate_per_min: Option<u32>,
    }

    fn field_of(json: &str) -> String {
        match parse_json::<Body>(json.as_bytes()) {
            Err(ApiError::Body(body)) => body.details["field"].as_str().unwrap_or("").to_owned(),
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(field_of(r#"{"label":"a","bogus":1}"#), "bogus");
        assert_eq!(field_of(r#"{"label":"a","ratePerMin":"x"}"#), "ratePerMin");
        assert_eq!(field_of(r#"{"ratePerMin":1}"#), "label");
        assert_eq!(field_of(r#"{"label":"a""#), "body");
        assert_eq!(field_of("[1]"), "body");
        assert_eq!(field_of(r#"{"label":"a"} x"#), "body");
        assert!(parse_json::<Body>(br#"{"label":"a"}"#).is_ok());
    }

    #[test]
    fn json_content_types_are_recognised() {
        let headers = |value: &'static str| {
            let mut map = HeaderMap::new();
            map.insert(
                header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static(value),
            );
            map
        };
        assert!(is_json(&headers("application/json")));
        assert!(is_json(&headers("application/json; charset=utf-8")));
        assert!(is_json(&headers("application/merge-patch+json")));
        assert!(!is_json(&headers("text/plain")));
        assert!(!is_json(&HeaderMap::new()));
    }
}
