//! Unauthenticated operational endpoints: `/healthz`, `/readyz`, `/metrics`.

use reqwest::{Method, StatusCode};
use std::time::Duration;
use wagw_tests::assertions::assert_status;
use wagw_tests::{ORG_A, SOON, TestApp, TestOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_readyz_are_200_without_credentials() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    assert_status(
        &app.send(Method::GET, "/healthz", None, None).await,
        StatusCode::OK,
    );
    assert_status(
        &app.send(Method::GET, "/readyz", None, None).await,
        StatusCode::OK,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_once_redis_is_gone_while_healthz_stays_200() {
    let mut app = TestApp::spawn(TestOptions::edge_only()).await;
    app.kill_redis();
    let until = tokio::time::Instant::now() + SOON;
    loop {
        let response = app.send(Method::GET, "/readyz", None, None).await;
        if response.0 == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        assert_status(&response, StatusCode::OK);
        assert!(
            tokio::time::Instant::now() < until,
            "/readyz still 200 without Redis"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_status(
        &app.send(Method::GET, "/healthz", None, None).await,
        StatusCode::OK,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text_with_a_request_counter() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    app.get("/api/v1/sessions", &app.jwt(ORG_A, "viewer")).await;
    let response = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain"),
        "content-type {content_type}"
    );
    let text = response.text().await.expect("body");
    let counters: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .filter(|name| name.contains("request"))
        .collect();
    assert!(!counters.is_empty(), "no request counter in:\n{text}");
    let counted = text
        .lines()
        .filter(|line| counters.iter().any(|name| line.starts_with(name)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>();
    assert!(
        counted >= 1.0,
        "the request counter counted nothing:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edge_and_workers_stop_cleanly_when_cancelled() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    app.paired_session(&owner, "6281234567890").await;
    app.shutdown().await;
}

/// Polls `GET path` until it is no longer 200; returns that answer.
async fn first_failure(app: &TestApp, path: &str, token: &str) -> wagw_tests::HttpResponse {
    let until = tokio::time::Instant::now() + SOON;
    loop {
        let response = app.get(path, token).await;
        if response.0 != StatusCode::OK {
            return response;
        }
        assert!(tokio::time::Instant::now() < until, "{path} still 200");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_503_while_redis_is_gone() {
    let mut app = TestApp::spawn(TestOptions::edge_only()).await;
    let key = app.api_key(ORG_A, &[wagw_api::Capability::Read]).await;
    let jwt = app.jwt(ORG_A, "viewer");
    app.kill_redis();
    let read = first_failure(&app, "/api/v1/sessions", &jwt).await;
    wagw_tests::assertions::assert_error(&read, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    // The key cannot be checked: that is the server's trouble, not a bad credential.
    let keyed = app.get("/api/v1/sessions", &key).await;
    wagw_tests::assertions::assert_error(&keyed, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_and_commands_are_503_while_nats_is_gone() {
    let options = TestOptions {
        command_timeout_ms: 1000,
        ..TestOptions::default()
    };
    let mut app = TestApp::spawn(options).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = wagw_tests::id_of(
        &app.create_session(&owner, &serde_json::json!({"label": "cut off"}))
            .await,
    );
    app.nats_server.kill();
    let until = tokio::time::Instant::now() + SOON;
    loop {
        let ready = app.send(Method::GET, "/readyz", None, None).await;
        if ready.0 == StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        assert_status(&ready, StatusCode::OK);
        assert!(
            tokio::time::Instant::now() < until,
            "/readyz still 200 without NATS"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stop = app
        .post_empty(&wagw_tests::session_path(&id, ":stop"), &owner)
        .await;
    wagw_tests::assertions::assert_error(&stop, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    // Reads come from Redis and still work.
    assert_status(
        &app.get(&wagw_tests::session_path(&id, ""), &owner).await,
        StatusCode::OK,
    );
}
