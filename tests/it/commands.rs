//! How the edge reaches workers: `503 unavailable` when nobody answers (after retrying within
//! the command timeout), `504 deadline_exceeded` when a command is taken but never acknowledged,
//! a worker's "shard moving" refusal retried until the new owner answers, and the request id
//! forwarded in a NATS header.

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};
use wagw_common::wire::{Command, REQUEST_ID_HEADER, Reply};
use wagw_common::{ErrorBody, GatewayId};
use wagw_tests::assertions::{assert_error, assert_status};
use wagw_tests::{ORG_A, TestApp, TestOptions, id_of, session_path};

const SESSIONS: &str = "/api/v1/sessions";

/// Records gw-a's shard count as its first worker would, so the edge can route commands.
async fn record_shard_count(app: &TestApp, shards: u32) {
    let gw = GatewayId::parse("gw-a").expect("valid");
    let mut redis = app.redis.clone();
    let set: redis::RedisResult<()> = redis::cmd("SET")
        .arg(app.keys.shard_count(&gw))
        .arg(shards)
        .query_async(&mut redis)
        .await;
    set.expect("SET shard count");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_is_503_within_the_timeout_when_no_worker_serves_the_gateway() {
    let options = TestOptions {
        command_timeout_ms: 1000,
        ..TestOptions::edge_only()
    };
    let app = TestApp::spawn(options).await;
    let owner = app.jwt(ORG_A, "owner");
    // A gateway that never had a worker, then one that had (its shard count is recorded).
    for recorded in [false, true] {
        if recorded {
            record_shard_count(&app, 8).await;
        }
        let started = Instant::now();
        let response = app
            .post(SESSIONS, &owner, &json!({"label": "nobody home"}))
            .await;
        let took = started.elapsed();
        assert_error(&response, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        assert!(
            took < Duration::from_millis(2500),
            "503 after {took:?} (timeout 1 s, shard count recorded: {recorded})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_taken_but_never_acknowledged_is_504_and_carries_the_request_id() {
    let options = TestOptions {
        command_timeout_ms: 1000,
        ..TestOptions::edge_only()
    };
    let app = TestApp::spawn(options).await;
    record_shard_count(&app, 8).await;
    // A fake worker: it takes every command of the gateway and never answers.
    let mut silent = app
        .subscribe(format!("{}.cmd.gw-a.>", app.subjects.root()))
        .await;
    let owner = app.jwt(ORG_A, "owner");
    let started = Instant::now();
    let response = app
        .request(reqwest::Method::POST, SESSIONS, Some(&owner))
        .header("x-request-id", "trace-me-504")
        .json(&json!({"label": "into the void"}))
        .send()
        .await
        .expect("sent");
    let response = wagw_tests::http::read_response(response).await;
    let took = started.elapsed();
    assert_error(&response, StatusCode::GATEWAY_TIMEOUT, "deadline_exceeded");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(3000),
        "504 after {took:?}"
    );

    let taken = tokio::time::timeout(Duration::from_secs(1), silent.next())
        .await
        .ok()
        .flatten()
        .expect("the fake worker got the command");
    let parsed = app
        .subjects
        .parse_command(&taken.subject)
        .expect("a command subject");
    assert_eq!(parsed.gateway.as_str(), "gw-a");
    assert!(parsed.shard < 8, "{parsed:?}");
    assert_eq!(
        parsed.shard,
        wagw_common::shard::shard_of(&parsed.session, 8)
    );
    let request_id = taken
        .headers
        .as_ref()
        .and_then(|h| h.get(REQUEST_ID_HEADER))
        .map(|v| v.as_str().to_owned());
    assert_eq!(
        request_id.as_deref(),
        Some("trace-me-504"),
        "request id forwarded to the worker"
    );
    let command: Command = serde_json::from_slice(&taken.payload).expect("a wire::Command");
    assert_eq!(command.op(), parsed.op);
    assert_eq!(command.organization_id().as_str(), ORG_A);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_waits_for_a_worker_that_comes_up_within_the_timeout() {
    let options = TestOptions {
        command_timeout_ms: 8000,
        ..TestOptions::edge_only()
    };
    let mut app = TestApp::spawn(options).await;
    record_shard_count(&app, 8).await;
    let owner = app.jwt(ORG_A, "owner");
    let create = {
        let request = app.request(reqwest::Method::POST, SESSIONS, Some(&owner));
        tokio::spawn(request.json(&json!({"label": "patient"})).send())
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.start_worker("gw-a").await;
    let response = create.await.expect("joined").expect("sent");
    let response = wagw_tests::http::read_response(response).await;
    assert_eq!(
        assert_status(&response, StatusCode::CREATED)["gatewayId"],
        "gw-a"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_503_once_the_only_worker_has_stopped() {
    let options = TestOptions {
        command_timeout_ms: 1000,
        ..TestOptions::default()
    };
    let mut app = TestApp::spawn(options).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(
        &app.create_session(&owner, &json!({"label": "orphan"}))
            .await,
    );
    let worker = (app.workers.iter())
        .find(|w| w.gateway == "gw-a")
        .map(|w| w.id.clone())
        .expect("a gw-a worker");
    app.stop_worker(&worker).await;
    let response = app.post_empty(&session_path(&id, ":stop"), &owner).await;
    assert_error(&response, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    // Reads do not need a worker.
    let row = app.get(&session_path(&id, ""), &owner).await;
    assert_eq!(assert_status(&row, StatusCode::OK)["id"], id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_moving_refusal_is_retried_until_the_new_owner_answers() {
    let options = TestOptions {
        command_timeout_ms: 8000,
        ..TestOptions::edge_only()
    };
    let mut app = TestApp::spawn(options).await;
    record_shard_count(&app, 8).await;
    // The old owner, handing the shard over: it refuses the first command, then is gone.
    let mut old_owner = app
        .subscribe(format!("{}.cmd.gw-a.>", app.subjects.root()))
        .await;
    let nats = app.nats.clone();
    let refused = tokio::spawn(async move {
        let message = old_owner.next().await.expect("a command");
        let reply = Reply::refused(ErrorBody::shard_moving("handing over; retry"));
        let payload = serde_json::to_vec(&reply).expect("serializes");
        let inbox = message.reply.expect("a request");
        nats.publish(inbox, payload.into()).await.expect("replied");
        nats.flush().await.expect("flushed");
        old_owner.unsubscribe().await.expect("unsubscribed");
    });
    let owner = app.jwt(ORG_A, "owner");
    let create = {
        let request = app.request(reqwest::Method::POST, SESSIONS, Some(&owner));
        tokio::spawn(request.json(&json!({"label": "moving"})).send())
    };
    tokio::time::timeout(Duration::from_secs(5), refused)
        .await
        .expect("the old owner refused in time")
        .expect("joined");
    app.start_worker("gw-a").await;
    let response = create.await.expect("joined").expect("sent");
    let response = wagw_tests::http::read_response(response).await;
    assert_eq!(
        assert_status(&response, StatusCode::CREATED)["label"],
        "moving"
    );
}
