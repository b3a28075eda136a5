-- GCRA over two windows (a minute and an hour) for one session: a Lua function that scripts
-- embed (rate_limit.rs prepends this file to rate_limit.lua). See rate_limit.rs's module doc
-- for the semantics.
--
-- gcra(key, per_min, per_hour, ttl_margin_ms)
--   key            the session's rate hash (Keys::send_rate)
--   per_min        per-minute limit (>= 1)
--   per_hour       per-hour limit (>= 1)
--   ttl_margin_ms  TTL margin past the later TAT, ms
--
-- Hash fields, all integers in microseconds of the Redis clock:
--   min, hour      theoretical arrival time (TAT) of each limit
--   min_t, hour_t  emission interval the TAT was built under, to re-base it when a limit changes
--
-- Returns true when admitted (both TATs advanced), or false, retry_after_ms, window with
-- window 1 = minute, 2 = hour, when refused (no capacity consumed).

local function gcra(key, per_min, per_hour, ttl_margin_ms)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local stored = redis.call('HMGET', key, 'min', 'min_t', 'hour', 'hour_t')
  local windows = {60000000, 3600000000}
  local limits = {per_min, per_hour}

  local tats, intervals = {}, {}
  local write, admitted, wait_max, window = false, true, 0, 0
  for i = 1, 2 do
    local limit = limits[i]
    local interval = math.max(math.floor(windows[i] / limit), 1)
    -- Burst tolerance: `limit` cells may arrive at once, then one per interval.
    local tau = (limit - 1) * interval
    local tat = math.max(tonumber(stored[2 * i - 1]) or now, now)
    local old_interval = tonumber(stored[2 * i]) or interval
    if old_interval ~= interval and tat > now then
      -- The limit changed: keep the number of cells in use, converted to the new interval,
      -- but never more than a full bucket (no debt carried over from the old limit).
      local backlog = math.floor((tat - now) * interval / old_interval)
      tat = now + math.min(backlog, tau + interval)
      write = true
    end
    tats[i], intervals[i] = tat, interval
    local wait = tat - now - tau
    if wait > 0 then
      admitted = false
      if wait > wait_max then
        wait_max, window = wait, i
      end
    end
  end

  if admitted then
    for i = 1, 2 do
      tats[i] = tats[i] + intervals[i]
    end
    write = true
  end

  if write then
    local f = function(n) return string.format('%.0f', n) end
    redis.call('HSET', key,
      'min', f(tats[1]), 'min_t', f(intervals[1]),
      'hour', f(tats[2]), 'hour_t', f(intervals[2]))
    local ttl_ms = math.ceil((math.max(tats[1], tats[2]) - now) / 1000) + ttl_margin_ms
    redis.call('PEXPIRE', key, f(ttl_ms))
  end

  if admitted then
    return true
  end
  return false, math.ceil(wait_max / 1000), window
end
