//! The OpenAPI document (3.1, generated from the code) and the rendered reference.

use reqwest::{Method, StatusCode};
use std::collections::BTreeSet;
use wagw_tests::assertions::assert_status;
use wagw_tests::{TestApp, TestOptions};

/// Every path of api.md's endpoint table, under `/api/v1`.
const PATHS: [&str; 11] = [
    "/sessions",
    "/sessions/{session}",
    "/sessions/{session}:start",
    "/sessions/{session}:stop",
    "/sessions/{session}:restart",
    "/sessions/{session}:logout",
    "/sessions/{session}/qr",
    "/sessions/{session}/pairing-code",
    "/sessions/{session}/messages",
    "/api-keys",
    "/api-keys/{key}",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_json_is_3_1_and_lists_every_path() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let response = app.send(Method::GET, "/openapi.json", None, None).await;
    let doc = assert_status(&response, StatusCode::OK).clone();
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1"), "openapi {version}");
    let listed: BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths object")
        .keys()
        .map(|path| path.strip_prefix("/api/v1").unwrap_or(path).to_owned())
        .collect();
    for path in PATHS.iter().chain(&["/gateways"]) {
        assert!(listed.contains(*path), "{path} missing from {listed:?}");
    }
    let get_session = &doc["paths"]["/api/v1/sessions/{session}"]["get"];
    assert!(
        get_session.is_object() || doc["paths"]["/sessions/{session}"]["get"].is_object(),
        "GET session documented"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_render_an_html_reference() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let response = app.http.get(app.url("/docs")).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/html"),
        "content-type {content_type}"
    );
}

/// What a `/docs` page may load, as the edge's CSP states it.
fn csp(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A CSP that allows loads from the edge itself only: `default-src 'self'`, and no directive
/// naming a host, a scheme other than `data:`, a wildcard or `'unsafe-inline'`.
fn assert_self_only(policy: &str, what: &str) {
    assert!(
        policy.contains("default-src 'self'"),
        "{what}: CSP {policy:?}"
    );
    for directive in policy.split(';').map(str::trim).filter(|d| !d.is_empty()) {
        for source in directive.split_whitespace().skip(1) {
            let allowed = ["'self'", "'none'", "data:"];
            assert!(
                allowed.contains(&source),
                "{what}: CSP source {source:?} in {directive:?}"
            );
        }
    }
}

/// The values of every `src="…"` and `href="…"` attribute of an HTML page.
fn referenced(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in page.match_indices(attribute) {
            let rest = &page[at + attribute.len()..];
            found.push(rest.split('"').next().unwrap_or_default().to_owned());
        }
    }
    found
}

fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_and_every_asset_they_reference_come_from_the_edge_under_a_self_only_csp() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("client");
    let redirect = no_redirects
        .get(app.url("/docs"))
        .send()
        .await
        .expect("sent");
    assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
    assert_eq!(redirect.headers()["location"], "/docs/");
    assert_self_only(&csp(&redirect), "/docs");

    let response = app.http.get(app.url("/docs/")).send().await.expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(content_type(&response).starts_with("text/html"));
    assert_self_only(&csp(&response), "/docs/");
    let page = response.text().await.expect("page");
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "{page}"
    );
    let assets = referenced(&page);
    for needed in [
        "swagger-ui-bundle.js",
        "swagger-initializer.js",
        "swagger-ui.css",
    ] {
        assert!(
            assets.iter().any(|a| a.ends_with(needed)),
            "{needed} not in {assets:?}"
        );
    }
    for asset in &assets {
        assert!(
            !asset.contains(':') && !asset.starts_with("//"),
            "external {asset}"
        );
        let path = format!("/docs/{}", asset.trim_start_matches("./"));
        let response = app.http.get(app.url(&path)).send().await.expect("sent");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let kind = content_type(&response);
        let expected = match path.rsplit('.').next().unwrap_or_default() {
            "js" => "javascript",
            "css" => "text/css",
            "png" => "image/png",
            other => panic!("{path}: unexpected asset kind {other}"),
        };
        assert!(kind.contains(expected), "{path}: content-type {kind}");
        assert_self_only(&csp(&response), &path);
        if expected == "text/css" {
            let css = response.text().await.expect("css");
            assert!(!css.contains("@import"), "{path} imports");
            for (at, _) in css.match_indices("url(") {
                let target = css[at + 4..].trim_start_matches(['"', '\'']);
                if target.starts_with("data:") {
                    continue;
                }
                let target = target.split(')').next().unwrap_or_default();
                assert!(!target.contains("//"), "{path} loads {target}");
            }
        }
    }

    let init = app
        .http
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .expect("sent");
    let init = init.text().await.expect("initializer");
    assert!(init.contains("\"url\": \"/openapi.json\""), "{init}");
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
    assert!(
        !init.contains("http://") && !init.contains("https://"),
        "{init}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_docs_paths_answer_the_json_not_found_envelope() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let response = app
        .send(Method::GET, "/docs/no-such-asset.js", None, None)
        .await;
    let body = assert_status(&response, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
}
