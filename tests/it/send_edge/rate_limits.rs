//! `ratePerMin` / `ratePerHour`: `429 rate_limited` with `Retry-After`, the binding window, a
//! PATCH applying to the next send, limits shared by every edge, and `--send-rate-limits off`.

use super::{PHONE, assert_queued, hello, one_gateway};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use wagw_tests::assertions::{assert_error, assert_status};
use wagw_tests::{HttpResponse, ORG_A, TestApp, TestOptions, id_of, session_path};

/// Asserts a `429` limited by `window` and returns `details.retryAfterMs`, checking that
/// `Retry-After` is that in whole seconds, rounded up.
#[track_caller]
fn assert_limited(response: &HttpResponse, window: &str) -> u64 {
    let details = assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(details["window"], window, "{details:?}");
    let retry_ms = details["retryAfterMs"].as_u64().expect("retryAfterMs");
    assert!(retry_ms >= 1, "{details:?}");
    let header = response.2.get("retry-after").and_then(|v| v.to_str().ok());
    let expected = retry_ms.div_ceil(1000).max(1).to_string();
    assert_eq!(
        header,
        Some(expected.as_str()),
        "Retry-After of {retry_ms} ms"
    );
    retry_ms
}

async fn stack_with_session(options: TestOptions, create: &Value) -> (TestApp, String, String) {
    let app = TestApp::spawn(options).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.paired_session_from(&owner, create, PHONE).await);
    (app, owner, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_third_send_at_two_per_minute_is_429_with_retry_after() {
    let create = json!({"label": "s", "ratePerMin": 2});
    let (app, owner, id) = stack_with_session(one_gateway(), &create).await;
    for _ in 0..2 {
        assert_queued(&app.send_message(&owner, &id, &hello(PHONE), None).await);
    }
    let refused = app.send_message(&owner, &id, &hello(PHONE), None).await;
    let retry_ms = assert_limited(&refused, "minute");
    // 2/min: one more send every 30 s.
    assert!((25_000..=30_000).contains(&retry_ms), "{retry_ms}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hour_limit_binds_when_it_is_the_tighter_one() {
    let create = json!({"label": "s", "ratePerMin": 5, "ratePerHour": 5});
    let (app, owner, id) = stack_with_session(one_gateway(), &create).await;
    for _ in 0..5 {
        assert_queued(&app.send_message(&owner, &id, &hello(PHONE), None).await);
    }
    let refused = app.send_message(&owner, &id, &hello(PHONE), None).await;
    let retry_ms = assert_limited(&refused, "hour");
    // 5/h: one more send every 12 minutes.
    assert!((700_000..=720_000).contains(&retry_ms), "{retry_ms}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_raising_the_limit_admits_the_next_send_at_once() {
    let create = json!({"label": "s", "ratePerMin": 1});
    let (app, owner, id) = stack_with_session(one_gateway(), &create).await;
    assert_queued(&app.send_message(&owner, &id, &hello(PHONE), None).await);
    let refused = app.send_message(&owner, &id, &hello(PHONE), None).await;
    assert_limited(&refused, "minute");
    let patched = app
        .patch(&session_path(&id, ""), &owner, &json!({"ratePerMin": 10}))
        .await;
    assert_eq!(assert_status(&patched, StatusCode::OK)["ratePerMin"], 10);
    assert_queued(&app.send_message(&owner, &id, &hello(PHONE), None).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_hold_across_two_edges() {
    let create = json!({"label": "s", "ratePerMin": 2});
    let (app, owner, id) = stack_with_session(one_gateway(), &create).await;
    let edge_b = app.start_edge(&one_gateway()).await;
    let body = hello(PHONE);
    let via_a = || app.send_message(&owner, &id, &body, None);
    assert_queued(&via_a().await);
    let via_b = app
        .send_message_via(&edge_b.base_url, &owner, &id, &body, None)
        .await;
    assert_queued(&via_b);
    assert_limited(&via_a().await, "minute");
    let via_b = app
        .send_message_via(&edge_b.base_url, &owner, &id, &hello(PHONE), None)
        .await;
    assert_limited(&via_b, "minute");
    edge_b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_send_rate_limits_off_sends_beyond_the_limit_are_admitted() {
    let options = TestOptions {
        send_rate_limits: false,
        ..one_gateway()
    };
    let create = json!({"label": "s", "ratePerMin": 1});
    let (app, owner, id) = stack_with_session(options, &create).await;
    for _ in 0..4 {
        assert_queued(&app.send_message(&owner, &id, &hello(PHONE), None).await);
    }
    let limited_edge = app.start_edge(&one_gateway()).await;
    let response = app
        .send_message_via(&limited_edge.base_url, &owner, &id, &hello(PHONE), None)
        .await;
    assert_queued(&response);
    let response = app
        .send_message_via(&limited_edge.base_url, &owner, &id, &hello(PHONE), None)
        .await;
    assert_limited(&response, "minute");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_not_remembered_under_its_idempotency_key() {
    // 20/min: a cell frees every 3 s, so the wait below is short.
    let create = json!({"label": "s", "ratePerMin": 20});
    let (app, owner, id) = stack_with_session(one_gateway(), &create).await;
    let mut sent = 0;
    loop {
        let response = app.send_message(&owner, &id, &hello(PHONE), None).await;
        if response.0 == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        assert_queued(&response);
        sent += 1;
        assert!(sent <= 25, "never limited");
    }
    let refused = app
        .send_message(&owner, &id, &hello(PHONE), Some("retry-me"))
        .await;
    let retry_ms = assert_limited(&refused, "minute");
    // Honouring the server's wait, as a client would.
    tokio::time::sleep(Duration::from_millis(retry_ms)).await;
    let admitted = app
        .send_message(&owner, &id, &hello(PHONE), Some("retry-me"))
        .await;
    let message_id = assert_queued(&admitted);
    let again = app
        .send_message(&owner, &id, &hello(PHONE), Some("retry-me"))
        .await;
    assert_eq!(assert_queued(&again), message_id, "the 202 is remembered");
}
