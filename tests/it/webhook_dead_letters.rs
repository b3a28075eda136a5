//! Dead letters: a refused delivery (410) at once, a delivery still failing when the retry
//! window ends; listing them page by page; redelivering one; and durable consumers that keep
//! undelivered events across a worker restart.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use wagw_common::events::Event;
use wagw_common::{GatewayId, OrganizationId, SessionId};
use wagw_tests::assertions::{assert_error, assert_status};
use wagw_tests::webhook_receiver::Behaviour;
use wagw_tests::{ORG_A, SOON, TestApp, TestOptions, WebhookReceiver, id_of};

use crate::webhook_delivery::{all_delivered, one_gateway, session_event_ids};
use crate::webhooks::{create_webhook, webhook_path};

/// Polls the dead letters until there are at least `count`; returns the first page.
async fn wait_for_dead_letters(app: &TestApp, token: &str, webhook: &str, count: usize) -> Value {
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    let path = webhook_path(webhook, "/dead-letters?pageSize=500");
    loop {
        let response = app.get(&path, token).await;
        let page = assert_status(&response, StatusCode::OK).clone();
        if page["deadLetters"]
            .as_array()
            .is_some_and(|l| l.len() >= count)
        {
            return page;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "not {count} dead letters: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_delivery_is_a_dead_letter_at_once_and_redelivers() {
    let app = TestApp::spawn(one_gateway()).await;
    let owner = app.jwt(ORG_A, "owner");
    let receiver = WebhookReceiver::start().await;
    receiver.set(Behaviour::Status(410));
    let body = json!({"url": receiver.url(), "events": ["session.status"]});
    let (webhook, _, _) = create_webhook(&app, &owner, &body).await;
    let session = id_of(&app.paired_session(&owner, "6281234567897").await);
    let statuses: BTreeSet<String> = session_event_ids(&app, &owner, &session).await;
    let page = wait_for_dead_letters(&app, &owner, &webhook, 3).await;
    let letters = page["deadLetters"].as_array().cloned().unwrap_or_default();
    for letter in &letters {
        assert_eq!(letter["attempts"], 1, "no retry after a 410: {letter}");
        assert_eq!(letter["lastStatus"], 410);
        assert_eq!(letter["event"]["type"], "session.status");
        assert!(statuses.contains(&id_of(&letter["event"])));
    }
    let requests = receiver.received();
    for letter in &letters {
        let id = id_of(&letter["event"]);
        let tries = requests.iter().filter(|r| id_of(&r.event()) == id).count();
        assert_eq!(tries, 1, "one request for {id}, no retry");
    }

    // Page by page, one at a time, newest failure first: every letter exactly once.
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let query = token
            .as_deref()
            .map_or(String::new(), |t| format!("&pageToken={t}"));
        let path = webhook_path(&webhook, &format!("/dead-letters?pageSize=1{query}"));
        let response = app.get(&path, &owner).await;
        let page = assert_status(&response, StatusCode::OK);
        seen.extend(
            page["deadLetters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| id_of(&l["event"])),
        );
        match page["nextPageToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    let listed: Vec<String> = letters.iter().map(|l| id_of(&l["event"])).collect();
    assert_eq!(seen, listed);

    receiver.set(Behaviour::Accept);
    let event = listed[0].clone();
    let redeliver = webhook_path(&webhook, &format!("/dead-letters/{event}:redeliver"));
    let response = app.post_empty(&redeliver, &owner).await;
    let queued = assert_status(&response, StatusCode::ACCEPTED);
    assert_eq!(queued["eventId"], event.as_str());
    assert_eq!(queued["webhookId"], webhook.as_str());
    receiver
        .wait_for(SOON, "the redelivered event", |r| {
            r.iter()
                .any(|r| r.answered == 200 && id_of(&r.event()) == event)
        })
        .await;
    let response = app
        .get(&webhook_path(&webhook, "/dead-letters"), &owner)
        .await;
    let left = assert_status(&response, StatusCode::OK)["deadLetters"].clone();
    assert!(
        left.as_array()
            .is_some_and(|l| l.iter().all(|l| id_of(&l["event"]) != event))
    );
    let again = app.post_empty(&redeliver, &owner).await;
    assert_error(&again, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_failing_past_the_retry_window_is_a_dead_letter() {
    let mut options = one_gateway();
    options.webhooks.retry_window_secs = 2;
    options.webhooks.retry_min_ms = 200;
    options.webhooks.retry_max_ms = 500;
    let app = TestApp::spawn(options).await;
    let owner = app.jwt(ORG_A, "owner");
    let receiver = WebhookReceiver::start().await;
    receiver.set(Behaviour::Status(500));
    let body = json!({"url": receiver.url(), "events": ["session.paired"]});
    let (webhook, _, _) = create_webhook(&app, &owner, &body).await;
    app.paired_session(&owner, "6281234567898").await;

    let page = wait_for_dead_letters(&app, &owner, &webhook, 1).await;
    let letter = &page["deadLetters"][0];
    assert_eq!(letter["lastStatus"], 500);
    assert_eq!(letter["lastError"], "HTTP 500");
    let attempts = letter["attempts"].as_u64().unwrap_or_default();
    assert!(attempts >= 2, "retried within the window: {letter}");
    let first = letter["firstAttemptAt"].as_i64().unwrap_or_default();
    let failed = letter["failedAt"].as_i64().unwrap_or_default();
    assert!(
        failed - first >= 2000,
        "kept trying for the whole window: {letter}"
    );
    let requests = receiver.received().len() as u64;
    assert_eq!(requests, attempts, "every attempt counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undelivered_events_survive_a_worker_restart() {
    let app_options = TestOptions::default();
    let mut app = TestApp::spawn(app_options).await;
    let owner = app.jwt(ORG_A, "owner");
    let receiver = WebhookReceiver::start().await;
    receiver.set(Behaviour::Status(503));
    create_webhook(&app, &owner, &json!({"url": receiver.url()})).await;
    let session = id_of(&app.paired_session(&owner, "6281234567899").await);
    receiver
        .wait_for(SOON, "a failed attempt", |r| !r.is_empty())
        .await;

    let workers: Vec<String> = app.workers.iter().map(|w| w.id.clone()).collect();
    for worker in &workers {
        app.stop_worker(worker).await;
    }
    // An event stored while no worker runs is fanned out by the next one.
    let org = OrganizationId::parse(ORG_A).expect("valid");
    let session_id = SessionId::parse(&session).expect("valid");
    let gw = GatewayId::parse("gw-a").expect("valid");
    let event = Event {
        id: ulid::Ulid::generate().to_string(),
        event_type: "message.received".into(),
        session_id,
        organization_id: org,
        gateway_id: gw.clone(),
        at: wagw_common::time::now_ms(),
        data: json!({"from": "6281111111111", "text": "while nobody listened"}),
    };
    let js = async_nats::jetstream::new(app.nats.clone());
    let subject = app.subjects.event(&gw, &session_id, "message.received");
    let payload = serde_json::to_vec(&event).expect("serializes");
    let ack = js
        .publish(subject, payload.into())
        .await
        .expect("published");
    ack.await.expect("stored in the event stream");

    receiver.set(Behaviour::Accept);
    app.start_worker("gw-a").await;
    let mut ids = session_event_ids(&app, &owner, &session).await;
    assert!(ids.contains(&event.id));
    ids.insert(event.id.clone());
    receiver
        .wait_for(
            Duration::from_secs(30),
            "every event after the restart",
            |r| all_delivered(r, &ids),
        )
        .await;
}
