//! A worker joining a running fleet takes its rendezvous share of the shards, the handed-over
//! sessions connect again on it, and commands keep reaching whoever owns a session now.

use std::time::Duration;
use wagw_common::SessionStatus;
use wagw_tests::bus::wait_for_change;
use wagw_tests::fleet_app::FLEET_DEADLINE;
use wagw_tests::{FleetApp, FleetOptions, SOON};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joining_worker_takes_its_rendezvous_share_and_commands_reach_the_new_owners() {
    let mut fleet = FleetApp::spawn(FleetOptions {
        workers: 2,
        ..FleetOptions::default()
    })
    .await;
    let working = fleet.working_sessions(24).await;
    let before = fleet
        .wait_for_rendezvous(FLEET_DEADLINE)
        .await
        .expect("two workers settled");

    let joined_at = wagw_common::time::now_ms();
    let new = fleet.start_worker();
    let after = fleet
        .wait_for_rendezvous(FLEET_DEADLINE)
        .await
        .expect("the newcomer holds its rendezvous share");
    let share = after.get(&new).map_or(0, |shards| shards.len());
    let shards = fleet.options.shards as usize;
    eprintln!("join: {new} took {share} of {shards} shards: {after:?}");
    assert!(
        share >= 1 && share < shards,
        "{new} holds {share} shards: {after:?}"
    );
    // Only shards that go to the newcomer move.
    for (worker, held) in &before {
        let kept = after.get(worker).cloned().unwrap_or_default();
        assert!(
            kept.is_subset(held),
            "{worker} gained shards on a join: {held:?} -> {kept:?}"
        );
    }

    let moved: Vec<String> = (working.iter())
        .filter(|id| fleet.owner_in(&after, id).as_deref() == Some(new.as_str()))
        .cloned()
        .collect();
    assert!(
        !moved.is_empty(),
        "no session landed on {new}; map {after:?}"
    );
    let back = fleet
        .wait_connected_since(&moved, joined_at, SOON)
        .await
        .expect("handed-over sessions connected again");
    for (id, record) in &back {
        assert_eq!(
            record.worker_id.as_deref(),
            Some(new.as_str()),
            "{id}: {record:?}"
        );
    }
    fleet
        .wait_all_status(&working, "working", SOON)
        .await
        .expect("every session working");

    // Commands on sessions of moved shards reach the new owner.
    let mut status = fleet.app.subscribe_status(&fleet.gateway).await;
    for id in moved.iter().take(3) {
        let (code, row, _) = fleet.command(id, "stop").await;
        assert_eq!(code, 200, ":stop {id}: {row}");
        assert_eq!(row["status"], "stopped", "{row}");
        let (code, row, _) = fleet.command(id, "start").await;
        assert_eq!(code, 200, ":start {id}: {row}");
        let change = wait_for_change(&mut status, id, SOON, |c| {
            c.status == SessionStatus::Working
        })
        .await;
        assert_eq!(
            change.worker_id.as_str(),
            new,
            "{id} driven by {}",
            change.worker_id
        );
    }
    // And on sessions that stayed where they were.
    if let Some(id) = working.iter().find(|id| !moved.contains(id)) {
        let (code, row, _) = fleet.command(id, "restart").await;
        assert_eq!(code, 200, ":restart {id}: {row}");
    }
    fleet
        .wait_all_status(&working, "working", Duration::from_secs(10))
        .await
        .expect("every session working after the commands");
    fleet.finish().await;
}
