//! `POST /sessions/{session}/messages`, edge side: acceptance into the gateway's send stream
//! (read back straight from JetStream), the refusals, rate limits (`rate_limits.rs`) and
//! `Idempotency-Key` (`idempotency.rs`).
//!
//! Tests that count jobs in the stream stop the gateway's worker once the session is paired:
//! its row stays `working`, the edge needs no worker to accept a send, and no consumer takes
//! jobs out of the stream while the test reads it.

mod idempotency;
mod rate_limits;

use reqwest::StatusCode;
use serde_json::{Value, json};
use wagw_api::Capability;
use wagw_tests::assertions::{
    assert_error, assert_invalid_field, assert_recent_ms, assert_status, assert_ulid,
};
use wagw_tests::{ORG_A, ORG_B, TestApp, TestOptions, id_of, session_path};

const PHONE: &str = "6281234567890";
const GW: &str = "gw-a";

/// One gateway, one worker: the smallest stack that can pair a session.
fn one_gateway() -> TestOptions {
    TestOptions {
        gateways: vec![GW.into()],
        ..TestOptions::default()
    }
}

fn hello(to: &str) -> Value {
    json!({"to": to, "text": "hello from the edge"})
}

/// A stack, an owner token, and a `working` session created with `create`, whose worker is
/// then stopped (see the module doc).
async fn working_session_without_worker(create: &Value) -> (TestApp, String, String) {
    let mut app = TestApp::spawn(one_gateway()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.paired_session_from(&owner, create, PHONE).await);
    let worker = app.workers[0].id.clone();
    app.stop_worker(&worker).await;
    (app, owner, id)
}

