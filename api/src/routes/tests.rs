//! Router-level tests: every non-2xx is the envelope, request ids, the command flow's status
//! mapping. Each test runs its own redis-server and nats-server.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use futures::StreamExt;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use wagw_common::wire::{Command, Reply};
use wagw_common::{GatewayId, OrganizationId};

use super::build_router;
use super::test_deps::Deps;
use crate::Capability;
use crate::state::AppState;

/// Status, headers and JSON (or `Null`) of one request through a fresh router.
async fn call(
    state: &AppState,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = build_router(state.clone())
        .oneshot(request)
        .await
        .expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (
        parts.status,
        parts.headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn request(method: Method, uri: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(uri)
}

async fn api_key(state: &AppState, caps: &[Capability]) -> String {
    let org = OrganizationId::parse("org_test").expect("valid");
    let (_, key) = crate::api_keys::create_api_key(
        &mut state.redis(),
        state.keys(),
        &org,
        "test",
        caps,
        None,
        "test",
    )
    .await
    .expect("key created");
    format!("Bearer {key}")
}

fn assert_envelope(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(body["error"]["details"].is_object(), "{body}");
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_get_the_envelope() {
    let deps = Deps::start();
    let state = deps.state(&[]).await;
    let (status, headers, body) = call(
        &state,
        request(Method::GET, "/nope")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_envelope(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert!(headers.contains_key("x-request-id"));

    let (status, headers, body) = call(
        &state,
        request(Method::PUT, "/api/v1/sessions")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_envelope(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    let allow = headers[header::ALLOW].to_str().expect("ascii");
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");

    let auth = api_key(&state, &[Capability::Manage]).await;
    let id = wagw_common::SessionId::generate();
    let bare = request(Method::POST, &format!("/api/v1/sessions/{id}"))
        .header(header::AUTHORIZATION, &auth);
    let (status, headers, body) = call(&state, bare.body(Body::empty()).expect("request")).await;
    assert_envelope(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    assert!(headers.contains_key(header::ALLOW));
    let unknown = request(Method::POST, &format!("/api/v1/sessions/{id}:explode"))
        .header(header::AUTHORIZATION, &auth);
    let (status, _, body) = call(&state, unknown.body(Body::empty()).expect("request")).await;
    assert_envelope(status, &body, StatusCode::NOT_FOUND, "not_found");
    let bad_id =
        request(Method::GET, "/api/v1/sessions/sess_1").header(header::AUTHORIZATION, &auth);
    let (status, _, body) = call(&state, bad_id.body(Body::empty()).expect("request")).await;
    assert_envelope(status, &body, StatusCode::BAD_REQUEST, "invalid_argument");
    assert_eq!(body["error"]["details"]["field"], "session");
}

#[tokio::test]
async fn bodies_are_checked_for_type_size_and_fields() {
    let deps = Deps::start();
    let state = deps.state(&[]).await;
    let auth = api_key(&state, &[Capability::Manage]).await;
    let post = |content_type: &str, body: Vec<u8>| {
        request(Method::POST, "/api/v1/sessions")
            .header(header::AUTHORIZATION, &auth)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .expect("request")
    };
    let (status, _, body) = call(&state, post("text/plain", b"{}".to_vec())).await;
    assert_envelope(
        status,
        &body,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );

    let huge = format!(r#"{{"label":"{}"}}"#, "x".repeat(1024 * 1024 + 1));
    let (status, _, body) = call(&state, post("application/json", huge.into_bytes())).await;
    assert_envelope(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );

    let unknown = br#"{"label":"a","colour":"red"}"#.to_vec();
    let (status, _, body) = call(&state, post("application/json", unknown)).await;
    assert_envelope(status, &body, StatusCode::BAD_REQUEST, "invalid_argument");
    assert_eq!(body["error"]["details"]["field"], "colour");

    let wrong_type = br#"{"label":"a","ratePerMin":"many"}"#.to_vec();
    let (_, _, body) = call(&state, post("application/json", wrong_type)).await;
    assert_eq!(body["error"]["details"]["field"], "ratePerMin");

    let (_, _, body) = call(&state, post("application/json", b"{".to_vec())).await;
    assert_eq!(body["error"]["details"]["field"], "body");

    let out_of_range = br#"{"label":"a","ratePerMin":5000}"#.to_vec();
    let (_, _, body) = call(&state, post("application/json", out_of_range)).await;
    assert_eq!(body["error"]["details"]["field"], "ratePerMin");
}

#[tokio::test]
async fn credentials_are_required_and_request_ids_are_sanitized() {
    let deps = Deps::start();
    let state = deps.state(&[]).await;
    let sessions = |auth: Option<&str>, id: &str| {
        let mut builder = request(Method::GET, "/api/v1/sessions").header("x-request-id", id);
        if let Some(auth) = auth {
            builder = builder.header(header::AUTHORIZATION, auth);
        }
        builder.body(Body::empty()).expect("request")
    };
    let (status, headers, body) = call(&state, sessions(None, "client-id-7")).await;
    assert_envelope(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(headers["x-request-id"], "client-id-7");
    let (status, headers, _) = call(&state, sessions(Some("Bearer wagw_forged"), "bad id")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let generated = headers["x-request-id"].to_str().expect("ascii");
    assert!(ulid::Ulid::from_string(generated).is_ok(), "{generated}");
    let (status, _, _) = call(&state, sessions(Some("Bearer not.a.jwt"), "x")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let viewer = api_key(&state, &[Capability::Read]).await;
    let (status, _, body) = call(&state, sessions(Some(&viewer), "x")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"sessions": [], "nextPageToken": null}));
    let create = request(Method::POST, "/api/v1/sessions")
        .header(header::AUTHORIZATION, &viewer)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"label":"a"}"#))
        .expect("request");
    let (status, _, body) = call(&state, create).await;
    assert_envelope(status, &body, StatusCode::FORBIDDEN, "forbidden");
}

async fn create_session(state: &AppState, auth: &str) -> (StatusCode, Value) {
    let create = request(Method::POST, "/api/v1/sessions")
        .header(header::AUTHORIZATION, auth)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"label":"Support"}"#))
        .expect("request");
    let (status, _, body) = call(state, create).await;
    (status, body)
}

async fn record_shards(state: &AppState, shards: u32) {
    let gw = GatewayId::parse("gw-test-1").expect("valid");
    let _: () = redis::cmd("SET")
        .arg(state.keys().shard_count(&gw))
        .arg(shards)
        .query_async(&mut state.redis())
        .await
        .expect("set");
}

#[tokio::test]
async fn commands_map_missing_and_silent_workers_to_503_and_504() {
    let deps = Deps::start();
    let state = deps.state(&["--command-timeout-ms", "300"]).await;
    let auth = api_key(&state, &[Capability::Manage]).await;
    let (status, body) = create_session(&state, &auth).await;
    assert_envelope(
        status,
        &body,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
    );

    record_shards(&state, 4).await;
    let (status, body) = create_session(&state, &auth).await;
    assert_envelope(
        status,
        &body,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
    );
    assert_eq!(
        body["error"]["message"],
        "no worker is serving gateway gw-test-1"
    );

    // A worker that takes the request and never answers.
    let mut silent = state
        .nats()
        .subscribe("wagw.cmd.>")
        .await
        .expect("subscribes");
    state.nats().flush().await.expect("flush");
    let (status, body) = create_session(&state, &auth).await;
    assert_envelope(
        status,
        &body,
        StatusCode::GATEWAY_TIMEOUT,
        "deadline_exceeded",
    );
    let message = silent.next().await.expect("the command arrived");
    assert!(
        message
            .headers
            .is_some_and(|h| h.get("x-request-id").is_some())
    );
}

#[tokio::test]
async fn an_acknowledged_create_returns_the_row_the_worker_wrote() {
    let deps = Deps::start();
    let state = deps.state(&[]).await;
    let auth = api_key(&state, &[Capability::Manage, Capability::Read]).await;
    record_shards(&state, 4).await;
    let mut commands = state
        .nats()
        .subscribe("wagw.cmd.>")
        .await
        .expect("subscribes");
    state.nats().flush().await.expect("flush");
    let worker_state = state.clone();
    let worker = tokio::spawn(async move {
        let message = commands.next().await.expect("a command");
        let Ok(Command::CreateSessionV1(create)) = serde_json::from_slice(&message.payload) else {
            panic!("expected a create command");
        };
        let row = create.session;
        let gw = row.gateway_id.clone();
        let shard = wagw_common::shard::ShardRef::of_session(&gw, &row.id, 4);
        let _: () = redis::pipe()
            .set(
                worker_state.keys().session(&shard, &row.id),
                serde_json::to_string(&row).expect("json"),
            )
            .zadd(
                worker_state
                    .keys()
                    .org_sessions(&shard, &row.organization_id),
                row.id.to_string(),
                0,
            )
            .query_async(&mut worker_state.redis())
            .await
            .expect("written");
        let reply = serde_json::to_vec(&Reply::ok()).expect("json");
        let reply_to = message.reply.expect("a request");
        worker_state
            .nats()
            .publish(reply_to, reply.into())
            .await
            .expect("replied");
        worker_state.nats().flush().await.expect("flush");
    });
    let (status, body) = create_session(&state, &auth).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["label"], "Support");
    assert_eq!(body["status"], "stopped");
    assert!(
        body["createdByUserId"]
            .as_str()
            .is_some_and(|s| s.starts_with("apikey:"))
    );
    worker.await.expect("worker task");

    let list =
        request(Method::GET, "/api/v1/sessions?pageSize=1").header(header::AUTHORIZATION, &auth);
    let (status, _, page) = call(&state, list.body(Body::empty()).expect("request")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["sessions"][0]["id"], body["id"]);
    assert!(page["nextPageToken"].is_null());
    let get = request(
        Method::GET,
        &format!("/api/v1/sessions/{}", body["id"].as_str().unwrap_or("")),
    )
    .header(header::AUTHORIZATION, &auth);
    let (status, _, row) = call(&state, get.body(Body::empty()).expect("request")).await;
    assert_eq!((status, &row["id"]), (StatusCode::OK, &body["id"]));
}

#[tokio::test]
async fn probes_metrics_and_the_openapi_document_need_no_credential() {
    let deps = Deps::start();
    let state = deps.state(&[]).await;
    for path in ["/healthz", "/readyz", "/openapi.json", "/metrics"] {
        let (status, _, _) = call(
            &state,
            request(Method::GET, path)
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    let response = build_router(state.clone())
        .oneshot(
            request(Method::GET, "/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    let text = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("wagw_http_requests_total"), "{text}");
    assert!(text.contains(r#"route="/healthz""#), "{text}");
}
