//! Session CRUD: the defaults of a new row, the bounds of every field, get, patch, delete.

use reqwest::StatusCode;
use serde_json::{Value, json};
use wagw_api::Capability::{Admin, Manage, Read};
use wagw_tests::assertions::{
    assert_error, assert_invalid_field, assert_recent_ms, assert_status, assert_ulid,
};
use wagw_tests::tokens::{Claims, TestKey, mint_with};
use wagw_tests::{ORG_A, TestApp, TestOptions, id_of, session_path};

const SESSIONS: &str = "/api/v1/sessions";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_session_gets_every_default_of_the_contract() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let token = mint_with(
        &Claims::new(ORG_A, "owner").with_sub("user_01J9DEF"),
        TestKey::Rsa1,
    );
    let row = app
        .create_session(&token, &json!({"label": "Support line"}))
        .await;
    assert_ulid(&row["id"]);
    assert_eq!(row["organizationId"], ORG_A);
    assert_eq!(
        row["gatewayId"], "gw-a",
        "the first of --gateways is the default"
    );
    assert_eq!(row["label"], "Support line");
    assert_eq!(row["status"], "stopped");
    assert_eq!(row["autoRead"], false);
    assert_eq!(row["presenceTyping"], true);
    assert_eq!(row["ratePerMin"], 20);
    assert_eq!(row["ratePerHour"], 600);
    assert_eq!(row["isAdminSession"], false);
    assert_eq!(row["createdByUserId"], "user_01J9DEF");
    for nullable in [
        "phoneNumber",
        "waJid",
        "waLid",
        "lastConnectedAt",
        "statusReason",
    ] {
        assert!(
            row.get(nullable).is_some_and(Value::is_null),
            "{nullable} must be null: {row}"
        );
    }
    assert_recent_ms(&row["createdAt"]);
    assert_recent_ms(&row["updatedAt"]);
    let got = app.get(&session_path(&id_of(&row), ""), &token).await;
    assert_eq!(
        assert_status(&got, StatusCode::OK),
        &row,
        "GET returns the created row"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_created_with_an_api_key_records_the_key_as_creator() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let (key_id, key) = app.api_key_with_id(ORG_A, &[Read, Manage]).await;
    let row = app.create_session(&key, &json!({"label": "bot"})).await;
    assert_eq!(row["createdByUserId"], format!("apikey:{key_id}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_settable_field_is_taken_on_create() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let body = json!({"label": "é".repeat(100), "gatewayId": "gw-b", "autoRead": true,
        "presenceTyping": false, "ratePerMin": 1000, "ratePerHour": 60000, "isAdminSession": true});
    let row = app.create_session(&owner, &body).await;
    for field in [
        "label",
        "gatewayId",
        "autoRead",
        "presenceTyping",
        "ratePerMin",
        "ratePerHour",
        "isAdminSession",
    ] {
        assert_eq!(row[field], body[field], "{field}");
    }
    let lowest = app
        .create_session(
            &owner,
            &json!({"label": "y", "ratePerMin": 1, "ratePerHour": 1}),
        )
        .await;
    assert_eq!(
        (
            lowest["ratePerMin"].as_u64(),
            lowest["ratePerHour"].as_u64()
        ),
        (Some(1), Some(1))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_bounds_fields_on_create_are_400_naming_the_field() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    for (body, field) in [
        (json!({}), "label"),
        (json!({"label": ""}), "label"),
        (json!({"label": "   "}), "label"),
        (json!({"label": "x".repeat(101)}), "label"),
        (json!({"label": "a", "ratePerMin": 0}), "ratePerMin"),
        (
            json!({"label": "a", "ratePerMin": 1001, "ratePerHour": 2000}),
            "ratePerMin",
        ),
        (json!({"label": "a", "ratePerMin": -1}), "ratePerMin"),
        (json!({"label": "a", "ratePerHour": 0}), "ratePerHour"),
        (json!({"label": "a", "ratePerHour": 60001}), "ratePerHour"),
        (
            json!({"label": "a", "ratePerMin": 30, "ratePerHour": 20}),
            "ratePerHour",
        ),
        (json!({"label": "a", "ratePerHour": 10}), "ratePerHour"),
        (json!({"label": "a", "ratePerMin": 700}), "ratePerHour"),
        (json!({"label": "a", "gatewayId": "gw-zzz"}), "gatewayId"),
        (json!({"label": "a", "gatewayId": "GW.A"}), "gatewayId"),
        (json!({"label": "a", "status": "working"}), "status"),
        (json!({"label": "a", "colour": "red"}), "colour"),
        (json!({"label": "a", "autoRead": "yes"}), "autoRead"),
    ] {
        let response = app.post(SESSIONS, &owner, &body).await;
        assert_eq!(
            response.0,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            response.1
        );
        assert_invalid_field(&response, field);
    }
    let list = assert_status(&app.get(SESSIONS, &owner).await, StatusCode::OK).clone();
    assert_eq!(list["sessions"], json!([]), "no refused create left a row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_an_admin_session_needs_the_admin_capability() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let manage = app.api_key(ORG_A, &[Read, Manage]).await;
    let body = json!({"label": "ops", "isAdminSession": true});
    assert_error(
        &app.post(SESSIONS, &manage, &body).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let plain = app
        .create_session(&manage, &json!({"label": "ops", "isAdminSession": false}))
        .await;
    assert_eq!(plain["isAdminSession"], false);
    let admin = app.api_key(ORG_A, &[Manage, Admin]).await;
    assert_eq!(
        app.create_session(&admin, &body).await["isAdminSession"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_session_is_404() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let path = session_path(&ulid::Ulid::generate().to_string(), "");
    assert_error(
        &app.get(&path, &owner).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &app.patch(&path, &owner, &json!({"label": "x"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &app.delete(&path, &owner).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_changes_each_field_and_only_that_field() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let mut row = app
        .create_session(&owner, &json!({"label": "before"}))
        .await;
    let path = session_path(&id_of(&row), "");
    for (field, value) in [
        ("label", json!("after")),
        ("autoRead", json!(true)),
        ("presenceTyping", json!(false)),
        ("ratePerMin", json!(50)),
        ("ratePerHour", json!(5000)),
        ("isAdminSession", json!(true)),
        ("ratePerMin", json!(1000)),
    ] {
        let response = app.patch(&path, &owner, &json!({ field: value })).await;
        let patched = assert_status(&response, StatusCode::OK).clone();
        let mut expected = row.clone();
        expected[field] = value.clone();
        expected["updatedAt"] = patched["updatedAt"].clone();
        assert_eq!(patched, expected, "PATCH {field} changes only {field}");
        assert!(
            patched["updatedAt"].as_i64() >= row["updatedAt"].as_i64(),
            "updatedAt moves forward"
        );
        let got = app.get(&path, &owner).await;
        assert_eq!(
            assert_status(&got, StatusCode::OK),
            &patched,
            "GET after PATCH {field}"
        );
        row = patched;
    }
    let both = app
        .patch(&path, &owner, &json!({"ratePerMin": 2, "ratePerHour": 3}))
        .await;
    let both = assert_status(&both, StatusCode::OK);
    assert_eq!(
        (both["ratePerMin"].as_u64(), both["ratePerHour"].as_u64()),
        (Some(2), Some(3))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_bounds_patches_are_400_naming_the_field_and_change_nothing() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let row = app
        .create_session(&owner, &json!({"label": "stable"}))
        .await;
    let path = session_path(&id_of(&row), "");
    for (body, field) in [
        (json!({"label": ""}), "label"),
        (json!({"label": "x".repeat(101)}), "label"),
        (json!({"ratePerMin": 0}), "ratePerMin"),
        (json!({"ratePerMin": 1001}), "ratePerMin"),
        (json!({"ratePerHour": 0}), "ratePerHour"),
        (json!({"ratePerHour": 60001}), "ratePerHour"),
        // 700 per minute against the stored 600 per hour: the merged row is checked.
        (json!({"ratePerMin": 700}), "ratePerHour"),
        (json!({"ratePerHour": 19}), "ratePerHour"),
        (json!({"status": "working"}), "status"),
        (json!({"gatewayId": "gw-b"}), "gatewayId"),
        (json!({"phoneNumber": "6281234567890"}), "phoneNumber"),
        (json!({"presenceTyping": 1}), "presenceTyping"),
    ] {
        let response = app.patch(&path, &owner, &body).await;
        assert_eq!(
            response.0,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            response.1
        );
        assert_invalid_field(&response, field);
    }
    let got = app.get(&path, &owner).await;
    assert_eq!(
        assert_status(&got, StatusCode::OK),
        &row,
        "refused patches changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_is_204_and_the_session_is_gone() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = id_of(
        &app.create_session(&owner, &json!({"label": "doomed"}))
            .await,
    );
    let path = session_path(&id, "");
    let deleted = app.delete(&path, &owner).await;
    assert_status(&deleted, StatusCode::NO_CONTENT);
    assert!(deleted.1.is_null(), "204 has no body: {}", deleted.1);
    assert_error(
        &app.get(&path, &owner).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &app.delete(&path, &owner).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let list = assert_status(&app.get(SESSIONS, &owner).await, StatusCode::OK).clone();
    assert_eq!(list["sessions"], json!([]), "deleted session still listed");
}
