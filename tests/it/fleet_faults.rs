//! Broker and store faults under a running fleet: a NATS restart and a Redis restart (AOF on)
//! heal without restarting any process.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use wagw_common::sim::SimAction;
use wagw_tests::fleet_app::FLEET_DEADLINE;
use wagw_tests::{FleetApp, FleetOptions, SOON, session_path};

/// `:stop` then `:start` of `id`, each retried until 200 while the fleet heals.
async fn stop_and_start(fleet: &FleetApp, id: &str) {
    let stopped = fleet.command_until_ok(id, "stop", SOON).await;
    let stopped = stopped.unwrap_or_else(|error| panic!("{error:#}"));
    assert_eq!(stopped["status"], "stopped", "{stopped}");
    let started = fleet.command_until_ok(id, "start", SOON).await;
    started.unwrap_or_else(|error| panic!("{error:#}"));
    let ids = [id.to_owned()];
    let working = fleet.wait_all_status(&ids, "working", SOON).await;
    working.unwrap_or_else(|error| panic!("{error:#}"));
}

/// What must survive a Redis restart of each session: label, number, creation time.
async fn rows(fleet: &FleetApp, ids: &[String]) -> BTreeMap<String, [Value; 3]> {
    let mut rows = BTreeMap::new();
    for id in ids {
        let (code, row, _) = fleet.app.get(&session_path(id, ""), &fleet.token).await;
        assert_eq!(code, 200, "GET {id}: {row}");
        let kept = ["label", "phoneNumber", "createdAt"].map(|field| row[field].clone());
        rows.insert(id.clone(), kept);
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_heals_commands_and_sessions_without_restarting_any_process() {
    let mut fleet = FleetApp::spawn(FleetOptions::default()).await;
    let working = fleet.working_sessions(30).await;
    let live = fleet.live_ids();

    fleet.restart_nats(Duration::from_secs(1)).await;

    stop_and_start(&fleet, &working[0]).await;
    let until = tokio::time::Instant::now() + SOON;
    loop {
        let body = json!({"from": "6281111111111", "text": "after the restart"});
        match fleet.sim(&working[1], SimAction::Incoming, body).await {
            Ok(reply) if reply.ok => break,
            other => assert!(
                tokio::time::Instant::now() < until,
                "sim control: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fleet
        .wait_all_status(&working, "working", SOON)
        .await
        .expect("every session still working");
    fleet
        .wait_for_fleet(FLEET_DEADLINE)
        .await
        .expect("the same fleet holds every shard");
    assert_eq!(fleet.live_ids(), live, "no worker process exited");
    fleet.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_with_aof_heals_commands_and_keeps_every_row() {
    let mut fleet = FleetApp::spawn(FleetOptions {
        redis_aof: true,
        ..FleetOptions::default()
    })
    .await;
    let working = fleet.working_sessions(30).await;
    let stopped = fleet.stopped_sessions(3).await;
    let all: Vec<String> = working.iter().chain(&stopped).cloned().collect();
    let before = rows(&fleet, &all).await;
    let live = fleet.live_ids();

    fleet.restart_redis(Duration::from_secs(1)).await;

    stop_and_start(&fleet, &working[0]).await;
    fleet
        .wait_all_status(&working, "working", SOON)
        .await
        .expect("every running session working");
    fleet
        .wait_all_status(&stopped, "stopped", SOON)
        .await
        .expect("stopped sessions still stopped");
    assert_eq!(
        rows(&fleet, &all).await,
        before,
        "rows changed across the restart"
    );
    fleet
        .wait_for_fleet(FLEET_DEADLINE)
        .await
        .expect("the same fleet holds every shard");
    assert_eq!(fleet.live_ids(), live, "no worker process exited");
    fleet.finish().await;
}
