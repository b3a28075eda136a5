//! The worker over real NATS and Redis, without the edge: the command and sim-control protocol,
//! fencing, and failover between two in-process workers.

use serde_json::json;
use std::time::Duration;
use wagw_common::shard::{ShardRef, shard_of};
use wagw_common::sim::SimAction;
use wagw_common::subjects::CommandOp;
use wagw_common::wire::{Command, PairingCodeV1};
use wagw_common::{DesiredState, ErrorCode, OrganizationId, SessionStatus};
use wagw_tests::WorkerStack;
use wagw_tests::worker_bus::next_status;
use wagw_tests::worker_stack::{ORG, SHARDS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_goes_through_its_whole_lifecycle() {
    let mut stack = WorkerStack::start().await;
    let worker = stack.start_worker("w1", &[]);
    stack.wait_for_all_shards("w1").await;
    let mut feed = stack.status_feed().await;

    let id = stack.create().await;
    let created = next_status(&mut feed).await;
    assert_eq!(
        (created.status, created.previous_status),
        (SessionStatus::Stopped, None)
    );
    assert_eq!(created.worker_id.as_str(), "w1");

    let refused = stack.simple(&id, CommandOp::Start).await;
    assert_eq!(
        refused.error.map(|e| e.code),
        Some(ErrorCode::FailedPrecondition)
    );
    let reply = stack.sim(&id, SimAction::Pair, json!({})).await;
    assert_eq!(
        reply.error.map(|e| e.code),
        Some(ErrorCode::FailedPrecondition)
    );

    let qr = stack.simple(&id, CommandOp::Qr).await.qr.expect("a QR");
    assert_eq!(qr.status, SessionStatus::ScanQrCode);
    let again = stack
        .simple(&id, CommandOp::Qr)
        .await
        .qr
        .expect("the same QR");
    assert_eq!(again.qr, qr.qr);
    assert_eq!(
        next_status(&mut feed).await.status,
        SessionStatus::ScanQrCode
    );

    let paired = stack
        .sim(
            &id,
            SimAction::Pair,
            json!({"phoneNumber": "6281234567890"}),
        )
        .await;
    assert!(paired.ok, "{paired:?}");
    let row = stack
        .wait_row(&id, "working", |r| r.status == SessionStatus::Working)
        .await;
    assert_eq!(row.phone_number.as_deref(), Some("6281234567890"));
    assert!(row.last_connected_at.is_some());
    assert_eq!(next_status(&mut feed).await.status, SessionStatus::Working);

    assert!(stack.simple(&id, CommandOp::Stop).await.ok);
    let row = stack.row(&id).await.expect("row");
    assert_eq!(
        (row.status, row.desired_state),
        (SessionStatus::Stopped, DesiredState::Stopped)
    );
    assert!(
        stack.simple(&id, CommandOp::Stop).await.ok,
        "stop is idempotent"
    );

    assert!(stack.simple(&id, CommandOp::Start).await.ok);
    assert_eq!(
        stack.row(&id).await.expect("row").status,
        SessionStatus::Starting
    );
    let row = stack
        .wait_row(&id, "working again", |r| r.status == SessionStatus::Working)
        .await;

    assert!(stack.sim(&id, SimAction::Disconnect, json!({})).await.ok);
    // Still `working` right after the control, until the drop is processed: wait for a newer
    // connection, not merely for the status.
    let connected_before = row.last_connected_at;
    stack
        .wait_row(&id, "reconnected", |r| {
            r.status == SessionStatus::Working && r.last_connected_at > connected_before
        })
        .await;

    assert!(
        stack
            .sim(&id, SimAction::Fail, json!({"reason": "banned"}))
            .await
            .ok
    );
    let row = stack
        .wait_row(&id, "failed", |r| r.status == SessionStatus::Failed)
        .await;
    assert_eq!(row.status_reason.as_deref(), Some("banned"));
    assert!(stack.simple(&id, CommandOp::Restart).await.ok);
    stack
        .wait_row(&id, "recovered", |r| r.status == SessionStatus::Working)
        .await;

    assert!(stack.simple(&id, CommandOp::Logout).await.ok);
    let row = stack.row(&id).await.expect("row");
    assert_eq!(
        (row.status, row.phone_number),
        (SessionStatus::Stopped, None)
    );
    assert!(
        stack.simple(&id, CommandOp::Logout).await.ok,
        "logout is a no-op when unpaired"
    );

    let org = OrganizationId::parse(ORG).expect("org");
    let code = Command::PairingCodeV1(PairingCodeV1 {
        organization_id: org,
        phone_number: "6289999999999".into(),
    });
    let reply = stack.command(&id, CommandOp::PairingCode, &code).await;
    let code = reply.pairing_code.expect("a pairing code");
    assert_eq!((code.code.len(), code.code.as_bytes()[4]), (9, b'-'));
    assert!(stack.sim(&id, SimAction::Pair, json!({})).await.ok);
    let row = stack
        .wait_row(&id, "code pairing", |r| r.status == SessionStatus::Working)
        .await;
    assert_eq!(row.phone_number.as_deref(), Some("6289999999999"));

    assert!(stack.sim(&id, SimAction::Unlink, json!({})).await.ok);
    let row = stack
        .wait_row(&id, "unlinked", |r| r.status == SessionStatus::Stopped)
        .await;
    assert_eq!(
        row.status_reason.as_deref(),
        Some("logged out from the phone")
    );
    assert_eq!(row.phone_number, None);

    assert!(stack.simple(&id, CommandOp::Delete).await.ok);
    assert!(stack.row(&id).await.is_none());
    let gone = stack.simple(&id, CommandOp::Start).await;
    assert_eq!(gone.error.map(|e| e.code), Some(ErrorCode::NotFound));
    let gone = stack.sim(&id, SimAction::Pair, json!({})).await;
    assert_eq!(gone.error.map(|e| e.code), Some(ErrorCode::NotFound));
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_refused_by_the_fence_drops_the_shard_until_it_is_won_again() {
    let mut stack = WorkerStack::start().await;
    let worker = stack.start_worker("w1", &[]);
    stack.wait_for_all_shards("w1").await;
    let id = stack.create().await;
    let shard = ShardRef::new(stack.gw.clone(), shard_of(&id, SHARDS));
    let lease = stack.keys.lease(&shard);
    let _: () = redis::AsyncCommands::set(&mut stack.redis, &lease, "intruder 999")
        .await
        .expect("set");

    let refused = stack.simple(&id, CommandOp::Qr).await;
    assert_eq!(refused.error.map(|e| e.code), Some(ErrorCode::Unavailable));
    assert_eq!(
        stack.row(&id).await.expect("row").status,
        SessionStatus::Stopped,
        "no write got through"
    );

    let _: () = redis::AsyncCommands::del(&mut stack.redis, &lease)
        .await
        .expect("del");
    stack
        .eventually(
            Duration::from_secs(5),
            "the shard won again",
            async |stack| {
                let value: Option<String> = redis::AsyncCommands::get(&mut stack.redis, &lease)
                    .await
                    .ok()?;
                value.filter(|v| v.starts_with("w1 ")).map(|_| ())
            },
        )
        .await;
    assert!(stack.simple(&id, CommandOp::Qr).await.qr.is_some());
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_survivor_takes_over_and_reconnects_the_sessions_of_a_stopped_worker() {
    let mut stack = WorkerStack::start().await;
    let first = stack.start_worker("w1", &[]);
    let second = stack.start_worker("w2", &[]);
    // Both settled, so the session below stays where it is until `first` stops.
    let holders = stack
        .eventually(
            Duration::from_secs(10),
            "two workers split the shards",
            async |s| {
                let holders = s.lease_holders().await;
                let held_by = |w: &str| holders.iter().flatten().any(|(h, _)| h == w);
                (holders.iter().all(Option::is_some) && held_by("w1") && held_by("w2"))
                    .then_some(holders)
            },
        )
        .await;
    let on_first = |id: &wagw_common::SessionId| {
        let shard = shard_of(id, SHARDS) as usize;
        holders[shard]
            .as_ref()
            .is_some_and(|(holder, _)| holder == "w1")
    };
    let id = loop {
        let id = stack.create().await;
        if on_first(&id) {
            break id;
        }
    };
    let mut feed = stack.status_feed().await;
    assert!(stack.simple(&id, CommandOp::Qr).await.qr.is_some());
    assert!(stack.sim(&id, SimAction::Pair, json!({})).await.ok);
    // Working on w1 first (read off the feed, so none of w1's changes is left in it).
    let paired = loop {
        let change = next_status(&mut feed).await;
        if change.session_id == id && change.status == SessionStatus::Working {
            break change;
        }
    };
    assert_eq!(paired.worker_id.as_str(), "w1");
    first.stop().await;
    stack.wait_for_all_shards("w2").await;
    let change = loop {
        let change = next_status(&mut feed).await;
        if change.session_id == id && change.status == SessionStatus::Working {
            break change;
        }
    };
    assert_eq!(change.worker_id.as_str(), "w2");
    let members: Vec<String> =
        redis::AsyncCommands::zrange(&mut stack.redis, stack.keys.members(&stack.gw), 0, -1)
            .await
            .expect("members");
    assert_eq!(members, ["w2"]);
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_link_is_reconnected_with_the_reason_published() {
    let mut stack = WorkerStack::start().await;
    let worker = stack.start_worker("w1", &[]);
    stack.wait_for_all_shards("w1").await;
    let id = stack.create().await;
    assert!(stack.simple(&id, CommandOp::Qr).await.qr.is_some());
    let mut feed = stack.status_feed().await;
    assert!(stack.sim(&id, SimAction::Pair, json!({})).await.ok);
    while next_status(&mut feed).await.status != SessionStatus::Working {}
    assert!(stack.sim(&id, SimAction::Disconnect, json!({})).await.ok);
    let dropped = next_status(&mut feed).await;
    assert_eq!(dropped.status, SessionStatus::Starting);
    let reason = dropped.status_reason.unwrap_or_default();
    assert!(reason.starts_with("reconnecting: "), "{reason}");
    let back = next_status(&mut feed).await;
    assert_eq!(
        (back.status, back.previous_status),
        (SessionStatus::Working, Some(SessionStatus::Starting))
    );
    assert_eq!(back.status_reason, None);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_drops_its_shards_in_a_redis_outage_and_takes_them_back_after() {
    let mut stack = WorkerStack::start().await;
    let worker = stack.start_worker("w1", &[]);
    stack.wait_for_all_shards("w1").await;
    stack.restart_redis(Duration::from_millis(2500)).await;
    stack.wait_for_all_shards("w1").await;
    let id = stack.create().await;
    assert!(stack.row(&id).await.is_some());
    worker.stop().await;
}
