//! The fleet over real NATS and Redis with in-process workers: rendezvous split, graceful
//! handoff, a join that moves only the newcomer's share, and healing after a Redis restart (AOF
//! on) and a NATS restart, without restarting any worker.

use std::time::{Duration, Instant};
use wagw_common::shard::{ShardRef, shard_of};
use wagw_common::subjects::CommandOp;
use wagw_common::wire::{Command, Reply, SessionCommandV1};
use wagw_common::{OrganizationId, SessionId};
use wagw_tests::WorkerStack;
use wagw_tests::worker_stack::{GW, ORG, SHARDS};
use wagw_worker::fleet::assign::desired_owner;

/// Who should own each shard among `members`.
fn desired(members: &[&str]) -> Vec<String> {
    let members: Vec<String> = members.iter().map(|m| (*m).to_owned()).collect();
    (0..SHARDS)
        .map(|shard| {
            desired_owner(&members, shard)
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// Waits until every shard's lease is held by its desired owner among `members`.
async fn converge(
    stack: &mut WorkerStack,
    members: &[&str],
    within: Duration,
) -> Vec<(String, i64)> {
    let wanted = desired(members);
    stack
        .eventually(
            within,
            "leases follow the rendezvous assignment",
            async |s| {
                let holders = s.lease_holders().await;
                let held: Option<Vec<(String, i64)>> = holders.into_iter().collect();
                let held = held?;
                held.iter()
                    .map(|(w, _)| w.clone())
                    .eq(wanted.iter().cloned())
                    .then_some(held)
            },
        )
        .await
}

/// One command request without retries: `None` without an answer within a second.
async fn raw_request(stack: &WorkerStack, id: &SessionId, op: CommandOp) -> Option<Reply> {
    let subject = stack
        .subjects
        .command(&stack.gw, shard_of(id, SHARDS), id, op);
    let body = SessionCommandV1 {
        organization_id: OrganizationId::parse(ORG).ok()?,
    };
    let body = match op {
        CommandOp::Delete => Command::DeleteSessionV1(body),
        _ => Command::StopSessionV1(body),
    };
    let body = serde_json::to_vec(&body).ok()?;
    let request = stack.nats.request(subject, body.into());
    let message = tokio::time::timeout(Duration::from_secs(1), request)
        .await
        .ok()?
        .ok()?;
    serde_json::from_slice(&message.payload).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_split_the_shards_and_a_stop_hands_them_over() {
    let mut stack = WorkerStack::start().await;
    let w1 = stack.start_worker("w1", &[]);
    let w2 = stack.start_worker("w2", &[]);
    let held = converge(&mut stack, &["w1", "w2"], Duration::from_secs(10)).await;
    let of = |w: &str| held.iter().filter(|(h, _)| h == w).count();
    assert!(
        of("w1") >= 3 && of("w2") >= 3,
        "split {}/{}",
        of("w1"),
        of("w2")
    );

    // Both serve commands: a session created in every shard.
    let mut ids = Vec::new();
    for _ in 0..SHARDS {
        ids.push(stack.create().await);
    }
    for id in &ids {
        assert!(stack.simple(id, CommandOp::Stop).await.ok, "stop {id}");
    }

    let stopped_at = Instant::now();
    w2.stop().await;
    let held = converge(&mut stack, &["w1"], Duration::from_secs(5)).await;
    let took = stopped_at.elapsed();
    assert!(held.iter().all(|(w, _)| w == "w1"));
    assert!(took < Duration::from_millis(2500), "handoff took {took:?}");
    for id in &ids {
        assert!(stack.simple(id, CommandOp::Stop).await.ok, "stop {id}");
    }
    w1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_worker_takes_its_share_and_nothing_else_moves() {
    let mut stack = WorkerStack::start().await;
    let w1 = stack.start_worker("w1", &[]);
    let w2 = stack.start_worker("w2", &[]);
    let before = converge(&mut stack, &["w1", "w2"], Duration::from_secs(10)).await;
    let w3 = stack.start_worker("w3", &[]);
    let after = converge(&mut stack, &["w1", "w2", "w3"], Duration::from_secs(10)).await;
    let mut moved = 0;
    for (shard, (old, new)) in before.iter().zip(&after).enumerate() {
        if new.0 == "w3" {
            moved += 1;
        } else {
            assert_eq!(old, new, "shard {shard} moved without reason");
        }
    }
    assert!((2..=10).contains(&moved), "{moved} of {SHARDS} moved to w3");
    // Commands reach the new owner.
    let id = stack.create().await;
    assert!(stack.simple(&id, CommandOp::Stop).await.ok);
    for worker in [w3, w2, w1] {
        worker.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_with_aof_heals_and_the_fence_still_holds() {
    let mut stack = WorkerStack::start_with_aof().await;
    let w1 = stack.start_worker("w1", &[]);
    converge(&mut stack, &["w1"], Duration::from_secs(10)).await;
    let id = stack.create().await;

    // Redis runs with AOF on, so the restarted server reloads its data.
    stack.restart_redis(Duration::from_millis(1500)).await;
    let row = stack.row(&id).await.expect("the row survived in the AOF");
    assert_eq!(row.id, id);
    converge(&mut stack, &["w1"], Duration::from_secs(15)).await;
    stack
        .eventually(Duration::from_secs(10), "commands work again", async |s| {
            s.simple(&id, CommandOp::Stop).await.ok.then_some(())
        })
        .await;

    // The fence still works: a lease taken by someone else is never written through.
    let shard = ShardRef::new(stack.gw.clone(), shard_of(&id, SHARDS));
    let lease = stack.keys.lease(&shard);
    let _: () = redis::cmd("SET")
        .arg(&lease)
        .arg("intruder 999999")
        .arg("PX")
        .arg(3000)
        .query_async(&mut stack.redis)
        .await
        .expect("set");
    // Either the shard is already dropped (no responders) or the fenced write is refused.
    let reply = raw_request(&stack, &id, CommandOp::Delete).await;
    assert!(
        reply.is_none_or(|reply| !reply.ok),
        "deleted under a foreign lease"
    );
    assert!(
        stack.row(&id).await.is_some(),
        "the row was deleted under a foreign lease"
    );
    // Once the intruder's lease ends, w1 takes the shard back.
    converge(&mut stack, &["w1"], Duration::from_secs(10)).await;
    assert!(stack.simple(&id, CommandOp::Delete).await.ok);
    // The AOF directory goes with the stack's Redis server on drop.
    w1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_heals_without_restarting_workers() {
    let mut stack = WorkerStack::start().await;
    let w1 = stack.start_worker("w1", &[]);
    converge(&mut stack, &["w1"], Duration::from_secs(10)).await;
    let id = stack.create().await;
    stack.restart_nats(Duration::from_millis(500)).await;
    stack
        .eventually(
            Duration::from_secs(15),
            "commands answer again",
            async |s| raw_request(s, &id, CommandOp::Stop).await?.ok.then_some(()),
        )
        .await;
    // A second worker's join still reaches the first (notices and leases work after the restart).
    let w2 = stack.start_worker("w2", &[]);
    converge(&mut stack, &["w1", "w2"], Duration::from_secs(10)).await;
    assert!(stack.simple(&id, CommandOp::Stop).await.ok);
    w2.stop().await;
    w1.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_register_as_the_wagw_worker_micro_service() {
    let mut stack = WorkerStack::start().await;
    let w1 = stack.start_worker("w1", &[]);
    converge(&mut stack, &["w1"], Duration::from_secs(10)).await;
    let subject = stack.subjects.worker_shards(&stack.gw, "w1");
    let answer = stack
        .eventually(
            Duration::from_secs(5),
            "the shards endpoint answers",
            async |s| {
                let request = s.nats.request(subject.clone(), "".into());
                let message = tokio::time::timeout(Duration::from_secs(1), request)
                    .await
                    .ok()?
                    .ok()?;
                serde_json::from_slice::<serde_json::Value>(&message.payload).ok()
            },
        )
        .await;
    let all: Vec<u32> = (0..SHARDS).collect();
    assert_eq!(answer["shards"], serde_json::json!(all));
    assert_eq!(
        answer["counters"]["leaseAcquired"],
        serde_json::json!(SHARDS)
    );

    let info = stack
        .nats
        .request("$SRV.INFO.wagw-worker", "".into())
        .await
        .expect("the service answers INFO");
    let info: serde_json::Value = serde_json::from_slice(&info.payload).expect("json");
    assert_eq!(info["name"], "wagw-worker");
    assert_eq!(info["metadata"]["workerId"], "w1");
    assert_eq!(info["metadata"]["gatewayId"], GW);
    let stats = stack
        .nats
        .request("$SRV.STATS.wagw-worker", "".into())
        .await
        .expect("the service answers STATS");
    let stats: serde_json::Value = serde_json::from_slice(&stats.payload).expect("json");
    assert_eq!(
        stats["endpoints"][0]["data"]["shards"],
        serde_json::json!(all)
    );
    w1.stop().await;
}

/// A quiet worker renews every lease in time: over several lease periods it loses none and
/// acquires none again. (It once renewed only every other tick, later than its own watchdog
/// trusts a lease, and dropped everything every second on a busy machine.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_worker_keeps_its_leases_across_many_lease_periods() {
    let mut stack = WorkerStack::start().await;
    let w1 = stack.start_worker("w1", &[]);
    converge(&mut stack, &["w1"], Duration::from_secs(10)).await;
    // The harness's lease is 1.5 s: four lease periods.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let subject = stack.subjects.worker_shards(&stack.gw, "w1");
    let message = stack
        .nats
        .request(subject, "".into())
        .await
        .expect("the shards endpoint answers");
    let answer: serde_json::Value = serde_json::from_slice(&message.payload).expect("json");
    assert_eq!(
        answer["counters"]["leaseLost"],
        serde_json::json!(0),
        "{answer}"
    );
    assert_eq!(
        answer["counters"]["leaseAcquired"],
        serde_json::json!(SHARDS),
        "{answer}"
    );
    w1.stop().await;
}
