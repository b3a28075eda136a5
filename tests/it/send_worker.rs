//! The worker's send pipeline, from a job in the send stream to the phone: sent under the
//! derived WhatsApp id, typing, per-session order, refusal when not working, exactly once
//! across redeliveries; and the events of incoming messages with `autoRead`. Handovers of a
//! shard mid-send are in `send_worker_handover.rs`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use wagw_common::events::types;
use wagw_common::sim::SimAction;
use wagw_tests::sends::{SendTaps, SendTarget, send_job};
use wagw_tests::{ORG_A, SOON, TestApp, TestOptions, id_of, session_path};
use wagw_worker::send::wa_message_id;

const PHONE: &str = "6281234567890";
const TO: &str = "6281111111111@s.whatsapp.net";

/// One worker of gateway `gw-a`, the taps, and an owner's token.
async fn stack() -> (TestApp, SendTaps, SendTarget, String) {
    let app = TestApp::spawn(TestOptions {
        gateways: vec!["gw-a".into()],
        ..TestOptions::default()
    })
    .await;
    let taps = SendTaps::start(&app.nats, &app.subjects, "gw-a").await;
    let target = SendTarget::new(&app.nats, &app.subjects, "gw-a", app.options.shards);
    let owner = app.jwt(ORG_A, "owner");
    (app, taps, target, owner)
}

/// A working session with `settings` patched in (e.g. `{"presenceTyping": false}`).
async fn working_session(app: &TestApp, owner: &str, settings: Value) -> String {
    let id = id_of(&app.paired_session(owner, PHONE).await);
    let (status, row, _) = app.patch(&session_path(&id, ""), owner, &settings).await;
    assert_eq!(status, StatusCode::OK, "{row}");
    id
}

