//! `GET /gateways`: the live view of the fleet.

use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use wagw_tests::assertions::{assert_error, assert_status};
use wagw_tests::fleet::{gateway_entry, worker_id, worker_shards};
use wagw_tests::{ORG_A, SOON, TestApp, TestOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateways_show_each_worker_with_its_shards_and_session_counts() {
    let app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    app.create_session(&owner, &json!({"label": "one"})).await;
    app.paired_session(&owner, "6281234567890").await;
    let viewer = app.jwt(ORG_A, "viewer");
    let body = assert_status(&app.get("/api/v1/gateways", &viewer).await, StatusCode::OK).clone();
    for gw in ["gw-a", "gw-b"] {
        let entry = gateway_entry(&body, gw).unwrap_or_else(|| panic!("{gw} not listed: {body}"));
        let workers = entry["workers"].as_array().expect("workers array");
        let expected = app
            .workers
            .iter()
            .find(|w| w.gateway == gw)
            .expect("a worker")
            .id
            .clone();
        assert_eq!(workers.len(), 1, "{entry}");
        assert_eq!(worker_id(&workers[0]), Some(expected.as_str()), "{entry}");
        assert_eq!(worker_shards(&workers[0]), (0..8).collect(), "{entry}");
        assert_eq!(entry["shards"], 8, "{entry}");
    }
    // Counts come with the workers' heartbeats (every 500 ms here), so they may lag a little.
    let until = tokio::time::Instant::now() + SOON;
    loop {
        let body = app.get("/api/v1/gateways", &viewer).await.1;
        let gw_a = gateway_entry(&body, "gw-a").expect("listed").clone();
        let counts = (&gw_a["sessions"]["working"], &gw_a["sessions"]["stopped"]);
        if counts == (&json!(1), &json!(1)) {
            assert_eq!(
                gw_a["workers"][0]["sessions"], gw_a["sessions"],
                "one worker holds them all"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "session counts never showed 1 working, 1 stopped: {gw_a}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateways_need_the_read_capability() {
    let app = TestApp::spawn(TestOptions::edge_only()).await;
    let manage = app.api_key(ORG_A, &[wagw_api::Capability::Manage]).await;
    assert_error(
        &app.get("/api/v1/gateways", &manage).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_worker_takes_over_the_shards_and_reconnects_running_sessions() {
    let mut app = TestApp::spawn(TestOptions::default()).await;
    let owner = app.jwt(ORG_A, "owner");
    let working = wagw_tests::id_of(&app.paired_session(&owner, "6281234567890").await);
    let stopped = wagw_tests::id_of(&app.create_session(&owner, &json!({"label": "idle"})).await);
    let old = app
        .workers
        .iter()
        .find(|w| w.gateway == "gw-a")
        .expect("gw-a worker")
        .id
        .clone();
    app.stop_worker(&old).await;
    let mut status = app.subscribe_status("gw-a").await;
    let new = app.start_worker("gw-a").await;
    app.wait_for_fleet("gw-a", SOON)
        .await
        .expect("the new worker holds every shard");
    // The session meant to run is connected again, by the new owner.
    let change = wagw_tests::bus::wait_for_change(&mut status, &working, SOON, |c| {
        c.status == wagw_common::SessionStatus::Working
    })
    .await;
    assert_eq!(change.worker_id.as_str(), new);
    let row = app.wait_for_status(&owner, &working, "working", SOON).await;
    assert_eq!(row["phoneNumber"], "6281234567890");
    // The one meant to stay stopped stays stopped.
    let idle = app
        .get(&wagw_tests::session_path(&stopped, ""), &owner)
        .await;
    assert_eq!(assert_status(&idle, StatusCode::OK)["status"], "stopped");
    let body = app.get("/api/v1/gateways", &owner).await.1;
    let entry = gateway_entry(&body, "gw-a").expect("listed");
    let ids: Vec<_> = entry["workers"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(worker_id)
        .collect();
    assert_eq!(
        ids,
        [new.as_str()],
        "the stopped worker left the fleet view: {entry}"
    );
}
