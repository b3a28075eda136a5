//! A worker cut off from Redis (a TCP proxy in between is cut) fences itself: it stops its
//! sessions before another worker, which took its shards over, connects them.

use wagw_tests::fleet_app::FLEET_DEADLINE;
use wagw_tests::{FleetApp, FleetOptions, SOON};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_cut_off_from_redis_stops_its_sessions_before_another_worker_connects_them() {
    let mut fleet = FleetApp::spawn(FleetOptions {
        workers: 0,
        ..FleetOptions::default()
    })
    .await;
    // The proxied worker starts alone so it holds shards whatever the assignment does.
    let cut_off = fleet.start_worker_behind_proxy().await;
    fleet
        .wait_for_fleet(FLEET_DEADLINE)
        .await
        .expect("first worker settled");
    let other = fleet.start_worker();
    let map = fleet
        .wait_for_rendezvous(FLEET_DEADLINE)
        .await
        .expect("two workers settled");
    let working = fleet.working_sessions(24).await;
    let partitioned: Vec<String> = (working.iter())
        .filter(|id| fleet.owner_in(&map, id).as_deref() == Some(cut_off.as_str()))
        .cloned()
        .collect();
    assert!(!partitioned.is_empty(), "no session on {cut_off}: {map:?}");

    let cut_at = wagw_common::time::now_ms();
    fleet.proxy(&cut_off).cut();
    let lease = fleet.options.lease_ms;
    let taken = fleet
        .wait_connected_since(&partitioned, cut_at, SOON)
        .await
        .expect("the other worker connects the partitioned sessions");
    let mut slowest_close = 0;
    for (id, connected) in &taken {
        assert_eq!(
            connected.worker_id.as_deref(),
            Some(other.as_str()),
            "{id}: {connected:?}"
        );
        let closed = fleet.simlog.first_since(id, "closed", cut_at);
        let Some(closed) = closed else {
            panic!(
                "{cut_off} never closed {id}; {other} connected it at {}",
                connected.at
            );
        };
        assert_eq!(
            closed.worker_id.as_deref(),
            Some(cut_off.as_str()),
            "{closed:?}"
        );
        assert!(
            closed.at <= connected.at,
            "{id}: {other} connected at {} before {cut_off} closed at {}",
            connected.at,
            closed.at
        );
        slowest_close = slowest_close.max(closed.at - cut_at);
    }
    let slowest_take = taken.values().map(|r| r.at - cut_at).max().unwrap_or(0);
    eprintln!(
        "partition: {cut_off} closed its {} sessions by {slowest_close} ms; {other} had them all by {slowest_take} ms (lease {lease} ms)",
        partitioned.len()
    );
    assert!(
        fleet.live_ids().contains(&cut_off),
        "the partitioned worker must keep running"
    );

    fleet.proxy(&cut_off).restore();
    fleet
        .wait_for_fleet(FLEET_DEADLINE)
        .await
        .expect("the healed worker rejoins and every shard is held");
    fleet
        .wait_all_status(&working, "working", SOON)
        .await
        .expect("every session working after the partition heals");
    fleet.finish().await;
}
