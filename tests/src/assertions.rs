//! Assertions on responses: the error envelope, ids, timestamps.

use crate::http::HttpResponse;
use reqwest::StatusCode;
use serde_json::{Map, Value};

/// Asserts `status` and the error envelope `{"error": {code, message, details}}` with `code`;
/// returns `details`.
#[track_caller]
pub fn assert_error<'a>(
    response: &'a HttpResponse,
    status: StatusCode,
    code: &str,
) -> &'a Map<String, Value> {
    let (actual, body, _) = response;
    assert_eq!(
        *actual, status,
        "expected {status} {code}, got {actual}: {body}"
    );
    let error = &body["error"];
    assert_eq!(error["code"], code, "error code of {body}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "error without a message: {body}");
    let details = error["details"].as_object();
    let Some(details) = details else {
        panic!("error details is not an object: {body}");
    };
    let keys: Vec<&String> = body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["error"], "the envelope has only `error`: {body}");
    details
}

/// Asserts `400 invalid_argument` naming `field` in `details.field`.
#[track_caller]
pub fn assert_invalid_field(response: &HttpResponse, field: &str) {
    let details = assert_error(response, StatusCode::BAD_REQUEST, "invalid_argument");
    assert_eq!(
        details.get("field").and_then(Value::as_str),
        Some(field),
        "details: {details:?}"
    );
}

/// Asserts `status` and returns the body.
#[track_caller]
pub fn assert_status(response: &HttpResponse, status: StatusCode) -> &Value {
    let (actual, body, _) = response;
    assert_eq!(*actual, status, "expected {status}, got {actual}: {body}");
    body
}

/// A canonical ULID: 26 characters of upper-case Crockford base32 that round-trip.
pub fn is_ulid(text: &str) -> bool {
    text.len() == 26
        && !text.bytes().any(|b| b.is_ascii_lowercase())
        && ulid::Ulid::from_string(text).is_ok_and(|id| id.to_string() == text)
}

/// Asserts `value` is a ULID string.
#[track_caller]
pub fn assert_ulid(value: &Value) {
    let text = value.as_str().unwrap_or_default();
    assert!(is_ulid(text), "not a ULID: {value}");
}

/// Asserts `value` is a millisecond timestamp within a minute of now.
#[track_caller]
pub fn assert_recent_ms(value: &Value) {
    let now = wagw_common::time::now_ms();
    let at = value
        .as_i64()
        .unwrap_or_else(|| panic!("not an integer timestamp: {value}"));
    assert!(
        (now - 60_000..=now + 60_000).contains(&at),
        "{at} is not within a minute of {now} (ms)"
    );
}

/// `text` is `^wagw_[A-Za-z0-9_-]{43,}$`.
pub fn is_api_key(text: &str) -> bool {
    text.strip_prefix("wagw_").is_some_and(|rest| {
        rest.len() >= 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

/// `text` is `^[A-Z0-9]{4}-[A-Z0-9]{4}$`.
pub fn is_pairing_code(text: &str) -> bool {
    let block = |s: &str| {
        s.len() == 4
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    matches!(text.split_once('-'), Some((a, b)) if block(a) && block(b))
}

/// Asserts a `401 unauthorized` in the envelope, saying `what` was sent when it is not.
#[track_caller]
pub fn assert_unauthorized(response: &HttpResponse, what: &str) {
    assert_eq!(
        response.0,
        StatusCode::UNAUTHORIZED,
        "{what}: {}",
        response.1
    );
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised() {
        assert!(is_ulid("01J9ZX8K2QHV0M3T6R7P4N5W8C"));
        assert!(!is_ulid("01j9zx8k2qhv0m3t6r7p4n5w8c"));
        assert!(is_api_key(&format!("wagw_{}", "a-_Z9".repeat(9))));
        assert!(!is_api_key("wagw_short"));
        assert!(is_pairing_code("AB12-9XYZ"));
        assert!(!is_pairing_code("ab12-9xyz"));
        assert!(!is_pairing_code("AB129XYZ"));
    }
}
