-- Whether a refresh token is the current one of its live session, read
-- only: introspection (RFC 7662) neither rotates nor detects reuse.
-- KEYS[1] session hash          <prefix>{u:<user>}:s:<session>
-- ARGV[1] family hash of the token (16 bytes)
-- ARGV[2] secret hash of the token (16 bytes)
-- Returns { expires_in_ms, last_rotation_ms, verified (1 or 0) } when it is
-- current, else {}.
local s = read_session(KEYS[1], 'f', 'c', 'u', 'v')
if not (same_hash(s[1], ARGV[1]) and same_hash(s[2], ARGV[2])) then
  return {}
end
return { redis.call('PTTL', KEYS[1]), tonumber(s[3]) or 0, s[4] and 1 or 0 }
