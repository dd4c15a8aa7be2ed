-- Ends every session of a user, optionally but one.
-- KEYS[1] the user's index      <prefix>{u:<user>}:sessions
-- ARGV[1] session key prefix    <prefix>{u:<user>}:s:  (same hash tag as KEYS[1])
-- ARGV[2] session id to keep, or ''
-- Returns the number of sessions ended.
local ended = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if id ~= ARGV[2] then
    ended = ended + redis.call('DEL', ARGV[1] .. id)
    redis.call('ZREM', KEYS[1], id)
  end
end
reindex(KEYS[1], now_ms())
return ended
