-- Lists a user's live sessions (read only).
-- KEYS[1] the user's index      <prefix>{u:<user>}:sessions
-- ARGV[1] session key prefix    <prefix>{u:<user>}:s:  (same hash tag as KEYS[1])
-- Returns an array of { id, created_ms, used_ms, expires_ms, device, user_agent, ip }
-- for every indexed session whose hash still exists.
local now = now_ms()
local out = {}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. int(now), '+inf', 'WITHSCORES')
for i = 1, #ids, 2 do
  local s = redis.call('HMGET', ARGV[1] .. ids[i], 'created', 'used', 'dev', 'ua', 'ip')
  if s[1] then
    table.insert(out, { ids[i], s[1], s[2], ids[i + 1], s[3] or '', s[4] or '', s[5] or '' })
  end
end
return out
