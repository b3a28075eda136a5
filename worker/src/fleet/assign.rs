//! Rendezvous assignment, as pure functions: who is alive, who should own each shard, and
//! what one lease pass should acquire and release.
//!
//! A member is alive while its last heartbeat is newer than three heartbeat intervals. The
//! desired owner of a shard is the live member with the highest
//! [`rendezvous_weight`], so a join or a leave moves
//! about 1/M of the shards and nothing else.

use std::collections::HashSet;
use wagw_common::shard::rendezvous_weight;

/// Heartbeats a member may miss before it counts as gone.
pub const LIVENESS_HEARTBEATS: u64 = 3;

/// The oldest heartbeat (ms) that still counts as alive at `now_ms`.
pub fn liveness_cutoff(now_ms: i64, heartbeat_ms: u64) -> i64 {
    let window =
        i64::try_from(heartbeat_ms.saturating_mul(LIVENESS_HEARTBEATS)).unwrap_or(i64::MAX);
    now_ms.saturating_sub(window)
}

/// The members whose heartbeat is at or after `cutoff_ms`, sorted, without duplicates.
pub fn live_members(entries: &[(String, i64)], cutoff_ms: i64) -> Vec<String> {
    let mut live: Vec<String> = entries
        .iter()
        .filter(|(_, beat)| *beat >= cutoff_ms)
        .map(|(member, _)| member.clone())
        .collect();
    live.sort_unstable();
    live.dedup();
    live
}

/// The member that should own `shard`: the highest weight, ties broken by the larger id so
/// every process agrees. `None` without members.
pub fn desired_owner(members: &[String], shard: u32) -> Option<&str> {
    members
        .iter()
        .max_by(|a, b| {
            rendezvous_weight(a, shard)
                .cmp(&rendezvous_weight(b, shard))
                .then_with(|| a.cmp(b))
        })
        .map(String::as_str)
}

/// What one lease pass does.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Shards we do not hold and should own; acquired if free.
    pub acquire: Vec<u32>,
    /// Shards we hold that another live member should own; released gracefully.
    pub release: Vec<u32>,
}

/// Plans a pass of `me` over `shard_count` shards, given the live members (`me` counts as live
/// whatever the list says: we are running) and the shards we hold.
pub fn plan(me: &str, live: &[String], shard_count: u32, held: &HashSet<u32>) -> Plan {
    let mut members: Vec<String> = live.to_vec();
    if !members.iter().any(|m| m == me) {
        members.push(me.to_owned());
    }
    let mut plan = Plan::default();
    for shard in 0..shard_count {
        let mine = desired_owner(&members, shard) == Some(me);
        match (held.contains(&shard), mine) {
            (false, true) => plan.acquire.push(shard),
            (true, false) => plan.release.push(shard),
            _ => {}
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn owned(me: &str, members: &[String], shards: u32) -> HashSet<u32> {
        plan(me, members, shards, &HashSet::new())
            .acquire
            .into_iter()
            .collect()
    }

    #[test]
    fn members_older_than_three_heartbeats_are_gone() {
        assert_eq!(liveness_cutoff(10_000, 1000), 7000);
        let entries = vec![
            ("a".to_owned(), 7000),
            ("b".to_owned(), 6999),
            ("c".to_owned(), 9000),
        ];
        assert_eq!(live_members(&entries, 7000), names(&["a", "c"]));
        assert!(live_members(&[], 0).is_empty());
    }

    #[test]
    fn a_lone_worker_wants_every_shard() {
        let plan = plan("w1", &[], 8, &HashSet::new());
        assert_eq!(plan.acquire, (0..8).collect::<Vec<_>>());
        assert!(plan.release.is_empty());
    }

    #[test]
    fn every_shard_has_exactly_one_desired_owner() {
        let members = names(&["w1", "w2", "w3"]);
        let sets: Vec<HashSet<u32>> = members.iter().map(|m| owned(m, &members, 256)).collect();
        let total: usize = sets.iter().map(HashSet::len).sum();
        assert_eq!(total, 256);
        for set in &sets {
            assert!((50..120).contains(&set.len()), "{} shards", set.len());
        }
    }

    #[test]
    fn a_join_moves_only_the_newcomers_share() {
        let before = names(&["w1", "w2"]);
        let after = names(&["w1", "w2", "w3"]);
        let mut moved = 0;
        for me in ["w1", "w2"] {
            let held = owned(me, &before, 256);
            let pass = plan(me, &after, 256, &held);
            assert!(pass.acquire.is_empty(), "{me} gains nothing on a join");
            for shard in &pass.release {
                assert_eq!(desired_owner(&after, *shard), Some("w3"));
            }
            moved += pass.release.len();
        }
        assert!((60..115).contains(&moved), "{moved} moved");
    }

    #[test]
    fn a_leave_hands_out_only_the_leavers_shards() {
        let before = names(&["w1", "w2", "w3"]);
        let after = names(&["w1", "w2"]);
        let gone = owned("w3", &before, 128);
        for me in ["w1", "w2"] {
            let held = owned(me, &before, 128);
            let pass = plan(me, &after, 128, &held);
            assert!(pass.release.is_empty());
            assert!(pass.acquire.iter().all(|s| gone.contains(s)));
        }
    }
}
