//! `:start`, `:stop`, `:restart`, `:logout` and delete, following the seed's lifecycle rules;
//! each verb's answer is the row read after the worker's ack, so it shows the new state.

use reqwest::StatusCode;
use serde_json::{Value, json};
use wagw_common::sim::SimAction;
use wagw_tests::assertions::{assert_error, assert_recent_ms, assert_status};
use wagw_tests::{ORG_A, SOON, TestApp, TestOptions, id_of, session_path};

const PHONE: &str = "6281234567890";

/// Connecting takes 400 ms, so a verb's answer reliably shows `starting`.
fn slow_connect() -> TestOptions {
    TestOptions {
        sim_connect_ms: 400,
        ..TestOptions::default()
    }
}

async fn verb(app: &TestApp, token: &str, id: &str, verb: &str) -> Value {
    let response = app.post_empty(&session_path(id, verb), token).await;
    assert_status(&response, StatusCode::OK).clone()
}

#[track_caller]
fn assert_number(row: &Value, phone: &str) {
    assert_eq!(row["phoneNumber"], phone, "{row}");
    assert_eq!(row["waJid"], format!("{phone}@s.whatsapp.net"), "{row}");
    assert!(
        row["waLid"]
            .as_str()
            .is_some_and(|lid| lid.ends_with("@lid")),
        "{row}"
    );
}

