-- Ends every session of a user, optionally but one.
-- KEYS[1] the user's index      <prefix>{u:<user>}:sessions
-- KEYS[2] credential marker     <prefix>{u:<user>}:credential
-- ARGV[1] session key prefix    <prefix>{u:<user>}:s:  (same hash tag as KEYS[1])
-- ARGV[2] session id to keep, or ''
-- ARGV[3] fingerprint of a new password hash, or '' (logout-all)
-- ARGV[4] marker lifetime, ms (longer than any login can take)
-- Returns the number of sessions ended.
if ARGV[3] ~= '' then
  -- Logins checked against the old hash and still in flight will find this
  -- and create no session (create.lua).
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
end
local ended = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if id ~= ARGV[2] then
    ended = ended + redis.call('DEL', ARGV[1] .. id)
    redis.call('ZREM', KEYS[1], id)
  end
end
reindex(KEYS[1], now_ms())
return ended
