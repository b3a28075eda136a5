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
