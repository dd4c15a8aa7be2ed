-- Starts a session.
-- KEYS[1] session hash          <prefix>{u:<user>}:s:<session>
-- KEYS[2] the user's index      <prefix>{u:<user>}:sessions
-- KEYS[3] credential marker     <prefix>{u:<user>}:credential
-- ARGV[1] session id
-- ARGV[2] family hash           SHA-256 of the token family secret
-- ARGV[3] token hash            SHA-256 of the first token's secret
-- ARGV[4] idle lifetime, ms     AUTHD_REFRESH_TOKEN_TTL
-- ARGV[5] absolute lifetime, ms AUTHD_SESSION_MAX_AGE
-- ARGV[6] device name given at login ('' if none; at most 100 characters)
-- ARGV[7] User-Agent ('' if none; at most 256 bytes)
-- ARGV[8] client IP
-- ARGV[9] fingerprint of the password hash the login was checked against
-- Returns { 'created', expires_in_ms, end_ms } (end_ms: the session's
-- absolute end, unix ms), or { 'stale' } when the password
-- changed while this login was being checked (the marker names another hash).
local marker = redis.call('GET', KEYS[3])
if marker and marker ~= ARGV[9] then
  return { 'stale' }
end
local now = now_ms()
local max_age = tonumber(ARGV[5])
local expires = now + math.min(tonumber(ARGV[4]), max_age)
redis.call('HSET', KEYS[1],
  'fam', ARGV[2], 'cur', ARGV[3],
  'created', int(now), 'used', int(now), 'abs', int(now + max_age),
  'dev', ARGV[6], 'ua', ARGV[7], 'ip', ARGV[8])
redis.call('PEXPIREAT', KEYS[1], int(expires))
redis.call('ZADD', KEYS[2], int(expires), ARGV[1])
reindex(KEYS[2], now)
return { 'created', expires - now, now + max_age }
