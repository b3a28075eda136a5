//! `GET /sessions:watch`: the live status stream of the caller's organization.

use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;
use wagw_api::Capability::{Manage, Read, Send};
use wagw_common::SessionStatus;
use wagw_tests::assertions::assert_error;
use wagw_tests::{ORG_A, ORG_B, SOON, TestApp, TestOptions, id_of, session_path};

const PHONE: &str = "6281234567890";

/// Creates a session, begins its pairing and completes it with the sim `pair` control.
async fn create_and_pair(app: &TestApp, token: &str, label: &str) -> String {
    let row = app.create_session(token, &json!({"label": label})).await;
    let id = id_of(&row);
    let gateway = row["gatewayId"].as_str().expect("a gateway").to_owned();
    let (status, qr, _) = app.get(&session_path(&id, "/qr"), token).await;
    assert_eq!(status, StatusCode::OK, "GET qr: {qr}");
    app.sim_pair(&gateway, &id, PHONE).await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_streams_the_pairing_of_the_callers_session_as_status_events() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let key = app.api_key(ORG_A, &[Read, Manage]).await;
    let mut stream = app.watch(&key).await;
    let id = create_and_pair(&app, &key, "watched").await;
    let qr = stream
        .wait_for_status(&id, SessionStatus::ScanQrCode, SOON)
        .await;
    assert_eq!(qr.organization_id.as_str(), ORG_A);
    assert_eq!(qr.gateway_id.as_str(), "gw-a");
    let working = stream
        .wait_for_status(&id, SessionStatus::Working, SOON)
        .await;
    assert_eq!(working.previous_status, Some(SessionStatus::ScanQrCode));
    assert!(working.at >= qr.at, "{working:?} after {qr:?}");
    assert!(!working.worker_id.as_str().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_covers_every_gateway_the_edge_serves() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let key = app.api_key(ORG_A, &[Read, Manage]).await;
    let mut stream = app.watch(&key).await;
    let row = app
        .create_session(&key, &json!({"label": "on b", "gatewayId": "gw-b"}))
        .await;
    let id = id_of(&row);
    let (status, body, _) = app.get(&session_path(&id, "/qr"), &key).await;
    assert_eq!(status, StatusCode::OK, "GET qr: {body}");
    let change = stream
        .wait_for_status(&id, SessionStatus::ScanQrCode, SOON)
        .await;
    assert_eq!(change.gateway_id.as_str(), "gw-b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_never_streams_another_organizations_changes() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let key_a = app.api_key(ORG_A, &[Read, Manage]).await;
    let key_b = app.api_key(ORG_B, &[Read, Manage]).await;
    let mut stream_b = app.watch(&key_b).await;
    let foreign = create_and_pair(&app, &key_a, "org a's").await;
    app.wait_for_status(&key_a, &foreign, "working", SOON).await;
    // B's own pairing, after A's, marks the point by which A's changes would have arrived.
    let own = create_and_pair(&app, &key_b, "org b's").await;
    stream_b
        .wait_for_status(&own, SessionStatus::Working, SOON)
        .await;
    let leaked: Vec<_> = (stream_b.seen.iter())
        .filter(|change| change.session_id.to_string() == foreign)
        .collect();
    assert!(leaked.is_empty(), "org B saw org A's session: {leaked:?}");
    assert!(
        stream_b
            .seen
            .iter()
            .all(|change| change.organization_id.as_str() == ORG_B),
        "{:?}",
        stream_b.seen
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_without_a_credential_is_401_and_without_read_is_403() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let anonymous = app
        .send(Method::GET, "/api/v1/sessions:watch", None, None)
        .await;
    assert_error(&anonymous, StatusCode::UNAUTHORIZED, "unauthorized");
    let bad = app
        .send(
            Method::GET,
            "/api/v1/sessions:watch",
            Some("wagw_nope"),
            None,
        )
        .await;
    assert_error(&bad, StatusCode::UNAUTHORIZED, "unauthorized");
    let send_only = app.api_key(ORG_A, &[Send]).await;
    let refused = app.get("/api/v1/sessions:watch", &send_only).await;
    let details = assert_error(&refused, StatusCode::FORBIDDEN, "forbidden");
    assert!(details.is_empty(), "{details:?}");
    assert!(
        refused.1["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("read")),
        "{}",
        refused.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_is_a_literal_get_route() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let key = app.api_key(ORG_A, &[Read, Manage]).await;
    let posted = app.post_empty("/api/v1/sessions:watch", &key).await;
    assert_error(
        &posted,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    let other = app.get("/api/v1/sessions:watching", &key).await;
    assert_error(&other, StatusCode::NOT_FOUND, "not_found");
    let list = app.get("/api/v1/sessions", &key).await;
    assert_eq!(list.0, StatusCode::OK, "{}", list.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_watch_stream_gets_a_keep_alive_comment_every_15_seconds() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let key = app.api_key(ORG_A, &[Read]).await;
    let mut stream = app.watch(&key).await;
    let opened = tokio::time::Instant::now();
    let comment = stream.wait_for_comment(Duration::from_secs(20)).await;
    assert_eq!(comment, ": keep-alive");
    let waited = opened.elapsed();
    assert!(
        waited >= Duration::from_secs(14),
        "the first keep-alive came after {waited:?}, not 15 s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_watch_stream_ends_cleanly_when_the_edge_shuts_down() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let key = app.api_key(ORG_A, &[Read]).await;
    let mut stream = app.watch(&key).await;
    // `shutdown` asserts the edge's run() returns Ok within its deadline: an open stream
    // must not hold graceful shutdown up.
    tokio::time::timeout(Duration::from_secs(15), app.shutdown())
        .await
        .expect("the edge shuts down with a stream open");
    let end = stream.next_event(Duration::from_secs(5)).await;
    assert_eq!(end, None, "the stream ends rather than carrying on");
}