/// Asserts a `202 {id, status: "queued"}` and returns the id.
#[track_caller]
fn assert_queued(response: &wagw_tests::HttpResponse) -> String {
    let body = assert_status(response, StatusCode::ACCEPTED);
    assert_ulid(&body["id"]);
    assert_eq!(body["status"], "queued", "{body}");
    let keys: Vec<&String> = body
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["id", "status"], "{body}");
    id_of(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_send_is_202_queued_with_exactly_one_job_in_the_send_stream() {
    let (app, owner, id) = working_session_without_worker(&json!({"label": "s"})).await;
    let response = app
        .send_message(&owner, &id, &hello("6289876543210"), None)
        .await;
    let message_id = assert_queued(&response);
    let jobs = app.send_jobs_of(GW, &message_id).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job = &jobs[0];
    let shard = wagw_common::shard::ShardRef::of_session(
        &wagw_common::GatewayId::parse(GW).expect("valid"),
        &wagw_common::SessionId::parse(&id).expect("valid"),
        app.options.shards,
    );
    let subject = format!("{}.cmd.{GW}.{}.{id}.send", app.subjects.root(), shard.shard);
    assert_eq!(job.subject, subject);
    let request_id = response.2.get("x-request-id").and_then(|v| v.to_str().ok());
    assert_eq!(
        job.request_id.as_deref(),
        request_id,
        "the request id travels"
    );
    let payload = &job.payload;
    assert_eq!(payload["type"], "send_message.v1", "{payload}");
    assert_eq!(payload["organizationId"], ORG_A);
    assert_eq!(payload["messageId"], message_id.as_str());
    assert_eq!(payload["to"], "6289876543210@s.whatsapp.net");
    assert_eq!(payload["text"], "hello from the edge");
    assert_recent_ms(&payload["acceptedAt"]);
    let group = app
        .send_message(&owner, &id, &hello("120363025246125486@g.us"), None)
        .await;
    let group_id = assert_queued(&group);
    let jobs = app.send_jobs_of(GW, &group_id).await;
    assert_eq!(jobs[0].payload["to"], "120363025246125486@g.us");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_is_not_working_cannot_send() {
    let app = TestApp::spawn(one_gateway()).await;
    let owner = app.jwt(ORG_A, "owner");
    let unpaired = id_of(&app.create_session(&owner, &json!({"label": "new"})).await);
    let response = app
        .send_message(&owner, &unpaired, &hello(PHONE), None)
        .await;
    assert_error(&response, StatusCode::CONFLICT, "failed_precondition");
    assert_eq!(
        response.1["error"]["message"],
        "session is stopped; only a working session can send"
    );
    let paired = id_of(&app.paired_session(&owner, PHONE).await);
    let stopped = app
        .post_empty(&session_path(&paired, ":stop"), &owner)
        .await;
    assert_eq!(assert_status(&stopped, StatusCode::OK)["status"], "stopped");
    let response = app.send_message(&owner, &paired, &hello(PHONE), None).await;
    assert_error(&response, StatusCode::CONFLICT, "failed_precondition");
    assert!(app.send_jobs(GW).await.is_empty(), "nothing was queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_needs_the_send_capability_in_the_sessions_organization() {
    let (app, _owner, id) = working_session_without_worker(&json!({"label": "s"})).await;
    let other_org = app
        .api_key(ORG_B, &[Capability::Send, Capability::Admin])
        .await;
    let response = app.send_message(&other_org, &id, &hello(PHONE), None).await;
    assert_error(&response, StatusCode::NOT_FOUND, "not_found");
    let no_send = app
        .api_key(ORG_A, &[Capability::Read, Capability::Manage])
        .await;
    let response = app.send_message(&no_send, &id, &hello(PHONE), None).await;
    assert_error(&response, StatusCode::FORBIDDEN, "forbidden");
    let member = app.jwt(ORG_A, "member");
    assert_queued(&app.send_message(&member, &id, &hello(PHONE), None).await);
    let no_token = app
        .http
        .post(app.url(&session_path(&id, "/messages")))
        .json(&hello(PHONE))
        .send()
        .await
        .expect("sent");
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_session_also_needs_the_admin_capability() {
    let create = json!({"label": "admin", "isAdminSession": true});
    let (app, _owner, id) = working_session_without_worker(&create).await;
    let send_only = app.api_key(ORG_A, &[Capability::Send]).await;
    let response = app.send_message(&send_only, &id, &hello(PHONE), None).await;
    assert_error(&response, StatusCode::FORBIDDEN, "forbidden");
    let admin = app
        .api_key(ORG_A, &[Capability::Send, Capability::Admin])
        .await;
    assert_queued(&app.send_message(&admin, &id, &hello(PHONE), None).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_fields_are_400_naming_the_field_and_queue_nothing() {
    let (app, owner, id) = working_session_without_worker(&json!({"label": "s"})).await;
    let cases = [
        (json!({"to": "+62 812", "text": "x"}), "to"),
        (json!({"to": "628@example.com", "text": "x"}), "to"),
        (json!({"to": PHONE, "text": ""}), "text"),
        (json!({"to": PHONE, "text": "x".repeat(65_537)}), "text"),
        (json!({"to": PHONE}), "text"),
        (
            json!({"to": PHONE, "text": "x", "mediaUrl": "http://x"}),
            "mediaUrl",
        ),
        (json!({"to": 628_123_456_789_u64, "text": "x"}), "to"),
    ];
    for (body, field) in cases {
        let response = app.send_message(&owner, &id, &body, None).await;
        assert_invalid_field(&response, field);
    }
    for key in ["has space", &"k".repeat(256)] {
        let response = app
            .send_message(&owner, &id, &hello(PHONE), Some(key))
            .await;
        assert_invalid_field(&response, "Idempotency-Key");
    }
    let longest = "x".repeat(65_536);
    let body = json!({"to": PHONE, "text": longest});
    assert_queued(&app.send_message(&owner, &id, &body, None).await);
    let plain = app
        .request(
            reqwest::Method::POST,
            &session_path(&id, "/messages"),
            Some(&owner),
        )
        .header("content-type", "text/plain")
        .body(r#"{"to":"6281234567890","text":"x"}"#)
        .send()
        .await
        .expect("sent");
    let response = wagw_tests::http::read_response(plain).await;
    assert_error(
        &response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    assert_eq!(
        app.send_jobs(GW).await.len(),
        1,
        "only the valid send was queued"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_send_stream_is_created_by_the_next_send() {
    let (app, owner, id) = working_session_without_worker(&json!({"label": "s"})).await;
    app.delete_send_stream(GW).await;
    let message_id = assert_queued(&app.send_message(&owner, &id, &hello(PHONE), None).await);
    assert_eq!(app.send_jobs_of(GW, &message_id).await.len(), 1);
}
