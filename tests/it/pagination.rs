//! Listing sessions: AIP pagination (newest first, tokens, page sizes) and the filters.

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;
use wagw_tests::assertions::{assert_invalid_field, assert_status};
use wagw_tests::{ORG_A, ORG_B, TestApp, TestOptions, id_of};

const SESSIONS: &str = "/api/v1/sessions";

/// Creates `n` sessions one after the other; returns their ids, oldest first.
async fn create_many(app: &TestApp, token: &str, n: usize, body: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(id_of(&app.create_session(token, body).await));
    }
    ids
}

fn ids_of(page: &Value) -> Vec<String> {
    page["sessions"]
        .as_array()
        .unwrap_or_else(|| panic!("no sessions array: {page}"))
        .iter()
        .map(id_of)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seven_sessions_come_in_three_pages_of_three_newest_first() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let created = create_many(&app, &owner, 7, &json!({"label": "paged"})).await;
    // Another organization's sessions must not leak into the pages.
    create_many(
        &app,
        &app.jwt(ORG_B, "owner"),
        2,
        &json!({"label": "other org"}),
    )
    .await;

    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut sizes = Vec::new();
    loop {
        let path = match &token {
            Some(token) => format!("{SESSIONS}?pageSize=3&pageToken={token}"),
            None => format!("{SESSIONS}?pageSize=3"),
        };
        let page = assert_status(&app.get(&path, &owner).await, StatusCode::OK).clone();
        let ids = ids_of(&page);
        sizes.push(ids.len());
        seen.extend(ids);
        match page["nextPageToken"].as_str() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => {
                assert!(page["nextPageToken"].is_null(), "last page token: {page}");
                break;
            }
        }
        assert!(sizes.len() < 10, "pagination never ends: {sizes:?}");
    }
    assert_eq!(sizes, [3, 3, 1]);
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first, "every session once, newest first");
    assert_eq!(
        seen.iter().collect::<HashSet<_>>().len(),
        7,
        "no duplicates"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_page_holds_up_to_fifty_sessions() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let created = create_many(&app, &owner, 7, &json!({"label": "all"})).await;
    let page = assert_status(&app.get(SESSIONS, &owner).await, StatusCode::OK).clone();
    assert_eq!(
        ids_of(&page),
        created.iter().rev().cloned().collect::<Vec<_>>()
    );
    assert!(page["nextPageToken"].is_null(), "{page}");
    let rows = page["sessions"].as_array().expect("array");
    assert!(
        rows.iter()
            .all(|row| row["organizationId"] == ORG_A && row["status"] == "stopped")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_list_has_no_next_page() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let page = app.get(SESSIONS, &app.jwt(ORG_A, "viewer")).await;
    assert_eq!(
        assert_status(&page, StatusCode::OK),
        &json!({"sessions": [], "nextPageToken": null})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_sizes_outside_1_to_500_are_400() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let viewer = app.jwt(ORG_A, "viewer");
    for size in ["0", "501", "-1", "abc"] {
        let response = app
            .get(&format!("{SESSIONS}?pageSize={size}"), &viewer)
            .await;
        assert_eq!(
            response.0,
            StatusCode::BAD_REQUEST,
            "pageSize={size}: {}",
            response.1
        );
        assert_invalid_field(&response, "pageSize");
    }
    for size in ["1", "500"] {
        assert_status(
            &app.get(&format!("{SESSIONS}?pageSize={size}"), &viewer)
                .await,
            StatusCode::OK,
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_page_token_is_400() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let viewer = app.jwt(ORG_A, "viewer");
    for token in ["garbage", "AAAA", "%7B%7D"] {
        let response = app
            .get(&format!("{SESSIONS}?pageToken={token}"), &viewer)
            .await;
        assert_eq!(
            response.0,
            StatusCode::BAD_REQUEST,
            "pageToken={token}: {}",
            response.1
        );
        assert_invalid_field(&response, "pageToken");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_filter_lists_only_that_gateway() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let on_a = create_many(&app, &owner, 2, &json!({"label": "a"})).await;
    let on_b = create_many(&app, &owner, 2, &json!({"label": "b", "gatewayId": "gw-b"})).await;
    let page_b = app.get(&format!("{SESSIONS}?gatewayId=gw-b"), &owner).await;
    let page_b = assert_status(&page_b, StatusCode::OK).clone();
    assert_eq!(
        ids_of(&page_b),
        on_b.iter().rev().cloned().collect::<Vec<_>>()
    );
    let page_a = app
        .get(&format!("{SESSIONS}?gatewayId=gw-a&pageSize=1"), &owner)
        .await;
    let page_a = assert_status(&page_a, StatusCode::OK).clone();
    assert_eq!(ids_of(&page_a), [on_a[1].clone()]);
    let next = page_a["nextPageToken"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let second = app
        .get(
            &format!("{SESSIONS}?gatewayId=gw-a&pageSize=1&pageToken={next}"),
            &owner,
        )
        .await;
    assert_eq!(
        ids_of(assert_status(&second, StatusCode::OK)),
        [on_a[0].clone()]
    );
    let bad = app
        .get(&format!("{SESSIONS}?gatewayId=GW.BAD"), &owner)
        .await;
    assert_invalid_field(&bad, "gatewayId");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_filter_lists_only_that_status() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let stopped = create_many(&app, &owner, 2, &json!({"label": "idle"})).await;
    let working = id_of(&app.paired_session(&owner, "6281234567890").await);
    let page = app.get(&format!("{SESSIONS}?status=working"), &owner).await;
    assert_eq!(ids_of(assert_status(&page, StatusCode::OK)), [working]);
    let page = app.get(&format!("{SESSIONS}?status=stopped"), &owner).await;
    assert_eq!(
        ids_of(assert_status(&page, StatusCode::OK)),
        stopped.iter().rev().cloned().collect::<Vec<_>>()
    );
    let page = app.get(&format!("{SESSIONS}?status=failed"), &owner).await;
    assert_eq!(
        ids_of(assert_status(&page, StatusCode::OK)),
        Vec::<String>::new()
    );
    let both = app
        .get(&format!("{SESSIONS}?status=working&gatewayId=gw-b"), &owner)
        .await;
    assert_eq!(
        ids_of(assert_status(&both, StatusCode::OK)),
        Vec::<String>::new()
    );
    assert_invalid_field(
        &app.get(&format!("{SESSIONS}?status=bogus"), &owner).await,
        "status",
    );
}
