//! `GET /console` and `GET /console/{asset}`: the web console, plain HTML, CSS and JavaScript
//! built into the binary (no build step, no other host), under a strict Content-Security-Policy.

use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Only this origin's scripts, styles and connections; images also from `blob:` (the QR PNG
/// fetched with the API key) and `data:` (the empty favicon). No framing, no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' blob: data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file and its media type.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const PAGE: Asset = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    body: include_str!("../../console/index.html"),
};

/// Everything under `/console/`, by file name.
const ASSETS: [Asset; 6] = [
    Asset {
        name: "console.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../console/console.css"),
    },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../console/console.js"),
    },
    Asset {
        name: "api.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../console/api.js"),
    },
    Asset {
        name: "confirm.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../console/confirm.js"),
    },
    Asset {
        name: "live.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../console/live.js"),
    },
    Asset {
        name: "pair.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../console/pair.js"),
    },
];

/// Serves the console's page.
pub async fn console_page() -> Response {
    serve(&PAGE)
}

/// Serves one of the console's assets; any other name is the `404` envelope.
///
/// # Errors
/// `404 not_found` for a name that is not an asset.
pub async fn console_asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    ASSETS
        .iter()
        .find(|asset| asset.name == name)
        .map(serve)
        .ok_or_else(|| ApiError::not_found("no such console asset"))
}

fn serve(asset: &Asset) -> Response {
    let headers = [
        (header::CONTENT_TYPE, asset.content_type),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        // Small files: always revalidated, so an upgraded edge serves its own console at once.
        (header::CACHE_CONTROL, "no-cache"),
    ];
    let mut response = (headers, asset.body).into_response();
    response.headers_mut().insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No `http://`, `https://` or protocol-relative `//host` reference in any asset: the
    /// console works on a closed network.
    #[test]
    fn no_asset_refers_to_another_host() {
        for asset in ASSETS.iter().chain([&PAGE]) {
            for needle in ["http://", "https://", "src=\"//", "href=\"//", "url(//"] {
                assert!(
                    !asset.body.contains(needle),
                    "{} contains {needle}",
                    asset.name
                );
            }
        }
    }

    #[test]
    fn the_page_loads_only_embedded_assets() {
        for reference in ["/console/console.css", "/console/console.js"] {
            assert!(PAGE.body.contains(reference), "the page lacks {reference}");
        }
        assert!(
            !PAGE.body.contains("<script>"),
            "inline scripts break the CSP"
        );
        assert!(
            !PAGE.body.contains("style=\""),
            "inline styles break the CSP"
        );
    }
}
