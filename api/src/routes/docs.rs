//! `GET /docs`: the API reference, Swagger UI rendering `/openapi.json`, served by the edge
//! itself so it works on closed networks.
//!
//! The assets come from `utoipa-swagger-ui` with its `vendored` feature: Swagger UI's release
//! files are a crate of their own and are compiled into the binary, so neither the build nor a
//! browser fetches anything from another host. Every `/docs` answer carries a
//! `Content-Security-Policy` that lets the page load scripts, styles, images and API calls from
//! this edge only (images also as `data:` URIs, which Swagger UI's stylesheet uses for its
//! icons), so a stray external reference fails in the browser instead of leaking requests.
//!
//! `/docs` redirects to `/docs/`, whose page loads its assets relative to it (`/docs/…`); an
//! unknown `/docs/…` path is the usual JSON `404`.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware::map_response;
use axum::response::Response;
use utoipa_swagger_ui::{Config, SwaggerUi};

/// Where the reference is served.
pub const DOCS_PATH: &str = "/docs";

/// What a `/docs` page may load: everything from this origin, nothing from any other.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; \
    font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The routes of `/docs`, `/docs/` and `/docs/{asset}`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let config = Config::new(["/openapi.json"])
        // The default validator is a badge image from swagger.io.
        .validator_url("none")
        .use_base_layout()
        .filter(true)
        .display_request_duration(true)
        .request_snippets_enabled(true)
        // The token stays in the page's memory, not in the browser's storage.
        .persist_authorization(false);
    Router::from(SwaggerUi::new(DOCS_PATH).config(config)).layer(map_response(secure))
}

/// Adds the CSP and `nosniff` to every answer of the docs routes.
async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
