//! Webhook CRUD: create (the secret once), list and get without it, patch, delete; another
//! organization's webhook is 404; validation names the field; `manage` is required.

use reqwest::StatusCode;
use serde_json::{Value, json};
use wagw_api::Capability;
use wagw_tests::assertions::{assert_error, assert_invalid_field, assert_status, is_ulid};
use wagw_tests::{ORG_A, ORG_B, TestApp, TestOptions, id_of};

const WEBHOOKS: &str = "/api/v1/webhooks";

/// `POST /webhooks`, asserting 201; returns `(id, secret, body)`.
pub async fn create_webhook(app: &TestApp, token: &str, body: &Value) -> (String, String, Value) {
    let response = app.post(WEBHOOKS, token, body).await;
    let created = assert_status(&response, StatusCode::CREATED).clone();
    let secret = created["secret"].as_str().unwrap_or_default().to_owned();
    (id_of(&created), secret, created)
}

pub fn webhook_path(id: &str, suffix: &str) -> String {
    format!("{WEBHOOKS}/{id}{suffix}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_is_created_listed_updated_and_deleted_with_its_secret_shown_once() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let (id, secret, created) =
        create_webhook(&app, &owner, &json!({"url": "https://example.com/hook"})).await;
    assert!(is_ulid(&id), "{created}");
    assert!(
        secret.starts_with("whsec_") && secret.len() == 6 + 64,
        "{secret}"
    );
    assert_eq!(created["url"], "https://example.com/hook");
    assert_eq!(created["events"], Value::Null, "every type by default");
    assert_eq!(created["sessionId"], Value::Null);
    assert!(created["createdAt"].is_i64());

    let listed = app.get(WEBHOOKS, &owner).await;
    let listed = assert_status(&listed, StatusCode::OK);
    assert_eq!(
        listed["webhooks"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );
    assert_eq!(listed["webhooks"][0]["id"], id.as_str());
    assert!(listed["webhooks"][0].get("secret").is_none(), "{listed}");
    let got = app.get(&webhook_path(&id, ""), &owner).await;
    assert!(assert_status(&got, StatusCode::OK).get("secret").is_none());

    let session = id_of(
        &app.create_session(&owner, &json!({"label": "hooked"}))
            .await,
    );
    let patch = json!({"url": "http://10.1.2.3:9000/in", "events": ["session.status"], "sessionId": session});
    let patched = app.patch(&webhook_path(&id, ""), &owner, &patch).await;
    let patched = assert_status(&patched, StatusCode::OK).clone();
    assert_eq!(
        patched["url"], "http://10.1.2.3:9000/in",
        "private addresses are allowed"
    );
    assert_eq!(patched["events"], json!(["session.status"]));
    assert_eq!(patched["sessionId"], session.as_str());
    let cleared = app
        .patch(
            &webhook_path(&id, ""),
            &owner,
            &json!({"sessionId": null, "events": null}),
        )
        .await;
    let cleared = assert_status(&cleared, StatusCode::OK);
    assert_eq!(cleared["sessionId"], Value::Null);
    assert_eq!(cleared["events"], Value::Null);
    assert_eq!(
        cleared["url"], "http://10.1.2.3:9000/in",
        "untouched fields stay"
    );

    let deleted = app.delete(&webhook_path(&id, ""), &owner).await;
    assert_eq!(deleted.0, StatusCode::NO_CONTENT);
    let gone = app.get(&webhook_path(&id, ""), &owner).await;
    assert_error(&gone, StatusCode::NOT_FOUND, "not_found");
    let gone = app.delete(&webhook_path(&id, ""), &owner).await;
    assert_error(&gone, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_organizations_webhook_is_not_found() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let owner_a = app.jwt(ORG_A, "owner");
    let owner_b = app.jwt(ORG_B, "owner");
    let (id, _, _) = create_webhook(&app, &owner_a, &json!({"url": "https://a.example/h"})).await;
    for response in [
        app.get(&webhook_path(&id, ""), &owner_b).await,
        app.patch(
            &webhook_path(&id, ""),
            &owner_b,
            &json!({"url": "https://b.example/"}),
        )
        .await,
        app.delete(&webhook_path(&id, ""), &owner_b).await,
        app.get(&webhook_path(&id, "/dead-letters"), &owner_b).await,
    ] {
        assert_error(&response, StatusCode::NOT_FOUND, "not_found");
    }
    let listed = app.get(WEBHOOKS, &owner_b).await;
    assert_eq!(
        assert_status(&listed, StatusCode::OK)["webhooks"],
        json!([])
    );
    let still = app.get(&webhook_path(&id, ""), &owner_a).await;
    assert_status(&still, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_webhooks_are_refused_naming_the_field() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let other_org_session = id_of(
        &app.create_session(&app.jwt(ORG_B, "owner"), &json!({"label": "b"}))
            .await,
    );
    let long = format!("https://example.com/{}", "a".repeat(2048));
    let url = "https://example.com/h";
    for (body, field) in [
        (json!({"url": "/relative"}), "url"),
        (json!({"url": "ftp://example.com/x"}), "url"),
        (json!({"url": long}), "url"),
        (json!({}), "url"),
        (json!({"url": url, "events": []}), "events"),
        (json!({"url": url, "events": ["session.bogus"]}), "events"),
        (
            json!({"url": url, "events": ["session.qr", "session.qr"]}),
            "events",
        ),
        (json!({"url": url, "sessionId": "nope"}), "sessionId"),
        (
            json!({"url": url, "sessionId": other_org_session}),
            "sessionId",
        ),
        (json!({"url": url, "secret": "mine"}), "secret"),
    ] {
        let response = app.post(WEBHOOKS, &owner, &body).await;
        assert_invalid_field(&response, field);
    }
    let (id, _, _) = create_webhook(&app, &owner, &json!({"url": url})).await;
    let response = app
        .patch(&webhook_path(&id, ""), &owner, &json!({"url": null}))
        .await;
    assert_invalid_field(&response, "url");
    let response = app
        .patch(&webhook_path(&id, ""), &owner, &json!({"events": []}))
        .await;
    assert_invalid_field(&response, "events");
    let response = app.get("/api/v1/webhooks/not-a-ulid", &owner).await;
    assert_invalid_field(&response, "webhook");
    let response = app
        .get(&webhook_path(&id, "/dead-letters?pageToken=forged"), &owner)
        .await;
    assert_invalid_field(&response, "pageToken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_need_the_manage_capability() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let owner = app.jwt(ORG_A, "owner");
    let (id, _, _) = create_webhook(&app, &owner, &json!({"url": "https://example.com/h"})).await;
    let member = app.jwt(ORG_A, "member");
    let reader = app
        .api_key(ORG_A, &[Capability::Read, Capability::Send])
        .await;
    for token in [member.as_str(), reader.as_str()] {
        for response in [
            app.post(WEBHOOKS, token, &json!({"url": "https://example.com/h"}))
                .await,
            app.get(WEBHOOKS, token).await,
            app.get(&webhook_path(&id, ""), token).await,
            app.patch(
                &webhook_path(&id, ""),
                token,
                &json!({"url": "https://x.example/"}),
            )
            .await,
            app.delete(&webhook_path(&id, ""), token).await,
            app.get(&webhook_path(&id, "/dead-letters"), token).await,
        ] {
            assert_error(&response, StatusCode::FORBIDDEN, "forbidden");
        }
    }
    let manager = app.api_key(ORG_A, &[Capability::Manage]).await;
    let (status, body, _) = app.get(WEBHOOKS, &manager).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
