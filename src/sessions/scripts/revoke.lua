-- Ends one session.
-- KEYS[1] session hash          <prefix>{u:<user>}:s:<session>
-- KEYS[2] the user's index      <prefix>{u:<user>}:sessions
-- ARGV[1] session id
-- ARGV[2] family hash the session must have, or '' to end it regardless
-- Returns 1 when a session ended, else 0.
if ARGV[2] ~= '' then
  if not same_hash(read_session(KEYS[1], 'f')[1], ARGV[2]) then
    return 0
  end
end
local ended = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
reindex(KEYS[2], now_ms())
return ended
