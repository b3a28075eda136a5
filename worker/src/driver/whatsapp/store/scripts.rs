//! The one fenced Lua script every write of the WhatsApp state goes through. Like
//! `crate::store::scripts`, it first checks `GET lease == token` and writes nothing otherwise;
//! all its keys share the session's shard hash tag, so check and write are atomic in one slot.

use redis::Script;
use std::sync::LazyLock;

/// KEYS: lease, then the hashes written. ARGV: token, then operations, each an opcode and its
/// operands (`k` is an index into KEYS):
/// - `S k field value`: HSET; `D k field`: HDEL; `X k`: DEL; `I k field`: HINCRBY by 1;
/// - `A k h field cap`: adds `field` to the sorted set `k` as its newest member (score: the
///   highest so far plus one, so the order does not depend on clocks), then, while `k` has more
///   than `cap` members, removes the oldest from `k` and HDELs it from the hash `h`;
/// - `R k member`: ZREM.
///
/// Returns `{0, 0}` when fenced, else `{1, n}` with `n` the result of the last `I` (or 0).
pub static APPLY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0, 0} end
local i, last = 2, 0
while i <= #ARGV do
  local op, k = ARGV[i], KEYS[tonumber(ARGV[i + 1])]
  if op == 'S' then redis.call('HSET', k, ARGV[i + 2], ARGV[i + 3]); i = i + 4
  elseif op == 'D' then redis.call('HDEL', k, ARGV[i + 2]); i = i + 3
  elseif op == 'X' then redis.call('DEL', k); i = i + 2
  elseif op == 'I' then last = redis.call('HINCRBY', k, ARGV[i + 2], 1); i = i + 3
  elseif op == 'A' then
    local h, cap = KEYS[tonumber(ARGV[i + 2])], tonumber(ARGV[i + 4])
    local top = redis.call('ZRANGE', k, -1, -1, 'WITHSCORES')
    redis.call('ZADD', k, (top[2] and tonumber(top[2]) or 0) + 1, ARGV[i + 3])
    local over = redis.call('ZCARD', k) - cap
    if over > 0 then
      for _, old in ipairs(redis.call('ZRANGE', k, 0, over - 1)) do redis.call('HDEL', h, old) end
      redis.call('ZREMRANGEBYRANK', k, 0, over - 1)
    end
    i = i + 5
  elseif op == 'R' then redis.call('ZREM', k, ARGV[i + 2]); i = i + 3
  else return redis.error_reply('unknown op ' .. tostring(op)) end
end
return {1, last}",
    )
});
