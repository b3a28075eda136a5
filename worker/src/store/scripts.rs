//! The Lua scripts of the worker. Each write script first checks `GET lease == ARGV[1]` (our
//! `<me> <epoch>`) and returns 0 without writing when it is not; every key of one script shares
//! the shard's hash tag, so the check and the write are atomic in one slot.

use redis::Script;
use std::sync::LazyLock;

/// The fencing preamble of every write script.
macro_rules! fenced {
    ($body:literal) => {
        concat!(
            "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end\n",
            $body,
            "\nreturn 1"
        )
    };
}

/// KEYS: lease, row, shard index, org index. ARGV: token, row JSON, session id.
pub static WRITE_ROW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(fenced!(
        "redis.call('SET', KEYS[2], ARGV[2])
         redis.call('ZADD', KEYS[3], 0, ARGV[3])
         redis.call('ZADD', KEYS[4], 0, ARGV[3])"
    ))
});

/// KEYS: lease, row, credentials, QR, shard index, org index, then the pairing code and the
/// session's WhatsApp state keys. ARGV: token, session id.
pub static DELETE_SESSION: LazyLock<Script> = LazyLock::new(|| {
    Script::new(fenced!(
        "redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
         redis.call('ZREM', KEYS[5], ARGV[2])
         redis.call('ZREM', KEYS[6], ARGV[2])
         for i = 7, #KEYS do redis.call('DEL', KEYS[i]) end"
    ))
});

/// KEYS: lease, credentials. ARGV: token, credential bytes.
pub static SAVE_CREDENTIALS: LazyLock<Script> =
    LazyLock::new(|| Script::new(fenced!("redis.call('SET', KEYS[2], ARGV[2])")));

/// KEYS: lease, credentials, then the session's WhatsApp state keys. ARGV: token.
pub static DELETE_CREDENTIALS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(fenced!(
        "for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end"
    ))
});

/// KEYS: lease, the key (QR, pairing code). ARGV: token, the JSON value, time to live (ms).
pub static SET_WITH_TTL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(fenced!(
        "redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])"
    ))
});

/// KEYS: lease, QR, pairing code. ARGV: token.
pub static CLEAR_QR: LazyLock<Script> =
    LazyLock::new(|| Script::new(fenced!("redis.call('DEL', KEYS[2], KEYS[3])")));

/// KEYS: lease, message record, then WhatsApp id → message id. ARGV: token, record JSON, time to
/// live (ms), then the message id (with the third key).
pub static WRITE_MESSAGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(fenced!(
        "redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
         if KEYS[3] then redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[3]) end"
    ))
});

/// KEYS: lease, epoch. ARGV: worker id, lease time (ms). Returns the new epoch, or nil when
/// the lease is held (by anyone).
pub const ACQUIRE_LEASE: &str = "if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local epoch = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. epoch, 'PX', ARGV[2])
return epoch";

/// KEYS: lease. ARGV: token, lease time (ms). 1 when extended, 0 when no longer ours.
pub const RENEW_LEASE: &str = "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1";

/// KEYS: lease. ARGV: token. 1 when released, 0 when it was not ours any more.
pub const RELEASE_LEASE_LUA: &str = "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1";

/// [`RELEASE_LEASE_LUA`] as a cached script.
pub static RELEASE_LEASE: LazyLock<Script> = LazyLock::new(|| Script::new(RELEASE_LEASE_LUA));
