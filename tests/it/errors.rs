//! The error envelope on every path, each error code of the contract, and `x-request-id`.

use reqwest::{Method, StatusCode};
use serde_json::json;
use wagw_tests::assertions::{assert_error, assert_invalid_field, is_ulid};
use wagw_tests::http::read_response;
use wagw_tests::{HttpResponse, ORG_A, TestApp, TestOptions, session_path};

const SESSIONS: &str = "/api/v1/sessions";

/// `POST /api/v1/sessions` with a raw body and content type, as an owner.
async fn post_raw(app: &TestApp, content_type: &str, body: Vec<u8>) -> HttpResponse {
    let token = app.jwt(ORG_A, "owner");
    let response = app
        .request(Method::POST, SESSIONS, Some(&token))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("sent");
    read_response(response).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_route_is_404_in_the_envelope() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let owner = app.jwt(ORG_A, "owner");
    assert_error(
        &app.get("/api/v1/nope", &owner).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &app.get("/api/v2/sessions", &owner).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let outside = app.send(Method::GET, "/nope", None, None).await;
    assert_error(&outside, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_method_is_405_in_the_envelope() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let owner = app.jwt(ORG_A, "owner");
    let id = ulid::Ulid::generate().to_string();
    for (method, path) in [
        (Method::PUT, SESSIONS.to_owned()),
        (Method::DELETE, SESSIONS.to_owned()),
        (Method::PUT, session_path(&id, "")),
        (Method::GET, session_path(&id, ":start")),
        (Method::POST, "/api/v1/gateways".to_owned()),
        (Method::PATCH, "/api/v1/api-keys".to_owned()),
    ] {
        let response = app.send(method.clone(), &path, Some(&owner), None).await;
        assert_eq!(
            response.0,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {}",
            response.1
        );
        assert_error(
            &response,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_400_naming_the_body() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    for body in [&b"{"[..], b"{\"label\": }", b"[1, 2", b"not json"] {
        let response = post_raw(&app, "application/json", body.to_vec()).await;
        assert_invalid_field(&response, "body");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_field_is_400_naming_it() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let owner = app.jwt(ORG_A, "owner");
    let response = app
        .post(SESSIONS, &owner, &json!({"label": "x", "nickname": "y"}))
        .await;
    assert_invalid_field(&response, "nickname");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_type_is_400_naming_the_field() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let owner = app.jwt(ORG_A, "owner");
    for (body, field) in [
        (json!({"label": 5}), "label"),
        (json!({"label": "x", "ratePerMin": "20"}), "ratePerMin"),
        (
            json!({"label": "x", "presenceTyping": "yes"}),
            "presenceTyping",
        ),
        (json!({"label": "x", "ratePerHour": 1.5}), "ratePerHour"),
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_body_that_is_not_an_object_is_400() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let owner = app.jwt(ORG_A, "owner");
    // serde's derived Deserialize would read `["x"]` as `{"label": "x"}`; the API must not.
    let mut wrong = Vec::new();
    for body in [json!(["a label"]), json!("a label"), json!(42), json!(null)] {
        let response = app.post(SESSIONS, &owner, &body).await;
        let field = &response.1["error"]["details"]["field"];
        if response.0 != StatusCode::BAD_REQUEST || field != "body" {
            wrong.push(format!("{body} -> {} {}", response.0, response.1));
        }
    }
    let keys = app
        .post("/api/v1/api-keys", &owner, &json!(["ci", ["read"]]))
        .await;
    if keys.0 != StatusCode::BAD_REQUEST || keys.1["error"]["details"]["field"] != "body" {
        wrong.push(format!(
            "POST /api-keys [\"ci\", [\"read\"]] -> {} {}",
            keys.0, keys.1
        ));
    }
    assert!(
        wrong.is_empty(),
        "non-object bodies not refused as 400 body: {wrong:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_1_mib_is_413() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let label = "x".repeat(1024 * 1024 + 1);
    let body = serde_json::to_vec(&json!({"label": label})).expect("serializes");
    let response = post_raw(&app, "application/json", body).await;
    assert_error(
        &response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    // Just under the limit, the body is read and judged on its content: the label is too long.
    let label = "x".repeat(1024 * 1024 - 100);
    let body = serde_json::to_vec(&json!({"label": label})).expect("serializes");
    let response = post_raw(&app, "application/json", body).await;
    assert_invalid_field(&response, "label");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_json_is_415() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let text = post_raw(&app, "text/plain", b"{\"label\": \"x\"}".to_vec()).await;
    assert_error(
        &text,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let form = post_raw(
        &app,
        "application/x-www-form-urlencoded",
        b"label=x".to_vec(),
    )
    .await;
    assert_error(
        &form,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let token = app.jwt(ORG_A, "owner");
    let missing = app
        .request(Method::POST, SESSIONS, Some(&token))
        .body("{\"label\":\"x\"}")
        .send()
        .await;
    let missing = read_response(missing.expect("sent")).await;
    assert_error(
        &missing,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_session_id_is_400() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let owner = app.jwt(ORG_A, "owner");
    let lower = ulid::Ulid::generate().to_string().to_lowercase();
    for id in ["not-a-ulid", "sess_01HZX8K3M9", lower.as_str()] {
        let response = app.get(&session_path(id, ""), &owner).await;
        assert_eq!(response.0, StatusCode::BAD_REQUEST, "{id}: {}", response.1);
        assert_invalid_field(&response, "session");
        let start = app.post_empty(&session_path(id, ":start"), &owner).await;
        assert_invalid_field(&start, "session");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_request_id_is_echoed_or_generated_on_every_response() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let owner = app.jwt(ORG_A, "owner");
    let header = |response: &HttpResponse| {
        response
            .2
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    for (method, path, token, status) in [
        (
            Method::GET,
            "/api/v1/sessions",
            Some(owner.as_str()),
            StatusCode::OK,
        ),
        (
            Method::GET,
            "/api/v1/sessions",
            None,
            StatusCode::UNAUTHORIZED,
        ),
        (
            Method::GET,
            "/api/v1/nope",
            Some(owner.as_str()),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::PUT,
            "/api/v1/sessions",
            Some(owner.as_str()),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (Method::GET, "/healthz", None, StatusCode::OK),
    ] {
        let sent = app
            .request(method.clone(), path, token)
            .header("x-request-id", "client-chosen-42")
            .send()
            .await
            .expect("sent");
        let echoed = read_response(sent).await;
        assert_eq!(echoed.0, status, "{method} {path}");
        assert_eq!(
            header(&echoed).as_deref(),
            Some("client-chosen-42"),
            "{method} {path} echoes"
        );
        let generated = app.send(method.clone(), path, token, None).await;
        assert_eq!(generated.0, status, "{method} {path}");
        let id = header(&generated).unwrap_or_else(|| panic!("{method} {path}: no x-request-id"));
        assert!(
            is_ulid(&id),
            "{method} {path}: generated request id {id} is not a ULID"
        );
    }
}
