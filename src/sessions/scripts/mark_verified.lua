-- Marks every live session of a user as belonging to a verified email
-- address, so the access tokens their refreshes issue say so.
-- KEYS[1] the user's index      <prefix>{u:<user>}:sessions
-- ARGV[1] session key prefix    <prefix>{u:<user>}:s:  (same hash tag as KEYS[1])
-- ARGV[2] most sessions to mark (AUTHD_MAX_SESSIONS_PER_USER)
-- Returns the number of sessions marked.
local marked = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)) do
  local key = ARGV[1] .. id
  if redis.call('EXISTS', key) == 1 then
    redis.call('HSET', key, 'v', '1')
    marked = marked + 1
  end
end
return marked