fn kinds(records: &[Value]) -> Vec<String> {
    let kind = |r: &Value| match r["kind"].as_str() {
        Some("presence") => format!("presence:{}", r["presence"].as_str().unwrap_or("?")),
        other => other.unwrap_or("?").to_owned(),
    };
    records
        .iter()
        .map(kind)
        .filter(|k| k != "connected")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_for_a_working_session_is_sent_under_its_derived_id_and_its_receipt_names_our_id() {
    let (app, taps, target, owner) = stack().await;
    let id = working_session(&app, &owner, json!({"presenceTyping": false})).await;
    let job = send_job(ORG_A, TO, "hello");
    let wa_id = wa_message_id(&job.message_id);
    target.publish(&id, &job).await;

    let sent = taps
        .until(SOON, "message.sent", |t| {
            t.message_events(&id, types::MESSAGE_SENT, &job.message_id)
                .pop()
        })
        .await;
    assert_eq!(
        sent.data,
        json!({"messageId": job.message_id, "waMessageId": wa_id, "to": TO})
    );
    let texts = taps.sent_texts(&id, &wa_id);
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(
        (texts[0]["to"].as_str(), texts[0]["text"].as_str()),
        (Some(TO), Some("hello"))
    );

    let delivered = taps
        .until(SOON, "message.delivered", |t| {
            t.message_events(&id, types::MESSAGE_DELIVERED, &job.message_id)
                .pop()
        })
        .await;
    assert_eq!(
        delivered.data,
        json!({"messageId": job.message_id, "waMessageId": wa_id, "direction": "out"})
    );
    target.wait_all_acknowledged(SOON).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_typing_wraps_the_send_in_composing_and_paused_and_without_it_only_sends() {
    let (app, taps, target, owner) = stack().await;
    let typing = working_session(&app, &owner, json!({"presenceTyping": true})).await;
    let plain = working_session(&app, &owner, json!({"presenceTyping": false})).await;
    let (typed_job, plain_job) = (send_job(ORG_A, TO, "typed"), send_job(ORG_A, TO, "plain"));
    target.publish(&typing, &typed_job).await;
    target.publish(&plain, &plain_job).await;
    for (id, job) in [(&typing, &typed_job), (&plain, &plain_job)] {
        taps.until(SOON, "message.sent", |t| {
            t.message_events(id, types::MESSAGE_SENT, &job.message_id)
                .pop()
        })
        .await;
    }
    // `paused` follows the send; wait for it rather than assume it is already recorded.
    taps.until(SOON, "paused", |t| {
        (t.journal_of(&typing, "presence").len() == 2).then_some(())
    })
    .await;
    assert_eq!(
        kinds(&taps.journal(&typing)),
        ["presence:composing", "sent_text", "presence:paused"]
    );
    assert_eq!(kinds(&taps.journal(&plain)), ["sent_text"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_jobs_of_one_session_are_sent_in_order() {
    let (app, taps, target, owner) = stack().await;
    let id = working_session(&app, &owner, json!({"presenceTyping": false})).await;
    let jobs: Vec<_> = (0..20)
        .map(|i| send_job(ORG_A, TO, &format!("message {i}")))
        .collect();
    for job in &jobs {
        target.publish(&id, job).await;
    }
    let sent = taps
        .until(SOON, "20 sent texts", |t| {
            let sent = t.journal_of(&id, "sent_text");
            (sent.len() >= 20).then_some(sent)
        })
        .await;
    let order: Vec<&str> = sent.iter().filter_map(|r| r["text"].as_str()).collect();
    let expected: Vec<String> = (0..20).map(|i| format!("message {i}")).collect();
    assert_eq!(order, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_for_a_stopped_session_fails_naming_the_status_and_sends_nothing() {
    let (app, taps, target, owner) = stack().await;
    let id = working_session(&app, &owner, json!({"presenceTyping": false})).await;
    let (status, row, _) = app.post_empty(&session_path(&id, ":stop"), &owner).await;
    assert_eq!(status, StatusCode::OK, "{row}");
    let job = send_job(ORG_A, TO, "too late");
    target.publish(&id, &job).await;
    let failed = taps
        .until(SOON, "message.failed", |t| {
            t.message_events(&id, types::MESSAGE_FAILED, &job.message_id)
                .pop()
        })
        .await;
    assert_eq!(failed.data["to"], TO);
    let reason = failed.data["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("stopped"), "{reason}");
    assert!(taps.journal_of(&id, "sent_text").is_empty());
    assert!(taps.events(&id, types::MESSAGE_SENT).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_delivered_twice_is_sent_once_and_reported_under_one_event_id() {
    let (app, taps, target, owner) = stack().await;
    let id = working_session(&app, &owner, json!({"presenceTyping": false})).await;
    let job = send_job(ORG_A, TO, "once");
    // Two copies in the stream: a different `Nats-Msg-Id` escapes the stream's dedupe.
    target.publish_with_id(&id, &job, "copy-1").await;
    target.publish_with_id(&id, &job, "copy-2").await;
    // The second copy finds the record `sent` and publishes the same event again.
    let events = taps
        .until(SOON, "both copies handled", |t| {
            let sent = t.message_events(&id, types::MESSAGE_SENT, &job.message_id);
            (sent.len() == 2).then_some(sent)
        })
        .await;
    assert_eq!(events[0].id, events[1].id, "a repeat is the same event");
    assert_eq!(
        taps.sent_texts(&id, &wa_message_id(&job.message_id)).len(),
        1
    );
    target.wait_all_acknowledged(SOON).await;
    assert_eq!(
        taps.sent_texts(&id, &wa_message_id(&job.message_id)).len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incoming_messages_are_marked_read_only_with_auto_read() {
    let (app, taps, _target, owner) = stack().await;
    let reading = working_session(&app, &owner, json!({"autoRead": true})).await;
    let ignoring = working_session(&app, &owner, json!({"autoRead": false})).await;
    for id in [&ignoring, &reading] {
        let body = json!({"from": "6281111111111", "text": "hi"});
        assert!(app.sim("gw-a", id, SimAction::Incoming, body).await.ok);
    }
    let read = taps
        .until(SOON, "message.read", |t| {
            t.events(&reading, types::MESSAGE_READ).pop()
        })
        .await;
    let received = taps
        .events(&reading, types::MESSAGE_RECEIVED)
        .pop()
        .expect("received first");
    let wa_id = received.data["waMessageId"].clone();
    assert_eq!(received.data["from"], TO, "the sender as a JID");
    assert_eq!(received.data["text"], "hi");
    assert!(received.data["at"].is_i64(), "{}", received.data);
    assert_eq!(
        read.data,
        json!({"waMessageId": wa_id, "chat": TO, "direction": "in"})
    );
    let marked = taps.journal_of(&reading, "marked_read");
    assert_eq!(marked.len(), 1);
    assert_eq!(
        (&marked[0]["chat"], &marked[0]["ids"]),
        (&json!(TO), &json!([wa_id]))
    );

    // The session without autoRead got its message first; by now it would have marked it.
    taps.until(SOON, "message.received", |t| {
        t.events(&ignoring, types::MESSAGE_RECEIVED).pop()
    })
    .await;
    assert!(taps.journal_of(&ignoring, "marked_read").is_empty());
    assert!(taps.events(&ignoring, types::MESSAGE_READ).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_for_a_reconnecting_session_waits_and_is_sent_once_it_is_working_again() {
    let app = TestApp::spawn(TestOptions {
        gateways: vec!["gw-a".into()],
        reconnect_min_ms: 1500,
        reconnect_max_ms: 1500,
        ..TestOptions::default()
    })
    .await;
    let taps = SendTaps::start(&app.nats, &app.subjects, "gw-a").await;
    let target = SendTarget::new(&app.nats, &app.subjects, "gw-a", app.options.shards);
    let owner = app.jwt(ORG_A, "owner");
    let id = working_session(&app, &owner, json!({"presenceTyping": false})).await;
    assert!(
        app.sim("gw-a", &id, SimAction::Disconnect, json!({}))
            .await
            .ok
    );
    app.wait_for_status(&owner, &id, "starting", SOON).await;
    let job = send_job(ORG_A, TO, "after the reconnect");
    target.publish(&id, &job).await;
    taps.until(SOON, "message.sent", |t| {
        t.message_events(&id, types::MESSAGE_SENT, &job.message_id)
            .pop()
    })
    .await;
    // No link while reconnecting: the send can only follow the second `connected`.
    let journal = taps.journal(&id);
    let kinds: Vec<&str> = journal.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds, ["connected", "closed", "connected", "sent_text"]);
}
