//! A shard changing hands in the middle of a send: a graceful stop of the owner hands the job
//! over at once (`nak`), a SIGKILL after `ack_wait`; either way it is sent exactly once.

use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use wagw_common::events::types;
use wagw_tests::sends::{SendTaps, SendTarget, send_job};
use wagw_tests::{FleetApp, FleetOptions, ORG_A, SOON, TestApp, TestOptions, id_of, session_path};
use wagw_worker::send::wa_message_id;

const TO: &str = "6281111111111@s.whatsapp.net";

/// Long enough that "typing…" lasts the whole `WAGW_TYPING_MAX_MS` (5 s).
fn long_text() -> String {
    "long text ".repeat(30)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_mid_typing_hands_the_job_to_the_next_owner_at_once() {
    let mut app = TestApp::spawn(TestOptions {
        gateways: vec!["gw-a".into()],
        workers: 2,
        ..TestOptions::default()
    })
    .await;
    let taps = SendTaps::start(&app.nats, &app.subjects, "gw-a").await;
    let target = SendTarget::new(&app.nats, &app.subjects, "gw-a", app.options.shards);
    let owner_token = app.jwt(ORG_A, "owner");
    // presenceTyping is on by default.
    let id = id_of(&app.paired_session(&owner_token, "6281234567890").await);
    let job = send_job(ORG_A, TO, &long_text());
    let wa_id = wa_message_id(&job.message_id);
    target.publish(&id, &job).await;

    let typing = taps
        .until(SOON, "the owner typing", |t| {
            t.journal_of(&id, "presence").pop()
        })
        .await;
    let owner = typing["workerId"].as_str().expect("a worker id").to_owned();
    app.stop_worker(&owner).await;
    // `paused` was published before the owner's NATS drained; wait for it to arrive here.
    let presence_of_owner = |t: &SendTaps| -> Vec<serde_json::Value> {
        (t.journal_of(&id, "presence").into_iter())
            .filter(|r| r["workerId"] == owner.as_str())
            .map(|r| r["presence"].clone())
            .collect()
    };
    let owner_presence = taps
        .until(SOON, "the owner's paused", |t| {
            let presence = presence_of_owner(t);
            (presence.len() >= 2).then_some(presence)
        })
        .await;
    assert_eq!(
        owner_presence,
        ["composing", "paused"],
        "typing cleared when interrupted"
    );
    assert!(
        taps.sent_texts(&id, &wa_id).is_empty(),
        "the stopping owner did not send it"
    );

    // Well before the 30 s ack_wait: only a `nak` brings the job back this soon.
    let within = Duration::from_secs(20);
    taps.until(within, "message.sent", |t| {
        t.message_events(&id, types::MESSAGE_SENT, &job.message_id)
            .pop()
    })
    .await;
    target.wait_all_acknowledged(SOON).await;
    let texts = taps.sent_texts(&id, &wa_id);
    assert_eq!(texts.len(), 1, "exactly one send: {texts:?}");
    assert_ne!(texts[0]["workerId"], owner.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_interrupted_by_a_sigkill_is_sent_exactly_once_by_the_survivor() {
    let ack_wait = ("WAGW_SEND_ACK_WAIT_SECS".to_owned(), "3".to_owned());
    let mut fleet = FleetApp::spawn(FleetOptions {
        workers: 2,
        extra_env: vec![ack_wait],
        ..FleetOptions::default()
    })
    .await;
    let (gw, shards) = (fleet.gateway.clone(), fleet.options.shards);
    let taps = SendTaps::start(&fleet.app.nats, &fleet.app.subjects, &gw).await;
    let target = SendTarget::new(&fleet.app.nats, &fleet.app.subjects, &gw, shards);
    let id = fleet.working_sessions(1).await.remove(0);
    let path = session_path(&id, "");
    let (status, row, _) = fleet
        .app
        .patch(&path, &fleet.token, &json!({"presenceTyping": true}))
        .await;
    assert_eq!(status, StatusCode::OK, "{row}");
    let job = send_job(ORG_A, TO, &long_text());
    let wa_id = wa_message_id(&job.message_id);
    target.publish(&id, &job).await;

    let typing = taps
        .until(SOON, "the owner typing", |t| {
            t.journal_of(&id, "presence").pop()
        })
        .await;
    let owner = typing["workerId"].as_str().expect("a worker id").to_owned();
    fleet.sigkill(&owner);

    let within = Duration::from_secs(40);
    let sent = taps
        .until(within, "message.sent", |t| {
            t.message_events(&id, types::MESSAGE_SENT, &job.message_id)
                .pop()
        })
        .await;
    assert_eq!(sent.data["waMessageId"], wa_id.as_str());
    // Once acknowledged the job has left the work queue: no later delivery can send it again.
    target.wait_all_acknowledged(SOON).await;
    let texts = taps.sent_texts(&id, &wa_id);
    assert_eq!(texts.len(), 1, "exactly one send: {texts:?}");
    assert_ne!(texts[0]["workerId"], owner.as_str(), "the survivor sent it");
    assert_eq!(
        taps.message_events(&id, types::MESSAGE_SENT, &job.message_id)
            .len(),
        1
    );
    fleet.finish().await;
}