#[track_caller]
fn assert_no_number(row: &Value) {
    for field in ["phoneNumber", "waJid", "waLid"] {
        assert!(row[field].is_null(), "{field} must be null: {row}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_on_an_unpaired_session_is_409() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.create_session(&owner, &json!({"label": "new"})).await);
    let response = app.post_empty(&session_path(&id, ":start"), &owner).await;
    assert_error(&response, StatusCode::CONFLICT, "failed_precondition");
    let row = app.get(&session_path(&id, ""), &owner).await;
    assert_eq!(assert_status(&row, StatusCode::OK)["status"], "stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_makes_the_session_working_with_its_number() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let row = app.paired_session(&owner, PHONE).await;
    assert_eq!(row["status"], "working");
    assert_number(&row, PHONE);
    assert_recent_ms(&row["lastConnectedAt"]);
    assert!(row["statusReason"].is_null(), "{row}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_on_a_working_session_is_a_harmless_no_op() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.paired_session(&owner, PHONE).await);
    let row = verb(&app, &owner, &id, ":start").await;
    assert_eq!(row["status"], "working", "{row}");
    assert_number(&row, PHONE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_keeps_the_number_and_is_idempotent() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.paired_session(&owner, PHONE).await);
    let row = verb(&app, &owner, &id, ":stop").await;
    assert_eq!(
        row["status"], "stopped",
        "the answer already shows the stop: {row}"
    );
    assert_number(&row, PHONE);
    let again = verb(&app, &owner, &id, ":stop").await;
    assert_eq!(again["status"], "stopped");
    assert_number(&again, PHONE);
    let unpaired = id_of(&app.create_session(&owner, &json!({"label": "idle"})).await);
    assert_eq!(
        verb(&app, &owner, &unpaired, ":stop").await["status"],
        "stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_after_stop_goes_starting_then_working() {
    let app = TestApp::spawn(slow_connect()).await;
    let owner = app.jwt(ORG_A, "owner");
    let paired = app.paired_session(&owner, PHONE).await;
    let id = id_of(&paired);
    verb(&app, &owner, &id, ":stop").await;
    let row = verb(&app, &owner, &id, ":start").await;
    assert_eq!(
        row["status"], "starting",
        "the answer already shows the start: {row}"
    );
    assert_number(&row, PHONE);
    let working = app.wait_for_status(&owner, &id, "working", SOON).await;
    assert_number(&working, PHONE);
    assert!(
        working["lastConnectedAt"].as_i64() > paired["lastConnectedAt"].as_i64(),
        "{working}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_reconnects_and_keeps_the_number() {
    let app = TestApp::spawn(slow_connect()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.paired_session(&owner, PHONE).await);
    let row = verb(&app, &owner, &id, ":restart").await;
    assert_eq!(
        row["status"], "starting",
        "the answer already shows the restart: {row}"
    );
    assert_number(&row, PHONE);
    assert_number(
        &app.wait_for_status(&owner, &id, "working", SOON).await,
        PHONE,
    );
    // A stopped, paired session is started by :restart too.
    verb(&app, &owner, &id, ":stop").await;
    assert_eq!(
        verb(&app, &owner, &id, ":restart").await["status"],
        "starting"
    );
    app.wait_for_status(&owner, &id, "working", SOON).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_on_an_unpaired_session_is_409() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.create_session(&owner, &json!({"label": "new"})).await);
    let response = app.post_empty(&session_path(&id, ":restart"), &owner).await;
    assert_error(&response, StatusCode::CONFLICT, "failed_precondition");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_detaches_the_number_and_leaves_the_session_stopped() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.paired_session(&owner, PHONE).await);
    let keys = app.session_keys("gw-a", ORG_A, &id);
    assert!(
        app.redis_exists(&keys.credentials).await,
        "a paired session has credentials"
    );
    let row = verb(&app, &owner, &id, ":logout").await;
    assert_eq!(
        row["status"], "stopped",
        "the answer already shows the logout: {row}"
    );
    assert!(
        !app.redis_exists(&keys.credentials).await,
        "logout destroys the credentials"
    );
    assert_no_number(&row);
    let got = app.get(&session_path(&id, ""), &owner).await;
    assert_eq!(assert_status(&got, StatusCode::OK), &row, "the row stays");
    let start = app.post_empty(&session_path(&id, ":start"), &owner).await;
    assert_error(&start, StatusCode::CONFLICT, "failed_precondition");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_of_an_unpaired_session_is_a_harmless_no_op() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.create_session(&owner, &json!({"label": "new"})).await);
    let row = verb(&app, &owner, &id, ":logout").await;
    assert_eq!(row["status"], "stopped");
    assert_no_number(&row);
    assert_eq!(
        verb(&app, &owner, &id, ":logout").await["status"],
        "stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_session_is_recovered_by_restart() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.paired_session(&owner, PHONE).await);
    let reply = app
        .sim(
            "gw-a",
            &id,
            SimAction::Fail,
            json!({"reason": "banned for a test"}),
        )
        .await;
    assert!(reply.ok, "{reply:?}");
    let failed = app.wait_for_status(&owner, &id, "failed", SOON).await;
    assert_eq!(failed["statusReason"], "banned for a test");
    assert_number(&failed, PHONE);
    verb(&app, &owner, &id, ":restart").await;
    let working = app.wait_for_status(&owner, &id, "working", SOON).await;
    assert!(working["statusReason"].is_null(), "{working}");
    assert_number(&working, PHONE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_working_session_is_204_and_then_404() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.paired_session(&owner, PHONE).await);
    let keys = app.session_keys("gw-a", ORG_A, &id);
    assert!(app.redis_exists(&keys.row).await && app.redis_exists(&keys.credentials).await);
    assert!(
        app.redis_in_zset(&keys.shard_index, &id).await
            && app.redis_in_zset(&keys.org_index, &id).await
    );
    let deleted = app.delete(&session_path(&id, ""), &owner).await;
    assert_status(&deleted, StatusCode::NO_CONTENT);
    assert!(!app.redis_exists(&keys.row).await, "the row is removed");
    assert!(
        !app.redis_exists(&keys.credentials).await,
        "the credentials are forgotten"
    );
    assert!(
        !app.redis_in_zset(&keys.shard_index, &id).await,
        "out of the shard index"
    );
    assert!(
        !app.redis_in_zset(&keys.org_index, &id).await,
        "out of the org index"
    );
    assert_error(
        &app.get(&session_path(&id, ""), &owner).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let start = app.post_empty(&session_path(&id, ":start"), &owner).await;
    assert_error(&start, StatusCode::NOT_FOUND, "not_found");
    let list = app.get("/api/v1/sessions", &owner).await;
    assert_eq!(assert_status(&list, StatusCode::OK)["sessions"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_during_pairing_is_409_and_stop_ends_the_pairing() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(
        &app.create_session(&owner, &json!({"label": "pairing"}))
            .await,
    );
    let qr = app.get(&session_path(&id, "/qr"), &owner).await;
    assert_eq!(assert_status(&qr, StatusCode::OK)["status"], "scan_qr_code");
    let start = app.post_empty(&session_path(&id, ":start"), &owner).await;
    assert_error(&start, StatusCode::CONFLICT, "failed_precondition");
    let row = verb(&app, &owner, &id, ":stop").await;
    assert_eq!(
        row["status"], "stopped",
        "the answer already shows the stop: {row}"
    );
    assert_no_number(&row);
    // The pairing is over: the phone can no longer complete it.
    let reply = app
        .sim("gw-a", &id, SimAction::Pair, json!({"phoneNumber": PHONE}))
        .await;
    assert!(!reply.ok, "pair after the pairing was stopped: {reply:?}");
    let after = app.get(&session_path(&id, ""), &owner).await;
    assert_eq!(assert_status(&after, StatusCode::OK)["status"], "stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_session_under_pairing_is_204() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(
        &app.create_session(&owner, &json!({"label": "pairing"}))
            .await,
    );
    assert_status(
        &app.get(&session_path(&id, "/qr"), &owner).await,
        StatusCode::OK,
    );
    assert_status(
        &app.delete(&session_path(&id, ""), &owner).await,
        StatusCode::NO_CONTENT,
    );
    let gone = app.get(&session_path(&id, "/qr"), &owner).await;
    assert_error(&gone, StatusCode::NOT_FOUND, "not_found");
}
