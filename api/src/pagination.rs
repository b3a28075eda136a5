//! AIP-158 page tokens: opaque to clients, `base64url("v1:<lastSessionId>")` inside, and the
//! page size bounds.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use wagw_common::SessionId;

use crate::error::ApiError;

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 500;

/// The token that resumes listing after `last`.
pub fn encode_token(last: &SessionId) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{last}"))
}

/// The id the next page starts after (exclusive).
///
/// # Errors
/// `400 invalid_argument` naming `pageToken` for anything this edge did not issue.
pub fn decode_token(token: &str) -> Result<SessionId, ApiError> {
    let bad = || ApiError::invalid("pageToken", "pageToken is not a token this API issued");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
    let id = text.strip_prefix("v1:").ok_or_else(bad)?;
    SessionId::parse(id).map_err(|_| bad())
}

/// `pageSize` as given in the query: 1-500, default 50.
///
/// # Errors
/// `400 invalid_argument` naming `pageSize`.
pub fn page_size(raw: Option<&str>) -> Result<usize, ApiError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_PAGE_SIZE);
    };
    raw.parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
        .ok_or_else(|| ApiError::invalid("pageSize", "pageSize must be an integer from 1 to 500"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_stay_opaque() {
        let id = SessionId::generate();
        let token = encode_token(&id);
        assert!(!token.contains(&id.to_string()));
        assert_eq!(decode_token(&token).ok(), Some(id));
    }

    #[test]
    fn foreign_tokens_are_refused() {
        for bad in [
            "",
            "!!!",
            "djE6",
            &URL_SAFE_NO_PAD.encode("v2:01J9ZX8K2QHV0M3T6R7P4N5W8C"),
        ] {
            assert!(decode_token(bad).is_err(), "{bad:?} accepted");
        }
        assert!(decode_token(&URL_SAFE_NO_PAD.encode("v1:01J9ZX8K2QHV0M3T6R7P4N5W8C")).is_ok());
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(page_size(None).ok(), Some(50));
        assert_eq!(page_size(Some("500")).ok(), Some(500));
        assert_eq!(page_size(Some("1")).ok(), Some(1));
        for bad in ["0", "501", "-1", "ten", ""] {
            assert!(page_size(Some(bad)).is_err(), "{bad:?} accepted");
        }
    }
}
