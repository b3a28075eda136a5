-- Admits one send, atomically: its Idempotency-Key record first, then the session's limits.
-- rate_limit.rs runs gcra.lua followed by this file as one script; see its module doc.
--
-- KEYS[1]  the session's rate hash (Keys::send_rate)
-- KEYS[2]  the send's idempotency record (Keys::idempotency); absent without a key
-- ARGV[1]  per-minute limit (>= 1), or 0 to skip the limits (WAGW_SEND_RATE_LIMITS=off)
-- ARGV[2]  per-hour limit (>= 1)
-- ARGV[3]  TTL margin of the rate hash past its later TAT, ms
-- ARGV[4]  the record to store when admitted (JSON, state "pending"); with KEYS[2] only
-- ARGV[5]  the record's TTL, s
--
-- Returns {1} when admitted (limits consumed, record stored), {0, retry_after_ms, window}
-- when limited (nothing consumed or stored), or {2, record} when the key already has a record
-- (nothing consumed; the caller compares it with the request).

if KEYS[2] then
  local stored = redis.call('GET', KEYS[2])
  if stored then
    return {2, stored}
  end
end

local per_min = tonumber(ARGV[1])
if per_min > 0 then
  local admitted, wait_ms, window = gcra(KEYS[1], per_min, tonumber(ARGV[2]), tonumber(ARGV[3]))
  if not admitted then
    return {0, wait_ms, window}
  end
end

if KEYS[2] then
  redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5])
end
return {1}
