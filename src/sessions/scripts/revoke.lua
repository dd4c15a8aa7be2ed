-- Ends one session.
-- KEYS[1] session hash          <prefix>{u:<user>}:s:<session>
-- KEYS[2] the user's index      <prefix>{u:<user>}:sessions
-- ARGV[1] session id
-- ARGV[2] family hash the session must have, or '' to end it regardless
-- ARGV[3] with a family: thumbprint of the DPoP key the request proved, or ''
-- Returns 1 when a session ended, else 0; -1 when the session is bound to a
-- DPoP key the request did not prove (nothing ends).
if ARGV[2] ~= '' then
  local s = read_session(KEYS[1], 'f', 'k')
  if not same_hash(s[1], ARGV[2]) then
    return 0
  end
  if s[2] and s[2] ~= ARGV[3] then
    return -1
  end
end
local ended = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
reindex(KEYS[2], now_ms())
return ended
