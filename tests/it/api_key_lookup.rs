//! API keys on the session routes, where the key's hash entry and the session's row are read in
//! one pipeline: revocation still holds at once, keys stored in the older pointer form still
//! work, and refusals keep their order (401 before a bad path, 404 before 403).

use reqwest::StatusCode;
use serde_json::json;
use wagw_api::Capability;
use wagw_api::api_keys::hash_secret;
use wagw_tests::assertions::{assert_error, assert_invalid_field, assert_status};
use wagw_tests::{ORG_A, ORG_B, TestApp, TestOptions, id_of, session_path};

/// A stack with one session of [`ORG_A`]; returns it with the session's id.
async fn app_with_session() -> (TestApp, String) {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let row = app
        .create_session(&owner, &json!({"label": "lookup"}))
        .await;
    (app, id_of(&row))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_is_401_at_once_on_session_routes() {
    let (app, id) = app_with_session().await;
    let owner = app.jwt(ORG_A, "owner");
    let (key_id, secret) = app
        .api_key_with_id(ORG_A, &[Capability::Read, Capability::Manage])
        .await;
    assert_status(
        &app.get(&session_path(&id, ""), &secret).await,
        StatusCode::OK,
    );
    let stop = app.post_empty(&session_path(&id, ":stop"), &secret).await;
    assert_status(&stop, StatusCode::OK);

    let revoked = app
        .delete(&format!("/api/v1/api-keys/{key_id}"), &owner)
        .await;
    assert_status(&revoked, StatusCode::NO_CONTENT);
    let read = app.get(&session_path(&id, ""), &secret).await;
    assert_error(&read, StatusCode::UNAUTHORIZED, "unauthorized");
    let stop = app.post_empty(&session_path(&id, ":stop"), &secret).await;
    assert_error(&stop, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_stored_as_an_old_pointer_still_works_and_revokes() {
    let (app, id) = app_with_session().await;
    let owner = app.jwt(ORG_A, "owner");
    let (key_id, secret) = app.api_key_with_id(ORG_A, &[Capability::Read]).await;
    // Rewrite the hash entry the way keys were stored before it held a copy of the record.
    let mut redis = app.redis.clone();
    let hash_key = app.keys.api_key_by_hash(&hash_secret(&secret));
    let _: () = redis::cmd("SET")
        .arg(&hash_key)
        .arg(format!("{ORG_A} {key_id}"))
        .query_async(&mut redis)
        .await
        .expect("rewriting the hash entry");

    let row = app.get(&session_path(&id, ""), &secret).await;
    assert_eq!(assert_status(&row, StatusCode::OK)["id"], id.as_str());
    assert_status(&app.get("/api/v1/sessions", &secret).await, StatusCode::OK);

    let revoked = app
        .delete(&format!("/api/v1/api-keys/{key_id}"), &owner)
        .await;
    assert_status(&revoked, StatusCode::NO_CONTENT);
    let after = app.get(&session_path(&id, ""), &secret).await;
    assert_error(&after, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pointer_to_a_record_of_another_organization_is_401() {
    let (app, id) = app_with_session().await;
    let (_, secret) = app.api_key_with_id(ORG_A, &[Capability::Read]).await;
    let (other_id, _) = app.api_key_with_id(ORG_B, &[Capability::Read]).await;
    let mut redis = app.redis.clone();
    let hash_key = app.keys.api_key_by_hash(&hash_secret(&secret));
    let _: () = redis::cmd("SET")
        .arg(&hash_key)
        .arg(format!("{ORG_B} {other_id}"))
        .query_async(&mut redis)
        .await
        .expect("rewriting the hash entry");
    let read = app.get(&session_path(&id, ""), &secret).await;
    assert_error(&read, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_on_session_routes_keep_their_order() {
    let (app, id) = app_with_session().await;
    let reader = app.api_key(ORG_A, &[Capability::Read]).await;
    let stranger = app
        .api_key(ORG_B, &[Capability::Read, Capability::Manage])
        .await;
    let unknown = "wagw_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    // A bad credential is 401 even on a bad path.
    let bad_both = app.get(&session_path("not-an-id", ""), unknown).await;
    assert_error(&bad_both, StatusCode::UNAUTHORIZED, "unauthorized");
    // A good credential on a bad path is the path's 400.
    assert_invalid_field(
        &app.get(&session_path("not-an-id", ""), &reader).await,
        "session",
    );
    // Another organization's session is 404, even for a key that could manage it.
    let foreign = app.post_empty(&session_path(&id, ":stop"), &stranger).await;
    assert_error(&foreign, StatusCode::NOT_FOUND, "not_found");
    // The caller's own session without the capability is 403.
    let forbidden = app.post_empty(&session_path(&id, ":stop"), &reader).await;
    assert_error(&forbidden, StatusCode::FORBIDDEN, "forbidden");
}
