//! Request ids: a client's sane `x-request-id` is echoed, anything else is replaced by a ULID.
//! The id rides on every response and is forwarded to the worker in a NATS header.

use axum::extract::{FromRequestParts, Request};
use axum::http::HeaderValue;
use axum::http::request::Parts;
use tower_http::request_id::{MakeRequestId, RequestId};

/// The header, on HTTP as on NATS.
pub const HEADER: &str = wagw_common::wire::REQUEST_ID_HEADER;

/// The longest client-supplied id we echo.
const MAX_LEN: usize = 128;

/// Makes a fresh ULID for each request that came without a usable id.
#[derive(Debug, Clone, Copy, Default)]
pub struct MakeUlidRequestId;

impl MakeRequestId for MakeUlidRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&ulid::Ulid::generate().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// 1-128 visible ASCII characters: safe to echo, to log and to put in a NATS header.
pub fn is_sane(value: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&value.len()) && value.iter().all(|b| b.is_ascii_graphic())
}

/// Drops a client's request id that is not sane, so a fresh one is generated instead.
pub fn drop_insane_request_id(mut request: Request) -> Request {
    let headers = request.headers_mut();
    let values: Vec<&HeaderValue> = headers.get_all(HEADER).iter().collect();
    let keep = values.len() == 1 && values.iter().all(|v| is_sane(v.as_bytes()));
    if !keep && !values.is_empty() {
        headers.remove(HEADER);
    }
    request
}

/// The request's id, as set by the request-id layer; handlers forward it to workers.
#[derive(Debug, Clone)]
pub struct ReqId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ReqId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let id = parts
            .extensions
            .get::<RequestId>()
            .map(|id| id.header_value().as_bytes())
            .or_else(|| parts.headers.get(HEADER).map(HeaderValue::as_bytes))
            .filter(|bytes| is_sane(bytes))
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .map_or_else(|| ulid::Ulid::generate().to_string(), str::to_owned);
        Ok(Self(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_short_visible_ascii() {
        assert!(is_sane(b"abc-123"));
        assert!(is_sane(&[b'a'; 128]));
        assert!(!is_sane(&[b'a'; 129]));
        assert!(!is_sane(b""));
        assert!(!is_sane(b"has space"));
        assert!(!is_sane(b"tab\there"));
        assert!(!is_sane("é".as_bytes()));
    }

    #[test]
    fn insane_ids_are_dropped_and_sane_ones_kept() {
        let request = |value: &'static [u8]| {
            axum::http::Request::builder()
                .header(
                    HEADER,
                    HeaderValue::from_bytes(value).expect("valid header bytes"),
                )
                .body(axum::body::Body::empty())
                .expect("valid request")
        };
        let kept = drop_insane_request_id(request(b"client-id-1"));
        assert_eq!(kept.headers()[HEADER], "client-id-1");
        let dropped = drop_insane_request_id(request(b"has space"));
        assert!(dropped.headers().get(HEADER).is_none());
    }

    #[test]
    fn generated_ids_are_ulids() {
        let request = axum::http::Request::new(());
        let id = MakeUlidRequestId
            .make_request_id(&request)
            .expect("a ULID is a valid header value");
        let text = id.header_value().to_str().expect("ASCII");
        assert!(ulid::Ulid::from_string(text).is_ok());
    }
}
