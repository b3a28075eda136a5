//! API keys: create (secret shown once), list (never a secret), use, revoke (401 at once),
//! expiry, validation, and who may manage them.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use wagw_api::Capability;
use wagw_tests::assertions::{
    assert_error, assert_invalid_field, assert_recent_ms, assert_status, assert_ulid, is_api_key,
};
use wagw_tests::{ORG_A, ORG_B, SOON, TestApp, TestOptions, id_of};

const KEYS: &str = "/api/v1/api-keys";

/// Creates a key through the API as an owner; returns the 201 body.
async fn create_key(app: &TestApp, owner: &str, body: &Value) -> Value {
    let response = app.post(KEYS, owner, body).await;
    assert_status(&response, StatusCode::CREATED).clone()
}

fn listed(list: &Value) -> &Vec<Value> {
    list["apiKeys"]
        .as_array()
        .unwrap_or_else(|| panic!("no apiKeys array: {list}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_key_returns_201_with_the_secret_shown_once() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let owner = app.jwt(ORG_A, "owner");
    let body = json!({"name": "ci", "capabilities": ["read", "manage"]});
    let created = create_key(&app, &owner, &body).await;
    assert_ulid(&created["id"]);
    assert_eq!(created["name"], "ci");
    let mut caps: Vec<&str> = created["capabilities"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    caps.sort_unstable();
    assert_eq!(caps, ["manage", "read"]);
    let secret = created["key"].as_str().expect("the key is shown on create");
    assert!(is_api_key(secret), "key format: {secret}");
    assert_recent_ms(&created["createdAt"]);
    assert!(created["expiresAt"].is_null(), "{created}");
    assert_eq!(created["createdByUserId"], "user_test");

    let list = assert_status(&app.get(KEYS, &owner).await, StatusCode::OK).clone();
    let entry = listed(&list)
        .iter()
        .find(|k| k["id"] == created["id"])
        .expect("listed");
    assert_eq!(entry["name"], "ci");
    assert!(
        entry.get("key").is_none(),
        "the secret is never listed: {entry}"
    );
    let text = list.to_string();
    assert!(!text.contains(secret), "the secret appears in the list");
    for field in entry.as_object().expect("object").keys() {
        let lower = field.to_lowercase();
        assert!(
            !lower.contains("hash") && !lower.contains("secret"),
            "listed field {field}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_key_works_until_revoked_and_is_401_at_once_after() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let owner = app.jwt(ORG_A, "owner");
    let created = create_key(
        &app,
        &owner,
        &json!({"name": "svc", "capabilities": ["read"]}),
    )
    .await;
    let secret = created["key"].as_str().expect("secret").to_owned();
    assert_status(&app.get("/api/v1/sessions", &secret).await, StatusCode::OK);

    let id = id_of(&created);
    let revoked = app.delete(&format!("{KEYS}/{id}"), &owner).await;
    assert_status(&revoked, StatusCode::NO_CONTENT);
    assert!(revoked.1.is_null(), "204 has no body: {}", revoked.1);
    let after = app.get("/api/v1/sessions", &secret).await;
    assert_error(&after, StatusCode::UNAUTHORIZED, "unauthorized");

    let list = assert_status(&app.get(KEYS, &owner).await, StatusCode::OK).clone();
    assert!(
        listed(&list).iter().all(|k| k["id"] != id.as_str()),
        "revoked key still listed: {list}"
    );
    let again = app.delete(&format!("{KEYS}/{id}"), &owner).await;
    assert_error(&again, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_created_by_an_admin_role_is_usable() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let admin = app.jwt(ORG_A, "admin");
    let created = create_key(
        &app,
        &admin,
        &json!({"name": "x", "capabilities": ["read", "send", "admin"]}),
    )
    .await;
    let secret = created["key"].as_str().expect("secret");
    assert_status(&app.get("/api/v1/sessions", secret).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_principals_cannot_use_the_api_keys_endpoints() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let (own_id, key) = app
        .api_key_with_id(ORG_A, &wagw_tests::http::EVERY_KEY_CAPABILITY)
        .await;
    let body = json!({"name": "escalate", "capabilities": ["read"]});
    assert_error(
        &app.get(KEYS, &key).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &app.post(KEYS, &key, &body).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let delete = app.delete(&format!("{KEYS}/{own_id}"), &key).await;
    assert_error(&delete, StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_and_viewers_cannot_manage_keys() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let body = json!({"name": "nope", "capabilities": ["read"]});
    for role in ["member", "viewer"] {
        let token = app.jwt(ORG_A, role);
        assert_error(
            &app.get(KEYS, &token).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
        assert_error(
            &app.post(KEYS, &token, &body).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_capabilities_and_names_are_400_naming_the_field() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let owner = app.jwt(ORG_A, "owner");
    for (body, field) in [
        (
            json!({"name": "k", "capabilities": ["keys"]}),
            "capabilities",
        ),
        (
            json!({"name": "k", "capabilities": ["read", "keys"]}),
            "capabilities",
        ),
        (
            json!({"name": "k", "capabilities": ["bogus"]}),
            "capabilities",
        ),
        (json!({"name": "k", "capabilities": "read"}), "capabilities"),
        (json!({"name": "k"}), "capabilities"),
        (json!({"capabilities": ["read"]}), "name"),
        (
            json!({"name": "k", "capabilities": ["read"], "owner": "me"}),
            "owner",
        ),
    ] {
        let response = app.post(KEYS, &owner, &body).await;
        assert_eq!(
            response.0,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            response.1
        );
        assert_invalid_field(&response, field);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiry_in_the_past_is_400() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let owner = app.jwt(ORG_A, "owner");
    let past = wagw_common::time::now_ms() - 60_000;
    let body = json!({"name": "old", "capabilities": ["read"], "expiresAt": past});
    assert_invalid_field(&app.post(KEYS, &owner, &body).await, "expiresAt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_key_is_401() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let owner = app.jwt(ORG_A, "owner");
    let expires_at = wagw_common::time::now_ms() + 2000;
    let body = json!({"name": "brief", "capabilities": ["read"], "expiresAt": expires_at});
    let created = create_key(&app, &owner, &body).await;
    assert_eq!(created["expiresAt"], expires_at);
    let secret = created["key"].as_str().expect("secret").to_owned();
    assert_status(&app.get("/api/v1/sessions", &secret).await, StatusCode::OK);
    let until = tokio::time::Instant::now() + SOON;
    loop {
        let response = app.get("/api/v1/sessions", &secret).await;
        if response.0 == StatusCode::UNAUTHORIZED {
            assert_error(&response, StatusCode::UNAUTHORIZED, "unauthorized");
            assert!(
                wagw_common::time::now_ms() >= expires_at,
                "refused before expiresAt"
            );
            break;
        }
        assert_status(&response, StatusCode::OK);
        assert!(tokio::time::Instant::now() < until, "the key never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_listed_only_in_their_own_organization() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let (id_a, _) = app.api_key_with_id(ORG_A, &[Capability::Read]).await;
    let list_b = app.get(KEYS, &app.jwt(ORG_B, "owner")).await;
    let list_b = assert_status(&list_b, StatusCode::OK).clone();
    assert!(
        listed(&list_b).iter().all(|k| k["id"] != id_a.as_str()),
        "{list_b}"
    );
    let list_a = assert_status(
        &app.get(KEYS, &app.jwt(ORG_A, "owner")).await,
        StatusCode::OK,
    )
    .clone();
    assert!(
        listed(&list_a).iter().any(|k| k["id"] == id_a.as_str()),
        "{list_a}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_unknown_key_is_404_and_a_malformed_id_is_400() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let owner = app.jwt(ORG_A, "owner");
    let unknown = format!("{KEYS}/{}", ulid::Ulid::generate());
    assert_error(
        &app.delete(&unknown, &owner).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let malformed = app.delete(&format!("{KEYS}/not-a-key-id"), &owner).await;
    assert_error(&malformed, StatusCode::BAD_REQUEST, "invalid_argument");
}
