//! Sending end to end: a message the edge accepted (202) is sent by the owning worker, its
//! events replay from the durable stream, and a message accepted just before its
//! owner is SIGKILLed is still sent exactly once, by the survivor or by the owner.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use wagw_common::events::types;
use wagw_tests::sends::{SendTaps, SendTarget};
use wagw_tests::{FleetApp, FleetOptions, SOON, TestApp, TestOptions, id_of, session_path};
use wagw_worker::send::wa_message_id;

const PHONE: &str = "6281234567890";
const TO: &str = "6281111111111";
const TO_JID: &str = "6281111111111@s.whatsapp.net";

/// The `type` and `data.messageId` of every replayed event of `id` (oldest first).
async fn replayed(app: &TestApp, token: &str, id: &str) -> Vec<(String, Value)> {
    let (status, body, _) = app
        .get(&session_path(id, "/events?pageSize=500"), token)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events = body["events"].as_array().cloned().unwrap_or_default();
    events
        .iter()
        .map(|e| {
            let kind = e["type"].as_str().unwrap_or("?").to_owned();
            (kind, e["data"]["messageId"].clone())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_accepted_by_the_edge_is_sent_and_its_events_replay() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let gw = app.options.gateways[0].clone();
    let taps = SendTaps::start(&app.nats, &app.subjects, &gw).await;
    let owner = app.jwt(wagw_tests::ORG_A, "owner");
    let id = id_of(&app.paired_session(&owner, PHONE).await);
    let settings = json!({"presenceTyping": false});
    let (status, row, _) = app.patch(&session_path(&id, ""), &owner, &settings).await;
    assert_eq!(status, StatusCode::OK, "{row}");

    let body = json!({"to": TO, "text": "hello from the edge"});
    let (status, accepted, _) = app.send_message(&owner, &id, &body, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["status"], "queued");
    let message_id = accepted["id"].as_str().expect("an id").to_owned();
    let wa_id = wa_message_id(&message_id);

    let sent = taps
        .until(SOON, "message.sent", |t| {
            t.message_events(&id, types::MESSAGE_SENT, &message_id)
                .pop()
        })
        .await;
    assert_eq!(
        sent.data,
        json!({"messageId": message_id, "waMessageId": wa_id, "to": TO_JID})
    );
    let texts = taps.sent_texts(&id, &wa_id);
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(texts[0]["text"], "hello from the edge");
    taps.until(SOON, "message.delivered", |t| {
        t.message_events(&id, types::MESSAGE_DELIVERED, &message_id)
            .pop()
    })
    .await;

    // The replay holds the message's events once each. Their relative order is not promised:
    // a receipt can overtake `message.sent` (docs/events.md).
    let mut ours: Vec<String> = replayed(&app, &owner, &id)
        .await
        .into_iter()
        .filter(|(_, mid)| mid == message_id.as_str())
        .map(|(kind, _)| kind)
        .collect();
    ours.sort();
    assert_eq!(ours, [types::MESSAGE_DELIVERED, types::MESSAGE_SENT]);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_accepted_just_before_its_owner_is_sigkilled_is_sent_exactly_once() {
    let ack_wait = ("WAGW_SEND_ACK_WAIT_SECS".to_owned(), "3".to_owned());
    let mut fleet = FleetApp::spawn(FleetOptions {
        workers: 2,
        extra_env: vec![ack_wait],
        ..FleetOptions::default()
    })
    .await;
    let gw = fleet.gateway.clone();
    let taps = SendTaps::start(&fleet.app.nats, &fleet.app.subjects, &gw).await;
    let id = fleet.working_sessions(1).await.remove(0);
    let settings = json!({"presenceTyping": false});
    let path = session_path(&id, "");
    let (status, row, _) = fleet.app.patch(&path, &fleet.token, &settings).await;
    assert_eq!(status, StatusCode::OK, "{row}");
    // The worker whose link came up last drives the session.
    let connected = taps
        .until(SOON, "the owner's link", |t| {
            t.journal_of(&id, "connected").pop()
        })
        .await;
    let owner = connected["workerId"]
        .as_str()
        .expect("a worker id")
        .to_owned();

    let body = json!({"to": TO, "text": "accepted, then the owner dies"});
    let (status, accepted, _) = fleet.app.send_message(&fleet.token, &id, &body, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    fleet.sigkill(&owner);
    let message_id = accepted["id"].as_str().expect("an id").to_owned();
    let wa_id = wa_message_id(&message_id);

    // Either the owner sent it before it died or the survivor takes the shard and the job
    // comes back after the ack wait; either way it reaches the phone once.
    let within = Duration::from_secs(40);
    taps.until(within, "message.sent", |t| {
        t.message_events(&id, types::MESSAGE_SENT, &message_id)
            .pop()
    })
    .await;
    // Once acknowledged the job has left the work queue: no later delivery can send it again.
    let target = SendTarget::new(
        &fleet.app.nats,
        &fleet.app.subjects,
        &gw,
        fleet.options.shards,
    );
    target.wait_all_acknowledged(SOON).await;
    let texts = taps.sent_texts(&id, &wa_id);
    assert_eq!(texts.len(), 1, "exactly one send: {texts:?}");
    fleet.finish().await;
}
