//! Organizations are walls: another organization's session or key is `404 not_found` on every
//! route, never `403`, and is left untouched.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wagw_api::Capability::Read;
use wagw_tests::assertions::{assert_error, assert_status};
use wagw_tests::{ORG_A, ORG_B, TestApp, TestOptions, id_of, session_path};

/// Every route that names a session, with a body valid for it.
fn session_routes(id: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, session_path(id, ""), None),
        (
            Method::PATCH,
            session_path(id, ""),
            Some(json!({"label": "hijacked"})),
        ),
        (Method::DELETE, session_path(id, ""), None),
        (Method::POST, session_path(id, ":start"), None),
        (Method::POST, session_path(id, ":stop"), None),
        (Method::POST, session_path(id, ":restart"), None),
        (Method::POST, session_path(id, ":logout"), None),
        (Method::GET, session_path(id, "/qr"), None),
        (
            Method::POST,
            session_path(id, "/pairing-code"),
            Some(json!({"phoneNumber": "6281234567890"})),
        ),
        (
            Method::POST,
            session_path(id, "/messages"),
            Some(json!({"to": "6281234567890", "text": "hi"})),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_session_route_is_404_for_another_organization() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner_a = app.jwt(ORG_A, "owner");
    let paired = app.paired_session(&owner_a, "6281234567890").await;
    let unpaired = app
        .create_session(&owner_a, &json!({"label": "unpaired"}))
        .await;
    let owner_b = app.jwt(ORG_B, "owner");
    let key_b = app
        .api_key(ORG_B, &wagw_tests::http::EVERY_KEY_CAPABILITY)
        .await;
    for row in [&paired, &unpaired] {
        let id = id_of(row);
        for token in [&owner_b, &key_b] {
            for (method, path, body) in session_routes(&id) {
                let response = app
                    .send(method.clone(), &path, Some(token), body.as_ref())
                    .await;
                assert_eq!(
                    response.0,
                    StatusCode::NOT_FOUND,
                    "{method} {path}: {}",
                    response.1
                );
                assert_error(&response, StatusCode::NOT_FOUND, "not_found");
            }
        }
        let after = app.get(&session_path(&id, ""), &owner_a).await;
        assert_eq!(
            assert_status(&after, StatusCode::OK),
            row,
            "org B changed nothing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principal_without_capabilities_still_gets_404_not_403_for_another_org() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner_a = app.jwt(ORG_A, "owner");
    let id = id_of(
        &app.create_session(&owner_a, &json!({"label": "private"}))
            .await,
    );
    let viewer_b = app.jwt(ORG_B, "viewer");
    for (method, path, body) in session_routes(&id) {
        let response = app
            .send(method.clone(), &path, Some(&viewer_b), body.as_ref())
            .await;
        assert_eq!(
            response.0,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            response.1
        );
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_another_organizations_key_is_404_and_the_key_keeps_working() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let (id_a, key_a) = app.api_key_with_id(ORG_A, &[Read]).await;
    let response = app
        .delete(
            &format!("/api/v1/api-keys/{id_a}"),
            &app.jwt(ORG_B, "owner"),
        )
        .await;
    assert_error(&response, StatusCode::NOT_FOUND, "not_found");
    assert_status(&app.get("/api/v1/sessions", &key_a).await, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organizations_sessions_are_not_listed() {
    let app = TestApp::spawn(TestOptions::default()).await;
    app.create_session(&app.jwt(ORG_A, "owner"), &json!({"label": "a"}))
        .await;
    let list = app.get("/api/v1/sessions", &app.jwt(ORG_B, "owner")).await;
    assert_eq!(assert_status(&list, StatusCode::OK)["sessions"], json!([]));
}
