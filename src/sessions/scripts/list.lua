-- Lists a user's live sessions (read only), at most ARGV[2] of them.
-- KEYS[1] the user's index      <prefix>{u:<user>}:sessions
-- ARGV[1] session key prefix    <prefix>{u:<user>}:s:  (same hash tag as KEYS[1])
-- ARGV[2] most sessions to read (AUTHD_MAX_SESSIONS_PER_USER)
-- Returns an array of { id, created_ms, used_ms, expires_ms, device, user_agent, ip,
-- bound } (bound: '1' when bound to a DPoP key, else '')
-- for every indexed session whose hash still exists, latest expiry first.
local now = now_ms()
local out = {}
local ids = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', '(' .. int(now),
  'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
for i = 1, #ids, 2 do
  local s = read_session(ARGV[1] .. ids[i], 'b', 'u', 'd', 'a', 'i', 'k')
  if s[1] then
    table.insert(out, { ids[i], s[1], s[2], ids[i + 1], s[3] or '', s[4] or '', s[5] or '',
      s[6] and '1' or '' })
  end
end
return out
