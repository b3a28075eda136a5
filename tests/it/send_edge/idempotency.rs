//! `Idempotency-Key`: a retry gets the first answer and queues nothing more (even once the
//! session stopped), concurrent duplicates are one job, another body under the same key is
//! refused, and a record left `pending` (its edge died before the stream answered) is
//! published again under its id.

use super::{GW, PHONE, assert_queued, hello, one_gateway, working_session_without_worker};
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest, Sha256};
use wagw_tests::assertions::{assert_error, assert_invalid_field, assert_status};
use wagw_tests::{ORG_A, TestApp, id_of, session_path};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_and_body_twice_is_one_id_and_one_job() {
    let (app, owner, id) = working_session_without_worker(&json!({"label": "s"})).await;
    let first = app
        .send_message(&owner, &id, &hello(PHONE), Some("order-1"))
        .await;
    let message_id = assert_queued(&first);
    let retry = app
        .send_message(&owner, &id, &hello(PHONE), Some("order-1"))
        .await;
    assert_eq!(assert_queued(&retry), message_id);
    assert_eq!(app.send_jobs(GW).await.len(), 1);
    assert_eq!(app.send_jobs_of(GW, &message_id).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_with_another_body_is_400_and_queues_nothing() {
    let (app, owner, id) = working_session_without_worker(&json!({"label": "s"})).await;
    assert_queued(
        &app.send_message(&owner, &id, &hello(PHONE), Some("order-2"))
            .await,
    );
    let other = json!({"to": PHONE, "text": "a different text"});
    let response = app.send_message(&owner, &id, &other, Some("order-2")).await;
    assert_invalid_field(&response, "Idempotency-Key");
    assert_eq!(
        response.1["error"]["message"],
        "this Idempotency-Key was used with a different request"
    );
    let other_to = app
        .send_message(&owner, &id, &hello("6289876543210"), Some("order-2"))
        .await;
    assert_invalid_field(&other_to, "Idempotency-Key");
    assert_eq!(app.send_jobs(GW).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_key_the_same_body_twice_is_two_jobs() {
    let (app, owner, id) = working_session_without_worker(&json!({"label": "s"})).await;
    let first = assert_queued(&app.send_message(&owner, &id, &hello(PHONE), None).await);
    let second = assert_queued(&app.send_message(&owner, &id, &hello(PHONE), None).await);
    assert_ne!(first, second);
    assert_eq!(app.send_jobs(GW).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_with_one_key_are_all_202_with_one_id_and_one_job() {
    let (app, owner, id) = working_session_without_worker(&json!({"label": "s"})).await;
    let body = hello(PHONE);
    let sends = (0..10).map(|_| app.send_message(&owner, &id, &body, Some("burst")));
    let responses = join_all(sends).await;
    let ids: Vec<String> = responses.iter().map(assert_queued).collect();
    assert!(ids.iter().all(|one| one == &ids[0]), "{ids:?}");
    let jobs = app.send_jobs(GW).await;
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].msg_id.as_deref(), Some(ids[0].as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_record_is_published_again_under_its_message_id_and_then_accepted() {
    let (app, owner, id) = working_session_without_worker(&json!({"label": "s"})).await;
    // What an edge that died between admission and the stream's answer leaves behind.
    let message_id = ulid::Ulid::generate().to_string();
    let to = format!("{PHONE}@s.whatsapp.net");
    let fingerprint = hex::encode(Sha256::digest(format!("{to}\nhello from the edge")));
    let pending = json!({"messageId": message_id, "fingerprint": fingerprint,
        "state": "pending", "acceptedAt": wagw_common::time::now_ms()});
    let key_hash = hex::encode(Sha256::digest("left-pending"));
    let redis_key = app.idempotency_key(GW, &id, &key_hash);
    let mut redis = app.redis.clone();
    let () = redis::cmd("SET")
        .arg(&redis_key)
        .arg(pending.to_string())
        .arg("EX")
        .arg(86_400)
        .query_async(&mut redis)
        .await
        .expect("SET");
    let retry = app
        .send_message(&owner, &id, &hello(PHONE), Some("left-pending"))
        .await;
    assert_eq!(retry.0, StatusCode::ACCEPTED, "{}", retry.1);
    assert_eq!(assert_queued(&retry), message_id);
    let jobs = app.send_jobs_of(GW, &message_id).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].payload["messageId"], message_id.as_str());
    let stored: String = redis::cmd("GET")
        .arg(&redis_key)
        .query_async(&mut redis)
        .await
        .expect("GET");
    let stored: serde_json::Value = serde_json::from_str(&stored).expect("JSON");
    assert_eq!(stored["state"], "accepted");
    assert_eq!(stored["messageId"], message_id.as_str());
    let again = app
        .send_message(&owner, &id, &hello(PHONE), Some("left-pending"))
        .await;
    assert_eq!(assert_queued(&again), message_id);
    assert_eq!(app.send_jobs(GW).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_the_session_stopped_still_gets_the_first_answer() {
    let app = TestApp::spawn(one_gateway()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.paired_session(&owner, PHONE).await);
    let first = app
        .send_message(&owner, &id, &hello(PHONE), Some("before-stop"))
        .await;
    let message_id = assert_queued(&first);
    let stopped = app.post_empty(&session_path(&id, ":stop"), &owner).await;
    assert_eq!(assert_status(&stopped, StatusCode::OK)["status"], "stopped");
    let retry = app
        .send_message(&owner, &id, &hello(PHONE), Some("before-stop"))
        .await;
    assert_eq!(assert_queued(&retry), message_id);
    let other = json!({"to": PHONE, "text": "another text"});
    let reused = app
        .send_message(&owner, &id, &other, Some("before-stop"))
        .await;
    assert_invalid_field(&reused, "Idempotency-Key");
    let fresh = app
        .send_message(&owner, &id, &hello(PHONE), Some("after-stop"))
        .await;
    assert_error(&fresh, StatusCode::CONFLICT, "failed_precondition");
}
