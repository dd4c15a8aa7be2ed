-- Ends the sessions of a user, optionally but one, at most ARGV[5] per
-- call: the caller repeats while the reply says some remain.
-- KEYS[1] the user's index      <prefix>{u:<user>}:sessions
-- KEYS[2] credential marker     <prefix>{u:<user>}:credential
-- ARGV[1] session key prefix    <prefix>{u:<user>}:s:  (same hash tag as KEYS[1])
-- ARGV[2] session id to keep, or ''
-- ARGV[3] credential version of a new password, or '' (logout-all)
-- ARGV[4] marker lifetime, ms (longer than any login can take)
-- ARGV[5] most sessions to end in this call (AUTHD_MAX_SESSIONS_PER_USER)
-- Returns { ended, remaining, removed }: sessions ended, index entries
-- left (but the one kept), index entries removed by this call.
if ARGV[3] ~= '' then
  -- Logins checked against an older password and still in flight will find
  -- this and create no session (create.lua). The marker only moves up.
  local marker = tonumber(redis.call('GET', KEYS[2]) or '') or 0
  if tonumber(ARGV[3]) > marker then
    redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
  end
end
local now = now_ms()
-- Expired entries first, so a batch is not spent on them.
reindex(KEYS[1], now)
local limit = tonumber(ARGV[5])
local ended, removed = 0, 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, limit)) do
  if id ~= ARGV[2] and removed < limit then
    ended = ended + redis.call('DEL', ARGV[1] .. id)
    removed = removed + redis.call('ZREM', KEYS[1], id)
  end
end
reindex(KEYS[1], now)
local remaining = redis.call('ZCARD', KEYS[1])
if ARGV[2] ~= '' and redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  remaining = remaining - 1
end
return { ended, remaining, removed }
