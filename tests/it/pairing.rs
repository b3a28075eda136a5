//! Pairing: `GET /qr` (JSON and PNG, rotation, expiry), `POST /pairing-code`, and the sim's
//! automatic pairing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use wagw_common::sim::SimAction;
use wagw_tests::assertions::{assert_error, assert_invalid_field, assert_status, is_pairing_code};
use wagw_tests::{ORG_A, SOON, TestApp, TestOptions, id_of, session_path};

const PHONE: &str = "6281234567890";

#[track_caller]
fn assert_future_ms(value: &Value) {
    let now = wagw_common::time::now_ms();
    assert!(
        value.as_i64().is_some_and(|at| at > now),
        "{value} is not after now ({now})"
    );
}

async fn new_session(app: &TestApp, token: &str) -> String {
    id_of(
        &app.create_session(token, &json!({"label": "pairing"}))
            .await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_qr_begins_pairing_and_returns_the_current_code() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = new_session(&app, &owner).await;
    let first = assert_status(
        &app.get(&session_path(&id, "/qr"), &owner).await,
        StatusCode::OK,
    )
    .clone();
    assert!(
        first["qr"].as_str().is_some_and(|qr| !qr.is_empty()),
        "{first}"
    );
    assert_future_ms(&first["expiresAt"]);
    let validity = first["expiresAt"].as_i64().unwrap_or_default() - wagw_common::time::now_ms();
    assert!(
        validity <= 62_000,
        "the first QR is valid 60 s, not {validity} ms"
    );
    assert_eq!(first["status"], "scan_qr_code");
    let row = app.get(&session_path(&id, ""), &owner).await;
    assert_eq!(
        assert_status(&row, StatusCode::OK)["status"],
        "scan_qr_code"
    );
    // Pairing is already under way: the same code comes back, no new pairing begins.
    let again = assert_status(
        &app.get(&session_path(&id, "/qr"), &owner).await,
        StatusCode::OK,
    )
    .clone();
    assert_eq!(again["qr"], first["qr"]);
    assert_eq!(again["expiresAt"], first["expiresAt"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_qr_with_accept_image_png_returns_a_png() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = new_session(&app, &owner).await;
    let response = app
        .request(Method::GET, &session_path(&id, "/qr"), Some(&owner))
        .header("accept", "image/png")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    assert_eq!(content_type, Some("image/png"));
    let bytes = response.bytes().await.expect("body");
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "PNG magic bytes, got {:?}",
        &bytes[..bytes.len().min(8)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_codes_rotate_and_pairing_ends_stopped_with_qr_expired() {
    let options = TestOptions {
        sim_qr_first_ms: 600,
        sim_qr_next_ms: 400,
        sim_qr_count: 3,
        ..TestOptions::default()
    };
    let app = TestApp::spawn(options).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = new_session(&app, &owner).await;
    let first = assert_status(
        &app.get(&session_path(&id, "/qr"), &owner).await,
        StatusCode::OK,
    )
    .clone();
    let until = tokio::time::Instant::now() + SOON;
    loop {
        let current = assert_status(
            &app.get(&session_path(&id, "/qr"), &owner).await,
            StatusCode::OK,
        )
        .clone();
        if current["qr"] != first["qr"] {
            assert!(
                current["expiresAt"].as_i64() > first["expiresAt"].as_i64(),
                "{current} vs {first}"
            );
            assert_eq!(current["status"], "scan_qr_code");
            break;
        }
        assert!(tokio::time::Instant::now() < until, "the QR never rotated");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // No more GET /qr from here on: it would begin a new pairing once this one ends.
    let stopped = app.wait_for_status(&owner, &id, "stopped", SOON).await;
    assert_eq!(stopped["statusReason"], "qr_expired", "{stopped}");
    assert!(stopped["phoneNumber"].is_null(), "{stopped}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_and_pairing_code_of_a_paired_session_are_409() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(&app.paired_session(&owner, PHONE).await);
    let qr = app.get(&session_path(&id, "/qr"), &owner).await;
    assert_error(&qr, StatusCode::CONFLICT, "failed_precondition");
    let code = app
        .post(
            &session_path(&id, "/pairing-code"),
            &owner,
            &json!({"phoneNumber": PHONE}),
        )
        .await;
    assert_error(&code, StatusCode::CONFLICT, "failed_precondition");
    // Still paired when stopped.
    app.post_empty(&session_path(&id, ":stop"), &owner).await;
    let qr = app.get(&session_path(&id, "/qr"), &owner).await;
    assert_error(&qr, StatusCode::CONFLICT, "failed_precondition");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pairing_code_is_xxxx_xxxx_and_begins_pairing() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = new_session(&app, &owner).await;
    let response = app
        .post(
            &session_path(&id, "/pairing-code"),
            &owner,
            &json!({"phoneNumber": PHONE}),
        )
        .await;
    let body = assert_status(&response, StatusCode::OK).clone();
    let code = body["code"].as_str().unwrap_or_default();
    assert!(is_pairing_code(code), "code format: {body}");
    assert_future_ms(&body["expiresAt"]);
    assert_eq!(body["status"], "scan_qr_code", "{body}");
    let row = app.get(&session_path(&id, ""), &owner).await;
    assert_eq!(
        assert_status(&row, StatusCode::OK)["status"],
        body["status"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asking_again_for_the_same_number_gives_the_same_code_until_pairing_ends() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = new_session(&app, &owner).await;
    let path = session_path(&id, "/pairing-code");
    let ask = |phone: &'static str| {
        let (app, owner, path) = (&app, &owner, &path);
        async move {
            let response = app.post(path, owner, &json!({"phoneNumber": phone})).await;
            assert_status(&response, StatusCode::OK).clone()
        }
    };
    let first = ask(PHONE).await;
    let again = ask(PHONE).await;
    assert_eq!(
        again["code"], first["code"],
        "a retry gets the code under way"
    );
    assert_eq!(again["expiresAt"], first["expiresAt"]);
    let other = ask("6289876543210").await;
    assert_ne!(
        other["code"], first["code"],
        "another number gets its own code"
    );
    // Once pairing is over, a new request is a new pairing with a new code.
    let reply = app.sim("gw-a", &id, SimAction::Pair, json!({})).await;
    assert!(reply.ok, "{reply:?}");
    app.wait_for_status(&owner, &id, "working", SOON).await;
    let logout = app.post_empty(&session_path(&id, ":logout"), &owner).await;
    assert_status(&logout, StatusCode::OK);
    let fresh = ask("6289876543210").await;
    assert_ne!(fresh["code"], other["code"], "a new pairing, a new code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pairing_code_for_a_bad_phone_number_is_400() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = new_session(&app, &owner).await;
    let path = session_path(&id, "/pairing-code");
    for body in [
        json!({"phoneNumber": "+6281234567890"}),
        json!({"phoneNumber": "1234567"}),
        json!({"phoneNumber": "1234567890123456"}),
        json!({"phoneNumber": "62812abc90"}),
        json!({"phoneNumber": ""}),
        json!({"phoneNumber": 6281234567890_u64}),
        json!({}),
    ] {
        let response = app.post(&path, &owner, &body).await;
        assert_eq!(
            response.0,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            response.1
        );
        assert_invalid_field(&response, "phoneNumber");
    }
    let row = app.get(&session_path(&id, ""), &owner).await;
    assert_eq!(
        assert_status(&row, StatusCode::OK)["status"],
        "stopped",
        "no pairing began"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_pairing_completes_with_the_requested_number() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = new_session(&app, &owner).await;
    let response = app
        .post(
            &session_path(&id, "/pairing-code"),
            &owner,
            &json!({"phoneNumber": PHONE}),
        )
        .await;
    assert_status(&response, StatusCode::OK);
    let reply = app.sim("gw-a", &id, SimAction::Pair, json!({})).await;
    assert!(reply.ok, "{reply:?}");
    let row = app.wait_for_status(&owner, &id, "working", SOON).await;
    assert_eq!(row["phoneNumber"], PHONE);
    assert_eq!(row["waJid"], format!("{PHONE}@s.whatsapp.net"));
    assert!(
        row["waLid"]
            .as_str()
            .is_some_and(|lid| lid.ends_with("@lid")),
        "{row}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_pair_completes_a_pending_pairing_by_itself() {
    let app = TestApp::spawn(TestOptions {
        sim_auto_pair_ms: 300,
        ..TestOptions::default()
    })
    .await;
    let owner = app.jwt(ORG_A, "owner");
    let id = new_session(&app, &owner).await;
    assert_status(
        &app.get(&session_path(&id, "/qr"), &owner).await,
        StatusCode::OK,
    );
    let row = app.wait_for_status(&owner, &id, "working", SOON).await;
    let phone = row["phoneNumber"].as_str().unwrap_or_default();
    assert!(
        (8..=15).contains(&phone.len()) && phone.bytes().all(|b| b.is_ascii_digit()),
        "{row}"
    );
    assert_eq!(row["waJid"], format!("{phone}@s.whatsapp.net"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_pairing_code_expires_and_the_session_ends_stopped() {
    let options = TestOptions {
        sim_pairing_code_ms: 500,
        ..TestOptions::default()
    };
    let app = TestApp::spawn(options).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = new_session(&app, &owner).await;
    let response = app
        .post(
            &session_path(&id, "/pairing-code"),
            &owner,
            &json!({"phoneNumber": PHONE}),
        )
        .await;
    let body = assert_status(&response, StatusCode::OK).clone();
    let validity = body["expiresAt"].as_i64().unwrap_or_default() - wagw_common::time::now_ms();
    assert!(
        validity <= 600,
        "the code is valid 500 ms here, not {validity} ms"
    );
    let row = app.wait_for_status(&owner, &id, "stopped", SOON).await;
    assert!(row["phoneNumber"].is_null(), "{row}");
    let reason = row["statusReason"].as_str().unwrap_or_default();
    assert!(
        !reason.is_empty(),
        "a pairing that ended by itself says why: {row}"
    );
}
