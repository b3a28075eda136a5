//! The status subject `<root>.status.<gw>.<session>`: one message per transition, with the
//! previous status, the worker and the organization.

use serde_json::json;
use wagw_common::SessionStatus::{self, ScanQrCode, Starting, Stopped, Working};
use wagw_common::events::StatusChange;
use wagw_common::sim::SimAction;
use wagw_tests::bus::wait_for_change;
use wagw_tests::{ORG_A, SOON, TestApp, TestOptions, id_of, session_path};

#[track_caller]
fn assert_change(
    change: &StatusChange,
    app: &TestApp,
    status: SessionStatus,
    previous: SessionStatus,
) {
    assert_eq!(change.status, status, "{change:?}");
    assert_eq!(change.previous_status, Some(previous), "{change:?}");
    assert_eq!(change.organization_id.as_str(), ORG_A);
    assert_eq!(change.gateway_id.as_str(), "gw-a");
    assert_eq!(
        change.worker_id.as_str(),
        app.workers[0].id,
        "the owning worker"
    );
    let now = wagw_common::time::now_ms();
    assert!(
        (now - 60_000..=now).contains(&change.at),
        "at {} is not a recent ms timestamp",
        change.at
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transition_is_published_with_its_previous_status() {
    let app = TestApp::spawn(TestOptions {
        sim_connect_ms: 200,
        ..TestOptions::default()
    })
    .await;
    let owner = app.jwt(ORG_A, "owner");
    let mut status = app.subscribe_status("gw-a").await;
    let id = id_of(
        &app.create_session(&owner, &json!({"label": "watched"}))
            .await,
    );

    app.get(&session_path(&id, "/qr"), &owner).await;
    let change = wait_for_change(&mut status, &id, SOON, |c| c.status == ScanQrCode).await;
    assert_change(&change, &app, ScanQrCode, Stopped);

    let reply = app
        .sim(
            "gw-a",
            &id,
            SimAction::Pair,
            json!({"phoneNumber": "6281234567890"}),
        )
        .await;
    assert!(reply.ok, "{reply:?}");
    let change = wait_for_change(&mut status, &id, SOON, |c| c.status == Working).await;
    assert_eq!(change.status_reason, None);
    assert_eq!(change.organization_id.as_str(), ORG_A);

    app.post_empty(&session_path(&id, ":stop"), &owner).await;
    let change = wait_for_change(&mut status, &id, SOON, |c| c.status == Stopped).await;
    assert_change(&change, &app, Stopped, Working);

    app.post_empty(&session_path(&id, ":start"), &owner).await;
    let change = wait_for_change(&mut status, &id, SOON, |_| true).await;
    assert_change(&change, &app, Starting, Stopped);
    let change = wait_for_change(&mut status, &id, SOON, |_| true).await;
    assert_change(&change, &app, Working, Starting);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_is_published_with_its_reason() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.paired_session(&owner, "6281234567890").await);
    let mut status = app.subscribe_status("gw-a").await;
    app.sim(
        "gw-a",
        &id,
        SimAction::Fail,
        json!({"reason": "stream error"}),
    )
    .await;
    let change = wait_for_change(&mut status, &id, SOON, |c| {
        c.status == SessionStatus::Failed
    })
    .await;
    assert_change(&change, &app, SessionStatus::Failed, Working);
    assert_eq!(change.status_reason.as_deref(), Some("stream error"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_changes_travel_on_the_sessions_own_subject() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(
        &app.create_session(&owner, &json!({"label": "subject"}))
            .await,
    );
    let gw = wagw_common::GatewayId::parse("gw-a").expect("valid");
    let session = wagw_common::SessionId::parse(&id).expect("valid");
    let mut own = app.subscribe(app.subjects.status(&gw, &session)).await;
    app.get(&session_path(&id, "/qr"), &owner).await;
    let change = wait_for_change(&mut own, &id, SOON, |c| c.status == ScanQrCode).await;
    assert_eq!(change.session_id, session);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_session_publishes_its_first_status() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let mut status = app.subscribe_status("gw-a").await;
    let id = id_of(&app.create_session(&owner, &json!({"label": "born"})).await);
    let change = wait_for_change(&mut status, &id, SOON, |_| true).await;
    assert_eq!(change.status, Stopped, "{change:?}");
    assert_eq!(
        change.previous_status, None,
        "the first status has no previous one: {change:?}"
    );
    assert_eq!(change.worker_id.as_str(), app.workers[0].id);
}
