-- Gives back the cell of a send that was admitted but could not be queued: each TAT of the
-- session's rate hash (see gcra.lua) moves back by the interval it was built under, never
-- below now, so the refund can free at most what the send took.
--
-- KEYS[1]  the session's rate hash (Keys::send_rate)
--
-- Returns 1 when the hash existed, 0 otherwise. The hash keeps its TTL: it may outlive the
-- refunded TATs a little, which only means "empty" for a bit longer.

local stored = redis.call('HMGET', KEYS[1], 'min', 'min_t', 'hour', 'hour_t')
if not stored[1] or not stored[3] then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local f = function(n) return string.format('%.0f', n) end
local min = math.max(tonumber(stored[1]) - (tonumber(stored[2]) or 0), now)
local hour = math.max(tonumber(stored[3]) - (tonumber(stored[4]) or 0), now)
redis.call('HSET', KEYS[1], 'min', f(min), 'hour', f(hour))
return 1
