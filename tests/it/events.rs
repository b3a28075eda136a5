//! `GET /sessions/{session}/events`: the session's events as the durable stream holds them,
//! the same as published live, oldest first, paged with `after`, scoped to the organization.

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use wagw_common::GatewayId;
use wagw_common::sim::SimAction;
use wagw_tests::assertions::{assert_error, assert_status};
use wagw_tests::{ORG_A, ORG_B, SOON, TestApp, TestOptions, id_of, session_path};

/// `(type, data.status)` of each event, for readable comparisons.
fn summary(events: &[Value]) -> Vec<(String, Option<String>)> {
    events
        .iter()
        .map(|e| {
            let kind = e["type"].as_str().unwrap_or_default().to_owned();
            (kind, e["data"]["status"].as_str().map(str::to_owned))
        })
        .collect()
}

/// Every page of a session's events, following `nextPageToken`.
async fn replay(app: &TestApp, token: &str, id: &str, page_size: usize) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = String::new();
    loop {
        let path = session_path(id, &format!("/events?pageSize={page_size}&after={after}"));
        let response = app.get(&path, token).await;
        let page = assert_status(&response, StatusCode::OK).clone();
        let events = page["events"].as_array().cloned().unwrap_or_default();
        assert!(events.len() <= page_size, "{page}");
        all.extend(events);
        match page["nextPageToken"].as_str() {
            Some(next) => after = next.to_owned(),
            None => return all,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_returns_exactly_the_published_events_in_order() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let gw = GatewayId::parse("gw-a").expect("valid");
    let mut live = app
        .nats
        .subscribe(app.subjects.events_all(&gw))
        .await
        .expect("subscribe");

    let created = app
        .post("/api/v1/sessions", &owner, &json!({"label": "ev"}))
        .await;
    let id = id_of(assert_status(&created, StatusCode::CREATED));
    let qr = app.get(&session_path(&id, "/qr"), &owner).await;
    assert_status(&qr, StatusCode::OK);
    let reply = app.sim("gw-a", &id, SimAction::Pair, json!({})).await;
    assert!(reply.ok, "{reply:?}");
    app.wait_for_status(&owner, &id, "working", SOON).await;

    // What was published live, up to the `working` status event.
    let mut published = Vec::new();
    while !summary(&published).contains(&("session.status".into(), Some("working".into()))) {
        let message = tokio::time::timeout(SOON, live.next())
            .await
            .expect("events are published")
            .expect("subscription open");
        let event: Value = serde_json::from_slice(&message.payload).expect("an event");
        if event["sessionId"] == id.as_str() {
            published.push(event);
        }
    }
    let expected_order = [
        ("session.status", Some("stopped")),
        ("session.status", Some("scan_qr_code")),
        ("session.qr", None),
        ("session.paired", None),
        ("session.status", Some("working")),
    ];
    let kinds = summary(&published);
    let mut position = 0;
    for (kind, status) in expected_order {
        let wanted = (kind.to_owned(), status.map(str::to_owned));
        let found = kinds[position..].iter().position(|k| *k == wanted);
        position +=
            found.unwrap_or_else(|| panic!("{wanted:?} missing in order from {kinds:?}")) + 1;
    }

    let replayed = replay(&app, &owner, &id, 500).await;
    assert_eq!(
        replayed, published,
        "the stream holds exactly what was published"
    );
    for event in &replayed {
        assert_eq!(event["organizationId"], ORG_A);
        assert_eq!(event["gatewayId"], "gw-a");
        assert!(ulid::Ulid::from_string(event["id"].as_str().unwrap_or_default()).is_ok());
    }
    // Pages of two give the same events.
    assert_eq!(replay(&app, &owner, &id, 2).await, published);
    // After the last event: nothing, and no token.
    let last = published
        .last()
        .map(|e| e["id"].as_str().unwrap_or_default().to_owned());
    let path = session_path(&id, &format!("/events?after={}", last.unwrap_or_default()));
    let page = app.get(&path, &owner).await;
    let page = assert_status(&page, StatusCode::OK);
    assert_eq!(page["events"], json!([]), "{page}");
    assert!(page["nextPageToken"].is_null(), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_is_scoped_to_the_organization_and_validates_its_query() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let created = app
        .post("/api/v1/sessions", &owner, &json!({"label": "ev"}))
        .await;
    let id = id_of(assert_status(&created, StatusCode::CREATED));

    let viewer = app.jwt(ORG_A, "viewer");
    let response = app.get(&session_path(&id, "/events"), &viewer).await;
    let page = assert_status(&response, StatusCode::OK);
    assert!(
        !page["events"].as_array().is_none_or(Vec::is_empty),
        "read may replay: {page}"
    );

    let stranger = app.jwt(ORG_B, "owner");
    let response = app.get(&session_path(&id, "/events"), &stranger).await;
    assert_error(&response, StatusCode::NOT_FOUND, "not_found");

    for bad in [
        "after=not-an-id",
        "pageSize=0",
        "pageSize=501",
        "colour=red",
    ] {
        let response = app
            .get(&session_path(&id, &format!("/events?{bad}")), &owner)
            .await;
        assert_eq!(response.0, StatusCode::BAD_REQUEST, "{bad}: {}", response.1);
    }
}
