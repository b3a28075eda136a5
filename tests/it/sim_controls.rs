//! Every control of the simulated phone: pair, disconnect, unlink, incoming, fail.

use serde_json::json;
use std::time::Duration;
use wagw_common::SessionStatus;
use wagw_common::events::types;
use wagw_common::sim::SimAction;
use wagw_tests::bus::{next_event, wait_for_change};
use wagw_tests::{ORG_A, SOON, TestApp, TestOptions, id_of, session_path};

const PHONE: &str = "6281234567890";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pair_with_a_number_attaches_that_number() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let row = app.paired_session(&owner, "6289876543210").await;
    assert_eq!(row["phoneNumber"], "6289876543210");
    assert_eq!(row["waJid"], "6289876543210@s.whatsapp.net");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_drops_the_link_and_the_worker_reconnects_by_itself() {
    let app = TestApp::spawn(TestOptions {
        sim_connect_ms: 200,
        ..TestOptions::default()
    })
    .await;
    let owner = app.jwt(ORG_A, "owner");
    let paired = app.paired_session(&owner, PHONE).await;
    let id = id_of(&paired);
    let mut status = app.subscribe_status("gw-a").await;
    let reply = app.sim("gw-a", &id, SimAction::Disconnect, json!({})).await;
    assert!(reply.ok, "{reply:?}");
    let away = wait_for_change(&mut status, &id, SOON, |c| {
        c.status != SessionStatus::Working
    })
    .await;
    assert_eq!(away.previous_status, Some(SessionStatus::Working));
    let back = wait_for_change(&mut status, &id, SOON, |c| {
        c.status == SessionStatus::Working
    })
    .await;
    assert!(back.at >= away.at);
    let row = app.wait_for_status(&owner, &id, "working", SOON).await;
    assert_eq!(row["phoneNumber"], PHONE, "the number stays attached");
    assert!(
        row["lastConnectedAt"].as_i64() > paired["lastConnectedAt"].as_i64(),
        "{row}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlink_on_the_phone_stops_the_session_and_detaches_the_number() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.paired_session(&owner, PHONE).await);
    let reply = app.sim("gw-a", &id, SimAction::Unlink, json!({})).await;
    assert!(reply.ok, "{reply:?}");
    let row = app.wait_for_status(&owner, &id, "stopped", SOON).await;
    for field in ["phoneNumber", "waJid", "waLid"] {
        assert!(row[field].is_null(), "{field} must be null: {row}");
    }
    // Exactly as after :logout: starting again needs a new pairing.
    let start = app.post_empty(&session_path(&id, ":start"), &owner).await;
    wagw_tests::assertions::assert_error(
        &start,
        reqwest::StatusCode::CONFLICT,
        "failed_precondition",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incoming_publishes_message_received() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.paired_session(&owner, PHONE).await);
    let mut received = app
        .subscribe_events("gw-a", &id, types::MESSAGE_RECEIVED)
        .await;
    let mut read = app.subscribe_events("gw-a", &id, types::MESSAGE_READ).await;
    let reply = app
        .sim(
            "gw-a",
            &id,
            SimAction::Incoming,
            json!({"from": "6281111111111", "text": "hi"}),
        )
        .await;
    assert!(reply.ok, "{reply:?}");
    let (subject, event) = next_event(&mut received, SOON).await;
    assert_eq!(
        subject,
        format!("{}.events.gw-a.{id}.message.received", app.subjects.root())
    );
    assert_eq!(event.event_type, types::MESSAGE_RECEIVED);
    assert_eq!(event.session_id.to_string(), id);
    assert_eq!(event.organization_id.as_str(), ORG_A);
    assert_eq!(event.gateway_id.as_str(), "gw-a");
    assert!(
        wagw_tests::assertions::is_ulid(&event.id),
        "event id {}",
        event.id
    );
    assert_eq!(event.data["text"], "hi", "{:?}", event.data);
    assert!(
        event.data["from"]
            .as_str()
            .is_some_and(|from| from.starts_with("6281111111111")),
        "{:?}",
        event.data
    );
    // autoRead is off: nothing is marked read.
    let none = tokio::time::timeout(
        Duration::from_millis(500),
        futures::StreamExt::next(&mut read),
    )
    .await;
    assert!(none.is_err(), "message.read without autoRead: {none:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incoming_with_auto_read_also_publishes_message_read() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.paired_session(&owner, PHONE).await);
    let patched = app
        .patch(&session_path(&id, ""), &owner, &json!({"autoRead": true}))
        .await;
    assert_eq!(patched.0, reqwest::StatusCode::OK, "{}", patched.1);
    let mut received = app
        .subscribe_events("gw-a", &id, types::MESSAGE_RECEIVED)
        .await;
    let mut read = app.subscribe_events("gw-a", &id, types::MESSAGE_READ).await;
    let reply = app
        .sim(
            "gw-a",
            &id,
            SimAction::Incoming,
            json!({"from": "6281111111111", "text": "read me"}),
        )
        .await;
    assert!(reply.ok, "{reply:?}");
    let (_, incoming) = next_event(&mut received, SOON).await;
    let (subject, marked) = next_event(&mut read, SOON).await;
    assert_eq!(
        subject,
        format!("{}.events.gw-a.{id}.message.read", app.subjects.root())
    );
    assert_eq!(marked.event_type, types::MESSAGE_READ);
    assert_eq!(marked.session_id.to_string(), id);
    assert_ne!(marked.id, incoming.id, "each event has its own id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_keeps_the_session_failed_with_the_reason_until_restart() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.paired_session(&owner, PHONE).await);
    let reply = app
        .sim(
            "gw-a",
            &id,
            SimAction::Fail,
            json!({"reason": "account banned"}),
        )
        .await;
    assert!(reply.ok, "{reply:?}");
    let failed = app.wait_for_status(&owner, &id, "failed", SOON).await;
    assert_eq!(failed["statusReason"], "account banned");
    // It keeps failing: no reconnect brings it back by itself.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let still = app.get(&session_path(&id, ""), &owner).await;
    assert_eq!(still.1["status"], "failed", "{}", still.1);
    let restarted = app.post_empty(&session_path(&id, ":restart"), &owner).await;
    assert_eq!(restarted.0, reqwest::StatusCode::OK, "{}", restarted.1);
    let row = app.wait_for_status(&owner, &id, "working", SOON).await;
    assert!(row["statusReason"].is_null(), "{row}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_for_a_session_without_a_link_is_refused() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.create_session(&owner, &json!({"label": "idle"})).await);
    let reply = app
        .sim("gw-a", &id, SimAction::Pair, json!({"phoneNumber": PHONE}))
        .await;
    assert!(!reply.ok, "pair without a pairing under way: {reply:?}");
    assert!(reply.error.is_some(), "{reply:?}");
    let row = app.get(&session_path(&id, ""), &owner).await;
    assert_eq!(row.1["status"], "stopped", "{}", row.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_and_unlinking_publish_session_events() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(
        &app.create_session(&owner, &json!({"label": "events"}))
            .await,
    );
    let all = format!("{}.events.gw-a.{id}.>", app.subjects.root());
    let mut events = app.subscribe(all).await;
    app.get(&session_path(&id, "/qr"), &owner).await;
    let reply = app
        .sim("gw-a", &id, SimAction::Pair, json!({"phoneNumber": PHONE}))
        .await;
    assert!(reply.ok, "{reply:?}");
    app.wait_for_status(&owner, &id, "working", SOON).await;
    let reply = app.sim("gw-a", &id, SimAction::Unlink, json!({})).await;
    assert!(reply.ok, "{reply:?}");
    let mut seen = Vec::new();
    for wanted in [types::SESSION_PAIRED, types::SESSION_LOGGED_OUT] {
        loop {
            let (subject, event) = next_event(&mut events, SOON).await;
            assert!(
                subject.ends_with(&format!(".{}", event.event_type)),
                "{subject} vs {event:?}"
            );
            assert_eq!(event.session_id.to_string(), id);
            seen.push(event.event_type.clone());
            if event.event_type == wanted {
                break;
            }
            assert!(seen.len() < 50, "no {wanted} among {seen:?}");
        }
    }
}
