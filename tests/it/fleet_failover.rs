//! Fleet failover with real worker processes: a SIGKILLed worker's sessions are taken over when
//! its leases expire; a SIGTERMed worker hands its shards over and exits at once.

use std::time::Duration;
use wagw_tests::fleet_app::{FLEET_DEADLINE, ShardMap};
use wagw_tests::{FleetApp, FleetOptions, SOON};

/// The worker of `map` that owns most of `sessions`, and the sessions it owns.
fn busiest(fleet: &FleetApp, map: &ShardMap, sessions: &[String]) -> (String, Vec<String>) {
    let owned = |worker: &str| -> Vec<String> {
        (sessions.iter())
            .filter(|id| fleet.owner_in(map, id).as_deref() == Some(worker))
            .cloned()
            .collect()
    };
    let worker = (map.keys())
        .max_by_key(|worker| owned(worker).len())
        .expect("the fleet has workers")
        .clone();
    let affected = owned(&worker);
    assert!(!affected.is_empty(), "{worker} owns no session: {map:?}");
    (worker, affected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_one_of_three_workers_gets_its_sessions_working_within_the_lease_and_stopped_ones_stay_stopped()
 {
    let mut fleet = FleetApp::spawn(FleetOptions::default()).await;
    let working = fleet.working_sessions(40).await;
    let stopped = fleet.stopped_sessions(4).await;
    let map = fleet.wait_for_fleet(FLEET_DEADLINE).await.expect("settled");
    let (victim, affected) = busiest(&fleet, &map, &working);

    let killed_at = fleet.sigkill(&victim);
    let budget = Duration::from_millis(fleet.options.lease_ms) + Duration::from_secs(4);
    let back = fleet
        .wait_connected_since(&affected, killed_at, budget)
        .await
        .expect("every session of the killed worker connected again by a survivor");
    let slowest = back.values().map(|r| r.at - killed_at).max().unwrap_or(0);
    eprintln!(
        "SIGKILL: {} sessions of {victim} working again at most {slowest} ms after the kill (lease {} ms)",
        affected.len(),
        fleet.options.lease_ms
    );
    assert!(
        slowest <= budget.as_millis() as i64,
        "{slowest} ms > {budget:?}"
    );
    for (id, record) in &back {
        assert_ne!(
            record.worker_id.as_deref(),
            Some(victim.as_str()),
            "{id}: {record:?}"
        );
    }
    fleet
        .wait_all_status(&working, "working", SOON)
        .await
        .expect("every running session working");
    let after = fleet
        .wait_for_fleet(FLEET_DEADLINE)
        .await
        .expect("survivors hold every shard");
    assert!(
        !after.contains_key(&victim),
        "{victim} still listed: {after:?}"
    );

    let statuses = fleet.statuses(&stopped).await;
    assert!(statuses.values().all(|s| s == "stopped"), "{statuses:?}");
    for id in &stopped {
        let link = fleet.simlog.connected_since(id, 0);
        assert!(
            link.is_none(),
            "stopped session {id} was connected: {link:?}"
        );
    }
    fleet.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigtermed_worker_exits_within_seconds_and_its_sessions_work_again_on_survivors_within_five_seconds()
 {
    let mut fleet = FleetApp::spawn(FleetOptions::default()).await;
    let working = fleet.working_sessions(36).await;
    let map = fleet.wait_for_fleet(FLEET_DEADLINE).await.expect("settled");
    let (victim, affected) = busiest(&fleet, &map, &working);

    let termed_at = fleet.sigterm(&victim);
    let exited_at = fleet
        .wait_exit(&victim, Duration::from_secs(5))
        .await
        .expect("the SIGTERMed worker exits within 5 s");
    let back = fleet
        .wait_connected_since(&affected, termed_at, Duration::from_secs(5))
        .await
        .expect("every session of the leaving worker connected again within 5 s");
    let slowest = back.values().map(|r| r.at - termed_at).max().unwrap_or(0);
    eprintln!(
        "SIGTERM: {victim} exited after {} ms; its {} sessions working again at most {slowest} ms after the signal",
        exited_at - termed_at,
        affected.len()
    );
    assert!(slowest < 5000, "handoff took {slowest} ms");
    for (id, record) in &back {
        assert_ne!(
            record.worker_id.as_deref(),
            Some(victim.as_str()),
            "{id}: {record:?}"
        );
    }
    fleet
        .wait_all_status(&working, "working", SOON)
        .await
        .expect("every running session working");
    let after = fleet
        .wait_for_fleet(FLEET_DEADLINE)
        .await
        .expect("survivors hold every shard");
    assert!(
        !after.contains_key(&victim),
        "{victim} still listed: {after:?}"
    );
    fleet.finish().await;
}
